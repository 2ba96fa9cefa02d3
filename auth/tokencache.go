package auth

import (
	"strings"
	"sync"
	"time"
)

// tokenCache remembers access tokens whose signature and claims were verified, so that a
// terminal's many requests with one token pay for the Ed25519 check once (it is ~75% of an
// authenticated request otherwise). It is keyed by the whole token, so a token that differs
// in one byte is verified afresh; the epoch checks still run on every request.
type tokenCache struct {
	mu      sync.RWMutex
	max     int
	entries map[string]*accessClaims
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: make(map[string]*accessClaims)}
}

// get returns the claims of a verified token that has not expired at now (leeway included).
func (tc *tokenCache) get(raw string, now time.Time, leeway time.Duration) *accessClaims {
	tc.mu.RLock()
	c := tc.entries[raw]
	tc.mu.RUnlock()
	if c == nil || !now.Before(c.ExpiresAt.Add(leeway)) {
		return nil
	}
	return c
}

// put remembers a verified token. When full it first drops the expired entries, and if none
// expired, all of them: an eviction only costs a verification.
func (tc *tokenCache) put(raw string, c *accessClaims, now time.Time, leeway time.Duration) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if len(tc.entries) >= tc.max {
		for k, v := range tc.entries {
			if !now.Before(v.ExpiresAt.Add(leeway)) {
				delete(tc.entries, k)
			}
		}
		if len(tc.entries) >= tc.max {
			clear(tc.entries)
		}
	}
	tc.entries[strings.Clone(raw)] = c // raw may be a view of the request's reused memory
}
