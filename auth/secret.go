package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// newSecret returns a random URL-safe secret of n bytes of entropy.
func newSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// codeAlphabet is Crockford's base32: no I, L, O or U to misread when typed from a screen.
var codeEncoding = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// newEnrollmentCode returns a 60-bit code grouped for typing, e.g. "7K3Q-M9XD-2PVA".
func newEnrollmentCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	s := codeEncoding.EncodeToString(b)[:12]
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12]
}

// normalizeCode undoes what a person typing a code may do: lower case, spaces, missing dashes,
// O for 0 and I or L for 1.
func normalizeCode(c string) string {
	c = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(c))
	c = strings.NewReplacer("O", "0", "I", "1", "L", "1").Replace(c)
	if len(c) != 12 {
		return c
	}
	return c[0:4] + "-" + c[4:8] + "-" + c[8:12]
}

// hashSecret returns the hex sha256 of a high-entropy secret (device secrets, refresh tokens,
// enrollment codes). Such secrets need no slow hash: they cannot be guessed offline.
func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// secretMatches compares a secret with a stored hash in constant time.
func secretMatches(secret, hash string) bool {
	return hash != "" && subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(hash)) == 1
}
