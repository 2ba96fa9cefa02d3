package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/google/uuid"
)

// TokenPair is what a sign-in or refresh returns.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"` // seconds
}

// errBadCredentials is the one answer to every failed sign-in: it does not tell whether the
// user exists, the password was wrong, the account is disabled or locked.
var errBadCredentials = beatgrid.Errorf(beatgrid.EUNAUTHORIZED, "Invalid credentials.")

// errBadToken is the one answer to every token that does not work.
var errBadToken = beatgrid.Errorf(beatgrid.EUNAUTHORIZED, "Invalid or expired token.")

// RateLimitError says when to try again.
type RateLimitError struct{ RetryAfter time.Duration }

func (e *RateLimitError) Error() string { return "rate limited" }

// Unwrap lets beatgrid.ErrorCode see ERATELIMIT.
func (e *RateLimitError) Unwrap() error {
	return beatgrid.Errorf(beatgrid.ERATELIMIT, "Too many attempts; try again later.")
}

func (s *Service) limit(l *limiter, key string) error {
	if ok, wait := l.allow(key, s.cfg.Now()); !ok {
		return &RateLimitError{RetryAfter: wait}
	}
	return nil
}

// checkPassword limits attempts per username, then checks the password and the account.
// Failures count towards a lockout. Callers limit attempts per IP first.
func (s *Service) checkPassword(ctx context.Context, username, password string) (*beatgrid.User, error) {
	username = normalizeUsername(username)
	if err := s.limit(s.byUser, username); err != nil {
		return nil, err
	}
	var u *beatgrid.User
	s.read(func(st *state) { u = st.byUsername[username] })
	if u == nil {
		if _, err := s.hashing.check(ctx, dummyHash, password); err != nil { // same cost as a real check
			return nil, err
		}
		return nil, errBadCredentials
	}
	ok, err := s.hashing.check(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	if now.Before(u.LockedUntil) || u.Disabled {
		return nil, errBadCredentials
	}
	if !ok {
		s.recordFailure(ctx, u.ID)
		return nil, errBadCredentials
	}
	s.failMu.Lock()
	delete(s.failures, u.ID)
	s.failMu.Unlock()
	return u, nil
}

// recordFailure counts a failed sign-in and locks the account at the limit.
func (s *Service) recordFailure(ctx context.Context, userID string) {
	s.failMu.Lock()
	s.failures[userID]++
	lock := s.failures[userID] >= s.cfg.MaxFailures
	if lock {
		delete(s.failures, userID)
	}
	s.failMu.Unlock()
	if !lock {
		return
	}
	until := s.cfg.Now().Add(s.cfg.LockFor)
	err := s.changeUser(ctx, userID, func(u *beatgrid.User) error { u.LockedUntil = until; return nil })
	if err != nil {
		s.cfg.Logger.Error("lock account", "user", userID, "err", err)
		return
	}
	s.cfg.Logger.Warn("account locked after failed sign-ins", "user", userID, "until", until)
}

// Login signs a console user (commander or admin) in with a password.
func (s *Service) Login(ctx context.Context, ip, username, password string) (*TokenPair, error) {
	if err := s.limit(s.byIP, ip); err != nil {
		return nil, err
	}
	u, err := s.checkPassword(ctx, username, password)
	if err != nil {
		return nil, err
	}
	if !u.HasRole(beatgrid.RoleCommander) && !u.HasRole(beatgrid.RoleAdmin) {
		return nil, beatgrid.Errorf(beatgrid.EFORBIDDEN, "Officers and inspectors sign in on an enrolled terminal.")
	}
	return s.issue(ctx, u, nil, uuid.NewString(), s.cfg.ConsoleRefreshTTL)
}

// DeviceLogin signs an officer in on an enrolled terminal: the device's credential and the
// officer's password. The device and the officer must belong to one line of the org tree.
func (s *Service) DeviceLogin(ctx context.Context, ip, deviceID, deviceSecret, username, password string) (*TokenPair, error) {
	if err := s.limit(s.byIP, ip); err != nil {
		return nil, err
	}
	var d *beatgrid.Device
	s.read(func(st *state) { d = st.devices[deviceID] })
	if d == nil || d.Status() != beatgrid.DeviceActive || !secretMatches(deviceSecret, d.SecretHash) {
		if _, err := s.hashing.check(ctx, dummyHash, password); err != nil {
			return nil, err
		}
		return nil, errBadCredentials
	}
	u, err := s.checkPassword(ctx, username, password)
	if err != nil {
		return nil, err
	}
	related := false
	s.read(func(st *state) { related = st.tree.Related(d.OrgUnitID, u.OrgUnitID) })
	if !related {
		return nil, beatgrid.Errorf(beatgrid.EFORBIDDEN, "This terminal belongs to another unit.")
	}
	if !slices.ContainsFunc(u.Roles, func(r string) bool { return r != beatgrid.RoleAdmin }) {
		return nil, beatgrid.Errorf(beatgrid.EFORBIDDEN, "Administrators sign in at the console.")
	}
	return s.issue(ctx, u, d, uuid.NewString(), s.cfg.DeviceRefreshTTL)
}

// issue signs an access token and stores a new refresh token of family.
func (s *Service) issue(ctx context.Context, u *beatgrid.User, d *beatgrid.Device, family string, ttl time.Duration) (*TokenPair, error) {
	now := s.cfg.Now()
	c := &accessClaims{Username: u.Username, Roles: sessionRoles(u, d), OrgUnitID: u.OrgUnitID, UserEpoch: u.Epoch}
	c.Subject = u.ID
	rt := &beatgrid.RefreshToken{Family: family, UserID: u.ID, UserEpoch: u.Epoch, IssuedAt: now, ExpiresAt: now.Add(ttl)}
	if d != nil {
		c.DeviceID, c.DeviceEpoch, rt.DeviceID, rt.DeviceEpoch = d.ID, d.Epoch, d.ID, d.Epoch
	}
	s.wmu.Lock() // a key may have to be created
	access, err := s.signAccess(ctx, c, now)
	s.wmu.Unlock()
	if err != nil {
		return nil, err
	}
	refresh := newSecret(32)
	rt.ID = hashSecret(refresh)
	if err := s.store.InsertRefreshToken(ctx, rt); err != nil {
		return nil, err
	}
	s.apply(func(st *state) { st.tokens[rt.ID] = rt })
	return &TokenPair{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(s.cfg.AccessTTL / time.Second)}, nil
}

// sessionRoles are the user's roles, less admin on a terminal.
func sessionRoles(u *beatgrid.User, d *beatgrid.Device) []string {
	if d == nil {
		return slices.Clone(u.Roles)
	}
	return slices.DeleteFunc(slices.Clone(u.Roles), func(r string) bool { return r == beatgrid.RoleAdmin })
}

// Refresh spends a refresh token and returns the next pair of its family. A token used a
// second time means it was stolen or replayed: the whole family is revoked, the newest token
// included.
func (s *Service) Refresh(ctx context.Context, ip, refresh string) (*TokenPair, error) {
	if err := s.limit(s.byIP, ip); err != nil {
		return nil, err
	}
	id := hashSecret(refresh)
	var (
		t       *beatgrid.RefreshToken
		reused  bool
		revoked bool
		u       *beatgrid.User
		d       *beatgrid.Device
	)
	s.read(func(st *state) {
		if t = st.tokens[id]; t != nil {
			reused, revoked = st.spent[id], st.revoked[t.Family]
			u, d = st.users[t.UserID], st.devices[t.DeviceID]
		}
	})
	now := s.cfg.Now()
	switch {
	case t == nil || revoked || now.After(t.ExpiresAt):
		return nil, errBadToken
	case reused:
		return nil, s.revokeFamily(ctx, t, "refresh token reused")
	}
	if err := s.store.SpendRefreshToken(ctx, t, now); beatgrid.ErrorCode(err) == beatgrid.ECONFLICT {
		return nil, s.revokeFamily(ctx, t, "refresh token reused (raced)")
	} else if err != nil {
		return nil, err
	}
	s.apply(func(st *state) { st.spent[id] = true })
	if u == nil || u.Disabled || u.Epoch != t.UserEpoch ||
		(t.DeviceID != "" && (d == nil || d.Status() != beatgrid.DeviceActive || d.Epoch != t.DeviceEpoch)) {
		return nil, errBadToken
	}
	ttl := t.ExpiresAt.Sub(t.IssuedAt)
	return s.issue(ctx, u, d, t.Family, ttl)
}

func (s *Service) revokeFamily(ctx context.Context, t *beatgrid.RefreshToken, why string) error {
	now := s.cfg.Now()
	until := now.Add(max(s.cfg.DeviceRefreshTTL, s.cfg.ConsoleRefreshTTL))
	if err := s.store.RevokeFamily(ctx, t.Family, now, until); err != nil {
		return err
	}
	s.apply(func(st *state) { st.revoked[t.Family] = true })
	s.cfg.Logger.Warn("refresh token family revoked", "reason", why, "user", t.UserID, "device", t.DeviceID)
	return errBadToken
}

// Logout revokes the family of a refresh token. An unknown token is not an error.
func (s *Service) Logout(ctx context.Context, refresh string) error {
	var t *beatgrid.RefreshToken
	s.read(func(st *state) { t = st.tokens[hashSecret(refresh)] })
	if t == nil {
		return nil
	}
	if err := s.store.RevokeFamily(ctx, t.Family, s.cfg.Now(), t.ExpiresAt.Add(s.cfg.DeviceRefreshTTL)); err != nil {
		return err
	}
	s.apply(func(st *state) { st.revoked[t.Family] = true })
	return nil
}

// Authenticate checks an access token and returns who it speaks for. It refuses tokens of
// users disabled and devices revoked since the token was issued (their epoch moved on). raw
// may be a view of memory the caller reuses: what is kept of it is copied.
func (s *Service) Authenticate(ctx context.Context, raw string) (*beatgrid.Principal, error) {
	c, err := s.parseAccess(ctx, raw)
	if err != nil {
		if !errors.Is(err, errUnknownKey) {
			s.cfg.Logger.Debug("access token refused", "err", err)
		}
		return nil, errBadToken
	}
	var p *beatgrid.Principal
	s.read(func(st *state) {
		u := st.users[c.Subject]
		if u == nil || u.Disabled || u.Epoch != c.UserEpoch {
			return
		}
		var d *beatgrid.Device
		if c.DeviceID != "" {
			d = st.devices[c.DeviceID]
			if d == nil || d.Status() != beatgrid.DeviceActive || d.Epoch != c.DeviceEpoch {
				return
			}
		}
		p = &beatgrid.Principal{UserID: u.ID, Username: u.Username, Roles: sessionRoles(u, d),
			OrgUnitID: u.OrgUnitID, DeviceID: c.DeviceID}
	})
	if p == nil {
		return nil, errBadToken
	}
	return p, nil
}

// JWKS returns the public keys that verify tokens now.
func (s *Service) JWKS() []JWK { return s.keys.jwks(s.cfg.Now()) }

// EnsureAdmin creates the first admin (user "admin" at a new root bureau) when the database
// has no user. With password empty a random one is made. It reports whether it created one
// and the password.
func (s *Service) EnsureAdmin(ctx context.Context, password string) (bool, string, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	empty := false
	s.read(func(st *state) { empty = len(st.users) == 0 })
	if !empty {
		return false, "", nil
	}
	if password == "" {
		password = newSecret(15)
	} else if err := validatePassword(password, "BEATGRID_ADMIN_PASSWORD"); err != nil {
		return false, "", err
	}
	now := s.cfg.Now()
	var root *beatgrid.OrgUnit
	s.read(func(st *state) {
		for _, u := range st.units {
			if u.ParentID == "" && (root == nil || u.ID < root.ID) {
				root = u
			}
		}
	})
	if root == nil {
		root = &beatgrid.OrgUnit{ID: newID(), Kind: beatgrid.KindBureau, Name: "Bureau", Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := s.storeUnit(ctx, root); err != nil {
			return false, "", fmt.Errorf("auth: first org unit: %w", err)
		}
	}
	hash, err := s.hashing.hash(ctx, password)
	if err != nil {
		return false, "", err
	}
	u := &beatgrid.User{ID: newID(), Username: "admin", DisplayName: "Administrator",
		Roles: []string{beatgrid.RoleAdmin, beatgrid.RoleCommander}, OrgUnitID: root.ID,
		PasswordHash: hash, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.store.PutUser(ctx, u); err != nil {
		return false, "", fmt.Errorf("auth: first admin: %w", err)
	}
	s.apply(func(st *state) { st.putUser(u) })
	return true, password, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func normalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
