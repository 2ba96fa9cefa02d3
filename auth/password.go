package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/beatgrid/beatgrid"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's first recommended set (19 MiB, 2 passes, 1 lane), which keeps a
// sign-in near 20 ms of one core here.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// HashPassword returns the PHC-format argon2id hash of password.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime,
		argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the PHC hash. A malformed hash never matches.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t == 0 || t > 16 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when a username is unknown, so that a miss costs as much time
// as a wrong password and timing does not tell which usernames exist.
var dummyHash, _ = HashPassword("beatgrid-dummy-password")

// hashSlots bounds the argon2id computations running at once: each takes 19 MiB and ~20 ms of
// a core, and a storm of sign-ins (a whole shift starting, clients retrying) would otherwise
// run the server out of memory. Waiting for a slot is bounded too.
type hashSlots struct {
	slots chan struct{}
	wait  time.Duration
}

func newHashSlots(n int, wait time.Duration) *hashSlots {
	return &hashSlots{slots: make(chan struct{}, n), wait: wait}
}

var errBusy = beatgrid.Errorf(beatgrid.EUNAVAILABLE, "Too many sign-ins at once; try again in a moment.")

// do runs f in a slot, or returns errBusy if none frees up in time.
func (h *hashSlots) do(ctx context.Context, f func()) error {
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
		f()
		return nil
	case <-t.C:
		return errBusy
	case <-ctx.Done():
		return errBusy
	}
}

// check runs CheckPassword in a slot.
func (h *hashSlots) check(ctx context.Context, hash, password string) (ok bool, err error) {
	err = h.do(ctx, func() { ok = CheckPassword(hash, password) })
	return ok, err
}

// hash runs HashPassword in a slot.
func (h *hashSlots) hash(ctx context.Context, password string) (hash string, err error) {
	if e := h.do(ctx, func() { hash, err = HashPassword(password) }); e != nil {
		return "", e
	}
	return hash, err
}
