package handlers_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid/auth"
	"github.com/golang-jwt/jwt/v5"
)

// testMasterKey seals the signing keys in the environments of these tests, so that a test can
// open them as a second server sharing the database would.
var testMasterKey = bytes.Repeat([]byte{0x5a}, 32)

func withTestMasterKey(c *auth.Config) { c.MasterKey = testMasterKey }

// in returns e reporting to t, for use inside a subtest.
func (e *env) in(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

// authorized sends GET /v1/me with the Authorization header value h (none if empty).
func (e *env) authorized(h string) *response {
	e.t.Helper()
	req := httptest.NewRequest("GET", "/v1/me", nil)
	if h != "" {
		req.Header.Set("Authorization", h)
	}
	return e.request(req)
}

// unauthorized fails unless r is a 401 problem with a Bearer challenge.
func unauthorized(t testing.TB, r *response) {
	t.Helper()
	if r.Status != 401 {
		t.Fatalf("status %d, want 401; body %s", r.Status, r.Body)
	}
	r.problem(t)
	if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
		t.Fatalf("WWW-Authenticate %q, want a Bearer challenge", h)
	}
}

// userList is the admin's raw view of the users.
func (e *env) userList() []byte {
	e.t.Helper()
	return e.must(200, "GET", "/v1/users?limit=1000", nil, e.admin, nil).Body
}

// jwk is the one public key served at /.well-known/jwks.json.
func (e *env) jwk() auth.JWK {
	e.t.Helper()
	var set struct{ Keys []auth.JWK }
	e.must(200, "GET", "/.well-known/jwks.json", nil, "", &set)
	if len(set.Keys) != 1 {
		e.t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	return set.Keys[0]
}

// insider holds the server's real signing key, opened from the store with the master key: with
// it each claim check is tested on its own, not hidden behind a bad signature.
type insider struct {
	kid string
	key ed25519.PrivateKey
}

func (e *env) insider() insider {
	e.t.Helper()
	keys, err := e.db.SigningKeys(context.Background())
	if err != nil || len(keys) == 0 {
		e.t.Fatalf("signing keys: %v, %v", keys, err)
	}
	k := keys[0]
	block, err := aes.NewCipher(testMasterKey)
	if err != nil {
		e.t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		e.t.Fatal(err)
	}
	n := aead.NonceSize()
	seed, err := aead.Open(nil, k.SealedPrivate[:n], k.SealedPrivate[n:], []byte(k.ID))
	if err != nil {
		e.t.Fatalf("open signing key %s: %v", k.ID, err)
	}
	return insider{kid: k.ID, key: ed25519.NewKeyFromSeed(seed)}
}

// claimsOf returns the payload of token, unverified.
func claimsOf(t testing.TB, token string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, c); err != nil {
		t.Fatalf("parse %q: %v", token, err)
	}
	return c
}

// edit returns a copy of c with changes made; a nil value deletes the claim.
func edit(c jwt.MapClaims, changes jwt.MapClaims) jwt.MapClaims {
	out := maps.Clone(c)
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// sign signs c with method and key; kid, unless nil, goes in the header.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != nil {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

// tamper replaces the payload of token with c and keeps its header and signature.
func tamper(t testing.TB, token string, c jwt.MapClaims) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// forgery is the material of the attacks: an officer signed in on a terminal, the real key.
type forgery struct {
	e       *env
	officer tokenPair
	device  terminal
	userID  string
	claims  jwt.MapClaims // of the officer's access token
	in      insider
}

func newForgery(t *testing.T) *forgery {
	e := newEnv(t, withTestMasterKey)
	tr := e.tree()
	f := &forgery{e: e, userID: e.user("li.wei", tr.StationA1, "officer"), device: e.device("T-001", tr.StationA1)}
	f.officer = e.deviceLogin(f.device, "li.wei")
	f.claims = claimsOf(t, f.officer.AccessToken)
	f.in = e.insider()
	return f
}

// real signs the officer's claims, changed, with the real key and kid.
func (f *forgery) real(changes jwt.MapClaims) string {
	return sign(f.e.t, jwt.SigningMethodEdDSA, f.in.key, f.in.kid, edit(f.claims, changes))
}

// at is a NumericDate d from the test clock's now.
func (f *forgery) at(d time.Duration) int64 { return f.e.clock.Now().Add(d).Unix() }

func TestJWTAttacks(t *testing.T) {
	f := newForgery(t)
	e := f.e
	pub := f.in.key.Public().(ed25519.PublicKey)
	jwk := e.jwk()
	if jwk.KeyID != f.in.kid || jwk.X != base64.RawURLEncoding.EncodeToString(pub) {
		t.Fatalf("JWKS %+v does not serve the key in the store (%s)", jwk, f.in.kid)
	}
	// Control: the insider's re-signing of the officer's own claims works, so each attack
	// below fails for the one thing it changes.
	if me := e.me(f.real(nil)); me.User.ID != f.userID {
		t.Fatalf("control token speaks for %+v", me.User)
	}
	_, foreign, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	admin := jwt.MapClaims{"roles": []string{"admin"}}
	adminID := e.me(e.admin).User.ID
	parts := strings.Split(f.officer.AccessToken, ".")
	bearer := func(tok string) string { return "Bearer " + tok }
	users := e.userList()

	cases := []struct{ name, authorization string }{
		// Signature and algorithm.
		{"alg none", bearer(sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, f.in.kid, edit(f.claims, admin)))},
		{"HS256 keyed with the raw public key", bearer(sign(t, jwt.SigningMethodHS256, []byte(pub), f.in.kid, f.claims))},
		{"HS256 keyed with the JWKS x", bearer(sign(t, jwt.SigningMethodHS256, []byte(jwk.X), f.in.kid, f.claims))},
		{"another Ed25519 key with the real kid", bearer(sign(t, jwt.SigningMethodEdDSA, foreign, f.in.kid, f.claims))},
		{"signature stripped", bearer(parts[0] + "." + parts[1] + ".")},
		{"payload altered: roles admin", bearer(tamper(t, f.officer.AccessToken, edit(f.claims, admin)))},
		{"payload altered: sub of the admin", bearer(tamper(t, f.officer.AccessToken,
			edit(f.claims, jwt.MapClaims{"sub": adminID, "dev": nil, "dep": nil})))},
		// Key id.
		{"unknown kid", bearer(sign(t, jwt.SigningMethodEdDSA, f.in.key, "no-such-key", f.claims))},
		{"no kid", bearer(sign(t, jwt.SigningMethodEdDSA, f.in.key, nil, f.claims))},
		{"kid not a string", bearer(sign(t, jwt.SigningMethodEdDSA, f.in.key, 42, f.claims))},
		// Claims, signed with the real key.
		{"no exp", bearer(f.real(jwt.MapClaims{"exp": nil}))},
		{"no iat", bearer(f.real(jwt.MapClaims{"iat": nil}))},
		{"no sub", bearer(f.real(jwt.MapClaims{"sub": nil}))},
		{"unknown sub", bearer(f.real(jwt.MapClaims{"sub": "no-such-user"}))},
		{"wrong iss", bearer(f.real(jwt.MapClaims{"iss": "beatgrid-evil"}))},
		{"wrong aud", bearer(f.real(jwt.MapClaims{"aud": []string{"other-api"}}))},
		{"no aud", bearer(f.real(jwt.MapClaims{"aud": nil}))},
		{"expired", bearer(f.real(jwt.MapClaims{"exp": f.at(-time.Minute), "iat": f.at(-11 * time.Minute),
			"nbf": f.at(-11 * time.Minute)}))},
		{"lifetime beyond the access TTL", bearer(f.real(jwt.MapClaims{"exp": f.at(24 * time.Hour)}))},
		{"nbf in the future beyond leeway", bearer(f.real(jwt.MapClaims{"nbf": f.at(2 * time.Minute)}))},
		{"iat in the future beyond leeway", bearer(f.real(jwt.MapClaims{"iat": f.at(2 * time.Minute),
			"exp": f.at(12 * time.Minute)}))},
		{"stale user epoch", bearer(f.real(jwt.MapClaims{"uep": f.claims["uep"].(float64) + 1}))},
		{"stale device epoch", bearer(f.real(jwt.MapClaims{"dep": 1}))},
		{"unknown device", bearer(f.real(jwt.MapClaims{"dev": "no-such-device"}))},
		// Not a token at all.
		{"garbage", bearer("not a token")},
		{"three dots", bearer("a.b.c")},
		{"empty segments", bearer("..")},
		{"header only", bearer(parts[0])},
		{"oversized", bearer(strings.Repeat("A", 5000))},
		{"empty bearer", "Bearer "},
		{"scheme only", "Bearer"},
		{"Basic scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+adminPassword))},
		{"token without a scheme", f.officer.AccessToken},
		{"no Authorization header", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.in(t)
			unauthorized(t, e.authorized(c.authorization))
			// Nothing changed: the real tokens work and the users are as they were.
			if me := e.me(f.officer.AccessToken); me.User.ID != f.userID || me.Device == nil {
				t.Fatalf("officer token now speaks for %+v", me)
			}
			e.me(e.admin)
			if got := e.userList(); !bytes.Equal(got, users) {
				t.Fatalf("users changed:\n%s\nwant\n%s", got, users)
			}
		})
	}
}

// TestForgedRolesCannotCreateUser: a token claiming the admin role creates nobody. Without
// the key it is refused outright; signed with the real key it is still the officer's session,
// since roles are read from the user record, not from the token.
func TestForgedRolesCannotCreateUser(t *testing.T) {
	f := newForgery(t)
	e := f.e
	admin := edit(f.claims, jwt.MapClaims{"roles": []string{"admin", "commander"}, "dev": nil, "dep": nil})
	pub := f.in.key.Public().(ed25519.PublicKey)
	cases := []struct {
		name  string
		token string
		want  int
	}{
		{"payload altered", tamper(t, f.officer.AccessToken, admin), 401},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, f.in.kid, admin), 401},
		{"HS256 keyed with the public key", sign(t, jwt.SigningMethodHS256, []byte(pub), f.in.kid, admin), 401},
		{"real key, roles claim admin", sign(t, jwt.SigningMethodEdDSA, f.in.key, f.in.kid, admin), 403},
	}
	users := e.userList()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.in(t)
			r := e.do("POST", "/v1/users", map[string]any{"username": "mallory", "password": "mallory-password",
				"roles": []string{"admin"}, "org_unit_id": e.root}, c.token)
			if c.want == 401 {
				unauthorized(t, r)
			} else if r.Status != c.want {
				t.Fatalf("status %d, want %d; body %s", r.Status, c.want, r.Body)
			}
			if got := e.userList(); !bytes.Equal(got, users) {
				t.Fatalf("users changed:\n%s", got)
			}
		})
	}
}

// TestAccessTokenExpiry: a real token works until exp + leeway, then not; the refresh token
// still gets a new one.
func TestAccessTokenExpiry(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	e.user("li.wei", tr.StationA1, "officer")
	pair := e.deviceLogin(e.device("T-001", tr.StationA1), "li.wei")
	ttl := time.Duration(pair.ExpiresIn) * time.Second
	leeway := auth.DefaultConfig().Leeway

	e.clock.Advance(ttl + leeway - time.Second)
	e.me(pair.AccessToken)
	e.clock.Advance(2 * time.Second)
	unauthorized(t, e.authorized("Bearer "+pair.AccessToken))

	next := e.mustRefresh(pair.RefreshToken)
	e.me(next.AccessToken)
}

// TestSessionEndingEvents: revoking a device, or disabling a user, changing his password,
// roles or unit, ends his sessions at once: the access token fails on the next request and the
// refresh token fails too; undoing the change (re-enabling) does not bring them back.
func TestSessionEndingEvents(t *testing.T) {
	const newPassword = "a-brand-new-password"
	patchUser := func(e *env, s session, patch map[string]any) {
		e.must(200, "PATCH", "/v1/users/"+s.userID, patch, e.admin, nil)
	}
	cases := []struct {
		name      string
		event     func(e *env, s session)
		password  string // to sign in with afterwards
		wantLogin int    // a new device-login afterwards
	}{
		{"device revoked", func(e *env, s session) {
			e.must(200, "POST", "/v1/devices/"+s.device.ID+"/revoke", nil, e.admin, nil)
		}, "", 401},
		{"user disabled", func(e *env, s session) {
			patchUser(e, s, map[string]any{"disabled": true})
		}, "", 401},
		{"user disabled and re-enabled", func(e *env, s session) {
			patchUser(e, s, map[string]any{"disabled": true})
			patchUser(e, s, map[string]any{"disabled": false})
		}, "", 200},
		{"password changed", func(e *env, s session) {
			patchUser(e, s, map[string]any{"password": newPassword})
		}, newPassword, 200},
		{"roles changed", func(e *env, s session) {
			patchUser(e, s, map[string]any{"roles": []string{"inspector"}})
		}, "", 200},
		{"moved to another zone", func(e *env, s session) {
			patchUser(e, s, map[string]any{"org_unit_id": s.tree.ZoneB})
		}, "", 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			s := session{tree: e.tree()}
			s.userID = e.user("li.wei", s.tree.StationA1, "officer")
			s.device = e.device("T-001", s.tree.StationA1)
			old := e.deviceLogin(s.device, "li.wei")
			e.me(old.AccessToken)

			c.event(e, s)
			unauthorized(t, e.authorized("Bearer "+old.AccessToken))
			if r := e.refresh(old.RefreshToken); r.Status != 401 {
				t.Errorf("refresh of the old session: status %d, want 401; body %s", r.Status, r.Body)
			}
			password := c.password
			if password == "" {
				password = "li.wei-password"
			}
			r := e.do("POST", "/v1/auth/device-login", map[string]string{"device_id": s.device.ID,
				"device_secret": s.device.Secret, "username": "li.wei", "password": password}, "")
			if r.Status != c.wantLogin {
				t.Fatalf("device-login afterwards: status %d, want %d; body %s", r.Status, c.wantLogin, r.Body)
			}
			if r.Status == 200 {
				var fresh tokenPair
				r.decode(t, &fresh)
				e.me(fresh.AccessToken)
				unauthorized(t, e.authorized("Bearer "+old.AccessToken))
			}
		})
	}
}

// session is an officer signed in on a terminal of Station A1.
type session struct {
	tree   tree
	userID string
	device terminal
}
