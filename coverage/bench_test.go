package coverage_test

// County-scale measurements of the coverage ledger (issue 6, "Scale and speed"); the
// figures and how to reproduce them are in bench/COVERAGE.md.
//
//	BEATGRID_BENCH_COUNTY=day go test ./coverage -run '^TestCounty$' -v -timeout 0
//	go test ./coverage -run '^$' -bench BenchmarkFlushPatrol
//
// Neither runs in a plain `go test ./...`: TestCounty skips without the variable.

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/coverage"
	"github.com/beatgrid/beatgrid/geo"
	"github.com/beatgrid/beatgrid/patrol"
	"github.com/beatgrid/beatgrid/store"
	"github.com/beatgrid/beatgrid/store/storetest"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/paulmach/orb"
)

// countingStore is the ledger's store, with its writes counted and timed.
type countingStore struct {
	beatgrid.CoverageStore
	inserted, cells, writeNanos atomic.Int64
}

func (s *countingStore) InsertCoverage(ctx context.Context, ds []beatgrid.CoverageDelta) error {
	start := time.Now()
	defer func() { s.writeNanos.Add(int64(time.Since(start))) }()
	s.inserted.Add(int64(len(ds)))
	for _, d := range ds {
		s.cells.Add(int64(len(d.Set) + len(d.Removed)))
	}
	return s.CoverageStore.InsertCoverage(ctx, ds)
}

// benchWorld is a server's sync engine and patrol service on its own embedded store, with
// the coverage ledger or without it. Close it (not t.Cleanup) so that its memory can be
// freed and measured before the test ends.
type benchWorld struct {
	dir     string
	db      *store.DB
	patrols *patrol.Service
	ledger  *coverage.Ledger // nil: coverage off
	cs      *countingStore
	engine  *bgsync.Engine
}

func newBenchWorld(t testing.TB, withLedger bool) *benchWorld {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db := storetest.OpenDir(t, storetest.Backend{Name: "embedded"}, dir)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tree := beatgrid.NewOrgTree([]*beatgrid.OrgUnit{{ID: unit, Kind: beatgrid.KindStation}})
	places, err := patrol.NewPlaces(ctx, db, func() *beatgrid.OrgTree { return tree }, bgsync.NewFeed())
	if err != nil {
		t.Fatal(err)
	}
	w := &benchWorld{dir: dir, db: db, patrols: patrol.New(places)}
	reg := bgsync.NewRegistry()
	w.patrols.Register(reg)
	if withLedger {
		w.cs = &countingStore{CoverageStore: db}
		w.ledger = coverage.New(coverage.Config{Store: w.cs, Patrols: w.patrols, Places: places, Logger: quiet})
		w.ledger.Register(reg)
		if err := w.ledger.Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	w.engine = bgsync.New(db, reg, bgsync.Config{Logger: quiet})
	if err := w.engine.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *benchWorld) push(t testing.TB, p genPush) {
	res, err := w.engine.Push(context.Background(), p.term.p, &bgsync.PushRequest{Mutations: p.ms})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Results {
		if r.Status != beatgrid.StatusApplied && r.Status != beatgrid.StatusDuplicate {
			t.Fatalf("mutation %s: %+v", r.ID, r)
		}
	}
}

func (w *benchWorld) flush(t testing.TB) {
	if err := w.ledger.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// dirBytes is the size of the files under dir (the SQLite database and its WAL).
func dirBytes(t testing.TB, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func heapLive() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// tileDetail is handlers.tileDetail: a tile's cells are aggregated to at most 4 zooms finer.
const tileDetail = 4

// tileAnswer is what the tile handler does after its checks: the ledger's cells of t,
// aggregated below zoom 12, encoded, gzipped at BestSpeed.
func tileAnswer(l *coverage.Ledger, t geo.Tile, f coverage.Filter) (raw, gz int, err error) {
	cells := l.Tile(t, f)
	if z := min(l.Zoom(), t.Z+tileDetail); z < l.Zoom() {
		cells = geo.AggregateCells(cells, z)
	}
	b, err := geo.EncodeTile(t, cells, 0)
	if err != nil {
		return 0, 0, err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		return 0, 0, err
	}
	return len(b), buf.Len(), nil
}

// pct returns the p-th percentile (0–100) of sorted xs, nearest rank.
func pct[T any](xs []T, p float64) T {
	i := int(float64(len(xs))*p/100+0.5) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// countyDays reads BEATGRID_BENCH_COUNTY: day, week, month or a number of days.
func countyDays(t *testing.T) int {
	v := os.Getenv("BEATGRID_BENCH_COUNTY")
	switch v {
	case "":
		t.Skip("set BEATGRID_BENCH_COUNTY=day|week|month (or a number of days) to run the county benchmark")
	case "day":
		return 1
	case "week":
		return 7
	case "month":
		return 30
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("BEATGRID_BENCH_COUNTY=%q: day, week, month or a number of days", v)
	}
	return n
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// TestCounty generates a county (250 terminals, an 8-hour patrol each a day, a fix every
// 5 s) for BEATGRID_BENCH_COUNTY days and pushes it, terminal by terminal in the order a
// server receives it, through two servers side by side: one with the coverage ledger
// (flushed after every push, as the background writer does when pushes are more than its
// 500 ms pause apart; BEATGRID_BENCH_FLUSH=end flushes once a day instead), one without.
// Then it measures tiles, beat summaries, a patrol's recompute, storage and memory, and
// logs a table.
func TestCounty(t *testing.T) {
	days := countyDays(t)
	terminals := envInt("BEATGRID_BENCH_TERMINALS", 250)
	flushEach := os.Getenv("BEATGRID_BENCH_FLUSH") != "end"
	ctx := context.Background()
	bound := countyBound(t)
	county := newCounty(bound, terminals, 42)
	first := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days-1)

	off, on := newBenchWorld(t, false), newBenchWorld(t, true)
	defer func() { // if not closed on the way
		for _, w := range []*benchWorld{off, on} {
			if w != nil {
				w.engine.Close()
			}
		}
	}()
	base := dirBytes(t, on.dir) - dirBytes(t, off.dir)

	var fixes, pushes int
	var offTime, onTime, flushTime time.Duration
	type sample struct {
		term  *genTerminal
		id    string
		fixes []geo.Fix
	}
	var samples map[geo.Mode]sample // a patrol of each mode, from the last day
	for d := range days {
		day := first.AddDate(0, 0, d)
		samples = map[geo.Mode]sample{}
		genStart := time.Now()
		ps := county.day(day, func(term *genTerminal, id string, fixes []geo.Fix) {
			if _, ok := samples[term.mode]; !ok {
				samples[term.mode] = sample{term: term, id: id, fixes: fixes}
			}
		})
		genTime := time.Since(genStart)
		const chunk = 50
		for s := 0; s < len(ps); s += chunk {
			part := ps[s:min(s+chunk, len(ps))]
			runOff := func() {
				start := time.Now()
				for _, p := range part {
					off.push(t, p)
				}
				offTime += time.Since(start)
			}
			runOn := func() {
				start := time.Now()
				for _, p := range part {
					on.push(t, p)
					if flushEach {
						fs := time.Now()
						on.flush(t)
						flushTime += time.Since(fs)
					}
				}
				onTime += time.Since(start)
			}
			if (s/chunk)%2 == 0 { // alternate which goes first
				runOff()
				runOn()
			} else {
				runOn()
				runOff()
			}
			for _, p := range part {
				fixes += p.n
			}
			pushes += len(part)
		}
		if !flushEach {
			fs := time.Now()
			on.flush(t)
			flushTime += time.Since(fs)
			onTime += time.Since(fs)
		}
		t.Logf("day %d/%d: %d fixes so far; generated in %v; off %.0f fixes/s, on %.0f fixes/s (flush %v); entries %d",
			d+1, days, fixes, genTime.Round(time.Millisecond), float64(fixes)/offTime.Seconds(), float64(fixes)/onTime.Seconds(),
			flushTime.Round(time.Millisecond), on.cs.cells.Load())
	}
	entries := on.cs.cells.Load() // cells written (set or removed); documents: on.cs.inserted
	mfix := float64(fixes) / 1e6

	// Tiles: every z14 tile with coverage, whole period, scoped as the handler does.
	scope := func(u string) bool { return u == unit }
	all, ok := on.ledger.Bound(bound.Pad(0.1), coverage.Filter{}, 1<<30)
	if !ok {
		t.Fatal("bound")
	}
	tilesAt := func(z int) []geo.Tile {
		seen := map[geo.Cell]bool{}
		var out []geo.Tile
		for _, st := range all {
			if p := st.Cell.Parent(z); !seen[p] {
				seen[p] = true
				out = append(out, p.Tile())
			}
		}
		return out
	}
	lastDay := first.AddDate(0, 0, days-1)
	type tileRow struct {
		name          string
		lat           []time.Duration
		raw, gz       []int
		tiles         int
		overMS, overB int
	}
	var tileRows []tileRow
	for _, tc := range []struct {
		name string
		z    int
		f    coverage.Filter
	}{
		{"z14, whole period", 14, coverage.Filter{In: scope}},
		{"z14, last day", 14, coverage.Filter{In: scope, From: lastDay, To: lastDay.AddDate(0, 0, 1)}},
		{"z14, mode=vehicle", 14, coverage.Filter{In: scope, Modes: coverage.ModeVehicle}},
		{"z12, whole period", 12, coverage.Filter{In: scope}},
		{"z10, whole period", 10, coverage.Filter{In: scope}},
	} {
		r := tileRow{name: tc.name}
		tiles := tilesAt(tc.z)
		r.tiles = len(tiles)
		for range 3 { // three rounds over every tile: the first warms caches
			r.lat, r.raw, r.gz = r.lat[:0], r.raw[:0], r.gz[:0]
			for _, tl := range tiles {
				start := time.Now()
				raw, gz, err := tileAnswer(on.ledger, tl, tc.f)
				el := time.Since(start)
				if err != nil {
					t.Fatal(err)
				}
				r.lat, r.raw, r.gz = append(r.lat, el), append(r.raw, raw), append(r.gz, gz)
			}
		}
		r.overMS, r.overB = 0, 0
		for i := range r.lat {
			if r.lat[i] > 20*time.Millisecond {
				r.overMS++
			}
			if r.gz[i] > 10*1024 {
				r.overB++
			}
		}
		slices.Sort(r.lat)
		slices.Sort(r.raw)
		slices.Sort(r.gz)
		tileRows = append(tileRows, r)
	}

	// Beats: 2 km squares over the county's box, their cells by geo.Cover.
	mLon := metresPerLat * math.Cos(bound.Center()[1]*math.Pi/180)
	dLon, dLat := 2000/mLon, 2000/metresPerLat
	var beats [][]geo.Cell
	for x := bound.Min[0]; x < bound.Max[0]; x += dLon {
		for y := bound.Min[1]; y < bound.Max[1]; y += dLat {
			poly := orb.Polygon{{{x, y}, {x + dLon, y}, {x + dLon, y + dLat}, {x, y + dLat}, {x, y}}}
			cells, err := geo.Cover(poly, on.ledger.Zoom(), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			beats = append(beats, cells)
		}
	}
	type beatRow struct {
		name string
		lat  []time.Duration
	}
	var beatRows []beatRow
	now := first.AddDate(0, 0, days)
	for _, bc := range []struct {
		name string
		run  func(cells []geo.Cell)
	}{
		{"Summarize, whole period", func(c []geo.Cell) { on.ledger.Summarize(c, coverage.Filter{}) }},
		{"Summarize, last day", func(c []geo.Cell) {
			on.ledger.Summarize(c, coverage.Filter{From: lastDay, To: lastDay.AddDate(0, 0, 1)})
		}},
		{"Gaps, SLA 4 h", func(c []geo.Cell) { on.ledger.Gaps(c, now.Add(-4*time.Hour), coverage.Filter{}) }},
		{"Suggest, 50 cells", func(c []geo.Cell) { on.ledger.Suggest(c, 50, coverage.Filter{}) }},
	} {
		r := beatRow{name: bc.name}
		for range 3 {
			r.lat = r.lat[:0]
			for _, cells := range beats {
				start := time.Now()
				bc.run(cells)
				r.lat = append(r.lat, time.Since(start))
			}
		}
		slices.Sort(r.lat)
		beatRows = append(beatRows, r)
	}
	covered := 0
	for _, cells := range beats {
		s := on.ledger.Summarize(cells, coverage.Filter{})
		covered += s.Covered
	}
	beatCells := len(beats[len(beats)/2])

	// A patrol's recompute on the full ledger: one repeated fix marks it dirty; the set it
	// gives is unchanged, so this is the compute alone (no store write).
	type flushRow struct {
		mode    geo.Mode
		fixes   int
		lat     []time.Duration
		entries int
	}
	var flushRows []flushRow
	for _, mode := range []geo.Mode{geo.Foot, geo.Vehicle, geo.Drone} {
		s, ok := samples[mode]
		if !ok || s.id == "" {
			continue
		}
		r := flushRow{mode: mode, fixes: len(s.fixes)}
		before := on.cs.inserted.Load()
		for i := range 10 {
			f := s.fixes[100+i]
			on.push(t, genPush{term: s.term, ms: []bgsync.Incoming{s.term.mutation("track.points", map[string]any{
				"patrol_id": s.id, "points": []genPoint{{Lon: f.Point[0], Lat: f.Point[1], T: f.T, Acc: f.Acc}}})}})
			start := time.Now()
			on.flush(t)
			r.lat = append(r.lat, time.Since(start))
		}
		r.entries = int(on.cs.inserted.Load() - before)
		slices.Sort(r.lat)
		flushRows = append(flushRows, r)
	}

	// Storage: the two stores hold the same mutations; the difference is the coverage
	// collection (documents and its _id index) in SQLite, database + WAL files.
	writeTime := time.Duration(on.cs.writeNanos.Load())
	inserted, cells := on.cs.inserted.Load(), on.cs.cells.Load()
	if err := on.db.Close(ctx); err != nil { // checkpoints the WAL into the database
		t.Logf("close on: %v", err)
	}
	if err := off.db.Close(ctx); err != nil {
		t.Logf("close off: %v", err)
	}
	onBytes, offBytes := dirBytes(t, on.dir), dirBytes(t, off.dir)
	covBytes := onBytes - offBytes - base

	// Memory: live heap (HeapAlloc after GC) with both servers, then without the one with the ledger, then
	// with neither. The stores (closed) hold nothing.
	h0 := heapLive()
	on.engine.Close()
	on = nil
	h1 := heapLive()
	off.engine.Close()
	off = nil
	h2 := heapLive()
	onHeap, offHeap := int64(h0)-int64(h1), int64(h1)-int64(h2)
	ledgerHeap := onHeap - offHeap

	// The table.
	mode := "after every push"
	if !flushEach {
		mode = "once a day"
	}
	t.Logf("")
	t.Logf("county: %d terminals, %d day(s), %d pushes, %d fixes (%.2f M); %d CPUs, GOMAXPROCS %d; flush %s",
		terminals, days, pushes, fixes, mfix, runtime.NumCPU(), runtime.GOMAXPROCS(0), mode)
	t.Logf("| figure | value |")
	t.Logf("|---|---|")
	t.Logf("| ingest, coverage off | %.0f fixes/s (%v) |", float64(fixes)/offTime.Seconds(), offTime.Round(time.Millisecond))
	t.Logf("| ingest, coverage on (push + Flush) | %.0f fixes/s (%v, of which Flush %v, store writes %v) |",
		float64(fixes)/onTime.Seconds(), onTime.Round(time.Millisecond), flushTime.Round(time.Millisecond),
		writeTime.Round(time.Millisecond))
	t.Logf("| ledger store writes | %d deltas (documents) holding %d cells, %.1f cells a document |",
		inserted, cells, float64(cells)/float64(max(inserted, 1)))
	t.Logf("| coverage cost | on/off throughput %.2f; %.0f%% of ingest throughput lost |",
		offTime.Seconds()/onTime.Seconds(), 100*(1-offTime.Seconds()/onTime.Seconds()))
	t.Logf("| ledger entries | %d (%.0f per M fixes); %d covered cells |", entries, float64(entries)/mfix, len(all))
	t.Logf("| coverage storage (SQLite growth, on − off) | %.1f MB (%.1f MB per M fixes, %.0f B per entry) |",
		float64(covBytes)/1e6, float64(covBytes)/1e6/mfix, float64(covBytes)/float64(entries))
	t.Logf("| whole store, on / off | %.1f MB / %.1f MB |", float64(onBytes)/1e6, float64(offBytes)/1e6)
	t.Logf("| heap: server with ledger / without | %.1f MB / %.1f MB |", float64(onHeap)/1e6, float64(offHeap)/1e6)
	t.Logf("| heap per M fixes: ledger / patrols + sync | %.1f MB / %.1f MB (ledger %.0f B per entry) |",
		float64(ledgerHeap)/1e6/mfix, float64(offHeap)/1e6/mfix, float64(ledgerHeap)/float64(entries))
	for _, r := range tileRows {
		t.Logf("| tile %s (%d tiles) | p50 %s, p99 %s, max %s; raw p50 %.1f KB p99 %.1f KB; gzip p50 %.1f KB p99 %.1f KB max %.1f KB; over 20 ms: %d, over 10 KB gz: %d |",
			r.name, r.tiles, ms(pct(r.lat, 50)), ms(pct(r.lat, 99)), ms(r.lat[len(r.lat)-1]),
			float64(pct(r.raw, 50))/1024, float64(pct(r.raw, 99))/1024, float64(pct(r.gz, 50))/1024, float64(pct(r.gz, 99))/1024,
			float64(r.gz[len(r.gz)-1])/1024, r.overMS, r.overB)
	}
	for _, r := range beatRows {
		t.Logf("| beat %s (%d beats, ~%d cells each) | p50 %s, p99 %s, max %s |", r.name, len(beats), beatCells,
			ms(pct(r.lat, 50)), ms(pct(r.lat, 99)), ms(r.lat[len(r.lat)-1]))
	}
	t.Logf("| beats: cells covered | %d |", covered)
	for _, r := range flushRows {
		t.Logf("| recompute one 8-h %s patrol (%d fixes), unchanged | p50 %s, max %s (%d entries written) |",
			r.mode, r.fixes, ms(pct(r.lat, 50)), ms(r.lat[len(r.lat)-1]), r.entries)
	}
}

// BenchmarkFlushPatrol is what the background writer pays for one dirty 8-hour patrol
// (5760 fixes) of each mode: "new" computes it and inserts all its entries into the
// embedded store (a patrol seen for the first time, or after a restart without snapshot);
// "last-batch" its last 500 fixes arriving (compute + insert the new entries);
// "unchanged" a recompute that finds nothing new (compute alone).
func BenchmarkFlushPatrol(b *testing.B) {
	bound := countyBound(b)
	for _, mode := range []geo.Mode{geo.Foot, geo.Vehicle, geo.Drone} {
		for _, kind := range []string{"new", "last-batch", "unchanged"} {
			b.Run(string(mode)+"/"+kind, func(b *testing.B) {
				w := newBenchWorld(b, true)
				b.Cleanup(w.engine.Close)
				county := newCounty(bound, 20, 7)
				var term *genTerminal
				for _, tm := range county.terminals {
					if tm.mode == mode {
						term = tm
						break
					}
				}
				day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
				var entries, n int
				for i := 0; b.Loop(); i++ {
					b.StopTimer()
					fixes := genWalk(county.rng, bound, mode, term.home, day.Add(time.Duration(i%3)*genShift))
					id := fmt.Sprintf("0193a7c0-0000-7000-8000-%012d", i)
					ps := term.pushes(id, fixes)
					switch kind {
					case "new":
						for _, p := range ps {
							w.push(b, p)
						}
					case "last-batch", "unchanged":
						for _, p := range ps[:len(ps)-1] {
							w.push(b, p)
						}
						w.flush(b)
						if kind == "last-batch" {
							w.push(b, ps[len(ps)-1])
						} else {
							w.push(b, ps[len(ps)-1])
							w.flush(b)
							f := fixes[100]
							w.push(b, genPush{term: term, ms: []bgsync.Incoming{term.mutation("track.points", map[string]any{
								"patrol_id": id, "points": []genPoint{{Lon: f.Point[0], Lat: f.Point[1], T: f.T, Acc: f.Acc}}})}})
						}
					}
					before := w.cs.inserted.Load()
					b.StartTimer()
					w.flush(b)
					b.StopTimer()
					entries += int(w.cs.inserted.Load() - before)
					n++
					b.StartTimer()
				}
				b.ReportMetric(float64(entries)/float64(n), "entries/op")
			})
		}
	}
}
