package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/docs"
	"github.com/beatgrid/beatgrid/handlers"
	"github.com/beatgrid/beatgrid/inspect"
	"github.com/beatgrid/beatgrid/patrol"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/google/uuid"
)

// init adds the inspection routes to the scope matrix. Ids are user ids (no such record:
// 404); what each scope sees of real venues, hazards and tasks is TestInspectScope's. The
// stored-records snapshot of the matrix does not list these collections, so the rows are not
// marked as writes; TestInspectBadInput checks refusals store nothing.
func init() {
	all := func(cell string) map[string]string {
		return map[string]string{rootAdmin: cell, a1Admin: cell, a1AdminTerm: cell, a1Commander: cell,
			a1Officer: cell, a1Inspector: cell, anonymous: "-   401 401 401"}
	}
	lists := map[string]string{rootAdmin: "200 - - -", a1Admin: "200 - - -", a1AdminTerm: "200 - - -",
		a1Commander: "200 - - -", a1Officer: "200 - - -", a1Inspector: "200 - - -", anonymous: "401 - - -"}
	writers := func(self, sibling string) map[string]string {
		return map[string]string{rootAdmin: self + " " + self + " " + self + " " + self,
			a1Admin: self + " " + self + " " + sibling + " " + sibling, a1AdminTerm: self + " " + self + " " + sibling + " " + sibling,
			a1Commander: self + " " + self + " " + sibling + " " + sibling, a1Officer: "403 403 403 403",
			a1Inspector: "403 403 403 403", anonymous: "-   401 401 401"}
	}
	for _, path := range []string{"/v1/venues", "/v1/checklists", "/v1/inspections", "/v1/hazards", "/v1/tasks"} {
		scopeTable["GET "+path] = scopeExpect{cells: lists}
		scopeRoutes["GET "+path] = scopeRoute{}
		scopeTable["GET "+path+"/:id"] = scopeExpect{cells: all("404 404 404 404")}
		scopeRoutes["GET "+path+"/:id"] = scopeRoute{target: userTarget}
	}
	creates := map[string]func(unit string, n int) any{
		"/v1/venues":     func(u string, n int) any { return venueBody(u, n, 121.5, 31.2) },
		"/v1/checklists": func(u string, n int) any { return checklistBody(u, n) },
		"/v1/tasks": func(u string, n int) any {
			return map[string]any{"kind": "patrol_cell", "target": fmt.Sprintf("18/%d/1", n), "org_unit_id": u}
		},
	}
	for path, body := range creates {
		scopeTable["POST "+path] = scopeExpect{cells: writers("201", "400")}
		scopeRoutes["POST "+path] = scopeRoute{target: unitTarget, field: "/org_unit_id", body: func(id string, n int) any { return body(id, n) }}
	}
	rename := func(_ string, n int) any { return map[string]string{"name": fmt.Sprintf("Renamed %d", n)} }
	for _, key := range []string{"PATCH /v1/venues/:id", "DELETE /v1/venues/:id", "PATCH /v1/checklists/:id"} {
		scopeTable[key] = scopeExpect{cells: writers("404", "404")}
		rt := scopeRoute{target: userTarget}
		if strings.HasPrefix(key, "PATCH") {
			rt.body = rename
		}
		scopeRoutes[key] = rt
	}
	commanders := writers("404", "404")
	actions := map[string]struct {
		cells map[string]string
		body  any
	}{
		"POST /v1/hazards/:id/notice":     {commanders, map[string]any{}},
		"POST /v1/hazards/:id/rectify":    {all("404 404 404 404"), map[string]any{"action": "fixed"}},
		"POST /v1/hazards/:id/close":      {commanders, map[string]any{}},
		"POST /v1/tasks/:id/verify":       {commanders, map[string]any{"accept": true}},
		"GET /v1/hazards/:id/notice.html": {all("404 404 404 404"), nil},
	}
	reinspect := all("404 404 404 404")
	reinspect[a1Officer] = "403 403 403 403"
	actions["POST /v1/hazards/:id/reinspect"] = struct {
		cells map[string]string
		body  any
	}{reinspect, map[string]any{"pass": true}}
	for key, a := range actions {
		scopeTable[key] = scopeExpect{cells: a.cells}
		rt := scopeRoute{target: userTarget}
		if a.body != nil {
			body := a.body
			rt.body = func(string, int) any { return body }
		}
		scopeRoutes[key] = rt
	}
}

func venueBody(unit string, n int, lon, lat float64) map[string]any {
	return map[string]any{"org_unit_id": unit, "name": fmt.Sprintf("Venue %d", n), "type": "restaurant",
		"address": fmt.Sprintf("%d Harbour Road", n), "owner_contact": "Li Wei, +86 574 1234 5678",
		"geometry": map[string]any{"type": "Point", "coordinates": []float64{lon, lat}}}
}

func checklistBody(unit string, n int) map[string]any {
	return map[string]any{"org_unit_id": unit, "name": fmt.Sprintf("Restaurant checklist %d", n), "venue_type": "restaurant",
		"items": []map[string]any{
			{"id": "fire_exit", "text": "Fire exits clear", "kind": "yes_no", "required": true},
			{"id": "extinguishers", "text": "Extinguishers in date", "kind": "number", "required": false}}}
}

type venueOut struct {
	ID        string `json:"id"`
	OrgUnitID string `json:"org_unit_id"`
	Type      string `json:"type"`
	Version   int64  `json:"version"`
}

type checklistOut struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
	Items   []struct {
		ID string `json:"id"`
	} `json:"items"`
}

type hazardOut struct {
	ID        string `json:"id"`
	OrgUnitID string `json:"org_unit_id"`
	Status    string `json:"status"`
	Overdue   *bool  `json:"overdue"`
	Notice    *struct {
		Number   string    `json:"number"`
		Deadline time.Time `json:"deadline"`
	} `json:"notice"`
	History []hazardEventOut `json:"history"`
}

type hazardEventOut struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Source     string    `json:"source"`
	At         time.Time `json:"at"`
	By         string    `json:"by"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Superseded bool      `json:"superseded"`
	Reason     string    `json:"reason"`
}

type inspectionOut struct {
	ID        string   `json:"id"`
	Flags     []string `json:"flags"`
	HazardIDs []string `json:"hazard_ids"`
	DistanceM *float64 `json:"distance_m"`
	Photos    []string `json:"photos"`
}

type taskOut struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	OrgUnitID string `json:"org_unit_id"`
	History   []struct {
		Kind       string `json:"kind"`
		Superseded bool   `json:"superseded"`
	} `json:"history"`
}

// mutation is a mutation of a terminal's queue.
func mutation(id string, seq int, typ string, payload map[string]any) map[string]any {
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	return map[string]any{"id": id, "seq": seq, "type": typ, "payload": payload}
}

// push sends mutations as token and fails unless each is applied.
func (e *env) pushApplied(token string, ms ...map[string]any) {
	e.t.Helper()
	var a pushAnswer
	e.must(200, "POST", "/v1/sync/push", map[string]any{"device_time": e.clock.Now(), "mutations": ms}, token, &a)
	for _, r := range a.Results {
		if r.Status != "applied" {
			e.t.Fatalf("push: %+v", a.Results)
		}
	}
}

// inspectorOnTerminal signs an inspector of unit in on a new terminal.
func (e *env) inspectorOnTerminal(name, unit string) tokenPair {
	e.t.Helper()
	e.user(name, unit, "inspector")
	return e.deviceLogin(e.device("T-"+name, unit), name)
}

func (e *env) hazard(id, token string) hazardOut {
	e.t.Helper()
	var h hazardOut
	e.must(200, "GET", "/v1/hazards/"+id, nil, token, &h)
	return h
}

var photo = strings.Repeat("ab", 32)

// TestInspectLifecycle walks a venue's inspection to a closed hazard through HTTP and sync:
// venue → checklist (two versions) → inspection.submit with a failed item → hazard open →
// notice → hazard.rectify from the terminal → re-inspection passed → closed.
func TestInspectLifecycle(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	cmd := e.commander("life.cmd", tr.StationA1)
	var v venueOut
	e.must(201, "POST", "/v1/venues", venueBody(tr.StationA1, 1, 121.5, 31.2), cmd, &v)
	var cl, cl2, old checklistOut
	e.must(201, "POST", "/v1/checklists", checklistBody(tr.StationA1, 1), cmd, &cl)
	e.must(200, "PATCH", "/v1/checklists/"+cl.ID, map[string]any{"items": []map[string]any{
		{"id": "fire_exit", "text": "Fire exits clear and lit", "kind": "yes_no", "required": true}}}, cmd, &cl2)
	e.must(200, "GET", "/v1/checklists/"+cl.ID+"?version=1", nil, cmd, &old)
	if cl.Version != 1 || cl2.Version != 2 || len(old.Items) != 2 || len(cl2.Items) != 1 {
		t.Fatalf("checklist versions: %+v %+v %+v", cl, cl2, old)
	}

	insp := e.inspectorOnTerminal("life.insp", tr.StationA1)
	inspID := uuid.Must(uuid.NewV7()).String()
	now := e.clock.Now()
	e.pushApplied(insp.AccessToken, mutation("", 1, "inspection.submit", map[string]any{"inspection_id": inspID,
		"venue_id": v.ID, "checklist_id": cl.ID, "checklist_version": 1, "photos": []string{photo},
		"answers": []map[string]any{{"item": "fire_exit", "value": false}, {"item": "extinguishers", "value": 3}},
		"lon":     121.5004, "lat": 31.2, "t": now.Add(-time.Hour)}))
	far := uuid.Must(uuid.NewV7()).String()
	e.pushApplied(insp.AccessToken, mutation("", 2, "inspection.submit", map[string]any{"inspection_id": far,
		"venue_id": v.ID, "checklist_id": cl.ID, "checklist_version": 2, "photos": []string{},
		"answers": []map[string]any{{"item": "fire_exit", "value": true}}, "lon": 121.51, "lat": 31.2, "t": now.Add(-time.Hour)}))

	var in, inFar inspectionOut
	e.must(200, "GET", "/v1/inspections/"+inspID, nil, cmd, &in)
	hid := inspect.FailedItemHazard(inspID, "fire_exit")
	if len(in.Flags) != 0 || !slices.Equal(in.HazardIDs, []string{hid}) || in.DistanceM == nil || *in.DistanceM > 50 ||
		!slices.Equal(in.Photos, []string{photo}) {
		t.Fatalf("inspection %+v", in)
	}
	e.must(200, "GET", "/v1/inspections/"+far, nil, cmd, &inFar)
	if !slices.Equal(inFar.Flags, []string{"far_from_venue"}) || len(inFar.HazardIDs) != 0 {
		t.Fatalf("far inspection %+v", inFar)
	}

	if h := e.hazard(hid, cmd); h.Status != "open" || h.OrgUnitID != tr.StationA1 || len(h.History) != 1 {
		t.Fatalf("hazard after the inspection %+v", h)
	}
	e.must(403, "POST", "/v1/hazards/"+hid+"/notice", map[string]any{}, insp.AccessToken, nil)
	var h hazardOut
	e.must(200, "POST", "/v1/hazards/"+hid+"/notice", map[string]any{"note": "Clear the back exit"}, cmd, &h)
	want := fmt.Sprintf("SA1-%d-0001", e.clock.Now().Year())
	if h.Status != "notified" || h.Notice == nil || h.Notice.Number != want ||
		!h.Notice.Deadline.Equal(e.clock.Now().AddDate(0, 0, 7)) || *h.Overdue {
		t.Fatalf("after the notice %+v (want number %s)", h, want)
	}
	e.must(409, "POST", "/v1/hazards/"+hid+"/notice", map[string]any{}, cmd, nil) // one notice per hazard
	page := e.must(200, "GET", "/v1/hazards/"+hid+"/notice.html", nil, cmd, nil)
	if ct := page.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !bytes.Contains(page.Body, []byte(want)) ||
		!bytes.Contains(page.Body, []byte("Venue 1")) {
		t.Fatalf("notice page %s: %.400s", ct, page.Body)
	}

	e.pushApplied(insp.AccessToken, mutation("", 3, "hazard.rectify", map[string]any{"hazard_id": hid,
		"action": "exit cleared", "note": "boxes removed", "photos": []string{photo}, "t": e.clock.Now().Add(time.Minute)}))
	if h := e.hazard(hid, cmd); h.Status != "rectifying" {
		t.Fatalf("after the rectification %+v", h)
	}
	e.clock.Advance(2 * time.Minute)
	e.must(403, "POST", "/v1/hazards/"+hid+"/close", map[string]any{}, insp.AccessToken, nil)
	e.must(409, "POST", "/v1/hazards/"+hid+"/close", map[string]any{}, cmd, nil) // not re-inspected yet
	e.must(200, "POST", "/v1/hazards/"+hid+"/reinspect", map[string]any{"pass": true, "note": "ok"}, insp.AccessToken, &h)
	if h.Status != "reinspected" {
		t.Fatalf("after the re-inspection %+v", h)
	}
	e.must(200, "POST", "/v1/hazards/"+hid+"/close", map[string]any{"note": "done"}, cmd, &h)
	if h.Status != "closed" {
		t.Fatalf("after the close %+v", h)
	}
	var kinds []string
	for _, ev := range h.History {
		kinds = append(kinds, ev.Kind+":"+ev.To)
		if ev.By == "" || ev.At.IsZero() || ev.Superseded {
			t.Errorf("history entry %+v", ev)
		}
	}
	if want := []string{"report:open", "notice:notified", "rectify:rectifying", "reinspect:reinspected", "close:closed"}; !slices.Equal(kinds, want) {
		t.Fatalf("history %v, want %v", kinds, want)
	}
	var closed struct{ Items []hazardOut }
	e.must(200, "GET", "/v1/hazards?status=closed", nil, cmd, &closed)
	if len(closed.Items) != 1 || closed.Items[0].ID != hid {
		t.Fatalf("closed hazards %+v", closed.Items)
	}

	// A hazard reported directly, noticed with a short deadline, becomes overdue.
	direct := uuid.Must(uuid.NewV7()).String()
	e.pushApplied(insp.AccessToken, mutation("", 4, "hazard.report", map[string]any{"hazard_id": direct, "venue_id": v.ID,
		"description": "Blocked stairwell", "severity": "high", "photos": []string{}, "lon": 121.5, "lat": 31.2, "t": e.clock.Now()}))
	e.must(200, "POST", "/v1/hazards/"+direct+"/notice", map[string]any{"deadline": e.clock.Now().Add(2 * time.Hour)}, cmd, &h)
	if h.Notice.Number != fmt.Sprintf("SA1-%d-0002", e.clock.Now().Year()) {
		t.Fatalf("second notice %+v", h.Notice)
	}
	e.clock.Advance(3 * time.Hour)
	cmd = e.login("life.cmd", "life.cmd-password").AccessToken // the clock passed the token's lifetime
	var overdue struct{ Items []hazardOut }
	e.must(200, "GET", "/v1/hazards?status=overdue", nil, cmd, &overdue)
	if len(overdue.Items) != 1 || overdue.Items[0].ID != direct || !*overdue.Items[0].Overdue || overdue.Items[0].Status != "notified" {
		t.Fatalf("overdue hazards %+v", overdue.Items)
	}
}

// TestInspectOfflineConflict: two terminals rectify one hazard offline while the console
// re-inspects and closes it. Whatever the arrival order, the hazard ends the same, with the
// same history: the rectification dated after the close is kept, superseded, with the reason.
func TestInspectOfflineConflict(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	cmd := e.commander("conf.cmd", tr.StationA1)
	t1 := e.officerOnTerminal("conf.t1", tr.StationA1)
	t2 := e.officerOnTerminal("conf.t2", tr.StationA1)
	base := e.clock.Now()
	seq := map[string]int{}
	next := func(tok string) int { seq[tok]++; return seq[tok] }

	// Events (by time): report -2h (T1), notice +0 (console), rectify A +1m (T1),
	// re-inspection passed +2m (console), close +3m (console), rectify B +1h (T2, whose
	// clock runs ahead). Console actions are stamped with the server's clock.
	orders := [][]string{
		{"R", "A", "B", "N", "P", "C"},
		{"R", "N", "P", "C", "B", "A"},
		{"R", "B", "N", "A", "P", "C"},
		{"R", "N", "B", "P", "C", "A"},
	}
	var first []string
	for i, order := range orders {
		hid := uuid.Must(uuid.NewV7()).String()
		labels := map[string]string{}
		run := func(step string) {
			switch step {
			case "R":
				id := uuid.Must(uuid.NewV7()).String()
				labels[id] = "R"
				e.pushApplied(t1.AccessToken, mutation(id, next(t1.AccessToken), "hazard.report", map[string]any{"hazard_id": hid,
					"description": "Loose wiring", "severity": "high", "photos": []string{}, "lon": 121.5, "lat": 31.2, "t": base.Add(-2 * time.Hour)}))
			case "A", "B":
				tok, at := t1.AccessToken, base.Add(time.Minute)
				if step == "B" {
					tok, at = t2.AccessToken, base.Add(time.Hour)
				}
				id := uuid.Must(uuid.NewV7()).String()
				labels[id] = step
				e.pushApplied(tok, mutation(id, next(tok), "hazard.rectify", map[string]any{"hazard_id": hid,
					"action": "rewired " + step, "note": "", "photos": []string{}, "t": at}))
			case "N":
				e.clock.Advance(base.Sub(e.clock.Now()))
				e.must(200, "POST", "/v1/hazards/"+hid+"/notice", map[string]any{}, cmd, nil)
			case "P":
				e.clock.Advance(base.Add(2 * time.Minute).Sub(e.clock.Now()))
				e.must(200, "POST", "/v1/hazards/"+hid+"/reinspect", map[string]any{"pass": true}, cmd, nil)
			case "C":
				e.clock.Advance(base.Add(3 * time.Minute).Sub(e.clock.Now()))
				e.must(200, "POST", "/v1/hazards/"+hid+"/close", map[string]any{}, cmd, nil)
			}
		}
		for _, step := range order {
			run(step)
		}
		h := e.hazard(hid, cmd)
		var got []string
		for _, ev := range h.History {
			who := labels[ev.ID[strings.LastIndexByte(ev.ID, '/')+1:]]
			if ev.Source == "console" {
				who = "console"
			}
			got = append(got, fmt.Sprintf("%s %s %s %s→%s superseded=%v %s", ev.At.Sub(base), who, ev.Kind, ev.From, ev.To,
				ev.Superseded, ev.Reason))
		}
		got = append(got, "status "+h.Status)
		if i == 0 {
			first = got
			last := h.History[len(h.History)-1]
			if h.Status != "closed" || !last.Superseded || !strings.Contains(last.Reason, "closed") || labels[last.ID[strings.LastIndexByte(last.ID, '/')+1:]] != "B" {
				t.Fatalf("order %v: %s", order, strings.Join(got, "\n"))
			}
			continue
		}
		if !slices.Equal(got, first) {
			t.Errorf("order %v gives\n%s\nwant\n%s", order, strings.Join(got, "\n"), strings.Join(first, "\n"))
		}
	}
}

// TestInspectScope: an inspector of station A1 sees only the venues, hazards and tasks of
// his scope; a commander of another zone gets 404 for them.
func TestInspectScope(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	var vA1, vA2 venueOut
	e.must(201, "POST", "/v1/venues", venueBody(tr.StationA1, 1, 121.5, 31.2), e.admin, &vA1)
	e.must(201, "POST", "/v1/venues", venueBody(tr.StationA2, 2, 121.6, 31.2), e.admin, &vA2)
	inA1 := e.inspectorOnTerminal("scope.a1", tr.StationA1)
	inA2 := e.inspectorOnTerminal("scope.a2", tr.StationA2)
	hA1, hA2 := uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String()
	report := func(hid, venue string) map[string]any {
		return mutation("", 1, "hazard.report", map[string]any{"hazard_id": hid, "venue_id": venue, "description": "x",
			"severity": "low", "photos": []string{}, "lon": 121.5, "lat": 31.2, "t": e.clock.Now()})
	}
	e.pushApplied(inA1.AccessToken, report(hA1, vA1.ID))
	e.pushApplied(inA2.AccessToken, report(hA2, vA2.ID))
	var tA1, tA2 taskOut
	e.must(201, "POST", "/v1/tasks", map[string]any{"kind": "inspect_venue", "target": vA1.ID, "org_unit_id": tr.StationA1}, e.admin, &tA1)
	e.must(201, "POST", "/v1/tasks", map[string]any{"kind": "verify_hazard", "target": hA2, "org_unit_id": tr.StationA2}, e.admin, &tA2)

	for _, c := range []struct{ list, own, other string }{
		{"/v1/venues", vA1.ID, vA2.ID}, {"/v1/hazards", hA1, hA2}, {"/v1/tasks", tA1.ID, tA2.ID},
	} {
		ids := itemIDs(e, e.must(200, "GET", c.list, nil, inA1.AccessToken, nil))
		if !slices.Equal(ids, []string{c.own}) {
			t.Errorf("A1 inspector lists %s: %v, want only %s", c.list, ids, c.own)
		}
		e.must(200, "GET", c.list+"/"+c.own, nil, inA1.AccessToken, nil)
		e.must(404, "GET", c.list+"/"+c.other, nil, inA1.AccessToken, nil)
	}
	// A terminal's fact on a hazard out of its scope is kept, superseded.
	e.pushApplied(inA1.AccessToken, mutation("", 2, "hazard.rectify", map[string]any{"hazard_id": hA2, "action": "x",
		"note": "", "photos": []string{}, "t": e.clock.Now().Add(time.Minute)}))
	if h := e.hazard(hA2, e.admin); h.Status != "open" || !h.History[1].Superseded || !strings.Contains(h.History[1].Reason, "scope") {
		t.Fatalf("out-of-scope rectify: %+v", h)
	}

	b1 := e.commander("scope.b1", tr.StationB1)
	for _, path := range []string{"/v1/venues/" + vA1.ID, "/v1/hazards/" + hA1, "/v1/tasks/" + tA1.ID} {
		if err := problemMismatch(e.do("GET", path, nil, b1), 404, ""); err != nil {
			t.Errorf("B1 commander GET %s: %v", path, err)
		}
	}
	for _, c := range []struct {
		path string
		body any
	}{
		{"/v1/hazards/" + hA1 + "/notice", map[string]any{}},
		{"/v1/tasks/" + tA1.ID + "/verify", map[string]any{"accept": true}},
		{"/v1/venues/" + vA1.ID, nil},
	} {
		method := "POST"
		if c.body == nil {
			method = "DELETE"
		}
		if err := problemMismatch(e.do(method, c.path, c.body, b1), 404, ""); err != nil {
			t.Errorf("B1 commander %s %s: %v", method, c.path, err)
		}
	}
	if err := problemMismatch(e.do("POST", "/v1/tasks", map[string]any{"kind": "inspect_venue", "target": vA1.ID}, b1), 400, "/target"); err != nil {
		t.Errorf("B1 commander dispatching A1's venue: %v", err)
	}
}

// TestInspectBadInput: bad input is problem+json naming the field, and stores nothing.
func TestInspectBadInput(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	cmd := e.commander("bad.cmd", tr.StationA1)
	var v venueOut
	e.must(201, "POST", "/v1/venues", venueBody(tr.StationA1, 1, 121.5, 31.2), cmd, &v)
	insp := e.inspectorOnTerminal("bad.insp", tr.StationA1)
	hid := uuid.Must(uuid.NewV7()).String()
	e.pushApplied(insp.AccessToken, mutation("", 1, "hazard.report", map[string]any{"hazard_id": hid, "description": "x",
		"severity": "low", "photos": []string{}, "lon": 121.5, "lat": 31.2, "t": e.clock.Now()}))
	with := func(m map[string]any, k string, val any) map[string]any {
		c := map[string]any{}
		for kk, vv := range m {
			c[kk] = vv
		}
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	vb := venueBody(tr.StationA1, 2, 121.5, 31.2)
	cb := checklistBody(tr.StationA1, 2)
	badItems := []map[string]any{{"id": "a", "text": "t", "kind": "maybe", "required": true}}
	dupItems := []map[string]any{{"id": "a", "text": "t", "kind": "text"}, {"id": "a", "text": "u", "kind": "text"}}
	cases := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"venue type", "POST", "/v1/venues", with(vb, "type", "casino"), 400, "/type"},
		{"venue no geometry", "POST", "/v1/venues", with(vb, "geometry", nil), 400, "/geometry"},
		{"venue bad point", "POST", "/v1/venues", with(vb, "geometry", map[string]any{"type": "Point", "coordinates": []float64{200, 31}}), 400, "/geometry/coordinates"},
		{"venue grade on a restaurant", "POST", "/v1/venues", with(vb, "risk_grade", "B"), 400, "/risk_grade"},
		{"venue grade D", "PATCH", "/v1/venues/" + v.ID, map[string]any{"type": "rental_housing", "risk_grade": "D"}, 400, "/risk_grade"},
		{"venue contact", "POST", "/v1/venues", with(vb, "owner_contact", "call\x07me"), 400, "/owner_contact"},
		{"venue long name", "POST", "/v1/venues", with(vb, "name", strings.Repeat("x", 201)), 400, "/name"},
		{"venue unknown field", "POST", "/v1/venues", with(vb, "colour", "red"), 400, "/colour"},
		{"venue list type", "GET", "/v1/venues?type=casino", nil, 400, "type"},
		{"checklist item kind", "POST", "/v1/checklists", with(cb, "items", badItems), 400, "/items/0/kind"},
		{"checklist item repeated", "POST", "/v1/checklists", with(cb, "items", dupItems), 400, "/items/1/id"},
		{"checklist no items", "POST", "/v1/checklists", with(cb, "items", []any{}), 400, "/items"},
		{"checklist version", "GET", "/v1/checklists/x?version=0", nil, 400, "version"},
		{"hazard status", "GET", "/v1/hazards?status=burning", nil, 400, "status"},
		{"notice deadline past", "POST", "/v1/hazards/" + hid + "/notice", map[string]any{"deadline": e.clock.Now().Add(-time.Hour)}, 400, "/deadline"},
		{"notice note long", "POST", "/v1/hazards/" + hid + "/notice", map[string]any{"note": strings.Repeat("n", 4001)}, 400, "/note"},
		{"reinspect no pass", "POST", "/v1/hazards/" + hid + "/reinspect", map[string]any{}, 400, "/pass"},
		{"rectify no action", "POST", "/v1/hazards/" + hid + "/rectify", map[string]any{"note": "x"}, 400, "/action"},
		{"rectify bad photo", "POST", "/v1/hazards/" + hid + "/rectify", map[string]any{"action": "x", "photos": []string{"nope"}}, 400, "/photos/0"},
		{"reinspect open hazard", "POST", "/v1/hazards/" + hid + "/reinspect", map[string]any{"pass": true}, 409, ""},
		{"task kind", "POST", "/v1/tasks", map[string]any{"kind": "arrest", "target": "x"}, 400, "/kind"},
		{"task cell", "POST", "/v1/tasks", map[string]any{"kind": "patrol_cell", "target": "18/999999999/1"}, 400, "/target"},
		{"task venue", "POST", "/v1/tasks", map[string]any{"kind": "inspect_venue", "target": "no-such-venue"}, 400, "/target"},
		{"task due", "POST", "/v1/tasks", map[string]any{"kind": "inspect_venue", "target": v.ID, "due": e.clock.Now().Add(-time.Hour)}, 400, "/due"},
		{"task assignee", "POST", "/v1/tasks", map[string]any{"kind": "inspect_venue", "target": v.ID, "assignee_id": "nobody"}, 400, "/assignee_id"},
		{"task status", "GET", "/v1/tasks?status=lost", nil, 400, "status"},
		{"verify no accept", "POST", "/v1/tasks/x/verify", map[string]any{}, 400, "/accept"},
		{"not JSON", "POST", "/v1/venues", "[]", 400, "/"},
	}
	before := e.inspectSnapshot(cmd)
	for _, c := range cases {
		if err := problemMismatch(e.do(c.method, c.path, c.body, cmd), c.status, c.field); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if e.inspectSnapshot(cmd) != before {
		t.Error("refused, yet the stored records changed")
	}
	// A bad payload through sync is rejected with its field.
	var a pushAnswer
	e.must(200, "POST", "/v1/sync/push", map[string]any{"mutations": []any{mutation("", 2, "inspection.submit", map[string]any{
		"inspection_id": uuid.Must(uuid.NewV7()).String(), "venue_id": v.ID, "checklist_id": "c", "checklist_version": 0,
		"answers": []any{}, "photos": []any{}, "lon": 121.5, "lat": 31.2, "t": e.clock.Now()})}}, insp.AccessToken, &a)
	if a.Results[0].Status != "rejected" || a.Results[0].Code != "invalid_payload" {
		t.Fatalf("bad inspection: %+v", a.Results)
	}
}

func (e *env) inspectSnapshot(token string) string {
	var b strings.Builder
	for _, list := range []string{"/v1/venues", "/v1/checklists", "/v1/hazards", "/v1/tasks", "/v1/inspections"} {
		b.Write(e.must(200, "GET", list+"?limit=1000", nil, token, nil).Body)
	}
	return b.String()
}

type pulledDocs struct {
	Changes []struct {
		Collection string          `json:"collection"`
		ID         string          `json:"id"`
		Op         string          `json:"op"`
		Doc        json.RawMessage `json:"doc"`
	} `json:"changes"`
	Cursor  string `json:"cursor"`
	HasMore bool   `json:"has_more"`
}

// pullDocs pulls everything after cursor: "collection op id" → doc, and the next cursor.
func (e *env) pullDocs(token, cursor string) (map[string]json.RawMessage, string) {
	e.t.Helper()
	e.flush() // what the server's background writers would have done by now
	out := map[string]json.RawMessage{}
	for {
		var p pulledDocs
		e.must(200, "GET", "/v1/sync/pull?limit=1000&cursor="+cursor, nil, token, &p)
		for _, c := range p.Changes {
			out[c.Collection+" "+c.Op+" "+c.ID] = c.Doc
		}
		cursor = p.Cursor
		if !p.HasMore {
			return out, cursor
		}
	}
}

// TestInspectPull: a terminal pulls the venues, checklists, hazards and tasks of its scope;
// a superseded fact shows in the pulled hazard with its reason; a closed hazard and a
// verified task come as deletes.
func TestInspectPull(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	cmd := e.commander("pull.cmd", tr.StationA1)
	var v, vOther venueOut
	var cl checklistOut
	e.must(201, "POST", "/v1/venues", venueBody(tr.StationA1, 1, 121.5, 31.2), cmd, &v)
	e.must(201, "POST", "/v1/venues", venueBody(tr.StationA2, 2, 121.5, 31.2), e.admin, &vOther)
	e.must(201, "POST", "/v1/checklists", checklistBody(tr.StationA1, 1), cmd, &cl)
	term := e.officerOnTerminal("pull.t", tr.StationA1)
	other := e.officerOnTerminal("pull.t2", tr.StationA1)
	hid := uuid.Must(uuid.NewV7()).String()
	e.pushApplied(term.AccessToken, mutation("", 1, "hazard.report", map[string]any{"hazard_id": hid, "venue_id": v.ID,
		"description": "Gas bottles indoors", "severity": "critical", "photos": []string{}, "lon": 121.5, "lat": 31.2, "t": e.clock.Now()}))
	var task taskOut
	e.must(201, "POST", "/v1/tasks", map[string]any{"kind": "verify_hazard", "target": hid, "note": "check it"}, cmd, &task)

	got, cursor := e.pullDocs(term.AccessToken, "")
	for _, k := range []string{"venues upsert " + v.ID, "checklists upsert " + cl.ID, "hazards upsert " + hid, "tasks upsert " + task.ID} {
		if got[k] == nil {
			t.Errorf("first pull lacks %q: %v", k, keysOfDocs(got))
		}
	}
	if _, ok := got["venues upsert "+vOther.ID]; ok {
		t.Error("pulled a venue of another station")
	}
	var hv hazardOut
	if err := json.Unmarshal(got["hazards upsert "+hid], &hv); err != nil || hv.Status != "open" || len(hv.History) != 1 {
		t.Fatalf("pulled hazard %s: %v", got["hazards upsert "+hid], err)
	}

	e.must(200, "POST", "/v1/hazards/"+hid+"/notice", map[string]any{}, cmd, nil)
	e.must(200, "POST", "/v1/hazards/"+hid+"/reinspect", map[string]any{"pass": true}, cmd, nil)
	e.pushApplied(other.AccessToken, mutation("", 1, "hazard.rectify", map[string]any{"hazard_id": hid, "action": "moved bottles",
		"note": "", "photos": []string{}, "t": e.clock.Now().Add(time.Minute)}))
	e.pushApplied(term.AccessToken, mutation("", 2, "task.feedback", map[string]any{"task_id": task.ID, "status": "done",
		"note": "seen", "photos": []string{}, "t": e.clock.Now().Add(time.Minute)}))
	got, cursor = e.pullDocs(other.AccessToken, cursor)
	if err := json.Unmarshal(got["hazards upsert "+hid], &hv); err != nil || hv.Status != "reinspected" {
		t.Fatalf("pulled hazard after the re-inspection %s: %v", got["hazards upsert "+hid], err)
	}
	if last := hv.History[len(hv.History)-1]; !last.Superseded || !strings.Contains(last.Reason, "re-inspection") {
		t.Fatalf("the late rectification in the pulled hazard: %+v", last)
	}
	var tv taskOut
	if err := json.Unmarshal(got["tasks upsert "+task.ID], &tv); err != nil || tv.Status != "feedback" {
		t.Fatalf("pulled task %s: %v", got["tasks upsert "+task.ID], err)
	}

	e.must(200, "POST", "/v1/hazards/"+hid+"/close", map[string]any{}, cmd, nil)
	e.must(200, "POST", "/v1/tasks/"+task.ID+"/verify", map[string]any{"accept": true}, cmd, &tv)
	if tv.Status != "verified" {
		t.Fatalf("verified task %+v", tv)
	}
	got, _ = e.pullDocs(term.AccessToken, cursor)
	if _, ok := got["hazards delete "+hid]; !ok {
		t.Errorf("no tombstone of the closed hazard: %v", keysOfDocs(got))
	}
	if _, ok := got["tasks delete "+task.ID]; !ok {
		t.Errorf("no tombstone of the verified task: %v", keysOfDocs(got))
	}
	fresh, _ := e.pullDocs(term.AccessToken, "")
	if _, ok := fresh["hazards upsert "+hid]; ok {
		t.Error("a fresh terminal pulls the closed hazard")
	}
}

func keysOfDocs(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestInspectTaskFeedback: a task goes dispatched → feedback → sent back → feedback → verified;
// feedback after the verification is kept, superseded.
func TestInspectTaskFeedback(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	cmd := e.commander("task.cmd", tr.StationA1)
	officerID := e.user("task.officer", tr.StationA1, "officer")
	term := e.deviceLogin(e.device("T-task", tr.StationA1), "task.officer")
	var task taskOut
	e.must(201, "POST", "/v1/tasks", map[string]any{"kind": "patrol_cell", "target": "18/219000/107000", "assignee_id": officerID,
		"due": e.clock.Now().Add(24 * time.Hour)}, cmd, &task)
	if task.Status != "dispatched" || task.OrgUnitID != tr.StationA1 {
		t.Fatalf("dispatched %+v", task)
	}
	e.must(409, "POST", "/v1/tasks/"+task.ID+"/verify", map[string]any{"accept": true}, cmd, nil)
	fb := func(seq int, status string) {
		e.clock.Advance(time.Minute)
		e.pushApplied(term.AccessToken, mutation("", seq, "task.feedback", map[string]any{"task_id": task.ID, "status": status,
			"note": "", "photos": []string{}, "t": e.clock.Now()}))
	}
	fb(1, "partial")
	e.must(200, "POST", "/v1/tasks/"+task.ID+"/verify", map[string]any{"accept": false, "note": "walk the rest"}, cmd, &task)
	if task.Status != "sent_back" {
		t.Fatalf("sent back %+v", task)
	}
	fb(2, "done")
	e.must(200, "POST", "/v1/tasks/"+task.ID+"/verify", map[string]any{"accept": true}, cmd, &task)
	fb(3, "done")
	e.must(200, "GET", "/v1/tasks/"+task.ID, nil, cmd, &task)
	var kinds []string
	for _, h := range task.History {
		kinds = append(kinds, fmt.Sprintf("%s:%v", h.Kind, h.Superseded))
	}
	if want := []string{"dispatch:false", "feedback:false", "verify:false", "feedback:false", "verify:false", "feedback:true"}; task.Status != "verified" || !slices.Equal(kinds, want) {
		t.Fatalf("task %s %v, want %v", task.Status, kinds, want)
	}
}

// TestInspectRestart: venues, checklists, hazards and tasks survive a restart: a server loaded
// from the same database answers the same, and publishes nothing anew.
func TestInspectRestart(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	cmd := e.commander("rs.cmd", tr.StationA1)
	var v venueOut
	var cl checklistOut
	e.must(201, "POST", "/v1/venues", venueBody(tr.StationA1, 1, 121.5, 31.2), cmd, &v)
	e.must(201, "POST", "/v1/checklists", checklistBody(tr.StationA1, 1), cmd, &cl)
	e.must(200, "PATCH", "/v1/checklists/"+cl.ID, map[string]any{"name": "Renamed"}, cmd, nil)
	insp := e.inspectorOnTerminal("rs.insp", tr.StationA1)
	inspID := uuid.Must(uuid.NewV7()).String()
	e.pushApplied(insp.AccessToken, mutation("", 1, "inspection.submit", map[string]any{"inspection_id": inspID,
		"venue_id": v.ID, "checklist_id": cl.ID, "checklist_version": 1, "photos": []string{},
		"answers": []map[string]any{{"item": "fire_exit", "value": false}}, "lon": 121.5, "lat": 31.2, "t": e.clock.Now()}))
	hid := inspect.FailedItemHazard(inspID, "fire_exit")
	e.must(200, "POST", "/v1/hazards/"+hid+"/notice", map[string]any{}, cmd, nil)
	var task taskOut
	e.must(201, "POST", "/v1/tasks", map[string]any{"kind": "inspect_venue", "target": v.ID}, cmd, &task)
	_, cursor := e.pullDocs(insp.AccessToken, "")

	again := e.restartInspect()
	for _, path := range []string{"/v1/venues/" + v.ID, "/v1/checklists/" + cl.ID, "/v1/checklists/" + cl.ID + "?version=1",
		"/v1/hazards/" + hid, "/v1/tasks/" + task.ID, "/v1/inspections/" + inspID, "/v1/hazards/" + hid + "/notice.html"} {
		before := e.must(200, "GET", path, nil, cmd, nil).Body
		after := again.must(200, "GET", path, nil, cmd, nil).Body
		if !bytes.Equal(before, after) {
			t.Errorf("GET %s after restart:\n%s\nbefore:\n%s", path, after, before)
		}
	}
	if got, _ := again.pullDocs(insp.AccessToken, cursor); len(got) != 0 {
		t.Errorf("after a restart, a terminal up to date pulls %v", keysOfDocs(got))
	}
	// The restarted server goes on numbering notices after the last one.
	direct := uuid.Must(uuid.NewV7()).String()
	again.pushApplied(insp.AccessToken, mutation("", 2, "hazard.report", map[string]any{"hazard_id": direct,
		"description": "x", "severity": "low", "photos": []string{}, "lon": 121.5, "lat": 31.2, "t": e.clock.Now()}))
	var h hazardOut
	again.must(200, "POST", "/v1/hazards/"+direct+"/notice", map[string]any{}, cmd, &h)
	if h.Notice.Number != fmt.Sprintf("SA1-%d-0002", e.clock.Now().Year()) {
		t.Fatalf("notice after restart %+v", h.Notice)
	}
	if got, _ := again.pullDocs(insp.AccessToken, cursor); got["hazards upsert "+direct] == nil {
		t.Errorf("after the restart, the new hazard is not pulled: %v", keysOfDocs(got))
	}
}

// restartInspect starts a second server on e's database, as a restart would: every service
// loaded from the store, the mutation log folded again.
func (e *env) restartInspect() *env {
	e.t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	feed := bgsync.NewFeed()
	svc, err := auth.New(ctx, e.db, auth.Config{MasterKey: bytes.Repeat([]byte{7}, 32), Now: e.clock.Now, Feed: feed,
		Logger: quiet, IPBurst: 10000, UserBurst: 10000})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(svc.Close)
	places, err := patrol.NewPlaces(ctx, e.db, svc.OrgTree, feed)
	if err != nil {
		e.t.Fatal(err)
	}
	reg := bgsync.NewRegistry()
	patrols := patrol.New(places)
	patrols.Register(reg)
	insp, err := inspect.New(ctx, inspect.Config{Store: e.db, Tree: svc.OrgTree, Feed: feed, Logger: quiet, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	insp.Register(reg)
	engine := bgsync.New(e.db, reg, bgsync.Config{Now: e.clock.Now, Logger: quiet, Blobs: bgsync.NewBlobIndex()})
	e.t.Cleanup(engine.Close)
	if err := engine.Load(ctx); err != nil {
		e.t.Fatal(err)
	}
	if err := insp.Start(ctx); err != nil {
		e.t.Fatal(err)
	}
	c := *e
	c.svc, c.sync, c.insp = svc, engine, insp
	c.app = handlers.New(handlers.Config{Logger: quiet}, handlers.Deps{Auth: svc, Sync: engine, Feed: feed, Patrols: patrols,
		Places: places, Inspect: insp, Blobs: e.db, DB: e.db, OpenAPI: docs.OpenAPI})
	return &c
}
