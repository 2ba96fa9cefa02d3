package handlers_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func init() {
	commanders := func(ok string) scopeExpect {
		return scopeExpect{cells: map[string]string{rootAdmin: ok + " - - -", a1Admin: ok + " - - -",
			a1AdminTerm: ok + " - - -", a1Commander: ok + " - - -", a1Officer: "403 - - -", a1Inspector: "403 - - -",
			anonymous: "401 - - -"}}
	}
	scopeTable["GET /v1/reports/daily"] = commanders("200")
	scopeRoutes["GET /v1/reports/daily"] = scopeRoute{}
	scopeTable["GET /v1/reports/summary"] = commanders("400") // from and to are required
	scopeRoutes["GET /v1/reports/summary"] = scopeRoute{field: "from"}
	scopeTable["GET /v1/alerts"] = commanders("200")
	scopeRoutes["GET /v1/alerts"] = scopeRoute{}
	scopeTable["POST /v1/alerts/:id/ack"] = commanders("404") // no such alert
	scopeRoutes["POST /v1/alerts/:id/ack"] = scopeRoute{path: "/v1/alerts/hazard_overdue:nothing/ack",
		body: func(string, int) any { return map[string]any{} }}
}

type alertOut struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Acked   *struct {
		By string `json:"by"`
	} `json:"acknowledged"`
}

type figuresOut struct {
	Patrols            int     `json:"patrols"`
	DistanceKM         float64 `json:"distance_km"`
	CheckpointsPunched int     `json:"checkpoints_punched"`
	CheckpointsMissed  int     `json:"checkpoints_missed"`
	HazardsFound       int     `json:"hazards_found"`
	HazardsOverdue     int     `json:"hazards_overdue"`
	Cells              int     `json:"cells"`
	CoveredCells       int     `json:"covered_cells"`
	CoveragePercent    float64 `json:"coverage_percent"`
}

type reportOut struct {
	Totals figuresOut `json:"totals"`
	Units  []struct {
		OrgUnitID string `json:"org_unit_id"`
		figuresOut
	} `json:"units"`
	Officers []struct {
		OfficerID string `json:"officer_id"`
		Username  string `json:"username"`
		figuresOut
	} `json:"officers"`
	Beats []struct {
		OrgUnitID string `json:"org_unit_id"`
		figuresOut
	} `json:"beats"`
}

// TestAlertsAndReports: a station's day — a patrol that missed a checkpoint of its route, a
// terminal gone silent on an open patrol, a beat barely covered, an overdue hazard — shows as
// four alerts, acknowledged once each, and in the day's report and its CSV; another
// station's commander sees none of it.
func TestAlertsAndReports(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	e.user("rep.cmd", tr.StationA1, "commander")
	e.user("rep.cmd2", tr.StationA2, "commander")
	e.user("rep.officer", tr.StationA1, "officer")
	term := e.device("T-rep", tr.StationA1)
	officer := e.deviceLogin(term, "rep.officer")
	cmd := e.login("rep.cmd", "rep.cmd-password").AccessToken
	now := e.clock.Now()
	t0 := now.Add(-90 * time.Minute)

	var beat beatOut
	e.must(201, "POST", "/v1/beats", map[string]any{"org_unit_id": tr.StationA1, "name": "Market beat",
		"geometry": map[string]any{"type": "Polygon", "coordinates": [][][]float64{
			{{121.5, 31.2}, {121.51, 31.2}, {121.51, 31.209}, {121.5, 31.209}, {121.5, 31.2}}}}}, e.admin, &beat)
	var cp1, cp2, route placeOut
	e.must(201, "POST", "/v1/checkpoints", map[string]any{"org_unit_id": tr.StationA1, "name": "Gate", "radius_m": 30, "tag": "T1",
		"geometry": map[string]any{"type": "Point", "coordinates": []float64{121.5005, 31.2001}}}, cmd, &cp1)
	e.must(201, "POST", "/v1/checkpoints", map[string]any{"org_unit_id": tr.StationA1, "name": "Bridge", "radius_m": 30, "tag": "T2",
		"geometry": map[string]any{"type": "Point", "coordinates": []float64{121.508, 31.207}}}, cmd, &cp2)
	e.must(201, "POST", "/v1/routes", map[string]any{"org_unit_id": tr.StationA1, "name": "Market loop", "checkpoint_ids": []string{cp1.ID, cp2.ID},
		"geometry": map[string]any{"type": "LineString", "coordinates": [][]float64{{121.5, 31.2}, {121.509, 31.2}, {121.508, 31.207}}}}, cmd, &route)

	// Patrol 1 walks east along the beat's south edge for 15 minutes, punches the gate, ends.
	walk := func(id string, from time.Time, minutes int) []map[string]any {
		var pts []map[string]any
		for s := 0; s <= minutes*6; s++ {
			pts = append(pts, map[string]any{"lon": 121.5 + 0.009*float64(s)/float64(minutes*6), "lat": 31.2001, "t": from.Add(time.Duration(s) * 10 * time.Second)})
		}
		return pts
	}
	p1, p2 := uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String()
	e.pushApplied(officer.AccessToken,
		mutation("", 1, "patrol.start", map[string]any{"patrol_id": p1, "mode": "foot", "route_id": route.ID, "t": t0}),
		mutation("", 2, "track.points", map[string]any{"patrol_id": p1, "points": walk(p1, t0, 15)}),
		mutation("", 3, "checkpoint.punch", map[string]any{"patrol_id": p1, "checkpoint_id": cp1.ID, "tag": "T1",
			"lon": 121.5005, "lat": 31.2001, "t": t0.Add(time.Minute), "prev_hash": ""}),
		mutation("", 4, "patrol.end", map[string]any{"patrol_id": p1, "t": t0.Add(20 * time.Minute)}),
		// Patrol 2 starts 10 minutes later and stops reporting 45 minutes ago, still open.
		mutation("", 5, "patrol.start", map[string]any{"patrol_id": p2, "mode": "foot", "t": t0.Add(10 * time.Minute)}),
		mutation("", 6, "track.points", map[string]any{"patrol_id": p2, "points": walk(p2, t0.Add(10*time.Minute), 5)}),
	)
	// A hazard reported on the walk, noticed with an hour to fix it.
	hid := uuid.Must(uuid.NewV7()).String()
	e.pushApplied(officer.AccessToken, mutation("", 7, "hazard.report", map[string]any{"hazard_id": hid,
		"description": "Blocked fire exit", "severity": "high", "photos": []string{}, "lon": 121.501, "lat": 31.2001, "t": t0.Add(5 * time.Minute)}))
	e.must(200, "POST", "/v1/hazards/"+hid+"/notice", map[string]any{"deadline": now.Add(time.Hour)}, cmd, nil)
	e.flush()

	kinds := func(token, status string) map[string]alertOut {
		var l struct{ Items []alertOut }
		e.must(200, "GET", "/v1/alerts?status="+status, nil, token, &l)
		out := map[string]alertOut{}
		for _, a := range l.Items {
			out[a.Kind] = a
		}
		return out
	}
	got := kinds(cmd, "open")
	if got["checkpoint_missed"].Subject != p1 || got["device_silent"].Subject != term.ID || got["beat_under_sla"].Subject != beat.ID {
		t.Fatalf("alerts %+v", got)
	}
	if _, ok := got["hazard_overdue"]; ok {
		t.Fatal("a hazard due in an hour is overdue")
	}
	// Today's report does not count the hazard overdue before its deadline, even when the
	// day ends after it.
	var before reportOut
	e.must(200, "GET", "/v1/reports/daily?tz=UTC&date="+now.UTC().Format("2006-01-02"), nil, cmd, &before)
	if before.Totals.HazardsOverdue != 0 {
		t.Fatalf("overdue before the deadline: %+v", before.Totals)
	}
	e.clock.Advance(2 * time.Hour) // past the deadline
	cmd = e.login("rep.cmd", "rep.cmd-password").AccessToken
	if got = kinds(cmd, "open"); got["hazard_overdue"].Subject != hid || len(got) != 4 {
		t.Fatalf("after the deadline: %+v", got)
	}

	// Acknowledged once; then only listed with status=all.
	id := got["hazard_overdue"].ID
	var acked alertOut
	e.must(200, "POST", "/v1/alerts/"+id+"/ack", map[string]any{"note": "Calling the owner"}, cmd, &acked)
	if acked.Acked == nil || acked.Acked.By == "" {
		t.Fatalf("acknowledged: %+v", acked)
	}
	if p := e.do("POST", "/v1/alerts/"+strings.ReplaceAll(id, ":", "%3A")+"/ack", nil, cmd).problem(t); p.Status != 409 {
		t.Fatalf("second acknowledgement: %+v", p)
	}
	if _, open := kinds(cmd, "open")["hazard_overdue"]; open {
		t.Fatal("an acknowledged alert is still open")
	}
	if a := kinds(cmd, "all")["hazard_overdue"]; a.Acked == nil {
		t.Fatalf("status=all: %+v", a)
	}
	other := e.login("rep.cmd2", "rep.cmd2-password").AccessToken
	if n := len(kinds(other, "all")); n != 0 {
		t.Fatalf("another station's commander sees %d alerts", n)
	}
	if p := e.do("POST", "/v1/alerts/"+id+"/ack", nil, other).problem(t); p.Status != 404 {
		t.Fatalf("another station acknowledges: %+v", p)
	}
	if p := e.do("GET", "/v1/alerts", nil, officer.AccessToken).problem(t); p.Status != 401 && p.Status != 403 {
		t.Fatalf("an officer reads alerts: %+v", p)
	}

	// The day's report (UTC days, so the test does not depend on the hour it runs).
	day := t0.UTC().Format("2006-01-02")
	var r reportOut
	e.must(200, "GET", "/v1/reports/daily?tz=UTC&date="+day, nil, cmd, &r)
	tot := r.Totals
	if tot.Patrols != 2 || tot.CheckpointsPunched != 1 || tot.CheckpointsMissed != 1 || tot.HazardsFound != 1 ||
		tot.DistanceKM < 1.6 || tot.DistanceKM > 1.8 || tot.Cells != beat.Cells || tot.CoveredCells == 0 {
		t.Fatalf("totals %+v", tot)
	}
	if len(r.Officers) != 1 || r.Officers[0].Username != "rep.officer" || r.Officers[0].Patrols != 2 {
		t.Fatalf("officers %+v", r.Officers)
	}
	bi := slices.IndexFunc(r.Beats, func(b struct {
		OrgUnitID string `json:"org_unit_id"`
		figuresOut
	}) bool {
		return b.OrgUnitID == beat.ID
	})
	if bi < 0 || r.Beats[bi].CoveragePercent <= 0 || r.Beats[bi].CoveragePercent >= 50 {
		t.Fatalf("beats %+v", r.Beats)
	}
	// The summary of the same single day is the same report.
	var s reportOut
	e.must(200, "GET", "/v1/reports/summary?tz=UTC&from="+day+"&to="+day, nil, cmd, &s)
	if s.Totals != r.Totals {
		t.Fatalf("summary %+v, daily %+v", s.Totals, r.Totals)
	}
	// The bureau's admin sees the same patrols in his totals.
	var root reportOut
	e.must(200, "GET", "/v1/reports/daily?tz=UTC&date="+day, nil, e.login("admin", adminPassword).AccessToken, &root)
	if root.Totals.Patrols != 2 {
		t.Fatalf("bureau totals %+v", root.Totals)
	}
	// Another station's commander: nothing of it.
	var o reportOut
	e.must(200, "GET", "/v1/reports/daily?tz=UTC&date="+day, nil, other, &o)
	if o.Totals.Patrols != 0 || len(o.Officers) != 0 {
		t.Fatalf("another station's report %+v", o)
	}

	// CSV: one table, a row per unit, beat and officer.
	c := e.must(200, "GET", "/v1/reports/daily?tz=UTC&format=csv&date="+day, nil, cmd, nil)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(c.Body, []byte("\ufeff")))).ReadAll()
	if err != nil || len(rows) < 4 || rows[0][0] != "level" || !strings.HasPrefix(c.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV %v: %q", err, c.Body)
	}
	levels := map[string]int{}
	for _, row := range rows[1:] {
		levels[row[0]]++
		if row[0] == "officer" && row[5] != "2" {
			t.Fatalf("officer row %v", row)
		}
	}
	if levels["unit"] != len(r.Units) || levels["beat"] != len(r.Beats) || levels["officer"] != 1 {
		t.Fatalf("CSV levels %v", levels)
	}

	for path, field := range map[string]string{
		"/v1/reports/daily?date=2026-13-01":                 "date",
		"/v1/reports/daily?tz=Mars/Olympus":                 "tz",
		"/v1/reports/daily?format=xls":                      "format",
		"/v1/reports/daily?org_unit_id=" + tr.StationA2:     "org_unit_id",
		"/v1/reports/summary?from=2026-11-02&to=2026-11-01": "to",
		"/v1/reports/summary?from=2024-01-01&to=2026-11-01": "to",
		"/v1/alerts?status=closed":                          "status",
		fmt.Sprintf("/v1/reports/summary?from=%s", day):     "to",
	} {
		if p := e.do("GET", path, nil, cmd).problem(t); p.Status != 400 || len(p.Errors) == 0 || p.Errors[0].Field != field {
			t.Errorf("%s: %+v, want 400 at %s", path, p, field)
		}
	}
}
