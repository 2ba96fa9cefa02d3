// Package sim simulates patrol terminals against a running beatgrid server: each enrolls,
// signs an officer in, walks a real GPS track recording patrols, goes offline now and then,
// and syncs over a network that can be made to misbehave (Chaos: a toxiproxy between them).
// It reports what it recorded and what the server acknowledged, and keeps every mutation so
// a test can check the server took each exactly once.
package sim

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/paulmach/orb"
)

// Config says what to simulate.
type Config struct {
	Server        string // base URL of the server
	AdminUser     string // creates the station, officers and terminals
	AdminPassword string
	RunID         string // names this run's station and users; default: the start time

	Devices   int           // terminals
	Mutations int           // mutations each terminal records
	Duration  time.Duration // bound on the whole run

	BatchPoints   int // fixes per track.points mutation (default 20)
	PatrolBatches int // track batches per patrol (default 60)
	PushBatch     int // mutations per push (default 50)
	FixEvery      time.Duration
	OfflineChance float64 // per sync round: chance to go offline …
	OfflineRounds int     // … for up to this many rounds
	InspectEvery  int     // an inspection with a photo every this many mutations (0: none)
	Checkpoints   int     // checkpoints placed along each terminal's walk, punched as it passes (0: none)

	// Chaos puts a fault-injecting proxy between terminals and server, and makes clients
	// send some pushes twice at once.
	Chaos           bool
	DuplicateChance float64

	Tracks   [][]geo.Fix // tracks to walk; nil: a synthetic walk
	Seed     uint64
	Progress io.Writer // progress lines; nil: none

	// Ready, if set, is called with the run's station once the terminals are enrolled.
	Ready func(station string)
}

func (c *Config) fill() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Devices, 10)
	def(&c.Mutations, 200)
	def(&c.BatchPoints, 20)
	def(&c.PatrolBatches, 60)
	def(&c.PushBatch, 50)
	def(&c.OfflineRounds, 3)
	if c.FixEvery == 0 {
		c.FixEvery = 5 * time.Second
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Minute
	}
	if c.RunID == "" {
		c.RunID = time.Now().UTC().Format("150405")
	}
	if c.AdminUser == "" {
		c.AdminUser = "admin"
	}
	if c.Chaos && c.DuplicateChance == 0 {
		c.DuplicateChance = 0.2
	}
}

func (c *Config) progress(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// counters are shared by all terminals.
type counters struct {
	recorded, fixes, pushes, errors, applied, duplicates, rejected, photos atomic.Int64
	retries                                                                atomic.Int64

	mu      gosync.Mutex
	latency []time.Duration
}

func (c *counters) observe(d time.Duration) {
	c.mu.Lock()
	c.latency = append(c.latency, d)
	c.mu.Unlock()
}

func (c *counters) count(status string) {
	switch status {
	case "applied":
		c.applied.Add(1)
	case "duplicate":
		c.duplicates.Add(1)
	default:
		c.rejected.Add(1)
	}
}

// Report is what a run did.
type Report struct {
	Terminals  int
	Recorded   int64 // mutations recorded by all terminals
	Fixes      int64
	Photos     int64 // uploaded
	Pushes     int64 // push requests sent (duplicates included)
	Retries    int64
	Errors     int64 // sync rounds that failed and were retried later
	Applied    int64 // results by status, as answered
	Duplicates int64
	Rejected   int64
	PushP50    time.Duration // per acknowledged batch, retries included
	PushP99    time.Duration
	Elapsed    time.Duration
	// ReplicaMismatches counts terminals whose pulled replica differs from a full pull at
	// the end: a change skipped by a pull.
	ReplicaMismatches int
	Devices           []DeviceReport
}

// DeviceReport is one terminal's part.
type DeviceReport struct {
	DeviceID string
	Recorded []Mutation // everything it recorded, in order
	Unacked  int        // still queued at the end

	// The terminal's credentials and officer, to sign in as it again.
	DeviceSecret, Username, Password string
}

// Run simulates cfg.Devices terminals until each has recorded and synced cfg.Mutations
// mutations, or cfg.Duration passes.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.fill()
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	setupClient := newClient(cfg.Server, 30*time.Second, false)
	station, admin, creds, err := setup(ctx, setupClient, &cfg, cfg.Devices)
	if err != nil {
		return nil, err
	}
	if cfg.Ready != nil {
		cfg.Ready(station)
	}
	base := cfg.Server
	if cfg.Chaos {
		p, err := startChaos(cfg.Server, cfg.Seed)
		if err != nil {
			return nil, err
		}
		defer p.Stop()
		base = "http://" + p.Listen
	}
	stats := &counters{}
	terms := make([]*terminal, len(creds))
	for i, cr := range creds {
		terms[i] = &terminal{cfg: &cfg, c: newClient(base, 5*time.Second, cfg.Chaos), cred: cr, stats: stats,
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i))), fixes: walk(&cfg, i), replica: map[string]int64{}}
		if cfg.Checkpoints > 0 {
			cps, err := placeCheckpoints(ctx, setupClient, admin, station, cr.Username, terms[i].fixes, cfg.Checkpoints)
			if err != nil {
				return nil, err
			}
			terms[i].checkpoints = cps
		}
	}
	stopProgress := reportProgress(&cfg, stats, start)
	errs := runAll(ctx, terms)
	stopProgress()
	rep := report(stats, terms, time.Since(start))
	rep.ReplicaMismatches = checkReplicas(ctx, terms)
	return rep, errs
}

// runAll runs every terminal at once and returns the first error.
func runAll(ctx context.Context, terms []*terminal) error {
	var wg gosync.WaitGroup
	errs := make([]error, len(terms))
	for i, t := range terms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = t.run(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("sim: terminal %d: %w", i, err)
		}
	}
	return nil
}

func reportProgress(cfg *Config, s *counters, start time.Time) (stop func()) {
	done := make(chan struct{})
	var wg gosync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				cfg.progress("%4.0fs  recorded %d  applied %d  duplicate %d  pushes %d  retries %d",
					time.Since(start).Seconds(), s.recorded.Load(), s.applied.Load(), s.duplicates.Load(),
					s.pushes.Load(), s.retries.Load())
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func report(s *counters, terms []*terminal, elapsed time.Duration) *Report {
	r := &Report{Terminals: len(terms), Recorded: s.recorded.Load(), Fixes: s.fixes.Load(), Pushes: s.pushes.Load(),
		Retries: s.retries.Load(), Errors: s.errors.Load(), Applied: s.applied.Load(), Duplicates: s.duplicates.Load(),
		Rejected: s.rejected.Load(), Photos: s.photos.Load(), Elapsed: elapsed}
	lat := slices.Clone(s.latency)
	slices.Sort(lat)
	if len(lat) > 0 {
		r.PushP50, r.PushP99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	for _, t := range terms {
		r.Devices = append(r.Devices, DeviceReport{DeviceID: t.cred.DeviceID, Recorded: t.recorded, Unacked: len(t.queue),
			DeviceSecret: t.cred.Secret, Username: t.cred.Username, Password: t.cred.Password})
	}
	return r
}

// checkReplicas brings each terminal's replica, built by pulls from its cursor during the
// run, up to date with one more such pull, and compares it with a full pull from nothing:
// they differ only if a pull skipped a change.
func checkReplicas(ctx context.Context, terms []*terminal) int {
	bad := 0
	for _, t := range terms {
		fresh := map[string]int64{}
		err := t.pull(ctx)
		if err == nil {
			_, err = pullInto(ctx, t.c, t.token, "", fresh, &t.stats.retries)
		}
		if err != nil || !mapsEqual(fresh, t.replica) {
			bad++
		}
	}
	return bad
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// walk returns the fixes terminal i walks: one of cfg.Tracks (time-shifted to end now,
// walked there and back so it never runs out), or a synthetic random walk.
func walk(cfg *Config, i int) []geo.Fix {
	var src []geo.Fix
	if len(cfg.Tracks) > 0 {
		src = cfg.Tracks[i%len(cfg.Tracks)]
	}
	if len(src) < 2 {
		src = randomWalk(rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1000)), 500)
	}
	there := slices.Clone(src)
	back := slices.Clone(src)
	slices.Reverse(back)
	path := append(there, back[1:]...)
	n := cfg.Mutations * cfg.BatchPoints
	begin := time.Now().UTC().Add(-time.Duration(n) * cfg.FixEvery).Truncate(time.Second)
	out := make([]geo.Fix, len(path))
	for k, f := range path {
		out[k] = geo.Fix{Point: f.Point, T: begin.Add(time.Duration(k) * cfg.FixEvery), Acc: 5}
	}
	return out
}

// randomWalk is a walk of n steps of about 5 m near Xiangshan county (29.48°N, 121.87°E).
func randomWalk(rng *rand.Rand, n int) []geo.Fix {
	out := make([]geo.Fix, n)
	p := orb.Point{121.87 + rng.Float64()*0.05, 29.48 + rng.Float64()*0.05}
	for i := range out {
		out[i] = geo.Fix{Point: p}
		p = orb.Point{p[0] + (rng.Float64()-0.5)*1e-4, p[1] + (rng.Float64()-0.5)*1e-4}
	}
	return out
}
