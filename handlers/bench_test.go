package handlers_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// serve runs one request through h on a reused fasthttp context and checks its status.
func serve(b *testing.B, h fasthttp.RequestHandler, ctx *fasthttp.RequestCtx, want int) {
	ctx.Response.Reset()
	h(ctx)
	if got := ctx.Response.StatusCode(); got != want {
		b.Fatalf("status %d, want %d: %s", got, want, ctx.Response.Body())
	}
}

func request(method, path, token string, body []byte) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	if token != "" {
		ctx.Request.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBody(body)
	}
	return &ctx
}

// BenchmarkLogin signs in with a password (argon2id dominates); it reports the median.
func BenchmarkLogin(b *testing.B) {
	e := newEnv(b)
	h := e.app.Handler()
	ctx := request("POST", "/v1/auth/login", "", []byte(`{"username":"admin","password":"`+adminPassword+`"}`))
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		serve(b, h, ctx, 200)
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkMe is an authenticated read through the whole middleware stack: request id,
// access log, metrics, token check (signature, epochs), scope lookup, JSON.
func BenchmarkMe(b *testing.B) {
	e := newEnv(b)
	h := e.app.Handler()
	ctx := request("GET", "/v1/me", e.admin, nil)
	for b.Loop() {
		serve(b, h, ctx, 200)
	}
}

// BenchmarkBareFiber is the baseline for BenchmarkMe: a bare Fiber app answering a small
// JSON object.
func BenchmarkBareFiber(b *testing.B) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/v1/me", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"user": "admin", "roles": []string{"admin"}}) })
	h := app.Handler()
	ctx := request("GET", "/v1/me", "", nil)
	for b.Loop() {
		serve(b, h, ctx, 200)
	}
}
