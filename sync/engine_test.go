package sync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/store"
	"github.com/beatgrid/beatgrid/store/storetest"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/google/uuid"
)

var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

var officer = &beatgrid.Principal{UserID: "u-1", Username: "li.wei", Roles: []string{"officer"}, OrgUnitID: "st-1", DeviceID: "dev-1"}

// factLog is a test fold: the set of applied facts, by mutation. It is what derived state
// must be: the same whatever the order or repetition of arrival.
type factLog struct {
	mu    gosync.Mutex
	facts map[string]string
	folds int
}

func (f *factLog) fold(m *beatgrid.Mutation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.folds++
	f.facts[m.DeviceID+"/"+m.ID] = string(m.Fact)
}

func (f *factLog) snapshot() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := make([]string, 0, len(f.facts))
	for k, v := range f.facts {
		keys = append(keys, k+"="+v)
	}
	slices.Sort(keys)
	return strings.Join(keys, "\n")
}

// engine starts an engine on db with the factLog folded from track.points and patrol.start.
func engine(t testing.TB, db *store.DB, now func() time.Time) (*bgsync.Engine, *factLog) {
	t.Helper()
	reg := bgsync.NewRegistry()
	log := &factLog{facts: map[string]string{}}
	reg.Fold("track.points", log.fold)
	reg.Fold("patrol.start", log.fold)
	e := bgsync.New(db, reg, bgsync.Config{Now: now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(e.Close)
	if err := e.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e, log
}

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

// mutation makes a mutation of typ with payload (a value to encode).
func mutation(seq int64, typ string, payload any) bgsync.Incoming {
	b, _ := json.Marshal(payload)
	return bgsync.Incoming{ID: uuid.Must(uuid.NewV7()).String(), Seq: seq, Type: typ, Payload: b}
}

var patrolID = "0193a7c0-0000-7000-8000-000000000001"

func points(n int, start time.Time) map[string]any {
	pts := make([]map[string]any, n)
	for i := range pts {
		pts[i] = map[string]any{"lon": 121.9 + float64(i)*1e-4, "lat": 29.45, "t": start.Add(time.Duration(i) * 5 * time.Second)}
	}
	return map[string]any{"patrol_id": patrolID, "points": pts}
}

// route makes a realistic sequence: start, then n track batches.
func route(n int) []bgsync.Incoming {
	ms := []bgsync.Incoming{mutation(1, "patrol.start", map[string]any{"patrol_id": patrolID, "mode": "foot", "t": t0})}
	for i := 1; i <= n; i++ {
		ms = append(ms, mutation(int64(i+1), "track.points", points(20, t0.Add(time.Duration(i)*time.Minute))))
	}
	return ms
}

func push(t testing.TB, e *bgsync.Engine, ms []bgsync.Incoming) *bgsync.PushResponse {
	t.Helper()
	res, err := e.Push(context.Background(), officer, &bgsync.PushRequest{DeviceTime: t0, Mutations: ms})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if len(res.Results) != len(ms) {
		t.Fatalf("%d results for %d mutations", len(res.Results), len(ms))
	}
	return res
}

func statuses(res *bgsync.PushResponse) map[string]int {
	n := map[string]int{}
	for _, r := range res.Results {
		n[r.Status]++
	}
	return n
}

func countStored(t testing.TB, db *store.DB) int {
	n := 0
	if err := db.ScanMutations(context.Background(), func(*beatgrid.Mutation) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestExactlyOnce: a batch pushed again — to the same engine, to a restarted one, and to a
// second server that never saw it — takes effect once and gets the same answers.
func TestExactlyOnce(t *testing.T) {
	db := storetest.OpenEmbedded(t)
	a, logA := engine(t, db, fixed(t0))
	batch := route(5)
	first := push(t, a, batch)
	if got := statuses(first); got["applied"] != 6 {
		t.Fatalf("first push: %v", got)
	}
	again := push(t, a, batch)
	for i, r := range again.Results {
		if r.Status != "duplicate" || r.OriginalStatus != "applied" || r.ID != batch[i].ID {
			t.Fatalf("repeat %d: %+v", i, r)
		}
	}
	// A restart (memory rebuilt from the log) and a second server sharing the store.
	b, logB := engine(t, db, fixed(t0))
	if got := statuses(push(t, b, batch)); got["duplicate"] != 6 {
		t.Fatalf("after restart: %v", got)
	}
	if countStored(t, db) != 6 || logA.folds != 6 || logB.folds != 6 {
		t.Fatalf("stored %d, folds %d/%d; want 6 stored, each folded once per engine", countStored(t, db), logA.folds, logB.folds)
	}
	if logA.snapshot() != logB.snapshot() {
		t.Fatal("the restarted engine folded other facts")
	}
}

// TestLostAnswer: the server stored a batch but the answer was lost (a crash between the
// write and the answer): the terminal's retry to a fresh server gets duplicates, and a
// server that never loaded the log answers from the store.
func TestLostAnswer(t *testing.T) {
	db := storetest.OpenEmbedded(t)
	a, _ := engine(t, db, fixed(t0))
	batch := route(3)
	push(t, a, batch[:2]) // the answer never reached the terminal
	other := bgsync.New(db, bgsync.NewRegistry(), bgsync.Config{Now: fixed(t0), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(other.Close)
	// No Load: its memory knows nothing, so the store's unique key must catch the repeats.
	res := push(t, other, batch)
	got := []string{}
	for _, r := range res.Results {
		got = append(got, r.Status)
	}
	if want := []string{"duplicate", "duplicate", "applied", "applied"}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if countStored(t, db) != 4 {
		t.Fatalf("stored %d, want 4", countStored(t, db))
	}
}

// TestPerItemAnswers: bad mutations are rejected with a code and field, the rest apply, and
// a rejection is answered the same way on repeat.
func TestPerItemAnswers(t *testing.T) {
	db := storetest.OpenEmbedded(t)
	e, _ := engine(t, db, fixed(t0))
	good := route(1)
	bad := []struct {
		name, code, field string
		m                 bgsync.Incoming
	}{
		{"unknown type", "unknown_type", "", mutation(3, "patrol.teleport", map[string]any{})},
		{"no seq", "invalid_seq", "", mutation(0, "patrol.end", map[string]any{"patrol_id": patrolID, "t": t0})},
		{"lat out of range", "invalid_payload", "/payload/points/0", mutation(4, "track.points",
			map[string]any{"patrol_id": patrolID, "points": []map[string]any{{"lon": 120, "lat": 95, "t": t0}}})},
		{"bad mode", "invalid_payload", "/payload/mode", mutation(5, "patrol.start", map[string]any{"patrol_id": patrolID, "mode": "boat", "t": t0})},
		{"unknown field", "invalid_payload", "/payload", mutation(6, "patrol.end", map[string]any{"patrol_id": patrolID, "t": t0, "x": 1})},
		{"operator in a string", "invalid_payload", "/payload/kiosk_id", mutation(7, "kiosk.checkin", map[string]any{"kiosk_id": map[string]string{"$gt": ""}, "t": t0})},
		{"time in the far future", "invalid_payload", "/payload/t", mutation(8, "patrol.end", map[string]any{"patrol_id": patrolID, "t": t0.AddDate(1, 0, 0)})},
		{"not a uuid", "invalid_payload", "/payload/patrol_id", mutation(9, "patrol.end", map[string]any{"patrol_id": "p1", "t": t0})},
	}
	batch := slices.Clone(good)
	for _, b := range bad {
		batch = append(batch, b.m)
	}
	res := push(t, e, batch)
	for i := range good {
		if res.Results[i].Status != "applied" {
			t.Errorf("good mutation %d: %+v", i, res.Results[i])
		}
	}
	for i, b := range bad {
		r := res.Results[len(good)+i]
		if r.Status != "rejected" || r.Code != b.code || !strings.HasPrefix(r.Field, b.field) || r.Detail == "" {
			t.Errorf("%s: %+v, want rejected %s at %s", b.name, r, b.code, b.field)
		}
	}
	again := push(t, e, batch[len(good):])
	for i, r := range again.Results {
		if r.Status != "duplicate" || r.OriginalStatus != "rejected" || r.Code != bad[i].code {
			t.Errorf("repeat of %s: %+v", bad[i].name, r)
		}
	}
}

// TestIDReused: another payload under a known id is refused and changes nothing.
func TestIDReused(t *testing.T) {
	db := storetest.OpenEmbedded(t)
	e, log := engine(t, db, fixed(t0))
	m := route(1)
	push(t, e, m)
	before := log.snapshot()
	other := mutation(2, "track.points", points(3, t0))
	other.ID = m[1].ID
	r := push(t, e, []bgsync.Incoming{other}).Results[0]
	if r.Status != "rejected" || r.Code != "id_reused" {
		t.Fatalf("reused id: %+v", r)
	}
	if log.snapshot() != before || countStored(t, db) != 2 {
		t.Fatal("a reused id changed something")
	}
}

// TestLimits: a batch over a limit is refused whole and nothing of it is stored.
func TestLimits(t *testing.T) {
	db := storetest.OpenEmbedded(t)
	e, _ := engine(t, db, fixed(t0))
	many := route(500) // 501 mutations
	big := append(route(1), mutation(3, "track.points", points(bgsync.MaxTrackPoints+1, t0)))
	for name, batch := range map[string][]bgsync.Incoming{"max_mutations": many, "max_track_points": big} {
		_, err := e.Push(context.Background(), officer, &bgsync.PushRequest{Mutations: batch})
		le, ok := err.(*bgsync.LimitError)
		if !ok || le.Limit != name {
			t.Errorf("%s: error %v, want a LimitError naming it", name, err)
		}
	}
	if n := countStored(t, db); n != 0 {
		t.Fatalf("refused batches stored %d mutations", n)
	}
	if e.Limits()["max_mutations"] != 500 || e.Limits()["max_track_points"] != bgsync.MaxTrackPoints {
		t.Fatalf("limits %v", e.Limits())
	}
}

// TestSeqGapsAndSkew: missing sequence numbers are reported until they arrive; a device clock
// off by minutes flags the batch.
func TestSeqGapsAndSkew(t *testing.T) {
	db := storetest.OpenEmbedded(t)
	e, _ := engine(t, db, fixed(t0))
	ms := route(5) // seq 1..6
	res := push(t, e, []bgsync.Incoming{ms[0], ms[1], ms[4], ms[5]})
	if want := []bgsync.Gap{{From: 3, To: 4}}; !slices.Equal(res.SeqGaps, want) {
		t.Fatalf("gaps %v, want %v", res.SeqGaps, want)
	}
	res = push(t, e, ms[2:4])
	if len(res.SeqGaps) != 0 {
		t.Fatalf("gaps after filling: %v", res.SeqGaps)
	}
	skewed, err := e.Push(context.Background(), officer, &bgsync.PushRequest{DeviceTime: t0.Add(-10 * time.Minute),
		Mutations: []bgsync.Incoming{mutation(7, "patrol.end", map[string]any{"patrol_id": patrolID, "t": t0})}})
	if err != nil {
		t.Fatal(err)
	}
	if *skewed.ClockSkewSeconds != -600 || !slices.Contains(skewed.Results[0].Flags, "clock_skew") {
		t.Fatalf("skew %v, flags %v", *skewed.ClockSkewSeconds, skewed.Results[0].Flags)
	}
}

// TestConvergence: the same mutations pushed in any order, split and repeated any way, by
// any number of concurrent requests, give the same stored log and the same derived state.
func TestConvergence(t *testing.T) {
	ms := route(30)
	clean := func() string {
		db := storetest.OpenEmbedded(t)
		e, log := engine(t, db, fixed(t0))
		push(t, e, ms)
		return log.snapshot()
	}()
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			db := storetest.OpenEmbedded(t)
			e, log := engine(t, db, fixed(t0))
			var wg gosync.WaitGroup
			for w := 0; w < 4; w++ {
				batches := shuffledBatches(rng, ms)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for _, b := range batches {
						push(t, e, b)
					}
				}()
			}
			wg.Wait()
			if got := log.snapshot(); got != clean {
				t.Fatal("derived state differs from a clean run")
			}
			if n := countStored(t, db); n != len(ms) {
				t.Fatalf("stored %d, want %d", n, len(ms))
			}
		})
	}
}

// shuffledBatches returns every mutation of ms at least once, shuffled, with some repeated,
// cut into batches of random size.
func shuffledBatches(rng *rand.Rand, ms []bgsync.Incoming) [][]bgsync.Incoming {
	all := slices.Clone(ms)
	for range len(ms) / 3 {
		all = append(all, ms[rng.IntN(len(ms))])
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	var out [][]bgsync.Incoming
	for len(all) > 0 {
		n := min(len(all), 1+rng.IntN(8))
		out, all = append(out, all[:n]), all[n:]
	}
	return out
}
