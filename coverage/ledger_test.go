package coverage_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/coverage"
	"github.com/beatgrid/beatgrid/geo"
	"github.com/beatgrid/beatgrid/patrol"
	"github.com/beatgrid/beatgrid/store"
	"github.com/beatgrid/beatgrid/store/storetest"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
)

const unit = "ou-station"

// world is a server's services on one store: places, patrols, coverage and the sync engine.
type world struct {
	t      *testing.T
	db     *store.DB
	places *patrol.Places
	ledger *coverage.Ledger
	engine *bgsync.Engine
}

func newWorld(t *testing.T, db *store.DB, opts ...func(*coverage.Config)) *world {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tree := beatgrid.NewOrgTree([]*beatgrid.OrgUnit{{ID: unit, Kind: beatgrid.KindStation}})
	places, err := patrol.NewPlaces(ctx, db, func() *beatgrid.OrgTree { return tree }, bgsync.NewFeed())
	if err != nil {
		t.Fatal(err)
	}
	patrols := patrol.New(places)
	cfg := coverage.Config{Store: db, Patrols: patrols, Places: places, Logger: quiet}
	for _, o := range opts {
		o(&cfg)
	}
	ledger := coverage.New(cfg)
	reg := bgsync.NewRegistry()
	patrols.Register(reg)
	ledger.Register(reg)
	if err := ledger.Load(ctx); err != nil {
		t.Fatal(err)
	}
	engine := bgsync.New(db, reg, bgsync.Config{Logger: quiet})
	t.Cleanup(engine.Close)
	if err := engine.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return &world{t: t, db: db, places: places, ledger: ledger, engine: engine}
}

var officer = &beatgrid.Principal{UserID: "u-1", Roles: []string{beatgrid.RoleOfficer}, OrgUnitID: unit, DeviceID: "dev-1"}

// push sends ms as one batch and checks each is applied or a duplicate.
func (w *world) push(ms []bgsync.Incoming) {
	w.t.Helper()
	res, err := w.engine.Push(context.Background(), officer, &bgsync.PushRequest{Mutations: ms})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range res.Results {
		if r.Status != beatgrid.StatusApplied && r.Status != beatgrid.StatusDuplicate {
			w.t.Fatalf("mutation %s: %+v", r.ID, r)
		}
	}
}

func (w *world) flush() {
	w.t.Helper()
	if err := w.ledger.Flush(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// all returns every cell stat of the ledger inside b.
func (w *world) all(b orb.Bound) []geo.CellStat {
	w.t.Helper()
	st, ok := w.ledger.Bound(b.Pad(0.01), coverage.Filter{}, 1<<20)
	if !ok {
		w.t.Fatal("too many cells")
	}
	return st
}

func mutation(seq int64, typ string, payload any) bgsync.Incoming {
	raw, _ := json.Marshal(payload)
	return bgsync.Incoming{ID: uuid.Must(uuid.NewV7()).String(), Seq: seq, Type: typ, Payload: raw}
}

// trackMutations turns a track into a patrol's start and its fixes, n fixes a mutation.
func trackMutations(patrolID, mode string, fixes []geo.Fix, n int) []bgsync.Incoming {
	ms := []bgsync.Incoming{mutation(1, "patrol.start", map[string]any{"patrol_id": patrolID, "mode": mode, "t": fixes[0].T})}
	for start := 0; start < len(fixes); start += n {
		var pts []map[string]any
		for _, f := range fixes[start:min(start+n, len(fixes))] {
			pt := map[string]any{"lon": f.Point[0], "lat": f.Point[1], "t": f.T}
			if f.Acc > 0 {
				pt["acc"] = f.Acc
			}
			pts = append(pts, pt)
		}
		ms = append(ms, mutation(int64(len(ms)+1), "track.points", map[string]any{"patrol_id": patrolID, "points": pts}))
	}
	return ms
}

func readGPX(t *testing.T, name string) []geo.Fix {
	t.Helper()
	raw, err := os.ReadFile("../testdata/tracks/gpx/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".csv") {
		fixes, err := geo.ParseCSV(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		return fixes
	}
	tracks, err := geo.ParseGPX(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var out []geo.Fix
	for _, tr := range tracks {
		for _, seg := range tr.Segments {
			for _, f := range seg {
				if f.T.Year() >= 2000 { // Mojstrovka has a fix of 1901: a terminal never sends it
					out = append(out, f)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no timed fixes", name)
	}
	return out
}

// sampledCells is the independent computation: the filter's kept fixes, each step that
// the rasterizer bridges sampled every 0.25 m, each point's cell, by hour.
func sampledCells(fixes []geo.Fix, mode geo.Mode) map[[2]int64]bool {
	// As sync stores them: rounded to 1e-7°, accuracy as float32, each fix once, by time.
	set := map[geo.Fix]bool{}
	for _, f := range fixes {
		f.Point = orb.Point{math.Round(f.Point[0]*1e7) / 1e7, math.Round(f.Point[1]*1e7) / 1e7}
		f.T, f.Acc = f.T.UTC(), float64(float32(f.Acc))
		set[f] = true
	}
	fixes = fixes[:0:0]
	for f := range set {
		fixes = append(fixes, f)
	}
	slices.SortFunc(fixes, func(a, b geo.Fix) int {
		return cmp.Or(a.T.Compare(b.T), cmp.Compare(a.Point[0], b.Point[0]), cmp.Compare(a.Point[1], b.Point[1]))
	})
	c, _ := geo.FilterFor(mode)
	kept, _ := geo.Filter(fixes, c)
	out := map[[2]int64]bool{}
	add := func(p orb.Point, t time.Time) { out[[2]int64{int64(geo.CellAt(p, 18)), t.Unix() / 3600}] = true }
	for i, f := range kept {
		add(f.Point, f.T)
		if i == 0 {
			continue
		}
		a := kept[i-1]
		d, dt := geo.Distance(a.Point, f.Point), f.T.Sub(a.T)
		if dt > geo.DefaultRaster.MaxGap || d > geo.DefaultRaster.MaxStep {
			continue
		}
		n := int(d/0.25) + 1
		for s := 1; s < n; s++ {
			x := float64(s) / float64(n)
			add(orb.Point{a.Point[0] + (f.Point[0]-a.Point[0])*x, a.Point[1] + (f.Point[1]-a.Point[1])*x},
				a.T.Add(time.Duration(x*float64(dt))))
		}
	}
	return out
}

// TestRealTrackCells: a real car drive pushed through sync covers the cells a dense
// sampling of its kept steps finds (an independent computation), hour by hour.
func TestRealTrackCells(t *testing.T) {
	for _, tc := range []struct {
		file string
		mode geo.Mode
	}{{"around-visnjan-with-car.gpx", geo.Vehicle}, {"korita-zbevnica.gpx", geo.Foot}, {"cerknicko-jezero.gpx", geo.Foot},
		{"../trackintel/posmo_trajectory.csv", geo.Vehicle}} {
		t.Run(tc.file, func(t *testing.T) {
			w := newWorld(t, storetest.OpenEmbedded(t))
			fixes := readGPX(t, tc.file)
			w.push(trackMutations(uuid.Must(uuid.NewV7()).String(), string(tc.mode), fixes, 300))
			w.flush()
			checkAgainstSampling(t, w.all(geo.Points(fixes).Bound()), sampledCells(fixes, tc.mode), string(tc.mode))
		})
	}
}

func checkAgainstSampling(t *testing.T, got []geo.CellStat, want map[[2]int64]bool, mode string) {
	t.Helper()
	cells := map[geo.Cell]bool{}
	for k := range want {
		cells[geo.Cell(k[0])] = true
	}
	visits := 0
	gotCells := map[geo.Cell]bool{}
	for _, st := range got {
		visits += st.Visits
		gotCells[st.Cell] = true
		if !slices.Equal(st.Modes, []string{mode}) || st.LastVisit.IsZero() {
			t.Fatalf("cell %v: %+v", st.Cell, st)
		}
	}
	var missing, extra int
	for c := range cells {
		if !gotCells[c] {
			missing++
		}
	}
	for c := range gotCells {
		if !cells[c] {
			extra++
		}
	}
	t.Logf("ledger: %d cells, %d cell-hours; sampling: %d cells, %d cell-hours; missing %d, extra %d",
		len(got), visits, len(cells), len(want), missing, extra)
	// Sampling every 0.25 m can only miss a cell the line cuts by less than that: the
	// supercover walk may have a few more, never fewer.
	if missing != 0 || extra > len(cells)/100+2 || visits < len(want) || visits > len(want)+len(want)/100+2 {
		t.Fatalf("cells differ from the sampling: missing %d, extra %d, cell-hours %d vs %d", missing, extra, visits, len(want))
	}
}

// TestOrderFree: the same facts pushed shuffled, split differently and repeated, to
// another store, give the same ledger, cell by cell and entry by entry; a restart loads it
// as it was and recomputing changes nothing.
func TestOrderFree(t *testing.T) {
	fixes := readGPX(t, "korita-zbevnica.gpx")
	id := uuid.Must(uuid.NewV7()).String()
	ms := trackMutations(id, "foot", fixes, 40)

	a := newWorld(t, storetest.OpenEmbedded(t))
	a.push(ms)
	a.flush()

	b := newWorld(t, storetest.OpenEmbedded(t))
	shuffled := slices.Clone(ms)
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for len(shuffled) > 0 {
		n := min(len(shuffled), 1+rng.IntN(4))
		b.push(shuffled[:n])
		b.push(shuffled[:1]) // a repeat
		shuffled = shuffled[n:]
		b.flush() // folds part of the facts: later facts change the set
	}
	bound := geo.Points(fixes).Bound()
	ga, gb := a.all(bound), b.all(bound)
	if len(ga) == 0 || !slices.EqualFunc(ga, gb, statEqual) {
		t.Fatalf("in order: %d cells; shuffled: %d cells", len(ga), len(gb))
	}
	if ea, eb := stored(t, a.db), stored(t, b.db); !slices.Equal(ea, eb) {
		t.Fatalf("stored ledgers differ: %d vs %d entries", len(ea), len(eb))
	}

	// A restart on b's store: the same cells and visits before any recompute (last visits
	// as first stored); recomputing from the facts changes no stored entry and gives the
	// same ledger in memory.
	before := stored(t, b.db)
	c := newWorld(t, b.db)
	if gc := c.all(bound); !slices.EqualFunc(ga, gc, func(x, y geo.CellStat) bool { return x.Cell == y.Cell && x.Visits == y.Visits }) {
		t.Fatalf("after a restart: %d cells, want %d", len(gc), len(ga))
	}
	c.flush()
	if gc := c.all(bound); !slices.EqualFunc(ga, gc, statEqual) {
		t.Fatalf("after a restart and recompute: %d cells, want %d", len(gc), len(ga))
	}
	if after := stored(t, b.db); !slices.Equal(before, after) {
		t.Fatalf("recompute after a restart changed the stored ledger: %d → %d entries", len(before), len(after))
	}
}

func statEqual(a, b geo.CellStat) bool {
	return a.Cell == b.Cell && a.Visits == b.Visits && a.LastVisit.Equal(b.LastVisit) && slices.Equal(a.Modes, b.Modes)
}

// stored returns the stored ledger, as its deltas replay, as sorted lines.
func stored(t *testing.T, db *store.DB) []string {
	t.Helper()
	es, err := coverage.StoredEntries(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%x %d %s %s %s %s", e.Cell, e.Hour, e.Source, e.Unit, e.Mode, e.Last.Format(time.RFC3339)))
	}
	slices.Sort(out)
	return out
}

// TestDroneCoversMore: the same walk as a drone patrol covers a strict superset of the
// cells it covers on foot.
func TestDroneCoversMore(t *testing.T) {
	w := newWorld(t, storetest.OpenEmbedded(t))
	fixes := readGPX(t, "cerknicko-jezero.gpx")
	w.push(trackMutations(uuid.Must(uuid.NewV7()).String(), "foot", fixes, 500))
	w.push(trackMutations(uuid.Must(uuid.NewV7()).String(), "drone", fixes, 500))
	w.flush()
	bound := geo.Points(fixes).Bound()
	foot, drone := map[geo.Cell]bool{}, map[geo.Cell]bool{}
	for _, st := range w.all(bound) {
		for _, m := range st.Modes {
			map[string]map[geo.Cell]bool{"foot": foot, "drone": drone}[m][st.Cell] = true
		}
	}
	for c := range foot {
		if !drone[c] {
			t.Fatalf("cell %v walked on foot, not seen by the drone", c)
		}
	}
	if len(drone) <= len(foot) {
		t.Fatalf("drone %d cells, foot %d", len(drone), len(foot))
	}
	// By mode: a filter on drone sees only the drone's cells.
	st, _ := w.ledger.Bound(bound.Pad(0.01), coverage.Filter{Modes: coverage.ModeDrone}, 1<<20)
	if len(st) != len(drone) {
		t.Fatalf("drone filter: %d cells, want %d", len(st), len(drone))
	}
}

// TestKioskDuty: a kiosk's guarded segments are covered in every hour of a duty, from
// check-in to check-out; a check-in with no check-out covers its own hour only.
func TestKioskDuty(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, storetest.OpenEmbedded(t))
	admin := &beatgrid.Principal{UserID: "admin", Roles: []string{beatgrid.RoleAdmin}, OrgUnitID: unit}
	seg := orb.MultiLineString{{{121.5, 31.2}, {121.51, 31.2}}}
	k, err := w.places.CreateKiosk(ctx, admin, patrol.KioskChange{PlaceChange: patrol.PlaceChange{Name: ptr("Kiosk 1")},
		Point: &orb.Point{121.5, 31.2}, Segments: seg})
	if err != nil {
		t.Fatal(err)
	}
	in := time.Now().UTC().Add(-5 * time.Hour).Truncate(time.Hour).Add(20 * time.Minute)
	out := in.Add(2 * time.Hour) // covers 3 hours
	w.push([]bgsync.Incoming{
		mutation(1, "kiosk.checkin", map[string]any{"kiosk_id": k.ID, "t": in}),
		mutation(2, "kiosk.checkout", map[string]any{"kiosk_id": k.ID, "t": out}),
		mutation(3, "kiosk.checkin", map[string]any{"kiosk_id": k.ID, "t": out.Add(90 * time.Minute)}),
	})
	w.flush()
	cells := coverage.SegmentCells(seg, 18)
	stats := w.ledger.Stats(cells, coverage.Filter{})
	for _, st := range stats {
		if st.Visits != 4 || !slices.Equal(st.Modes, []string{"kiosk"}) || !st.LastVisit.Equal(out.Add(90*time.Minute)) {
			t.Fatalf("segment cell %+v: want 4 visits (3 duty hours and the open check-in's hour)", st)
		}
	}
	if len(cells) < 5 {
		t.Fatalf("a 1 km segment crosses %d cells", len(cells))
	}
	// Only within the duty: the hour before the check-in has nothing.
	if st := w.ledger.Stats(cells, coverage.Filter{To: in.Truncate(time.Hour)}); st[0].Visits != 0 {
		t.Fatalf("before the duty: %+v", st[0])
	}
}

func ptr[T any](v T) *T { return &v }

// TestRebuild: a rebuild from the facts equals the ledger grown incrementally; it restores
// entries lost from the store and removes ones the facts do not give, and only within its
// window.
func TestRebuild(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenEmbedded(t)
	w := newWorld(t, db)
	fixes := readGPX(t, "korita-zbevnica.gpx")
	ms := trackMutations(uuid.Must(uuid.NewV7()).String(), "foot", fixes, 25)
	for i := range ms { // incrementally: a flush after every push
		w.push(ms[i : i+1])
		w.flush()
	}
	want := stored(t, db)

	// A rebuild over all time on a fresh start changes nothing.
	all := func(w *world) coverage.RebuildStats {
		st, err := w.ledger.Rebuild(ctx, time.Unix(0, 0), time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := all(newWorld(t, db)); st.Inserted != 0 || st.Deleted != 0 || st.Entries != len(want) {
		t.Fatalf("rebuild of an intact ledger: %+v (%d stored)", st, len(want))
	}

	// Damage the store: a later delta loses 10 entries and adds 3 that no fact gives.
	es, err := coverage.StoredEntries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var damage []beatgrid.CoverageDelta
	for i, e := range es[:13] {
		d := beatgrid.CoverageDelta{Tile: uint64(geo.Cell(e.Cell).Parent(14)), Hour: e.Hour, Source: e.Source, Unit: e.Unit,
			Mode: e.Mode, Round: time.Now().Add(time.Hour).UnixNano()}
		if i < 10 {
			d.Removed = []uint64{e.Cell}
		} else {
			d.Hour += 1000 // the same places, at hours nobody was there
			d.Set = []beatgrid.CoverageCell{{Cell: e.Cell, Secs: 7}}
		}
		damage = append(damage, d)
	}
	if err := db.InsertCoverage(ctx, damage); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, db); len(got) != len(want)-10+3 {
		t.Fatalf("the damaged store holds %d entries, want %d", len(got), len(want)-7)
	}

	// A rebuild of a window that holds none of it changes nothing.
	r := newWorld(t, db)
	st, err := r.ledger.Rebuild(ctx, time.Unix(0, 0), time.Unix(3600, 0), nil)
	if err != nil || st.Inserted+st.Deleted != 0 {
		t.Fatalf("rebuild of an empty window: %+v %v", st, err)
	}
	if st := all(r); st.Inserted != 10 || st.Deleted != 3 {
		t.Fatalf("rebuild of the damaged ledger: %+v", st)
	}
	if got := stored(t, db); !slices.Equal(got, want) {
		t.Fatalf("after the rebuild: %d entries, want %d", len(got), len(want))
	}
	b := geo.Points(fixes).Bound()
	if a, c := w.all(b), r.all(b); !slices.EqualFunc(a, c, statEqual) {
		t.Fatalf("rebuilt ledger in memory differs from the incremental one: %d vs %d cells", len(c), len(a))
	}
}

// TestRetention: the detail of months past the retention becomes day roll-ups: the visits
// and last visits of every cell stay the same, the detail partitions go, a restart and a
// recompute from the facts do not bring the detail back, and the hours of the expired days
// are no longer known.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenEmbedded(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := func(c *coverage.Config) { c.Now = func() time.Time { return now }; c.Retain = 30 * 24 * time.Hour }
	w := newWorld(t, db, clock)
	walk := readGPX(t, "korita-zbevnica.gpx")
	shifted := func(to time.Time) []geo.Fix {
		out := slices.Clone(walk)
		d := to.Sub(out[0].T)
		for i := range out {
			out[i].T = out[i].T.Add(d)
		}
		return out
	}
	old, recent := shifted(now.AddDate(0, -4, 0)), shifted(now.Add(-48*time.Hour)) // July; November
	w.push(trackMutations(uuid.Must(uuid.NewV7()).String(), "foot", old, 100))
	w.push(trackMutations(uuid.Must(uuid.NewV7()).String(), "vehicle", recent, 100))
	w.flush()
	bound := geo.Points(walk).Bound()
	before := w.all(bound)
	detail := len(stored(t, db))

	if err := w.ledger.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	after := w.all(bound)
	if !slices.EqualFunc(before, after, statEqual) {
		t.Fatalf("coverage changed when the detail expired: %d cells before, %d after", len(before), len(after))
	}
	left := stored(t, db)
	var days int
	_ = db.ScanCoverageDays(ctx, func(*beatgrid.CoverageDay) error { days++; return nil })
	if len(left) == 0 || len(left) >= detail || days == 0 {
		t.Fatalf("detail %d → %d entries, %d day roll-ups", detail, len(left), days)
	}
	// The expired July is known by day only: a filter on its first hour finds nothing or
	// the whole day.
	july := coverage.Filter{From: old[0].T.Truncate(24 * time.Hour), To: old[0].T.Truncate(24 * time.Hour).Add(24 * time.Hour)}
	if st, _ := w.ledger.Bound(bound.Pad(0.01), july, 1<<20); len(st) == 0 || !slices.Equal(st[0].Modes, []string{"foot"}) {
		t.Fatalf("July by day: %+v", st)
	}

	// A restart loads roll-ups and detail; recomputing every patrol from the facts and a
	// rebuild of all time keep July out of the detail.
	r := newWorld(t, db, clock)
	if got := r.all(bound); !slices.EqualFunc(before, got, statEqual) {
		t.Fatalf("after a restart: %d cells, want %d", len(got), len(before))
	}
	r.flush()
	if _, err := r.ledger.Rebuild(ctx, time.Unix(0, 0), now, nil); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, db); !slices.Equal(got, left) {
		t.Fatalf("recompute brought back detail: %d entries, want %d", len(got), len(left))
	}
	if got := r.all(bound); !slices.EqualFunc(before, got, statEqual) {
		t.Fatalf("after recompute: %d cells, want %d", len(got), len(before))
	}
}
