// Package load replays realistic terminal and console traffic against a running beatgrid
// server for a bounded time and reports what it measured: per request kind (push, blob put,
// coverage tile, beats summary) the count, errors by status, throughput and latency
// quantiles; the server's resident memory and CPU (sampled from /metrics each second); and
// the generator's own CPU.
//
// Terminals are set up as `beatgrid sim` sets them up (package sim: a station of this run,
// an officer and an enrolled terminal each) and walk the same tracks. Each keeps a simulated
// clock that runs Speedup times faster than the real one: it records a fix every FixInterval
// of simulated time, a track.points mutation every Batch fixes, and pushes whatever it has
// queued as soon as a batch is complete; every PhotoEvery pushes it also submits an
// inspection and uploads its photo. Console readers (commanders of the station) fetch the
// z14 coverage tiles around a terminal and the station's beats summary, in a loop.
package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/beatgrid/beatgrid/sim"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
)

// Config says what load to generate.
type Config struct {
	Server        string // base URL of a running server
	AdminUser     string // sets up the station, officers, terminals, console users, beats
	AdminPassword string
	RunID         string // names this run's station and users; default: "load-" and the start time

	Devices     int           // terminals (default 250)
	Duration    time.Duration // of the load, after setup (default 60 s)
	FixInterval time.Duration // simulated time between two fixes (default 5 s)
	Batch       int           // fixes per track.points mutation (default 12)
	Speedup     float64       // simulated seconds per real second (default 1)
	PhotoEvery  int           // an inspection with a photo every this many pushes (0: none)
	TileReaders int           // console users reading coverage (default 2; negative: none)
	ReaderPause time.Duration // a reader's pause between two map views (default 1 s; negative: none)

	Tracks   [][]geo.Fix // to walk; nil: synthetic walks
	Seed     uint64
	Progress io.Writer // a progress line every ProgressEvery; nil: none
	// ProgressEvery defaults to 5 s.
	ProgressEvery time.Duration
	// Timeout bounds each request (default 30 s); Grace is how long requests in flight at
	// the end may finish before they are cut (default 10 s).
	Timeout, Grace time.Duration
	SetupWorkers   int // concurrent sign-ups during setup (default 4)
}

// Patrols last this many pushes (an hour of a real terminal at the defaults), then end and
// the next starts; a push carries at most maxPushMutations mutations.
const (
	patrolPushes     = 60
	maxPushMutations = 50
	tileZoom         = 14
)

func (c *Config) fill() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Devices, 250)
	def(&c.Batch, 12)
	def(&c.TileReaders, 2)
	def(&c.SetupWorkers, 4)
	defDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	defDur(&c.Duration, time.Minute)
	defDur(&c.FixInterval, 5*time.Second)
	defDur(&c.ReaderPause, time.Second)
	defDur(&c.ProgressEvery, 5*time.Second)
	defDur(&c.Timeout, 30*time.Second)
	defDur(&c.Grace, 10*time.Second)
	c.TileReaders, c.ReaderPause = max(c.TileReaders, 0), max(c.ReaderPause, 0)
	if c.Speedup <= 0 {
		c.Speedup = 1
	}
	if c.AdminUser == "" {
		c.AdminUser = "admin"
	}
	if c.RunID == "" {
		c.RunID = "load-" + time.Now().UTC().Format("150405")
	}
}

func (c *Config) progress(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// run is one load run's shared state.
type run struct {
	cfg     *Config
	c       *client
	station string
	admin   string
	beats   int

	start time.Time // of the load (after setup)
	begin time.Time // simulated time at start
	stop  chan struct{}
	// reqCtx bounds requests: it ends Grace after stop, cutting what is still in flight.
	reqCtx context.Context

	kinds map[string]*kindStats
	fixes struct {
		recorded, applied, duplicate atomic.Int64
	}
	mutations struct {
		applied, duplicate, rejected atomic.Int64
	}
	photos     atomic.Int64 // uploaded
	firstError atomic.Pointer[string]

	terms   []*terminal
	readers []*reader
	sampler *sampler
}

// stopped reports whether the run is over: no new requests then.
func (r *run) stopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// sleep waits d or until the run stops; it reports whether the run goes on.
func (r *run) sleep(d time.Duration) bool {
	if d <= 0 {
		return !r.stopped()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.stop:
		return false
	case <-t.C:
		return true
	}
}

// noteError keeps the first unexpected answer, for the report.
func (r *run) noteError(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.firstError.CompareAndSwap(nil, &s)
}

// measured sends a request of kind and records it.
func (r *run) measured(kind, method, path, token string, hdr map[string]string, body []byte) (int, []byte, error) {
	status, ans, d, err := r.c.do(r.reqCtx, method, path, token, hdr, body)
	if err != nil && r.reqCtx.Err() != nil {
		// Cut at the end of the grace period: not the server's fault, but not answered.
		r.kinds[kind].observe(d, 0, 0, errCut)
	} else {
		r.kinds[kind].observe(d, status, len(ans), err)
	}
	if err == nil && status/100 != 2 && status != http.StatusUnauthorized {
		r.noteError("%s %s: status %d: %.300s", method, path, status, ans)
	} else if err != nil && r.reqCtx.Err() == nil {
		r.noteError("%s %s: %v", method, path, err)
	}
	return status, ans, err
}

var errCut = errors.New("cut at the end of the run")

// Run sets up cfg.Devices terminals and cfg.TileReaders console users, then generates load
// for cfg.Duration or until ctx ends, and reports. Once the load has started it always
// returns a report, stopped early or not; err is for a setup that failed.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.fill()
	setupStart := time.Now()
	r := &run{cfg: &cfg, c: newClient(cfg.Server, min(cfg.Devices+cfg.TileReaders+8, 512), cfg.Timeout),
		stop: make(chan struct{}), kinds: map[string]*kindStats{}}
	defer r.c.close()
	for _, k := range kinds {
		r.kinds[k] = &kindStats{}
	}
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	setupTime := time.Since(setupStart)
	cfg.progress("setup: %d terminals, %d console users, %d beats in %s; load for %s at %g× real time",
		len(r.terms), len(r.readers), r.beats, setupTime.Round(time.Millisecond), cfg.Duration, cfg.Speedup)

	r.sampler = newSampler(cfg.Server)
	r.sampler.sample() // the starting point
	clientCPU0 := processCPU()
	reqCtx, abort := context.WithCancel(context.Background())
	defer abort()
	r.reqCtx = reqCtx
	r.start = time.Now()
	span := time.Duration(float64(cfg.Duration) * cfg.Speedup)
	// All simulated time lies in the past: it ends a batch before the load started.
	r.begin = r.start.Add(-span - time.Duration(cfg.Batch)*cfg.FixInterval).UTC().Truncate(time.Second)

	var wg gosync.WaitGroup
	for _, t := range r.terms {
		wg.Go(func() { t.run(r) })
	}
	for _, rd := range r.readers {
		wg.Go(func() { rd.run(r) })
	}
	var bg gosync.WaitGroup
	bgDone := make(chan struct{})
	bg.Go(func() { r.sampler.loop(bgDone) })
	bg.Go(func() { r.progressLoop(bgDone) })

	early := false
	timer := time.NewTimer(cfg.Duration)
	select {
	case <-timer.C:
	case <-ctx.Done():
		early = true
		cfg.progress("stopping early: %v", context.Cause(ctx))
	}
	timer.Stop()
	elapsed := time.Since(r.start)
	close(r.stop)
	// Requests in flight may finish for Grace, then are cut.
	cut := time.AfterFunc(cfg.Grace, abort)
	wg.Wait()
	cut.Stop()
	close(bgDone)
	bg.Wait()
	r.sampler.sample() // the end point
	return r.report(elapsed, setupTime, early, processCPU()-clientCPU0), nil
}

func (r *run) progressLoop(done <-chan struct{}) {
	if r.cfg.Progress == nil {
		return
	}
	tick := time.NewTicker(r.cfg.ProgressEvery)
	defer tick.Stop()
	var lastPush, lastFixes int64
	last := r.start
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			push, pushErr, p99 := r.kinds[KindPush].snapshot()
			tiles, tileErr, tp99 := r.kinds[KindTile].snapshot()
			_, blobErr, _ := r.kinds[KindBlob].snapshot()
			_, beatErr, _ := r.kinds[KindBeats].snapshot()
			fixes := r.fixes.applied.Load()
			secs := now.Sub(last).Seconds()
			s := r.sampler.last()
			r.cfg.progress("%4.0fs  push %d (%.0f/s, %.0f fixes/s, p99 %s)  tiles %d (p99 %s)  photos %d  errors %d  server rss %s cpu %.0f%%",
				now.Sub(r.start).Seconds(), push, float64(push-lastPush)/secs, float64(fixes-lastFixes)/secs,
				p99.Round(100*time.Microsecond), tiles, tp99.Round(100*time.Microsecond), r.photos.Load(),
				pushErr+tileErr+blobErr+beatErr+r.mutations.rejected.Load(), megabytes(s.rss), 100*s.cpuRate)
			lastPush, lastFixes, last = push, fixes, now
		}
	}
}

// setup creates the run's station, terminals (signed in), console users (signed in) and a
// beat around each track walked.
func (r *run) setup(ctx context.Context) error {
	cfg := r.cfg
	var err error
	r.station, r.admin, err = sim.Station(ctx, sim.Config{Server: cfg.Server, AdminUser: cfg.AdminUser,
		AdminPassword: cfg.AdminPassword, RunID: cfg.RunID})
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	walkCfg := sim.Config{Tracks: cfg.Tracks, Seed: cfg.Seed, Mutations: 1, BatchPoints: 1}
	r.terms = make([]*terminal, cfg.Devices)
	var done atomic.Int64
	err = parallel(ctx, cfg.SetupWorkers, cfg.Devices, func(i int) error {
		cred, err := sim.Enroll(ctx, cfg.Server, r.admin, r.station, sim.TerminalName(cfg.RunID, i))
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		t := &terminal{i: i, cred: cred, fixes: sim.Walk(walkCfg, i), rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)))}
		t.phase = time.Duration(t.rng.Int64N(int64(cfg.Batch) * int64(cfg.FixInterval)))
		if err := t.signIn(ctx, r); err != nil {
			return err
		}
		r.terms[i] = t
		if n := done.Add(1); n%50 == 0 || int(n) == cfg.Devices {
			cfg.progress("setup: %d/%d terminals enrolled and signed in", n, cfg.Devices)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.readers = make([]*reader, cfg.TileReaders)
	err = parallel(ctx, cfg.SetupWorkers, cfg.TileReaders, func(i int) error {
		rd := &reader{name: fmt.Sprintf("%s-console-%02d", cfg.RunID, i), rng: rand.New(rand.NewPCG(cfg.Seed, uint64(1e6+i)))}
		rd.password = rd.name + "-password"
		user := map[string]any{"username": rd.name, "password": rd.password, "roles": []string{"commander"}, "org_unit_id": r.station}
		if err := r.c.call(ctx, http.MethodPost, "/v1/users", r.admin, user, nil); err != nil {
			return fmt.Errorf("load: create console user: %w", err)
		}
		if err := rd.signIn(ctx, r); err != nil {
			return err
		}
		r.readers[i] = rd
		return nil
	})
	if err != nil {
		return err
	}
	return r.createBeats(ctx)
}

// createBeats puts a beat of the station around each distinct walk (at most 8), so that the
// beats summary has cells to count: the walk's bounding box, at most about 4 km across.
func (r *run) createBeats(ctx context.Context) error {
	if r.cfg.TileReaders == 0 {
		return nil
	}
	n := min(len(r.terms), max(len(r.cfg.Tracks), 1), 8)
	for i := range n {
		b := orb.MultiPoint(geo.Points(r.terms[i].fixes)).Bound().Pad(0.002)
		c := b.Center()
		half := orb.Point{min(b.Max[0]-c[0], 0.02), min(b.Max[1]-c[1], 0.02)}
		lo, hi := orb.Point{c[0] - half[0], c[1] - half[1]}, orb.Point{c[0] + half[0], c[1] + half[1]}
		ring := [][]float64{{lo[0], lo[1]}, {hi[0], lo[1]}, {hi[0], hi[1]}, {lo[0], hi[1]}, {lo[0], lo[1]}}
		unit := map[string]any{"kind": "beat", "name": fmt.Sprintf("Load beat %s-%d", r.cfg.RunID, i), "parent_id": r.station,
			"boundary": map[string]any{"type": "Polygon", "coordinates": [][][]float64{ring}}}
		if err := r.c.call(ctx, http.MethodPost, "/v1/org-units", r.admin, unit, nil); err != nil {
			return fmt.Errorf("load: create beat: %w", err)
		}
		r.beats++
	}
	return nil
}

// parallel calls f(0…n-1) on up to workers goroutines and returns the first error; after
// one, the rest are skipped.
func parallel(ctx context.Context, workers, n int, f func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg gosync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

type tokens struct {
	Access string `json:"access_token"`
}

// terminal is one simulated handheld on a simulated clock.
type terminal struct {
	i     int
	cred  sim.Credentials
	token string
	rng   *rand.Rand
	fixes []geo.Fix     // positions along its walk
	phase time.Duration // simulated time of its first fix after the run's begin

	next     int          // next fix to record
	pos      atomic.Int64 // the last fix recorded, for the console readers
	seq      int64
	patrol   string
	inPatrol int // pushes of the current patrol
	pushes   int
	queue    []bgsync.Incoming
	fixesOf  map[string]int // track.points mutation id → fixes in it
	photos   []photo        // taken, not uploaded
}

type photo struct {
	sha  string
	data []byte
}

func (t *terminal) signIn(ctx context.Context, r *run) error {
	var tok tokens
	body := map[string]string{"device_id": t.cred.DeviceID, "device_secret": t.cred.DeviceSecret,
		"username": t.cred.Username, "password": t.cred.Password}
	err := retry(ctx, func() error { return r.c.call(ctx, http.MethodPost, "/v1/auth/device-login", "", body, &tok) })
	if err != nil {
		return fmt.Errorf("load: terminal %s signs in: %w", t.cred.Username, err)
	}
	t.token = tok.Access
	return nil
}

// fixTime is fix k's simulated time; fixDue is when, in real time, the terminal has it.
func (t *terminal) fixTime(r *run, k int) time.Time {
	return r.begin.Add(t.phase + time.Duration(k)*r.cfg.FixInterval)
}

func (t *terminal) fixDue(r *run, k int) time.Time {
	return r.start.Add(time.Duration(float64(t.phase+time.Duration(k)*r.cfg.FixInterval) / r.cfg.Speedup))
}

// run records a batch each time its clock completes one, and pushes what is queued, until
// the run stops.
func (t *terminal) run(r *run) {
	t.fixesOf = map[string]int{}
	batch := r.cfg.Batch
	for {
		if !r.sleep(time.Until(t.fixDue(r, t.next+batch-1))) {
			return
		}
		// Record every batch that is complete by now (more than one if the last push was slow).
		for !time.Now().Before(t.fixDue(r, t.next+batch-1)) {
			t.recordBatch(r)
		}
		t.pushes++
		if r.cfg.PhotoEvery > 0 && t.pushes%r.cfg.PhotoEvery == 0 {
			t.inspect(r)
		}
		for len(t.queue) > 0 && !r.stopped() {
			if !t.push(r) {
				break // try again with the next batch
			}
		}
		for len(t.photos) > 0 && !r.stopped() {
			if !t.upload(r) {
				break
			}
		}
	}
}

func (t *terminal) add(typ string, at time.Time, payload any) string {
	b, _ := json.Marshal(payload)
	t.seq++
	m := bgsync.Incoming{ID: uuid.Must(uuid.NewV7()).String(), Seq: t.seq, Type: typ, OccurredAt: at, Payload: b}
	t.queue = append(t.queue, m)
	return m.ID
}

// recordBatch records the next Batch fixes as one track.points mutation, starting a patrol
// first if none is open, and ending it (and starting the next) after patrolPushes batches.
func (t *terminal) recordBatch(r *run) {
	first := t.fixTime(r, t.next)
	if t.patrol != "" && t.inPatrol == patrolPushes {
		last := t.fixTime(r, t.next-1)
		t.add("patrol.end", last, map[string]any{"patrol_id": t.patrol, "t": last})
		t.patrol, t.inPatrol = "", 0
	}
	if t.patrol == "" {
		t.patrol = uuid.Must(uuid.NewV7()).String()
		t.add("patrol.start", first, map[string]any{"patrol_id": t.patrol, "mode": "foot", "t": first})
	}
	pts := make([]map[string]any, r.cfg.Batch)
	for i := range pts {
		p := t.fixes[t.next%len(t.fixes)].Point
		pts[i] = map[string]any{"lon": p[0], "lat": p[1], "t": t.fixTime(r, t.next), "acc": 5}
		t.next++
	}
	t.pos.Store(int64(t.next - 1))
	id := t.add("track.points", first, map[string]any{"patrol_id": t.patrol, "points": pts})
	t.fixesOf[id] = len(pts)
	t.inPatrol++
	r.fixes.recorded.Add(int64(len(pts)))
}

// inspect records an inspection where the terminal stands, with a photo to upload.
func (t *terminal) inspect(r *run) {
	k := max(t.next-1, 0)
	f := geo.Fix{Point: t.fixes[k%len(t.fixes)].Point, T: t.fixTime(r, k)}
	sha, data := sim.NewPhoto(t.rng)
	t.add("inspection.submit", f.T, sim.InspectionPayload(t.rng, sha, f))
	t.photos = append(t.photos, photo{sha, data})
}

type pushAnswer struct {
	Results []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Code   string `json:"code"`
		Detail string `json:"detail"`
	} `json:"results"`
}

// push sends up to maxPushMutations of the queue and drops what was answered; it reports
// whether the push was answered.
func (t *terminal) push(r *run) bool {
	batch := t.queue[:min(len(t.queue), maxPushMutations)]
	body, _ := json.Marshal(map[string]any{"device_time": time.Now().UTC(), "mutations": batch})
	status, ans, err := r.measured(KindPush, http.MethodPost, "/v1/sync/push", t.token, jsonHeader, body)
	if err != nil || status != http.StatusOK {
		if status == http.StatusUnauthorized && !r.stopped() {
			_ = t.signIn(r.reqCtx, r)
		}
		return false
	}
	var pa pushAnswer
	if err := json.Unmarshal(ans, &pa); err != nil {
		r.noteError("push: decode answer: %v", err)
		return false
	}
	answered := map[string]bool{}
	for _, res := range pa.Results {
		answered[res.ID] = true
		n := int64(t.fixesOf[res.ID])
		switch res.Status {
		case "applied":
			r.mutations.applied.Add(1)
			r.fixes.applied.Add(n)
		case "duplicate":
			r.mutations.duplicate.Add(1)
			r.fixes.duplicate.Add(n)
		default:
			r.mutations.rejected.Add(1)
			r.noteError("push: mutation rejected: %s %s", res.Code, res.Detail)
		}
		delete(t.fixesOf, res.ID)
	}
	before := len(t.queue)
	t.queue = slices.DeleteFunc(t.queue, func(m bgsync.Incoming) bool { return answered[m.ID] })
	return len(t.queue) < before
}

// upload sends the first photo taken whole; it reports whether it arrived.
func (t *terminal) upload(r *run) bool {
	p := t.photos[0]
	hdr := map[string]string{"Content-Type": "image/jpeg"}
	status, _, err := r.measured(KindBlob, http.MethodPut, "/v1/blobs/"+p.sha, t.token, hdr, p.data)
	if err != nil || status/100 != 2 {
		if status == http.StatusUnauthorized && !r.stopped() {
			_ = t.signIn(r.reqCtx, r)
		}
		return false
	}
	t.photos = t.photos[1:]
	r.photos.Add(1)
	return true
}

// reader is a console user looking at the coverage map around the terminals.
type reader struct {
	name, password, token string
	rng                   *rand.Rand
}

func (rd *reader) signIn(ctx context.Context, r *run) error {
	var tok tokens
	body := map[string]string{"username": rd.name, "password": rd.password}
	err := retry(ctx, func() error { return r.c.call(ctx, http.MethodPost, "/v1/auth/login", "", body, &tok) })
	if err != nil {
		return fmt.Errorf("load: console user %s signs in: %w", rd.name, err)
	}
	rd.token = tok.Access
	return nil
}

// run looks at map views until the run stops: the 3×3 z14 tiles around a random terminal,
// then the station's beats summary, then a pause.
func (rd *reader) run(r *run) {
	gz := map[string]string{"Accept-Encoding": "gzip"}
	for !r.stopped() {
		t := r.terms[rd.rng.IntN(len(r.terms))]
		p := t.fixes[int(t.pos.Load())%len(t.fixes)].Point
		center := geo.CellAt(p, tileZoom).Tile()
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				tile := geo.Tile{X: uint32(int(center.X) + dx), Y: uint32(int(center.Y) + dy), Z: tileZoom}
				if !tile.Valid() || r.stopped() {
					continue
				}
				rd.get(r, KindTile, fmt.Sprintf("/v1/coverage/tiles/%d/%d/%d.mvt", tile.Z, tile.X, tile.Y), gz)
			}
		}
		if r.stopped() {
			return
		}
		rd.get(r, KindBeats, "/v1/coverage/beats?org_unit_id="+r.station, nil)
		r.sleep(r.cfg.ReaderPause)
	}
}

func (rd *reader) get(r *run, kind, path string, hdr map[string]string) {
	status, _, _ := r.measured(kind, http.MethodGet, path, rd.token, hdr, nil)
	if status == http.StatusUnauthorized && !r.stopped() {
		_ = rd.signIn(r.reqCtx, r)
	}
}
