// Package handlers is beatgrid's HTTP API on Fiber v2: parse, authorize, call a service,
// encode. It is the only package that imports Fiber. Every error leaves through one error
// handler as RFC 9457 problem+json.
package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/coverage"
	"github.com/beatgrid/beatgrid/inspect"
	"github.com/beatgrid/beatgrid/patrol"
	"github.com/beatgrid/beatgrid/report"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
)

// Config tunes the HTTP server.
type Config struct {
	Logger       *slog.Logger
	BodyLimit    int // hard limit on any request body, compressed or not (bytes)
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
}

// Pinger is the database as the health checks see it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are the services the handlers call.
type Deps struct {
	Auth    *auth.Service
	Sync    *bgsync.Engine
	Feed    *bgsync.Feed
	Patrols *patrol.Service
	Places  *patrol.Places
	// Coverage is the coverage ledger; nil serves no coverage routes (tests of other parts).
	Coverage *coverage.Ledger
	// Inspect serves venues, checklists, inspections, hazards and tasks; nil serves none.
	Inspect *inspect.Service
	// Reports serves reports and alerts; nil serves none.
	Reports *report.Service
	Blobs   beatgrid.BlobStore
	DB      Pinger
	OpenAPI []byte
	// BasemapURL is the console's raster basemap, a tile URL template; "" for none.
	BasemapURL string
}

// New returns the Fiber app with every route.
func New(cfg Config, d Deps) *fiber.App {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BodyLimit == 0 {
		cfg.BodyLimit = 8 << 20
	}
	app := fiber.New(fiber.Config{
		AppName:               "beatgrid",
		ErrorHandler:          errorHandler(cfg.Logger),
		BodyLimit:             cfg.BodyLimit,
		ReadTimeout:           orDefault(cfg.ReadTimeout, 30*time.Second),
		WriteTimeout:          orDefault(cfg.WriteTimeout, 30*time.Second),
		IdleTimeout:           orDefault(cfg.IdleTimeout, 120*time.Second),
		ReadBufferSize:        16 << 10, // request line and headers
		DisableStartupMessage: true,
		CaseSensitive:         true,
		JSONEncoder:           json.Marshal,
		JSONDecoder:           json.Unmarshal,
	})
	m := newMetrics()
	if d.Sync != nil {
		m.registerSync(d.Sync)
	}
	app.Use(withRequestID, observe(cfg.Logger, m), recover.New(), inflate(cfg.BodyLimit))
	routes(app, d, m)
	return app
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// routes registers every route. Each states its own guard: authed for any signed-in user;
// the services check roles and scope.
func routes(app *fiber.App, d Deps, m *metrics) {
	authed := authenticate(d.Auth)
	h := &health{db: d.DB, m: m, openapi: d.OpenAPI}
	app.Get("/healthz", h.alive)
	app.Get("/readyz", h.ready)
	app.Get("/metrics", h.metrics)
	app.Get("/v1/openapi.yaml", h.spec)

	a := &authHandlers{svc: d.Auth}
	app.Get("/.well-known/jwks.json", a.jwks)
	app.Post("/v1/auth/login", noStore, a.login)
	app.Post("/v1/auth/device-login", noStore, a.deviceLogin)
	app.Post("/v1/auth/refresh", noStore, a.refresh)
	app.Post("/v1/auth/logout", noStore, a.logout)
	app.Post("/v1/devices/enroll", noStore, a.enroll)
	app.Get("/v1/me", authed, noStore, a.me)

	o := &orgUnitHandlers{svc: d.Auth}
	app.Get("/v1/org-units", authed, o.list)
	app.Post("/v1/org-units", authed, o.create)
	app.Get("/v1/org-units/:id", authed, o.get)
	app.Patch("/v1/org-units/:id", authed, o.update)

	u := &userHandlers{svc: d.Auth}
	app.Get("/v1/users", authed, u.list)
	app.Post("/v1/users", authed, u.create)
	app.Get("/v1/users/:id", authed, u.get)
	app.Patch("/v1/users/:id", authed, u.update)

	dv := &deviceHandlers{svc: d.Auth}
	app.Get("/v1/devices", authed, dv.list)
	app.Post("/v1/devices", authed, noStore, dv.create)
	app.Get("/v1/devices/:id", authed, dv.get)
	app.Post("/v1/devices/:id/revoke", authed, dv.revoke)

	s := &syncHandlers{engine: d.Sync, feed: d.Feed, auth: d.Auth}
	app.Post("/v1/sync/push", authed, s.push)
	app.Get("/v1/sync/pull", authed, s.pull)
	registerIngest(app, d.Auth, d.Sync) // tracking apps: the device credential is in the request

	// HEAD before GET: Fiber's GET would answer HEAD too, but HEAD tells partial uploads apart.
	b := &blobHandlers{store: d.Blobs, arrived: d.Sync.BlobArrived}
	app.Put("/v1/blobs/:sha256", authed, b.put)
	app.Head("/v1/blobs/:sha256", authed, b.head)
	app.Get("/v1/blobs/:sha256", authed, b.get)

	pt := &patrolHandlers{svc: d.Patrols, auth: d.Auth}
	app.Get("/v1/patrols", authed, pt.list)
	app.Get("/v1/patrols/:id", authed, pt.get)
	app.Get("/v1/patrols/:id/track", authed, pt.track)

	registerPlaces(app, authed, d.Places)
	registerBeats(app, authed, d.Auth, d.Places.InUnit)
	if d.Reports != nil {
		registerReports(app, authed, d.Reports)
	}
	if d.Inspect != nil {
		registerInspect(app, authed, d.Inspect, d.Auth)
	}
	if d.Coverage != nil {
		registerCoverage(app, authed, d)
	}
	registerConsole(app, d.BasemapURL) // the commander console at /: public static files
}
