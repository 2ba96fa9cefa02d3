package handlers_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"
)

// init adds the coverage routes to the scope matrix: commanders and admins on the console
// read them (400 without their required parameters), officers and inspectors do not. What
// each commander sees of real coverage is TestCoverageScope's.
func init() {
	row := func(ok string) scopeExpect {
		return scopeExpect{cells: map[string]string{rootAdmin: ok + " - - -", a1Admin: ok + " - - -",
			a1AdminTerm: ok + " - - -", a1Commander: ok + " - - -", a1Officer: "403 - - -", a1Inspector: "403 - - -",
			anonymous: "401 - - -"}}
	}
	for route, r := range map[string]struct {
		status, field, path string
	}{
		"GET /v1/coverage/tiles/:z/:x/:y.mvt": {"200", "", "/v1/coverage/tiles/14/13700/6700.mvt"},
		"GET /v1/coverage/cells":              {"400", "bbox", ""},
		"GET /v1/coverage/beats":              {"200", "", ""},
		"GET /v1/coverage/gaps":               {"400", "beat_id", ""},
		"GET /v1/coverage/suggest":            {"400", "beat_id", ""},
		"GET /v1/live/units":                  {"200", "", ""},
	} {
		scopeTable[route] = row(r.status)
		scopeRoutes[route] = scopeRoute{field: r.field, path: r.path}
	}
}

// coverageFixture: a station with a beat drawn around a real car drive, the drive pushed by
// an officer's terminal as a vehicle patrol, and the coverage folded.
type coverageFixture struct {
	e       *env
	tr      tree
	beat    beatOut
	fixes   []geo.Fix
	patrol  string
	cmd     string // the station commander's token
	officer tokenPair
}

func newCoverageFixture(t *testing.T) *coverageFixture {
	e := newEnv(t)
	f := &coverageFixture{e: e, tr: e.tree()}
	raw, err := os.ReadFile("../testdata/tracks/gpx/around-visnjan-with-car.gpx")
	if err != nil {
		t.Fatal(err)
	}
	tracks, err := geo.ParseGPX(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	// The drive as if it had ended an hour ago: real geometry, recent times.
	f.fixes = slices.Clone(tracks[0].Segments[0])
	shift := e.clock.Now().Add(-time.Hour).Sub(f.fixes[len(f.fixes)-1].T)
	for i := range f.fixes {
		f.fixes[i].T = f.fixes[i].T.Add(shift).Truncate(time.Second)
	}
	// The beat: the drive's bounding box, padded by about 300 m.
	b := geo.Points(f.fixes).Bound().Pad(0.003)
	e.must(201, "POST", "/v1/beats", map[string]any{"org_unit_id": f.tr.StationA1, "name": "Drive beat",
		"geometry": geojson.NewGeometry(b.ToPolygon())}, e.admin, &f.beat)
	e.user("cov.cmd", f.tr.StationA1, "commander")
	f.cmd = e.login("cov.cmd", "cov.cmd-password").AccessToken
	f.officer = e.officerOnTerminal("cov.officer", f.tr.StationA1)
	f.patrol = uuid.Must(uuid.NewV7()).String()
	e.must(200, "POST", "/v1/sync/push", map[string]any{"mutations": []any{map[string]any{
		"id": uuid.Must(uuid.NewV7()).String(), "seq": 1, "type": "patrol.start",
		"payload": map[string]any{"patrol_id": f.patrol, "mode": "vehicle", "t": f.fixes[0].T}}}}, f.officer.AccessToken, nil)
	pushFixes(t, e, f.officer.AccessToken, f.patrol, 2, f.fixes)
	e.flush()
	return f
}

// TestCoverageHTTP: the drive's cells come back the same through the cells GeoJSON, the
// z14 vector tiles and the beat summary; gaps are the beat's other cells; a suggested route
// starts in a gap; ETags and gzip work; bad input names its field.
func TestCoverageHTTP(t *testing.T) {
	f := newCoverageFixture(t)
	e := f.e
	bound := geo.Points(f.fixes).Bound().Pad(0.003)
	bbox := fmt.Sprintf("%f,%f,%f,%f", bound.Min[0], bound.Min[1], bound.Max[0], bound.Max[1])

	// Cells: every one a vehicle cell with a visit in the drive's time.
	r := e.must(200, "GET", "/v1/coverage/cells?bbox="+bbox, nil, f.cmd, nil)
	fc, err := geojson.UnmarshalFeatureCollection(r.Body)
	if err != nil || len(fc.Features) == 0 {
		t.Fatalf("cells: %v, %d features", err, len(fc.Features))
	}
	cells := map[string]bool{}
	for _, ft := range fc.Features {
		last, _ := time.Parse(time.RFC3339, ft.Properties.MustString("last_visit"))
		if ft.Properties.MustInt("visits") < 1 || last.Before(f.fixes[0].T.Add(-time.Second)) || last.After(f.fixes[len(f.fixes)-1].T) {
			t.Fatalf("cell %v: %v", ft.ID, ft.Properties)
		}
		cells[ft.Properties.MustString("cell")] = true
	}

	// The same cells from the z14 tiles over the box, decoded as MVT.
	fromTiles := map[string]bool{}
	lo, hi := maptile.At(bound.Min, 14), maptile.At(bound.Max, 14)
	for x := lo.X; x <= hi.X; x++ {
		for y := hi.Y; y <= lo.Y; y++ {
			path := fmt.Sprintf("/v1/coverage/tiles/14/%d/%d.mvt", x, y)
			tr := e.must(200, "GET", path, nil, f.cmd, nil)
			if tr.Header.Get("Content-Type") != "application/vnd.mapbox-vector-tile" || tr.Header.Get("ETag") == "" {
				t.Fatalf("tile headers %v", tr.Header)
			}
			layers, err := mvt.Unmarshal(tr.Body)
			if err != nil {
				t.Fatalf("tile %d/%d: %v", x, y, err)
			}
			for _, l := range layers {
				if l.Name != "coverage" {
					t.Fatalf("layer %q", l.Name)
				}
				for _, ft := range l.Features {
					if ft.Properties["modes"] != "vehicle" {
						t.Fatalf("tile feature %v", ft.Properties)
					}
					fromTiles[ft.Properties["cell"].(string)] = true
				}
			}
		}
	}
	if len(fromTiles) != len(cells) {
		t.Fatalf("tiles show %d cells, GeoJSON %d", len(fromTiles), len(cells))
	}
	for c := range cells {
		if !fromTiles[c] {
			t.Fatalf("cell %s in GeoJSON, not in the tiles", c)
		}
	}

	// ETag: the same tile again is 304; gzip when asked.
	at := maptile.At(f.fixes[0].Point, 14)
	tile := fmt.Sprintf("/v1/coverage/tiles/14/%d/%d.mvt", at.X, at.Y)
	first := e.must(200, "GET", tile, nil, f.cmd, nil)
	req, _ := http.NewRequest("GET", tile, nil)
	req.Header.Set("Authorization", "Bearer "+f.cmd)
	req.Header.Set("If-None-Match", first.Header.Get("ETag"))
	if again := e.request(req); again.Status != 304 {
		t.Fatalf("If-None-Match: %d", again.Status)
	}
	req, _ = http.NewRequest("GET", tile, nil)
	req.Header.Set("Authorization", "Bearer "+f.cmd)
	req.Header.Set("Accept-Encoding", "gzip")
	gz := e.request(req)
	zr, err := gzip.NewReader(bytes.NewReader(gz.Body))
	if err != nil || gz.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip tile: %v %v", err, gz.Header)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, first.Body) {
		t.Fatal("the gzipped tile differs from the plain one")
	}
	t.Logf("z14 tile: %d bytes, %d gzipped", len(first.Body), len(gz.Body))

	// Low zoom: the same area aggregated into coarser cells, visits summed.
	z10 := maptile.At(bound.Center(), 10)
	layers, err := mvt.Unmarshal(e.must(200, "GET", fmt.Sprintf("/v1/coverage/tiles/10/%d/%d.mvt", z10.X, z10.Y), nil, f.cmd, nil).Body)
	if err != nil || len(layers) != 1 || len(layers[0].Features) == 0 || len(layers[0].Features) > len(cells) {
		t.Fatalf("z10 tile: %v, %v", err, layers)
	}

	// The beat: its cells, the covered ones are the drive's cells inside it.
	var beats struct{ Items []beatCoverage }
	e.must(200, "GET", "/v1/coverage/beats", nil, f.cmd, &beats)
	if len(beats.Items) != 2 { // Beat A1-1 (no boundary) and the drive's beat
		t.Fatalf("beats %+v", beats.Items)
	}
	bc := beats.Items[slices.IndexFunc(beats.Items, func(b beatCoverage) bool { return b.BeatID == f.beat.ID })]
	if bc.Cells != f.beat.Cells || bc.Covered == 0 || bc.Covered > len(cells) || bc.ByMode["vehicle"] != bc.Covered {
		t.Fatalf("beat coverage %+v (%d cells in the box)", bc, len(cells))
	}
	t.Logf("beat: %d cells, %d covered (%.1f%%)", bc.Cells, bc.Covered, bc.Percent)
	var none struct{ Items []beatCoverage }
	e.must(200, "GET", "/v1/coverage/beats?mode=foot", nil, f.cmd, &none)
	for _, b := range none.Items {
		if b.Covered != 0 {
			t.Fatalf("foot coverage %+v", b)
		}
	}

	// Gaps: with an SLA of 30 minutes (the drive ended an hour ago) every cell is a gap; the
	// covered ones carry their last visit and come after the never-visited ones.
	gaps, err := geojson.UnmarshalFeatureCollection(e.must(200, "GET", "/v1/coverage/gaps?beat_id="+f.beat.ID+"&sla=30m", nil, f.cmd, nil).Body)
	if err != nil || len(gaps.Features) != bc.Cells {
		t.Fatalf("gaps: %v, %d of %d cells", err, len(gaps.Features), bc.Cells)
	}
	seenVisited := false
	for _, g := range gaps.Features {
		visited := g.Properties["last_visit"] != nil
		if seenVisited && !visited {
			t.Fatal("a never-visited gap after a visited one")
		}
		seenVisited = seenVisited || visited
	}
	// With an SLA of 4 hours, reaching back before the drive, only the cells never visited are.
	gaps, _ = geojson.UnmarshalFeatureCollection(e.must(200, "GET", "/v1/coverage/gaps?beat_id="+f.beat.ID+"&sla=4h", nil, f.cmd, nil).Body)
	if len(gaps.Features) != bc.Cells-bc.Covered {
		t.Fatalf("gaps within 4h: %d, want %d", len(gaps.Features), bc.Cells-bc.Covered)
	}

	// Suggest: a line through never-visited cells first.
	sug, err := geojson.UnmarshalFeature(e.must(200, "GET", "/v1/coverage/suggest?beat_id="+f.beat.ID+"&cells=10", nil, f.cmd, nil).Body)
	if err != nil {
		t.Fatal(err)
	}
	line, ok := sug.Geometry.(orb.LineString)
	if !ok || len(line) != 10 {
		t.Fatalf("suggest: %v", sug.Geometry)
	}
	for _, k := range sug.Properties["cells"].([]any) {
		if cells[k.(string)] {
			t.Fatalf("suggested cell %v was covered, while %d cells never were", k, bc.Cells-bc.Covered)
		}
	}

	// Bad input names the field.
	for path, field := range map[string]string{
		"/v1/coverage/cells?bbox=1,2,3":                          "bbox",
		"/v1/coverage/cells?bbox=0,0,10,10":                      "bbox",
		"/v1/coverage/cells?bbox=" + bbox + "&mode=bike":         "mode",
		"/v1/coverage/cells?bbox=" + bbox + "&from=yesterday":    "from",
		"/v1/coverage/tiles/30/0/0.mvt":                          "z",
		"/v1/coverage/tiles/3/8/0.mvt":                           "x",
		"/v1/coverage/gaps?beat_id=" + f.beat.ID + "&sla=4":      "sla",
		"/v1/coverage/gaps?beat_id=" + f.tr.StationA1:            "beat_id",
		"/v1/coverage/suggest?beat_id=" + f.beat.ID + "&cells=0": "cells",
		"/v1/coverage/beats?org_unit_id=" + f.tr.StationA2:       "org_unit_id",
	} {
		if p := e.do("GET", path, nil, f.cmd).problem(t); p.Status != 400 || len(p.Errors) == 0 || p.Errors[0].Field != field {
			t.Errorf("%s: %+v, want 400 at %s", path, p, field)
		}
	}
}

type beatCoverage struct {
	BeatID  string         `json:"beat_id"`
	Cells   int            `json:"cells"`
	Covered int            `json:"covered"`
	Percent float64        `json:"percent"`
	ByMode  map[string]int `json:"by_mode"`
}

// TestCoverageScope: another station's commander sees none of the drive's coverage on the
// map, nor its beat, nor the unit live; the bureau's admin sees all of it.
func TestCoverageScope(t *testing.T) {
	f := newCoverageFixture(t)
	e := f.e
	e.user("cov.cmd2", f.tr.StationA2, "commander")
	other := e.login("cov.cmd2", "cov.cmd2-password").AccessToken
	bound := geo.Points(f.fixes).Bound()
	bbox := fmt.Sprintf("%f,%f,%f,%f", bound.Min[0], bound.Min[1], bound.Max[0], bound.Max[1])
	count := func(token string) int {
		fc, err := geojson.UnmarshalFeatureCollection(e.must(200, "GET", "/v1/coverage/cells?bbox="+bbox, nil, token, nil).Body)
		if err != nil {
			t.Fatal(err)
		}
		return len(fc.Features)
	}
	if n, m := count(f.cmd), count(e.admin); n == 0 || n != m {
		t.Fatalf("own commander %d cells, admin %d", n, m)
	}
	if n := count(other); n != 0 {
		t.Fatalf("another station's commander sees %d cells", n)
	}
	if p := e.do("GET", "/v1/coverage/gaps?beat_id="+f.beat.ID, nil, other).problem(t); p.Status != 400 {
		t.Fatalf("another station's beat: %+v", p)
	}
	var beats struct{ Items []beatCoverage }
	e.must(200, "GET", "/v1/coverage/beats", nil, other, &beats)
	if len(beats.Items) != 0 {
		t.Fatalf("another station's commander lists beats %+v", beats.Items)
	}
	if p := e.do("GET", "/v1/coverage/beats", nil, f.officer.AccessToken).problem(t); p.Status != 403 {
		t.Fatalf("an officer reads coverage: %+v", p)
	}
}

// TestLiveUnits: a patrol reporting now is live for its station's commander, at its latest
// fix; it leaves the list when it ends; other stations never see it.
func TestLiveUnits(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	e.user("live.officer", tr.StationA1, "officer")
	term := e.device("T-live", tr.StationA1)
	officer := e.deviceLogin(term, "live.officer")
	e.user("live.cmd", tr.StationA1, "commander")
	e.user("live.cmd2", tr.StationA2, "commander")
	cmd, other := e.login("live.cmd", "live.cmd-password").AccessToken, e.login("live.cmd2", "live.cmd2-password").AccessToken
	id := uuid.Must(uuid.NewV7()).String()
	now := e.clock.Now()
	e.must(200, "POST", "/v1/sync/push", map[string]any{"mutations": []any{
		map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "seq": 1, "type": "patrol.start",
			"payload": map[string]any{"patrol_id": id, "mode": "foot", "t": now.Add(-10 * time.Minute)}},
		map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "seq": 2, "type": "track.points",
			"payload": map[string]any{"patrol_id": id, "points": []map[string]any{
				{"lon": 121.5, "lat": 31.2, "t": now.Add(-time.Minute)}, {"lon": 121.501, "lat": 31.2, "t": now.Add(-2 * time.Minute)}}}},
	}}, officer.AccessToken, nil)
	var live struct {
		Items []struct {
			PatrolID string  `json:"patrol_id"`
			Mode     string  `json:"mode"`
			Lon      float64 `json:"lon"`
		} `json:"items"`
	}
	e.must(200, "GET", "/v1/live/units", nil, cmd, &live)
	if len(live.Items) != 1 || live.Items[0].PatrolID != id || live.Items[0].Lon != 121.5 || live.Items[0].Mode != "foot" {
		t.Fatalf("live: %+v", live.Items)
	}
	e.must(200, "GET", "/v1/live/units", nil, other, &live)
	if len(live.Items) != 0 {
		t.Fatalf("another station sees %+v", live.Items)
	}
	e.clock.Advance(20 * time.Minute) // silent too long: not live
	cmd = e.login("live.cmd", "live.cmd-password").AccessToken
	e.must(200, "GET", "/v1/live/units", nil, cmd, &live)
	if len(live.Items) != 0 {
		t.Fatalf("a silent unit is live: %+v", live.Items)
	}
	// Reporting again: live; then ended: not live.
	now = e.clock.Now()
	officer = e.deviceLogin(term, "live.officer")
	e.must(200, "POST", "/v1/sync/push", map[string]any{"mutations": []any{
		map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "seq": 3, "type": "track.points",
			"payload": map[string]any{"patrol_id": id, "points": []map[string]any{{"lon": 121.502, "lat": 31.2, "t": now}}}},
	}}, officer.AccessToken, nil)
	e.must(200, "GET", "/v1/live/units", nil, cmd, &live)
	if len(live.Items) != 1 || live.Items[0].Lon != 121.502 {
		t.Fatalf("live again: %+v", live.Items)
	}
	e.must(200, "POST", "/v1/sync/push", map[string]any{"mutations": []any{
		map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "seq": 4, "type": "patrol.end",
			"payload": map[string]any{"patrol_id": id, "t": now}},
	}}, officer.AccessToken, nil)
	e.must(200, "GET", "/v1/live/units", nil, cmd, &live)
	if len(live.Items) != 0 {
		t.Fatalf("an ended patrol is live: %+v", live.Items)
	}

}
