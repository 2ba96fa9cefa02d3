package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/handlers"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
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

// BenchmarkPush500 pushes batches of 25 track.points mutations of 20 fixes (500 fixes) from
// one terminal through the whole stack onto the embedded store; it reports fixes/s and the
// median and 99th percentile of a push. Making the body is not timed.
func BenchmarkPush500(b *testing.B) {
	e := newEnv(b)
	tr := e.tree()
	officer := e.officerOnTerminal("bench.officer", tr.StationA1)
	h := e.app.Handler()
	seq := 0
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		b.StopTimer() // making the body is the terminal's work, not the server's
		ms := make([]any, 25)
		for i := range ms {
			seq++
			ms[i] = trackBatch(seq, 20)
		}
		body, _ := json.Marshal(map[string]any{"mutations": ms})
		ctx := request("POST", "/v1/sync/push", officer.AccessToken, body)
		b.StartTimer()
		start := time.Now()
		serve(b, h, ctx, 200)
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat)*500)/b.Elapsed().Seconds(), "fixes/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// trackBatch is a track.points mutation of n fixes 5 s apart.
func trackBatch(seq, n int) map[string]any {
	pts := make([]map[string]any, n)
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC).Add(time.Duration(seq*n) * 5 * time.Second)
	for i := range pts {
		pts[i] = map[string]any{"lon": 121.9 + float64(seq*n+i)*1e-5, "lat": 29.45, "t": t0.Add(time.Duration(i) * 5 * time.Second), "acc": 5}
	}
	return map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "seq": seq, "type": "track.points",
		"payload": map[string]any{"patrol_id": "0193a7c0-0000-7000-8000-000000000001", "points": pts}}
}

// BenchmarkPush500Parallel is BenchmarkPush500 from 8 terminals at once.
func BenchmarkPush500Parallel(b *testing.B) {
	e := newEnv(b)
	tr := e.tree()
	tokens := make(chan string, 8)
	for i := range 8 {
		tokens <- e.officerOnTerminal(fmt.Sprint("bench.p", i), tr.StationA1).AccessToken
	}
	h := e.app.Handler()
	var seq atomic.Int64
	b.SetParallelism(4) // 8 goroutines on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		token := <-tokens
		for pb.Next() {
			ms := make([]any, 25)
			for i := range ms {
				ms[i] = trackBatch(int(seq.Add(1)), 20)
			}
			body, _ := json.Marshal(map[string]any{"mutations": ms})
			serve(b, h, request("POST", "/v1/sync/push", token, body), 200)
		}
	})
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "fixes/s")
}

// BenchmarkRawInsert500 is the baseline of BenchmarkPush500: the same 25 documents of 20
// fixes written with one raw insertMany on the same embedded store, with no HTTP, no auth, no
// validation and no folds. Making the documents is not timed.
func BenchmarkRawInsert500(b *testing.B) {
	e := newEnv(b)
	now := time.Now().UTC()
	seq := 0
	for b.Loop() {
		b.StopTimer() // as in BenchmarkPush500, only the write is timed
		docs := make([]*beatgrid.Mutation, 25)
		for i := range docs {
			seq++
			payload, _ := json.Marshal(trackBatch(seq, 20)["payload"])
			var tp bgsync.TrackPoints
			_ = json.Unmarshal(payload, &tp)
			fact, _ := json.Marshal(&tp)
			docs[i] = &beatgrid.Mutation{DeviceID: "raw-device", ID: uuid.Must(uuid.NewV7()).String(), Seq: int64(seq),
				Type: "track.points", OccurredAt: now, DeviceTime: now, ReceivedAt: now, UserID: "u", OrgUnitID: e.root,
				Hash: "h", Fact: fact, Status: beatgrid.StatusApplied}
		}
		b.StartTimer()
		if _, err := e.db.InsertMutations(context.Background(), docs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "fixes/s")
}

// BenchmarkHello is an authenticated hello through beatgrid's whole stack (request id,
// access log, metrics, recover, body inflation, token check): the middleware's cost against
// BenchmarkBareFiber, without the cost of any handler's answer.
func BenchmarkHello(b *testing.B) {
	e := newEnv(b)
	e.app.Get("/bench/hello", handlers.Authenticate(e.svc), func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"user": "admin", "roles": []string{"admin"}})
	})
	h := e.app.Handler()
	ctx := request("GET", "/bench/hello", e.admin, nil)
	for b.Loop() {
		serve(b, h, ctx, 200)
	}
}
