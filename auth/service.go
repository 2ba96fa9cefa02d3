// Package auth is beatgrid's identity: passwords, device enrollment and credentials, access
// tokens (EdDSA JWTs) and rotating refresh tokens, roles and org scope.
//
// The identity records live in memory, loaded from the store at start; every change is
// written to the store first and then applied to memory, by one writer at a time. Records in
// memory are never changed in place: a change stores a copy with the next version and swaps
// the pointer, so readers never see half a change.
package auth

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/geo"
)

// Config tunes the service; zero fields take the defaults of DefaultConfig.
type Config struct {
	Issuer   string
	Audience string

	AccessTTL         time.Duration // access token lifetime (≤ 15 min)
	ConsoleRefreshTTL time.Duration // refresh token lifetime of a console sign-in
	DeviceRefreshTTL  time.Duration // of a terminal sign-in: terminals stay offline for hours
	EnrollTTL         time.Duration // how long an enrollment code works
	KeyRotation       time.Duration // how long one signing key signs
	Leeway            time.Duration // clock leeway when checking token times

	MaxFailures int           // failed sign-ins in a row that lock an account
	LockFor     time.Duration // for how long

	// Sign-in attempts allowed per client IP and per username: a burst, then one per interval.
	IPBurst   int
	IPEvery   time.Duration
	UserBurst int
	UserEvery time.Duration

	// ReloadEvery, if set, reloads the identity records from the store this often, so that a
	// device revoked or user disabled through another server is refused here within that time.
	// One server on the embedded store needs none.
	ReloadEvery time.Duration

	// CellZoom is the zoom of the coverage cells precomputed for each beat.
	CellZoom int

	// Feed publishes org unit changes to terminals' pulls; nil publishes nothing.
	Feed beatgrid.ChangeFeed

	MasterKey []byte // 32 bytes; seals the signing keys in the store
	Now       func() time.Time
	Logger    *slog.Logger
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Issuer: "beatgrid", Audience: "beatgrid-api",
		AccessTTL: 10 * time.Minute, ConsoleRefreshTTL: 12 * time.Hour, DeviceRefreshTTL: 7 * 24 * time.Hour,
		EnrollTTL: 15 * time.Minute, KeyRotation: 7 * 24 * time.Hour, Leeway: 30 * time.Second,
		MaxFailures: 5, LockFor: 15 * time.Minute,
		IPBurst: 30, IPEvery: 2 * time.Second, UserBurst: 10, UserEvery: 6 * time.Second,
		CellZoom: geo.DefaultZoom,
		Now:      func() time.Time { return time.Now().UTC() }, Logger: slog.Default(),
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	setDefault(&c.Issuer, d.Issuer)
	setDefault(&c.Audience, d.Audience)
	setDefault(&c.AccessTTL, d.AccessTTL)
	setDefault(&c.ConsoleRefreshTTL, d.ConsoleRefreshTTL)
	setDefault(&c.DeviceRefreshTTL, d.DeviceRefreshTTL)
	setDefault(&c.EnrollTTL, d.EnrollTTL)
	setDefault(&c.KeyRotation, d.KeyRotation)
	setDefault(&c.Leeway, d.Leeway)
	setDefault(&c.MaxFailures, d.MaxFailures)
	setDefault(&c.LockFor, d.LockFor)
	setDefault(&c.IPBurst, d.IPBurst)
	setDefault(&c.IPEvery, d.IPEvery)
	setDefault(&c.UserBurst, d.UserBurst)
	setDefault(&c.UserEvery, d.UserEvery)
	setDefault(&c.CellZoom, d.CellZoom)
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	if c.Feed == nil {
		c.Feed = nopFeed{}
	}
}

type nopFeed struct{}

func (nopFeed) Load(*beatgrid.FeedRecord)   {}
func (nopFeed) Reserve() int64              { return 0 }
func (nopFeed) Commit(*beatgrid.FeedRecord) {}
func (nopFeed) Abort(int64)                 {}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// Service is the identity service.
type Service struct {
	cfg   Config
	store beatgrid.IdentityStore
	keys  *keyring

	verified *tokenCache // access tokens already verified

	wmu sync.Mutex // one writer: held across a change's store write and its apply

	mu    sync.RWMutex // guards state; held only while reading or swapping pointers
	state *state

	hashing *hashSlots // argon2id runs, bounded

	failMu   sync.Mutex
	failures map[string]int // failed sign-ins in a row, by user id

	byIP, byUser, enrollByIP *limiter

	stopReload func()
}

// state is the in-memory identity, indexed.
type state struct {
	tree       *beatgrid.OrgTree
	units      map[string]*beatgrid.OrgUnit
	users      map[string]*beatgrid.User
	byUsername map[string]*beatgrid.User
	devices    map[string]*beatgrid.Device
	byCode     map[string]*beatgrid.Device // pending devices by enrollment code hash
	tokens     map[string]*beatgrid.RefreshToken
	spent      map[string]bool
	revoked    map[string]bool // refresh token families
}

func newState(st *beatgrid.IdentityState) *state {
	s := &state{units: map[string]*beatgrid.OrgUnit{}, users: map[string]*beatgrid.User{},
		byUsername: map[string]*beatgrid.User{}, devices: map[string]*beatgrid.Device{},
		byCode: map[string]*beatgrid.Device{}, tokens: map[string]*beatgrid.RefreshToken{},
		spent: map[string]bool{}, revoked: map[string]bool{}}
	for _, u := range st.OrgUnits {
		s.units[u.ID] = u
	}
	s.tree = beatgrid.NewOrgTree(st.OrgUnits)
	for _, u := range st.Users {
		s.users[u.ID], s.byUsername[u.Username] = u, u
	}
	for _, d := range st.Devices {
		s.devices[d.ID] = d
		if d.EnrollCodeHash != "" {
			s.byCode[d.EnrollCodeHash] = d
		}
	}
	for _, t := range st.RefreshTokens {
		s.tokens[t.ID] = t
	}
	for _, id := range st.SpentTokens {
		s.spent[id] = true
	}
	for _, f := range st.RevokedFamilies {
		s.revoked[f] = true
	}
	return s
}

// New loads the identity from st and starts the service.
func New(ctx context.Context, st beatgrid.IdentityStore, cfg Config) (*Service, error) {
	cfg.fill()
	keys, err := newKeyring(st, cfg.MasterKey, cfg.KeyRotation, cfg.AccessTTL+cfg.Leeway)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, store: st, keys: keys, failures: map[string]int{}, verified: newTokenCache(1 << 16),
		hashing: newHashSlots(runtime.NumCPU(), 5*time.Second),
		byIP:    newLimiter(cfg.IPBurst, cfg.IPEvery), byUser: newLimiter(cfg.UserBurst, cfg.UserEvery),
		enrollByIP: newLimiter(cfg.IPBurst, cfg.IPEvery)}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	if cfg.ReloadEvery > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go s.reloadLoop(ctx, done)
		s.stopReload = func() { cancel(); <-done }
	}
	return s, nil
}

// Close stops background work.
func (s *Service) Close() {
	if s.stopReload != nil {
		s.stopReload()
		s.stopReload = nil
	}
}

func (s *Service) reload(ctx context.Context) error {
	now := s.cfg.Now()
	loaded, err := s.store.LoadIdentity(ctx, now)
	if err != nil {
		return fmt.Errorf("auth: load identity: %w", err)
	}
	if err := s.keys.load(ctx, now); err != nil {
		return err
	}
	s.recoverBeats(loaded.OrgUnits)
	s.mu.Lock()
	s.state = newState(loaded)
	s.mu.Unlock()
	for _, u := range loaded.OrgUnits {
		s.cfg.Feed.Load(unitRecord(u))
	}
	return nil
}

func (s *Service) reloadLoop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.cfg.ReloadEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.wmu.Lock()
			err := s.reload(ctx)
			s.wmu.Unlock()
			if err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("identity reload failed", "err", err)
			}
		}
	}
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.cfg.Now() }

// read runs f with the current state under the read lock.
func (s *Service) read(f func(st *state)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f(s.state)
}

// apply runs f with the state under the write lock; f swaps pointers, nothing slower.
func (s *Service) apply(f func(st *state)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.state)
}

// PruneExpired deletes refresh tokens that have expired from the store and from memory.
func (s *Service) PruneExpired(ctx context.Context) (int64, error) {
	now := s.cfg.Now()
	n, err := s.store.PruneRefreshTokens(ctx, now)
	if err != nil {
		return n, err
	}
	s.apply(func(st *state) {
		for id, t := range st.tokens {
			if t.ExpiresAt.Before(now) {
				delete(st.tokens, id)
				delete(st.spent, id)
			}
		}
	})
	return n, nil
}
