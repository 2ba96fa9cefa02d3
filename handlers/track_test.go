package handlers_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/google/uuid"
)

// TestPatrolTrackExport: a patrol's track comes back as GeoJSON, GPX and CSV with the fixes
// pushed, in time order whatever order they were pushed in; other stations get 404.
func TestPatrolTrackExport(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	officer := e.officerOnTerminal("track.officer", tr.StationA1)
	id := "0193a7c0-0000-7000-8000-0000000000aa"
	batch := func(seq int, lat float64, at string) map[string]any {
		return map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "seq": seq, "type": "track.points",
			"payload": map[string]any{"patrol_id": id, "points": []map[string]any{{"lon": 121.9, "lat": lat, "t": at}}}}
	}
	// Pushed late first: the export orders by time.
	e.must(200, "POST", "/v1/sync/push", map[string]any{"mutations": []any{
		batch(1, 29.46, "2026-11-25T08:00:10Z"), batch(2, 29.45, "2026-11-25T08:00:00Z")}}, officer.AccessToken, nil)

	gpx := e.must(200, "GET", "/v1/patrols/"+id+"/track?format=gpx", nil, officer.AccessToken, nil)
	tracks, err := geo.ParseGPX(bytes.NewReader(gpx.Body))
	if err != nil || len(tracks) != 1 || len(tracks[0].Segments[0]) != 2 || tracks[0].Segments[0][0].Point[1] != 29.45 {
		t.Fatalf("GPX %s: %+v %v", gpx.Body, tracks, err)
	}
	csv := e.must(200, "GET", "/v1/patrols/"+id+"/track?format=csv", nil, officer.AccessToken, nil)
	fixes, err := geo.ParseCSV(bytes.NewReader(csv.Body))
	if err != nil || len(fixes) != 2 || fixes[1].Point[1] != 29.46 || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV %s: %+v %v", csv.Body, fixes, err)
	}
	gj := e.must(200, "GET", "/v1/patrols/"+id+"/track", nil, officer.AccessToken, nil)
	if gj.Header.Get("Content-Type") != "application/geo+json" || !bytes.Contains(gj.Body, []byte(`"LineString"`)) {
		t.Fatalf("GeoJSON %s %s", gj.Header.Get("Content-Type"), gj.Body)
	}
	if r := e.do("GET", "/v1/patrols/"+id+"/track?format=kml", nil, officer.AccessToken); r.Status != 400 || r.problem(t).Errors[0].Field != "format" {
		t.Fatalf("format=kml: %d %s", r.Status, r.Body)
	}
	e.user("cmd.a2", tr.StationA2, "commander")
	other := e.login("cmd.a2", "cmd.a2-password").AccessToken
	if r := e.do("GET", "/v1/patrols/"+id+"/track", nil, other); r.Status != 404 {
		t.Fatalf("another station's commander: %d", r.Status)
	}
}
