package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/coverage"
	"github.com/beatgrid/beatgrid/demo"
	"github.com/beatgrid/beatgrid/docs"
	"github.com/beatgrid/beatgrid/handlers"
	"github.com/beatgrid/beatgrid/inspect"
	"github.com/beatgrid/beatgrid/patrol"
	"github.com/beatgrid/beatgrid/report"
	"github.com/beatgrid/beatgrid/store"
	bgsync "github.com/beatgrid/beatgrid/sync"
)

// server is the HTTP app as main sees it (Fiber stays inside package handlers).
type server interface {
	Listener(ln net.Listener) error
	ShutdownWithTimeout(d time.Duration) error
}

// Config is the server's configuration, from the environment and flags (flags win).
type Config struct {
	Addr          string        // BEATGRID_ADDR, --addr
	DataDir       string        // BEATGRID_DATA, --data
	MongoURI      string        // MONGODB_URI
	AdminPassword string        // BEATGRID_ADMIN_PASSWORD
	MasterKey     string        // BEATGRID_MASTER_KEY (base64 of 32 bytes)
	MasterKeyFile string        // BEATGRID_MASTER_KEY_FILE; default DATA/master.key
	LogLevel      string        // BEATGRID_LOG_LEVEL: debug, info, warn, error
	LogFormat     string        // BEATGRID_LOG_FORMAT: text, json
	Reload        time.Duration // BEATGRID_IDENTITY_RELOAD: default 5s on MongoDB, off embedded
	LoginIPBurst  int           // BEATGRID_LOGIN_IP_BURST: sign-ins from one IP at once (default 30)
	Demo          bool          // BEATGRID_DEMO=1, --demo: seed the demo county into an empty database
	BasemapURL    string        // BEATGRID_BASEMAP_URL: the console's raster basemap ({z}/{x}/{y} template)
}

// Main is the server program: ParseFlags, Run, Close (as in benbjohnson/wtf's cmd/wtfd).
type Main struct {
	Config Config
	Stdout io.Writer
	Logger *slog.Logger

	DB       *store.DB
	Auth     *auth.Service
	Sync     *bgsync.Engine
	Feed     *bgsync.Feed
	Patrols  *patrol.Service
	Places   *patrol.Places
	Coverage *coverage.Ledger
	Inspect  *inspect.Service
	Demo     *demo.Demo // the seeded demo county, if --demo seeded one
	App      server
	URL      string // where it listens, e.g. http://127.0.0.1:8080

	ln     net.Listener
	served chan error
	stopBg context.CancelFunc
	bgDone chan struct{}
	closed bool
}

// NewMain returns a Main configured from the environment.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Config: Config{
		Addr:          env("BEATGRID_ADDR", ":8080"),
		DataDir:       env("BEATGRID_DATA", "beatgrid-data"),
		MongoURI:      os.Getenv("MONGODB_URI"),
		AdminPassword: os.Getenv("BEATGRID_ADMIN_PASSWORD"),
		MasterKey:     os.Getenv("BEATGRID_MASTER_KEY"),
		MasterKeyFile: os.Getenv("BEATGRID_MASTER_KEY_FILE"),
		LogLevel:      env("BEATGRID_LOG_LEVEL", "info"),
		LogFormat:     env("BEATGRID_LOG_FORMAT", "text"),
		Reload:        envDuration("BEATGRID_IDENTITY_RELOAD", 0),
		LoginIPBurst:  envInt("BEATGRID_LOGIN_IP_BURST", 0),
		Demo:          os.Getenv("BEATGRID_DEMO") != "" && os.Getenv("BEATGRID_DEMO") != "0",
		BasemapURL:    os.Getenv("BEATGRID_BASEMAP_URL"),
	}}
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil && n > 0 {
		return n
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}

// ParseFlags reads the serve flags.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&m.Config.Addr, "addr", m.Config.Addr, "listen address (env BEATGRID_ADDR)")
	fs.StringVar(&m.Config.DataDir, "data", m.Config.DataDir, "data directory of the embedded database (env BEATGRID_DATA)")
	fs.BoolVar(&m.Config.Demo, "demo", m.Config.Demo, "seed a demo county into an empty database (env BEATGRID_DEMO=1)")
	return fs.Parse(args)
}

// Run opens the database, starts the services and listens. It returns once the server
// accepts connections.
func (m *Main) Run(ctx context.Context) error {
	start := time.Now()
	if m.Logger == nil {
		m.Logger = newLogger(m.Config.LogLevel, m.Config.LogFormat)
	}
	db, err := store.Open(ctx, store.Config{URI: m.Config.MongoURI, DataDir: m.Config.DataDir, Logger: m.Logger})
	if err != nil {
		return err
	}
	m.DB = db
	key, err := m.masterKey()
	if err != nil {
		return err
	}
	reload := m.Config.Reload
	if reload == 0 && !db.Embedded() {
		reload = 5 * time.Second // other servers may share this database
	}
	m.Feed = bgsync.NewFeed()
	m.Auth, err = auth.New(ctx, db, auth.Config{MasterKey: key, ReloadEvery: reload, Feed: m.Feed,
		IPBurst: m.Config.LoginIPBurst, Logger: m.Logger})
	if err != nil {
		return err
	}
	created, password, err := m.Auth.EnsureAdmin(ctx, m.Config.AdminPassword)
	if err != nil {
		return err
	}
	if m.Places, err = patrol.NewPlaces(ctx, db, m.Auth.OrgTree, m.Feed); err != nil {
		return err
	}
	reg := bgsync.NewRegistry()
	m.Patrols = patrol.New(m.Places)
	m.Patrols.Register(reg)
	m.Coverage = coverage.New(coverage.Config{Store: db, Patrols: m.Patrols, Places: m.Places, Logger: m.Logger})
	m.Coverage.Register(reg)
	if err := m.Coverage.Load(ctx); err != nil {
		return err
	}
	clock := m.demoClock(created) // nil unless --demo seeds this start
	insp, err := inspect.New(ctx, inspect.Config{Store: db, Tree: m.Auth.OrgTree, Feed: m.Feed, Logger: m.Logger, Now: clock.Func()})
	if err != nil {
		return err
	}
	insp.Register(reg)
	blobs := bgsync.NewBlobIndex()
	if err := blobs.Load(ctx, db); err != nil {
		return err
	}
	m.Sync = bgsync.New(db, reg, bgsync.Config{Logger: m.Logger, AfterWrite: crashAfterWrites(), Blobs: blobs})
	if err := m.Sync.Load(ctx); err != nil {
		return err
	}
	if err := insp.Start(ctx); err != nil {
		return err
	}
	m.Inspect = insp
	acks, err := report.LoadAcks(ctx, db)
	if err != nil {
		return err
	}
	reports := &report.Service{Auth: m.Auth, Patrols: m.Patrols, Coverage: m.Coverage, Inspect: insp, Acks: acks}
	m.App = handlers.New(handlers.Config{Logger: m.Logger},
		handlers.Deps{Auth: m.Auth, Sync: m.Sync, Feed: m.Feed, Patrols: m.Patrols, Places: m.Places,
			Coverage: m.Coverage, Inspect: insp, Reports: reports, Blobs: db, DB: db, OpenAPI: docs.OpenAPI,
			BasemapURL: m.Config.BasemapURL})
	if m.ln, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m.URL = "http://" + displayAddr(m.ln.Addr())
	m.served = make(chan error, 1)
	go func() { m.served <- m.App.Listener(m.ln) }()
	m.startBackground()
	if err := m.seedDemo(ctx, created, password, insp, reports, clock); err != nil {
		return err
	}
	m.Logger.Info("beatgrid started", "url", m.URL, "embedded", db.Embedded(), "startup", time.Since(start).Round(time.Millisecond))
	m.printSignIn(created, password)
	return nil
}

// masterKey returns the key that seals signing keys: from BEATGRID_MASTER_KEY, or a key file
// (made on first start, mode 0600).
func (m *Main) masterKey() ([]byte, error) {
	if s := m.Config.MasterKey; s != "" {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		if err != nil || len(k) != 32 {
			return nil, errors.New("BEATGRID_MASTER_KEY must be the base64 of 32 bytes (openssl rand -base64 32)")
		}
		return k, nil
	}
	path := m.Config.MasterKeyFile
	if path == "" {
		path = filepath.Join(m.Config.DataDir, "master.key")
	}
	if b, err := os.ReadFile(path); err == nil {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("master key file %s must hold the base64 of 32 bytes", path)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("master key: %w", err)
	}
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	m.Logger.Info("created master key file", "path", path)
	return k, nil
}

// startBackground runs housekeeping: expired refresh tokens are pruned hourly.
// coveragePause is the least time between two rounds of the coverage writer and of the
// hazard and task publisher: facts arriving meanwhile are folded in one round.
const coveragePause = 500 * time.Millisecond

func (m *Main) startBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	m.stopBg, m.bgDone = cancel, make(chan struct{})
	coverageDone, publisherDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(coverageDone)
		m.Coverage.Run(ctx, coveragePause)
	}()
	go func() {
		defer close(publisherDone)
		m.Inspect.Run(ctx, coveragePause)
	}()
	go func() {
		defer close(m.bgDone)
		defer func() { <-coverageDone; <-publisherDone }()
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n, err := m.Auth.PruneExpired(ctx); err != nil {
					m.Logger.Warn("prune refresh tokens", "err", err)
				} else if n > 0 {
					m.Logger.Info("pruned expired refresh tokens", "count", n)
				}
			}
		}
	}()
}

func (m *Main) printSignIn(created bool, password string) {
	w := m.Stdout
	fmt.Fprintf(w, "\nbeatgrid is listening on %s\n", m.URL)
	if created {
		fmt.Fprintf(w, "First start: created user \"admin\" with password %q", password)
		if m.Config.AdminPassword == "" {
			fmt.Fprint(w, " (shown once; set BEATGRID_ADMIN_PASSWORD to choose it)")
		}
		fmt.Fprintln(w)
	} else {
		password = "<admin password>"
	}
	fmt.Fprintf(w, "Console: open %s/ and sign in as admin\n", m.URL)
	fmt.Fprintf(w, "Sign in:\n  curl -s %s/v1/auth/login -H 'Content-Type: application/json' -d '{\"username\":\"admin\",\"password\":\"%s\"}'\n\n",
		m.URL, password)
}

// Close drains requests, stops background work and closes the database. It is safe to call
// more than once.
func (m *Main) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	var errs []error
	if m.App != nil && m.ln != nil {
		if err := m.App.ShutdownWithTimeout(10 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
		<-m.served
	}
	if m.Demo != nil {
		m.Demo.Stop()
	}
	if m.stopBg != nil {
		m.stopBg()
		<-m.bgDone
	}
	if m.Sync != nil {
		m.Sync.Close() // after the server drained: no push is waiting for it
	}
	if m.Auth != nil {
		m.Auth.Close()
	}
	if m.DB != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.DB.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// crashAfterWrites returns, when BEATGRID_CRASH_AFTER_WRITES=N is set, a hook that kills
// this process (SIGKILL) right after the N-th write of the mutation log and before its
// answer: crash tests use it to prove a retry then gets "duplicate". Nil otherwise.
func crashAfterWrites() func() {
	n, err := strconv.Atoi(os.Getenv("BEATGRID_CRASH_AFTER_WRITES"))
	if err != nil || n < 1 {
		return nil
	}
	var writes atomic.Int64
	return func() {
		if writes.Add(1) == int64(n) {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		if ok {
			return fmt.Sprintf("127.0.0.1:%d", tcp.Port)
		}
	}
	return a.String()
}

func newLogger(level, format string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
