package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/coverage"
	"github.com/beatgrid/beatgrid/docs"
	"github.com/beatgrid/beatgrid/handlers"
	"github.com/beatgrid/beatgrid/inspect"
	"github.com/beatgrid/beatgrid/patrol"
	"github.com/beatgrid/beatgrid/report"
	"github.com/beatgrid/beatgrid/store"
	"github.com/beatgrid/beatgrid/store/storetest"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/gofiber/fiber/v2"
)

// adminPassword is the first admin's password in every test environment.
const adminPassword = "first-admin-password"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is a real app on a real embedded database, driven through app.Test.
type env struct {
	t     testing.TB
	app   *fiber.App
	svc   *auth.Service
	sync  *bgsync.Engine
	db    *store.DB
	clock *clock

	ledger *coverage.Ledger // flush it (e.flush) before reading coverage
	insp   *inspect.Service // e.flush publishes what its folds changed, as the server does in the background

	admin string // the first admin's access token
	root  string // the root bureau's id
}

// newEnv starts an app on a fresh embedded store. cfg may change the auth config.
func newEnv(t testing.TB, cfg ...func(*auth.Config)) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.OpenEmbedded(t)
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	feed := bgsync.NewFeed()
	ac := auth.Config{MasterKey: bytes.Repeat([]byte{7}, 32), Now: clk.Now, Feed: feed,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), IPBurst: 10000, UserBurst: 10000}
	for _, f := range cfg {
		f(&ac)
	}
	svc, err := auth.New(ctx, db, ac)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	if _, _, err := svc.EnsureAdmin(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	places, err := patrol.NewPlaces(ctx, db, svc.OrgTree, feed)
	if err != nil {
		t.Fatal(err)
	}
	places.SetClock(clk.Now)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := bgsync.NewRegistry()
	patrols := patrol.New(places)
	patrols.Register(reg)
	ledger := coverage.New(coverage.Config{Store: db, Patrols: patrols, Places: places, Logger: quiet})
	ledger.Register(reg)
	if err := ledger.Load(ctx); err != nil {
		t.Fatal(err)
	}
	insp, err := inspect.New(ctx, inspect.Config{Store: db, Tree: svc.OrgTree, Feed: feed, Logger: quiet, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	insp.Register(reg)
	engine := bgsync.New(db, reg, bgsync.Config{Now: clk.Now, Logger: quiet, Blobs: bgsync.NewBlobIndex()})
	t.Cleanup(engine.Close)
	if err := engine.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := insp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	acks, err := report.LoadAcks(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	reports := &report.Service{Auth: svc, Patrols: patrols, Coverage: ledger, Inspect: insp, Acks: acks}
	app := handlers.New(handlers.Config{Logger: quiet},
		handlers.Deps{Auth: svc, Sync: engine, Feed: feed, Patrols: patrols, Places: places, Coverage: ledger, Inspect: insp,
			Reports: reports, Blobs: db, DB: db, OpenAPI: docs.OpenAPI})
	e := &env{t: t, app: app, svc: svc, sync: engine, db: db, clock: clk, ledger: ledger, insp: insp}
	e.admin = e.login("admin", adminPassword).AccessToken
	e.root = e.me(e.admin).Scope.ID
	return e
}

// response is an answer read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// problem decodes a problem+json answer and checks its media type.
func (r *response) problem(t testing.TB) handlers.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, r.Body)
	}
	var p handlers.Problem
	r.decode(t, &p)
	if p.Status != r.Status || p.Title == "" || p.Type == "" {
		t.Fatalf("malformed problem %+v for status %d", p, r.Status)
	}
	return p
}

// request sends a raw request through the app.
func (e *env) request(req *http.Request) *response {
	e.t.Helper()
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// mediaBody is a body that is not JSON (a photo's bytes), with its own headers.
type mediaBody struct {
	data   []byte
	header map[string]string // Content-Type, Content-Range …
}

// do sends body (nil, a string of raw JSON, an encoded *rawBody, a *mediaBody, or a value to
// encode) with token, if any.
func (e *env) do(method, path string, body any, token string) *response {
	e.t.Helper()
	var r io.Reader
	encoding := ""
	var header map[string]string
	switch b := body.(type) {
	case nil:
	case *mediaBody:
		r, header = bytes.NewReader(b.data), b.header
	case *rawBody:
		r, encoding = bytes.NewReader(b.data), b.encoding
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.request(req)
}

// must sends a request and fails the test unless the status is want; it decodes into out.
func (e *env) must(want int, method, path string, body any, token string, out any) *response {
	e.t.Helper()
	r := e.do(method, path, body, token)
	if r.Status != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.Status, want, r.Body)
	}
	if out != nil {
		r.decode(e.t, out)
	}
	return r
}

type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

func (e *env) login(username, password string) tokenPair {
	e.t.Helper()
	var p tokenPair
	e.must(200, "POST", "/v1/auth/login", map[string]string{"username": username, "password": password}, "", &p)
	return p
}

type meJSON struct {
	User struct {
		ID       string   `json:"id"`
		Username string   `json:"username"`
		Roles    []string `json:"roles"`
	} `json:"user"`
	Roles []string `json:"roles"`
	Scope struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
	} `json:"scope"`
	Device *struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"device"`
}

func (e *env) me(token string) meJSON {
	e.t.Helper()
	var m meJSON
	e.must(200, "GET", "/v1/me", nil, token, &m)
	return m
}

type idJSON struct {
	ID string `json:"id"`
}

// unit creates an org unit as the first admin and returns its id.
func (e *env) unit(kind, name, parent string) string {
	e.t.Helper()
	var u idJSON
	e.must(201, "POST", "/v1/org-units", map[string]string{"kind": kind, "name": name, "parent_id": parent}, e.admin, &u)
	return u.ID
}

// user creates a user as the first admin and returns its id.
func (e *env) user(username, unit string, roles ...string) string {
	e.t.Helper()
	var u idJSON
	e.must(201, "POST", "/v1/users", map[string]any{"username": username, "password": username + "-password",
		"roles": roles, "org_unit_id": unit}, e.admin, &u)
	return u.ID
}

// terminal is an enrolled device.
type terminal struct {
	ID, Secret string
}

// device creates and enrolls a device of unit as the first admin.
func (e *env) device(name, unit string) terminal {
	e.t.Helper()
	var created struct {
		ID             string `json:"id"`
		EnrollmentCode string `json:"enrollment_code"`
	}
	e.must(201, "POST", "/v1/devices", map[string]string{"name": name, "org_unit_id": unit}, e.admin, &created)
	var enrolled struct {
		DeviceID     string `json:"device_id"`
		DeviceSecret string `json:"device_secret"`
	}
	e.must(201, "POST", "/v1/devices/enroll", map[string]string{"enrollment_code": created.EnrollmentCode,
		"hardware_id": "hw-" + name}, "", &enrolled)
	if enrolled.DeviceID != created.ID {
		e.t.Fatalf("enrolled %s, created %s", enrolled.DeviceID, created.ID)
	}
	return terminal{ID: enrolled.DeviceID, Secret: enrolled.DeviceSecret}
}

// deviceLogin signs username (password username+"-password") in on d.
func (e *env) deviceLogin(d terminal, username string) tokenPair {
	e.t.Helper()
	var p tokenPair
	e.must(200, "POST", "/v1/auth/device-login", map[string]string{"device_id": d.ID, "device_secret": d.Secret,
		"username": username, "password": username + "-password"}, "", &p)
	return p
}

// tree is a small bureau: two zones, stations, beats; used by scope tests.
type tree struct {
	Root, ZoneA, StationA1, BeatA1, StationA2, ZoneB, StationB1 string
}

func (e *env) tree() tree {
	e.t.Helper()
	t := tree{Root: e.root}
	t.ZoneA = e.unit("zone", "Zone A", t.Root)
	t.StationA1 = e.unit("station", "Station A1", t.ZoneA)
	t.BeatA1 = e.unit("beat", "Beat A1-1", t.StationA1)
	t.StationA2 = e.unit("station", "Station A2", t.ZoneA)
	t.ZoneB = e.unit("zone", "Zone B", t.Root)
	t.StationB1 = e.unit("station", "Station B1", t.ZoneB)
	return t
}

// flush does what the server does in the background after pushes: folds the coverage and
// publishes changed hazards and tasks to pulls.
func (e *env) flush() {
	e.t.Helper()
	if err := e.ledger.Flush(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	if err := e.insp.Publish(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}
