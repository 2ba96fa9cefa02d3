package handlers_test

import (
	"bytes"
	"cmp"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
)

type patrolStatsOut struct {
	Stats struct {
		Points    int     `json:"points"`
		DistanceM float64 `json:"distance_m"`
		DurationS float64 `json:"duration_s"`
		Filter    struct {
			Kept, Rejected, Invalid, Inaccurate, Repeat, Teleport int
			NoTime                                                int `json:"no_time"`
			OutOfOrder                                            int `json:"out_of_order"`
			DupTime                                               int `json:"dup_time"`
		} `json:"filter"`
		Adherence *struct {
			RouteLengthM float64 `json:"route_length_m"`
			RouteCovered float64 `json:"route_covered"`
			TrackOff     float64 `json:"track_off"`
		} `json:"adherence"`
		Checkpoints struct {
			Punched   int `json:"punched"`
			ClockSkew int `json:"clock_skew"`
		} `json:"checkpoints"`
	} `json:"stats"`
}

// pushFixes pushes fixes as track.points of a patrol, 500 a mutation, from seq on.
func pushFixes(t *testing.T, e *env, token, patrolID string, seq int, fixes []geo.Fix) int {
	t.Helper()
	for start := 0; start < len(fixes); start += 500 {
		var pts []map[string]any
		for _, f := range fixes[start:min(start+500, len(fixes))] {
			pt := map[string]any{"lon": f.Point[0], "lat": f.Point[1], "t": f.T}
			if f.Acc > 0 {
				pt["acc"] = f.Acc
			}
			pts = append(pts, pt)
		}
		var ans pushAnswer
		e.must(200, "POST", "/v1/sync/push", map[string]any{"mutations": []any{map[string]any{
			"id": uuid.Must(uuid.NewV7()).String(), "seq": seq, "type": "track.points",
			"payload": map[string]any{"patrol_id": patrolID, "points": pts}}}}, token, &ans)
		if ans.Results[0].Status != "applied" {
			t.Fatalf("push of fixes %d…: %+v", start, ans.Results[0])
		}
		seq++
	}
	return seq
}

// TestPatrolStatsRealTrack pushes the noisy Posmo train ride as a vehicle patrol: the
// patrol's filter counts and distance are those of geo's filter run here on the same fixes
// (rounded as sync stores them, each fix once); then a car drive with its own line as the
// route adheres fully, and against a route 1 km away not at all.
func TestPatrolStatsRealTrack(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	officer := e.officerOnTerminal("stats.officer", tr.StationA1)
	e.user("stats.cmd", tr.StationA1, "commander")
	cmd := e.login("stats.cmd", "stats.cmd-password").AccessToken

	raw, err := os.ReadFile("../testdata/tracks/trackintel/posmo_trajectory.csv")
	if err != nil {
		t.Fatal(err)
	}
	fixes, err := geo.ParseCSV(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.Must(uuid.NewV7()).String()
	e.must(200, "POST", "/v1/sync/push", map[string]any{"mutations": []any{map[string]any{
		"id": uuid.Must(uuid.NewV7()).String(), "seq": 1, "type": "patrol.start",
		"payload": map[string]any{"patrol_id": id, "mode": "vehicle", "t": fixes[0].T}}}}, officer.AccessToken, nil)
	pushFixes(t, e, officer.AccessToken, id, 2, fixes)

	// The independent computation: round as sync does, keep each fix once, filter.
	set := map[geo.Fix]bool{}
	for _, f := range fixes {
		f.Point = orb.Point{math.Round(f.Point[0]*1e7) / 1e7, math.Round(f.Point[1]*1e7) / 1e7}
		f.T = f.T.UTC()
		f.Acc = float64(float32(f.Acc))
		set[f] = true
	}
	var once []geo.Fix
	for f := range set {
		once = append(once, f)
	}
	slices.SortFunc(once, func(a, b geo.Fix) int {
		return cmp.Or(a.T.Compare(b.T), cmp.Compare(a.Point[0], b.Point[0]), cmp.Compare(a.Point[1], b.Point[1]))
	})
	c, _ := geo.FilterFor(geo.Vehicle)
	kept, want := geo.Filter(once, c)
	wantStats := geo.Stats(kept, 0.5)

	var p patrolStatsOut
	e.must(200, "GET", "/v1/patrols/"+id, nil, cmd, &p)
	f := p.Stats.Filter
	t.Logf("posmo as a vehicle patrol: %d fixes, %+v; distance %.0f m", p.Stats.Points, f, p.Stats.DistanceM)
	if p.Stats.Points != len(once) || f.Kept != want.Kept || f.Rejected != want.Rejected() || f.Teleport != want.Teleport ||
		f.Repeat != want.Repeat || f.Inaccurate != want.Inaccurate || f.DupTime != want.DupTime {
		t.Fatalf("filter %+v (points %d), want %+v (points %d)", f, p.Stats.Points, want, len(once))
	}
	if f.Teleport == 0 || f.Repeat == 0 {
		t.Fatalf("the noisy ride shows no teleports or repeats: %+v", f)
	}
	if math.Abs(p.Stats.DistanceM-wantStats.Distance) > 0.01 || math.Abs(p.Stats.DurationS-wantStats.Duration.Seconds()) > 0.001 {
		t.Fatalf("distance %.2f duration %.0f, want %.2f %.0f", p.Stats.DistanceM, p.Stats.DurationS, wantStats.Distance, wantStats.Duration.Seconds())
	}
	if p.Stats.Adherence != nil {
		t.Fatalf("adherence without a route: %+v", p.Stats.Adherence)
	}

	// A car drive patrolling its own line, and one patrolling a route 1 km north.
	gpx, err := os.ReadFile("../testdata/tracks/gpx/around-visnjan-with-car.gpx")
	if err != nil {
		t.Fatal(err)
	}
	tracks, err := geo.ParseGPX(bytes.NewReader(gpx))
	if err != nil {
		t.Fatal(err)
	}
	drive := tracks[0].Segments[0]
	line := geo.Points(drive)
	if len(line) > 10000 {
		line = line[:10000]
	}
	far := make(orb.LineString, len(line))
	for i, pt := range line {
		far[i] = orb.Point{pt[0], pt[1] + 0.009}
	}
	for i, route := range []orb.LineString{line, far} {
		var r placeOut
		e.must(201, "POST", "/v1/routes", map[string]any{"org_unit_id": tr.StationA1, "name": "Drive " + string(rune('A'+i)),
			"geometry": map[string]any{"type": "LineString", "coordinates": route}}, cmd, &r)
		id := uuid.Must(uuid.NewV7()).String()
		e.must(200, "POST", "/v1/sync/push", map[string]any{"mutations": []any{map[string]any{
			"id": uuid.Must(uuid.NewV7()).String(), "seq": 100 + i*100, "type": "patrol.start",
			"payload": map[string]any{"patrol_id": id, "mode": "vehicle", "route_id": r.ID, "t": drive[0].T}}}}, officer.AccessToken, nil)
		pushFixes(t, e, officer.AccessToken, id, 101+i*100, drive)
		e.must(200, "GET", "/v1/patrols/"+id, nil, cmd, &p)
		a := p.Stats.Adherence
		if a == nil {
			t.Fatalf("route %d: no adherence", i)
		}
		t.Logf("route %d: %+v", i, *a)
		if i == 0 && (a.RouteCovered < 0.95 || a.TrackOff > 0.05) || i == 1 && (a.RouteCovered > 0.05 || a.TrackOff < 0.95) {
			t.Fatalf("route %d: adherence %+v", i, *a)
		}
	}
}

// TestPunchClockSkew: a punch sent by a terminal whose clock is an hour off counts in the
// patrol's clock_skew; one from a terminal on time does not.
func TestPunchClockSkew(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	officer := e.officerOnTerminal("skew.officer", tr.StationA1)
	id := uuid.Must(uuid.NewV7()).String()
	now := e.clock.Now()
	punch := func(seq int, deviceTime time.Time) {
		e.must(200, "POST", "/v1/sync/push", map[string]any{"device_time": deviceTime, "mutations": []any{map[string]any{
			"id": uuid.Must(uuid.NewV7()).String(), "seq": seq, "type": "checkpoint.punch",
			"payload": map[string]any{"patrol_id": id, "checkpoint_id": "cp-1", "tag": "NFC-1", "lon": 121, "lat": 31,
				"t": now.Add(-time.Minute), "prev_hash": ""}}}}, officer.AccessToken, nil)
	}
	punch(1, now)
	punch(2, now.Add(-time.Hour))
	var p patrolStatsOut
	e.must(200, "GET", "/v1/patrols/"+id, nil, officer.AccessToken, &p)
	if p.Stats.Checkpoints.Punched != 2 || p.Stats.Checkpoints.ClockSkew != 1 {
		t.Fatalf("checkpoints %+v", p.Stats.Checkpoints)
	}
}
