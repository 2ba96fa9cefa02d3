package auth

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/store/storetest"
	"github.com/golang-jwt/jwt/v5"
)

func TestPasswordRoundTrip(t *testing.T) {
	const pw = "correct horse battery staple"
	h1, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not the expected PHC argon2id string", h1)
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, h := range []string{h1, h2} {
		if !CheckPassword(h, pw) {
			t.Errorf("CheckPassword(%q, right password) = false", h)
		}
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", pw + " "} {
		if CheckPassword(h1, wrong) {
			t.Errorf("CheckPassword(hash, %q) = true", wrong)
		}
	}
}

func TestCheckPasswordMalformedHash(t *testing.T) {
	const pw = "some-password"
	good, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=…,t=…,p=…, salt, key
	with := func(i int, v string) string {
		p := slices.Clone(parts)
		p[i] = v
		return strings.Join(p, "$")
	}
	cases := []struct{ name, hash string }{
		{"empty", ""},
		{"dollar only", "$"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"plain text", pw},
		{"argon2i", with(1, "argon2i")},
		{"other version", with(2, "v=16")},
		{"no params", with(3, "")},
		{"params not numbers", with(3, "m=a,t=b,p=c")},
		{"negative memory", with(3, "m=-1,t=2,p=1")},
		{"too much memory", with(3, "m=4194304,t=2,p=1")},
		{"too many passes", with(3, "m=19456,t=17,p=1")},
		{"zero passes", with(3, "m=19456,t=0,p=1")},
		{"zero lanes", with(3, "m=19456,t=2,p=0")},
		{"lanes overflow", with(3, "m=19456,t=2,p=256")},
		{"salt not base64", with(4, "!!!")},
		{"key not base64", with(5, "***")},
		{"empty key", with(5, "")},
		{"truncated", good[:len(good)/2]},
		{"extra field", good + "$x"},
		{"missing field", strings.Join(parts[:5], "$")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("CheckPassword(%q) panicked: %v", c.hash, r)
				}
			}()
			if CheckPassword(c.hash, pw) {
				t.Errorf("CheckPassword(%q) = true", c.hash)
			}
		})
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(3, time.Second)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	allow := func(key string, at time.Duration) (bool, time.Duration) { return l.allow(key, t0.Add(at)) }

	for i := range 3 {
		if ok, _ := allow("ip", 0); !ok {
			t.Fatalf("attempt %d of the burst refused", i+1)
		}
	}
	if ok, wait := allow("ip", 0); ok || wait != time.Second {
		t.Fatalf("after the burst: allowed %v, wait %v; want refused, wait 1s", ok, wait)
	}
	if ok, _ := allow("other-ip", 0); !ok {
		t.Fatal("another key is refused: buckets are not per key")
	}
	if ok, wait := allow("ip", 400*time.Millisecond); ok || wait != 600*time.Millisecond {
		t.Fatalf("0.4 s on: allowed %v, wait %v; want refused, wait 0.6s", ok, wait)
	}
	if ok, _ := allow("ip", time.Second); !ok {
		t.Fatal("one interval on: refused, want one attempt")
	}
	if ok, _ := allow("ip", time.Second); ok {
		t.Fatal("one interval on: a second attempt allowed")
	}
	// A long pause refills the bucket up to the burst, not beyond.
	for i := range 3 {
		if ok, _ := allow("ip", time.Hour); !ok {
			t.Fatalf("after an hour: attempt %d refused", i+1)
		}
	}
	if ok, _ := allow("ip", time.Hour); ok {
		t.Fatal("after an hour: more than the burst allowed")
	}
}

func TestNormalizeCode(t *testing.T) {
	cases := []struct{ in, want string }{
		{"7K3Q-M9XD-2PVA", "7K3Q-M9XD-2PVA"},
		{"7k3q-m9xd-2pva", "7K3Q-M9XD-2PVA"},
		{"7K3QM9XD2PVA", "7K3Q-M9XD-2PVA"},
		{" 7k3q m9xd 2pva ", "7K3Q-M9XD-2PVA"},
		{"7K3Q--M9XD-2PVA-", "7K3Q-M9XD-2PVA"},
		{"OIL0-oil0-ABCD", "0110-0110-ABCD"},
		{"abc", "ABC"},
		{"", ""},
	}
	for _, c := range cases {
		if got := normalizeCode(c.in); got != c.want {
			t.Errorf("normalizeCode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNewEnrollmentCode(t *testing.T) {
	re := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)
	seen := map[string]bool{}
	for range 200 {
		c := newEnrollmentCode()
		if !re.MatchString(c) {
			t.Fatalf("code %q does not match %s", c, re)
		}
		if normalizeCode(c) != c {
			t.Fatalf("code %q is not in normal form: %q", c, normalizeCode(c))
		}
		if seen[c] {
			t.Fatalf("code %q issued twice", c)
		}
		seen[c] = true
	}
}

func testMasterKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestKeySealing(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenEmbedded(t)
	now := time.Now().UTC().Truncate(time.Second)
	newRing := func(master []byte) *keyring {
		r, err := newKeyring(db, master, time.Hour, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	created, err := newRing(testMasterKey(1)).create(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := db.SigningKeys(ctx)
	if err != nil || len(stored) != 1 {
		t.Fatalf("stored keys %v, %v", stored, err)
	}
	if bytes.Contains(stored[0].SealedPrivate, created.private.Seed()) {
		t.Fatal("the stored key holds the private seed in the clear")
	}

	same := newRing(testMasterKey(1))
	if err := same.load(ctx, now); err != nil {
		t.Fatalf("load with the same master key: %v", err)
	}
	if len(same.keys) != 1 || !same.keys[0].private.Equal(created.private) || same.keys[0].meta.ID != created.meta.ID {
		t.Fatal("the key loaded is not the key created")
	}

	if err := newRing(testMasterKey(2)).load(ctx, now); err == nil {
		t.Fatal("a keyring with another master key opened the stored key")
	}

	// The seal binds the key id and refuses any change.
	r := newRing(testMasterKey(1))
	tampered := []struct {
		name   string
		change func(k *beatgrid.SigningKey)
	}{
		{"other kid", func(k *beatgrid.SigningKey) { k.ID = "another-kid" }},
		{"flipped byte", func(k *beatgrid.SigningKey) { k.SealedPrivate[len(k.SealedPrivate)-1] ^= 1 }},
		{"truncated", func(k *beatgrid.SigningKey) { k.SealedPrivate = k.SealedPrivate[:5] }},
		{"empty", func(k *beatgrid.SigningKey) { k.SealedPrivate = nil }},
	}
	for _, c := range tampered {
		m := *stored[0]
		m.SealedPrivate = bytes.Clone(m.SealedPrivate)
		c.change(&m)
		if _, err := r.open(&m); err == nil {
			t.Errorf("%s: the sealed key opened", c.name)
		}
	}
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// newTestService starts a service with a first admin on a fresh embedded store.
func newTestService(t *testing.T, cfg Config) (*Service, *testClock) {
	t.Helper()
	ctx := context.Background()
	clk := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	cfg.MasterKey, cfg.Now = testMasterKey(9), clk.Now
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(ctx, storetest.OpenEmbedded(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, _, err := s.EnsureAdmin(ctx, "first-admin-password"); err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, &accessClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

func jwksIDs(s *Service) []string {
	var ids []string
	for _, k := range s.JWKS() {
		ids = append(ids, k.KeyID)
	}
	slices.Sort(ids)
	return ids
}

func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestService(t, Config{KeyRotation: time.Hour})
	login := func() string {
		t.Helper()
		pair, err := s.Login(ctx, "192.0.2.1", "admin", "first-admin-password")
		if err != nil {
			t.Fatal(err)
		}
		return pair.AccessToken
	}
	authenticates := func(token string) bool {
		_, err := s.Authenticate(ctx, token)
		return err == nil
	}

	first := kidOf(t, login()) // creates the first key
	clk.Advance(55 * time.Minute)
	old := login()
	if kidOf(t, old) != first {
		t.Fatal("a second key was made before the first retired")
	}

	clk.Advance(6 * time.Minute) // 1h01m after the first key: it has retired from signing
	fresh := login()
	second := kidOf(t, fresh)
	if second == first || second == "" {
		t.Fatalf("no new key after rotation: kid %q", second)
	}
	if !authenticates(old) {
		t.Fatal("a token signed before the rotation stopped verifying")
	}
	if !authenticates(fresh) {
		t.Fatal("a token signed with the new key does not verify")
	}
	if got, want := jwksIDs(s), sortedIDs(first, second); !slices.Equal(got, want) {
		t.Fatalf("JWKS keys %v, want %v", got, want)
	}

	// The retired key verifies until RetireAt + AccessTTL + leeway (here 1h10m30s after its
	// creation), then no more: even a token of it that has not expired fails.
	var retired *key
	s.keys.mu.RLock()
	for _, k := range s.keys.keys {
		if k.meta.ID == first {
			retired = k
		}
	}
	s.keys.mu.RUnlock()
	clk.Advance(10 * time.Minute) // 1h11m
	claims := &accessClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(fresh, claims); err != nil {
		t.Fatal(err)
	}
	current, err := s.keys.signer(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !authenticates(signWith(t, current, claims, clk.Now())) {
		t.Fatal("control: a fresh token of the current key does not verify")
	}
	if authenticates(signWith(t, retired, claims, clk.Now())) {
		t.Fatal("a token of a key retired more than AccessTTL+leeway ago verifies")
	}
	if got := jwksIDs(s); !slices.Equal(got, []string{second}) {
		t.Fatalf("JWKS keys %v, want only %v", got, second)
	}
}

func sortedIDs(ids ...string) []string { slices.Sort(ids); return ids }

// signWith signs a copy of c with k, valid from now for five minutes.
func signWith(t *testing.T, k *key, c *accessClaims, now time.Time) string {
	t.Helper()
	cc := *c
	cc.IssuedAt, cc.NotBefore = jwt.NewNumericDate(now), jwt.NewNumericDate(now)
	cc.ExpiresAt = jwt.NewNumericDate(now.Add(5 * time.Minute))
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, &cc)
	tok.Header["kid"] = k.meta.ID
	s, err := tok.SignedString(k.private)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAuthenticateCopiesTheToken: the handler passes a view of the request's memory, which
// Fiber reuses for the next request. If the cache kept that view as its key, the next
// request's bytes would become a verified token: a forged token of the same length laid over
// the buffer would pass without a signature check.
func TestAuthenticateCopiesTheToken(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestService(t, Config{})
	pair, err := s.Login(ctx, "192.0.2.1", "admin", "first-admin-password")
	if err != nil {
		t.Fatal(err)
	}
	token := pair.AccessToken
	buf := []byte(token)
	if _, err := s.Authenticate(ctx, unsafe.String(&buf[0], len(buf))); err != nil {
		t.Fatal(err)
	}
	// The next request in the same buffer: the token with its signature's last character
	// changed.
	repl := "A"
	if token[len(token)-1] == 'A' {
		repl = "B"
	}
	forged := token[:len(token)-1] + repl
	copy(buf, forged)
	if _, err := s.Authenticate(ctx, forged); err == nil {
		t.Fatal("a forged token passed: the cache kept the caller's buffer as its key")
	}
	if _, err := s.Authenticate(ctx, token); err != nil {
		t.Fatalf("the real token: %v", err)
	}
}
