package handlers_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/patrol"
	bgsync "github.com/beatgrid/beatgrid/sync"
)

// Bodies of valid places in a unit; n makes names unique.
func routeBody(unit string, n int, checkpoints ...string) map[string]any {
	return map[string]any{"org_unit_id": unit, "name": fmt.Sprintf("Route %d", n), "checkpoint_ids": checkpoints,
		"geometry": map[string]any{"type": "LineString", "coordinates": [][]float64{{121, 31}, {121.01, 31}, {121.01, 31.01}}}}
}

func checkpointBody(unit string, n int) map[string]any {
	return map[string]any{"org_unit_id": unit, "name": fmt.Sprintf("Checkpoint %d", n), "radius_m": 20,
		"tag": fmt.Sprintf("NFC-%04d", n), "geometry": map[string]any{"type": "Point", "coordinates": []float64{121, 31}}}
}

func kioskBody(unit string, n int) map[string]any {
	return map[string]any{"org_unit_id": unit, "name": fmt.Sprintf("Kiosk %d", n),
		"geometry": map[string]any{"type": "Point", "coordinates": []float64{121.5, 31.2}},
		"segments": map[string]any{"type": "MultiLineString", "coordinates": [][][]float64{
			{{121.5, 31.2}, {121.51, 31.2}}, {{121.5, 31.2}, {121.5, 31.21}}}}}
}

// placeKinds are the place collections with a valid body maker each.
var placeKinds = []struct {
	path string
	body func(unit string, n int) map[string]any
}{
	{"/v1/routes", func(u string, n int) map[string]any { return routeBody(u, n) }},
	{"/v1/checkpoints", checkpointBody},
	{"/v1/kiosks", kioskBody},
}

// init adds the place routes to the scope matrix. Lists and ids are checked with no place in
// the targets (user ids are no places: 404); what each scope sees of real places is
// TestPlacesScope's.
func init() {
	writers := func(self, sibling string) map[string]string {
		return map[string]string{
			rootAdmin: self + " " + self + " " + self + " " + self, a1Admin: self + " " + self + " " + sibling + " " + sibling,
			a1AdminTerm: self + " " + self + " " + sibling + " " + sibling, a1Commander: self + " " + self + " " + sibling + " " + sibling,
			a1Officer: "403 403 403 403", a1Inspector: "403 403 403 403", anonymous: "-   401 401 401"}
	}
	for _, k := range placeKinds {
		scopeTable["GET "+k.path] = scopeExpect{cells: map[string]string{rootAdmin: "200 - - -", a1Admin: "200 - - -",
			a1AdminTerm: "200 - - -", a1Commander: "200 - - -", a1Officer: "200 - - -", a1Inspector: "200 - - -", anonymous: "401 - - -"}}
		scopeRoutes["GET "+k.path] = scopeRoute{}
		scopeTable["POST "+k.path] = scopeExpect{cells: writers("201", "400")}
		body := k.body
		scopeRoutes["POST "+k.path] = scopeRoute{target: unitTarget, write: true, field: "/org_unit_id",
			body: func(id string, n int) any { return body(id, n) }}
		scopeTable["GET "+k.path+"/:id"] = scopeExpect{cells: map[string]string{rootAdmin: "404 404 404 404",
			a1Admin: "404 404 404 404", a1AdminTerm: "404 404 404 404", a1Commander: "404 404 404 404",
			a1Officer: "404 404 404 404", a1Inspector: "404 404 404 404", anonymous: "-   401 401 401"}}
		scopeRoutes["GET "+k.path+"/:id"] = scopeRoute{target: userTarget}
		for _, method := range []string{"PATCH", "DELETE"} {
			scopeTable[method+" "+k.path+"/:id"] = scopeExpect{cells: writers("404", "404")}
			rt := scopeRoute{target: userTarget, write: true}
			if method == "PATCH" {
				rt.body = func(_ string, n int) any { return map[string]string{"name": fmt.Sprintf("Renamed %d", n)} }
			}
			scopeRoutes[method+" "+k.path+"/:id"] = rt
		}
	}
}

// placeOut is a place as answered, all kinds' fields together.
type placeOut struct {
	ID            string   `json:"id"`
	OrgUnitID     string   `json:"org_unit_id"`
	Name          string   `json:"name"`
	Version       int64    `json:"version"`
	CheckpointIDs []string `json:"checkpoint_ids"`
	RadiusM       float64  `json:"radius_m"`
	Tag           string   `json:"tag"`
	Geometry      struct {
		Type        string `json:"type"`
		Coordinates any    `json:"coordinates"`
	} `json:"geometry"`
	Segments *struct {
		Type string `json:"type"`
	} `json:"segments"`
}

// create posts body to path as token and returns the place, checking its Location.
func (e *env) create(path string, body any, token string) placeOut {
	e.t.Helper()
	var p placeOut
	r := e.must(201, "POST", path, body, token, &p)
	if loc := r.Header.Get("Location"); loc != path+"/"+p.ID {
		e.t.Fatalf("Location %q, want %s/%s", loc, path, p.ID)
	}
	return p
}

// commander makes a console commander of unit and returns his token.
func (e *env) commander(name, unit string) string {
	e.t.Helper()
	e.user(name, unit, "commander")
	return e.login(name, name+"-password").AccessToken
}

// TestPlacesCRUD: routes, checkpoints and kiosks are created, read (JSON and GeoJSON),
// changed and deleted through HTTP.
func TestPlacesCRUD(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	cmd := e.commander("crud.cmd", tr.StationA1)

	c1 := e.create("/v1/checkpoints", checkpointBody(tr.StationA1, 1), cmd)
	c2 := e.create("/v1/checkpoints", checkpointBody(tr.BeatA1, 2), cmd)
	if c1.Version != 1 || c1.RadiusM != 20 || c1.Tag != "NFC-0001" || c1.Geometry.Type != "Point" || c1.OrgUnitID != tr.StationA1 {
		t.Fatalf("created checkpoint %+v", c1)
	}
	r := e.create("/v1/routes", routeBody(tr.StationA1, 3, c1.ID, c2.ID), cmd)
	if !slices.Equal(r.CheckpointIDs, []string{c1.ID, c2.ID}) || r.Geometry.Type != "LineString" {
		t.Fatalf("created route %+v", r)
	}
	k := e.create("/v1/kiosks", kioskBody(tr.StationA1, 4), cmd)
	if k.Geometry.Type != "Point" || k.Segments == nil || k.Segments.Type != "MultiLineString" {
		t.Fatalf("created kiosk %+v", k)
	}

	var got placeOut
	e.must(200, "GET", "/v1/routes/"+r.ID, nil, cmd, &got)
	if got.Name != "Route 3" || len(got.CheckpointIDs) != 2 {
		t.Fatalf("got route %+v", got)
	}
	e.must(200, "PATCH", "/v1/checkpoints/"+c1.ID, map[string]any{"radius_m": 50, "name": "Gate"}, cmd, &got)
	if got.Version != 2 || got.RadiusM != 50 || got.Name != "Gate" || got.Tag != "NFC-0001" {
		t.Fatalf("patched checkpoint %+v", got)
	}
	e.must(200, "PATCH", "/v1/routes/"+r.ID, map[string]any{"checkpoint_ids": []string{c2.ID}}, cmd, &got)
	if !slices.Equal(got.CheckpointIDs, []string{c2.ID}) || got.Version != 2 {
		t.Fatalf("patched route %+v", got)
	}

	var list struct {
		Items      []placeOut `json:"items"`
		NextCursor *string    `json:"next_cursor"`
	}
	e.must(200, "GET", "/v1/checkpoints?limit=1", nil, cmd, &list)
	if len(list.Items) != 1 || list.NextCursor == nil {
		t.Fatalf("first page %+v", list)
	}
	e.must(200, "GET", "/v1/checkpoints?limit=1&cursor="+*list.NextCursor, nil, cmd, &list)
	if len(list.Items) != 1 || list.NextCursor != nil {
		t.Fatalf("second page %+v", list)
	}

	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Type       string         `json:"type"`
			ID         string         `json:"id"`
			Geometry   map[string]any `json:"geometry"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	resp := e.must(200, "GET", "/v1/kiosks?format=geojson", nil, cmd, &fc)
	if ct := resp.Header.Get("Content-Type"); ct != "application/geo+json" {
		t.Errorf("GeoJSON content type %q", ct)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != 1 || fc.Features[0].ID != k.ID ||
		fc.Features[0].Geometry["type"] != "Point" || fc.Features[0].Properties["name"] != "Kiosk 4" ||
		fc.Features[0].Properties["geometry"] != nil || fc.Features[0].Properties["segments"] == nil {
		t.Fatalf("GeoJSON %+v", fc)
	}
	if r := e.do("GET", "/v1/kiosks?format=kml", nil, cmd); r.Status != 400 {
		t.Errorf("format=kml: %d", r.Status)
	}

	e.must(204, "DELETE", "/v1/kiosks/"+k.ID, nil, cmd, nil)
	e.must(404, "GET", "/v1/kiosks/"+k.ID, nil, cmd, nil)
	e.must(404, "DELETE", "/v1/kiosks/"+k.ID, nil, cmd, nil)
	e.must(200, "GET", "/v1/kiosks?format=geojson", nil, cmd, &fc)
	if len(fc.Features) != 0 {
		t.Fatalf("deleted kiosk still listed: %+v", fc)
	}
}

// TestPlacesValidation: bad places are 400 with the field that is wrong.
func TestPlacesValidation(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	cmd := e.commander("valid.cmd", tr.StationA1)
	c1 := e.create("/v1/checkpoints", checkpointBody(tr.StationA1, 1), cmd)
	a2cp := e.create("/v1/checkpoints", checkpointBody(tr.StationA2, 2), e.admin)
	with := func(b map[string]any, key string, v any) map[string]any { b[key] = v; return b }
	line := func(coords ...[]float64) map[string]any {
		return map[string]any{"type": "LineString", "coordinates": coords}
	}
	cases := []struct {
		name, path string
		body       any
		field      string
	}{
		{"route vertex out of range", "/v1/routes", with(routeBody(tr.StationA1, 1), "geometry",
			line([]float64{121, 31}, []float64{121.1, 31}, []float64{121.2, 31}, []float64{200, 31})), "/geometry/coordinates/3"},
		{"route of one position", "/v1/routes", with(routeBody(tr.StationA1, 1), "geometry", line([]float64{121, 31})), "/geometry/coordinates"},
		{"route position of one number", "/v1/routes", with(routeBody(tr.StationA1, 1), "geometry",
			line([]float64{121, 31}, []float64{121})), "/geometry/coordinates/1"},
		{"route as a point", "/v1/routes", with(routeBody(tr.StationA1, 1), "geometry",
			map[string]any{"type": "Point", "coordinates": []float64{121, 31}}), "/geometry/type"},
		{"route without geometry", "/v1/routes", with(routeBody(tr.StationA1, 1), "geometry", nil), "/geometry"},
		{"unknown checkpoint", "/v1/routes", routeBody(tr.StationA1, 1, c1.ID, "no-such-checkpoint"), "/checkpoint_ids/1"},
		{"checkpoint out of scope", "/v1/routes", routeBody(tr.StationA1, 1, a2cp.ID), "/checkpoint_ids/0"},
		{"radius too small", "/v1/checkpoints", with(checkpointBody(tr.StationA1, 3), "radius_m", 2), "/radius_m"},
		{"radius too large", "/v1/checkpoints", with(checkpointBody(tr.StationA1, 3), "radius_m", 501), "/radius_m"},
		{"radius missing", "/v1/checkpoints", with(checkpointBody(tr.StationA1, 3), "radius_m", nil), "/radius_m"},
		{"tag with a control character", "/v1/checkpoints", with(checkpointBody(tr.StationA1, 3), "tag", "a\x01b"), "/tag"},
		{"empty name", "/v1/checkpoints", with(checkpointBody(tr.StationA1, 3), "name", " "), "/name"},
		{"long name", "/v1/checkpoints", with(checkpointBody(tr.StationA1, 3), "name", strings.Repeat("n", 201)), "/name"},
		{"latitude 91", "/v1/checkpoints", with(checkpointBody(tr.StationA1, 3), "geometry",
			map[string]any{"type": "Point", "coordinates": []float64{121, 91}}), "/geometry/coordinates"},
		{"unknown member", "/v1/checkpoints", with(checkpointBody(tr.StationA1, 3), "color", "red"), "/color"},
		{"unit out of scope", "/v1/checkpoints", checkpointBody(tr.StationA2, 3), "/org_unit_id"},
		{"kiosk segment of one position", "/v1/kiosks", with(kioskBody(tr.StationA1, 4), "segments",
			map[string]any{"type": "MultiLineString", "coordinates": [][][]float64{{{121, 31}, {121.1, 31}}, {{121, 31}}}}), "/segments/coordinates/1"},
		{"kiosk segments as a line", "/v1/kiosks", with(kioskBody(tr.StationA1, 4), "segments", line([]float64{121, 31}, []float64{121.1, 31})), "/segments/type"},
		{"kiosk of 51 segments", "/v1/kiosks", with(kioskBody(tr.StationA1, 4), "segments", map[string]any{"type": "MultiLineString",
			"coordinates": slices.Repeat([][][]float64{{{121, 31}, {121.1, 31}}}, 51)}), "/segments/coordinates"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.under(t)
			r := e.do("POST", c.path, c.body, cmd)
			if err := problemMismatch(r, 400, ""); err != nil {
				t.Fatal(err)
			}
			if p := r.problem(t); len(p.Errors) == 0 || p.Errors[0].Field != c.field {
				t.Fatalf("field %+v, want %s", p.Errors, c.field)
			}
		})
	}
}

// TestPlacesScope: a station's commander neither sees nor changes another station's places;
// officers read their scope's places and change none.
func TestPlacesScope(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	a1 := e.commander("a1.cmd", tr.StationA1)
	a2 := e.commander("a2.cmd", tr.StationA2)
	officer := e.officerOnTerminal("a1.off", tr.StationA1).AccessToken
	cp := e.create("/v1/checkpoints", checkpointBody(tr.StationA1, 1), a1)
	path := "/v1/checkpoints/" + cp.ID

	for _, c := range []struct {
		method string
		body   any
	}{{"GET", nil}, {"PATCH", map[string]any{"name": "Mine now"}}, {"DELETE", nil}} {
		if err := problemMismatch(e.do(c.method, path, c.body, a2), 404, ""); err != nil {
			t.Errorf("A2 commander %s: %v", c.method, err)
		}
	}
	if ids := itemIDs(e, e.must(200, "GET", "/v1/checkpoints", nil, a2, nil)); len(ids) != 0 {
		t.Errorf("A2 lists %v", ids)
	}
	e.must(200, "GET", path, nil, officer, nil)
	if ids := itemIDs(e, e.must(200, "GET", "/v1/checkpoints", nil, officer, nil)); !slices.Equal(ids, []string{cp.ID}) {
		t.Errorf("A1 officer lists %v", ids)
	}
	for _, c := range []struct {
		method, path string
		body         any
	}{{"POST", "/v1/checkpoints", checkpointBody(tr.StationA1, 2)}, {"PATCH", path, map[string]any{"name": "x"}}, {"DELETE", path, nil}} {
		if err := problemMismatch(e.do(c.method, c.path, c.body, officer), 403, ""); err != nil {
			t.Errorf("officer %s %s: %v", c.method, c.path, err)
		}
	}
	if err := problemMismatch(e.do("PATCH", path, map[string]any{"org_unit_id": tr.StationA2}, a1), 400, "/org_unit_id"); err != nil {
		t.Errorf("A1 commander moves to A2: %v", err)
	}
}

// TestPlacesPull: a terminal pulls its scope's new and changed places, and a delete for one
// deleted or moved away.
func TestPlacesPull(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	term := e.officerOnTerminal("pull.off", tr.StationA1).AccessToken
	_, cursor := e.pullAll(term, "", 100)

	cp := e.create("/v1/checkpoints", checkpointBody(tr.BeatA1, 1), e.admin)
	rt := e.create("/v1/routes", routeBody(tr.StationA1, 2, cp.ID), e.admin)
	k := e.create("/v1/kiosks", kioskBody(tr.StationA1, 3), e.admin)
	e.create("/v1/kiosks", kioskBody(tr.StationA2, 4), e.admin) // not A1's business
	got, cursor := e.pullAll(term, cursor, 2)
	if want := []string{"upsert " + cp.ID, "upsert " + rt.ID, "upsert " + k.ID}; !slices.Equal(got, want) {
		t.Fatalf("pulled %v, want %v", got, want)
	}

	var p struct {
		Changes []struct {
			Collection string   `json:"collection"`
			Doc        placeOut `json:"doc"`
		} `json:"changes"`
		Cursor string `json:"cursor"`
	}
	e.must(200, "PATCH", "/v1/routes/"+rt.ID, map[string]any{"name": "Night round"}, e.admin, nil)
	e.must(200, "GET", "/v1/sync/pull?cursor="+cursor, nil, term, &p)
	if len(p.Changes) != 1 || p.Changes[0].Collection != "routes" || p.Changes[0].Doc.Name != "Night round" ||
		p.Changes[0].Doc.Geometry.Type != "LineString" || !slices.Equal(p.Changes[0].Doc.CheckpointIDs, []string{cp.ID}) {
		t.Fatalf("pulled change %+v", p.Changes)
	}
	cursor = p.Cursor

	e.must(204, "DELETE", "/v1/kiosks/"+k.ID, nil, e.admin, nil)
	e.must(200, "PATCH", "/v1/checkpoints/"+cp.ID, map[string]any{"org_unit_id": tr.StationA2}, e.admin, nil)
	got, _ = e.pullAll(term, cursor, 10)
	if want := []string{"delete " + k.ID, "delete " + cp.ID}; !slices.Equal(got, want) {
		t.Fatalf("after a delete and a move: %v, want %v", got, want)
	}
}

// TestPlacesRestart: places, tombstones and moves survive a restart: a service loaded from
// the same store answers the same, and its feed gives terminals the same changes.
func TestPlacesRestart(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	cp := e.create("/v1/checkpoints", checkpointBody(tr.StationA1, 1), e.admin)
	k := e.create("/v1/kiosks", kioskBody(tr.StationA1, 2), e.admin)
	rt := e.create("/v1/routes", routeBody(tr.StationA1, 3, cp.ID), e.admin)
	e.must(204, "DELETE", "/v1/kiosks/"+k.ID, nil, e.admin, nil)
	e.must(200, "PATCH", "/v1/routes/"+rt.ID, map[string]any{"org_unit_id": tr.StationA2}, e.admin, nil)

	feed := bgsync.NewFeed()
	again, err := patrol.NewPlaces(context.Background(), e.db, e.svc.OrgTree, feed)
	if err != nil {
		t.Fatal(err)
	}
	admin := &beatgrid.Principal{OrgUnitID: tr.Root, Roles: []string{beatgrid.RoleAdmin}}
	got, err := again.Checkpoint(admin, cp.ID)
	if err != nil || got.Point != cp.point() || got.RadiusM != 20 || got.Version != 1 {
		t.Fatalf("checkpoint after restart %+v, %v", got, err)
	}
	if _, err := again.Kiosk(admin, k.ID); beatgrid.ErrorCode(err) != beatgrid.ENOTFOUND {
		t.Fatalf("deleted kiosk after restart: %v", err)
	}
	r, err := again.Route(admin, rt.ID)
	if err != nil || r.OrgUnitID != tr.StationA2 || !slices.Equal(r.PastUnits, []string{tr.StationA1}) || len(r.Line) != 3 {
		t.Fatalf("route after restart %+v, %v", r, err)
	}
	a1 := func(unit string) bool { return e.svc.OrgTree().Within(tr.StationA1, unit) }
	changes, _, _ := feed.Pull(a1, 1, 100) // after 1 (an org unit): a terminal that pulled before gets deletes
	var ops []string
	for _, c := range changes {
		ops = append(ops, c.Op+" "+c.ID)
	}
	for _, want := range []string{"upsert " + cp.ID, "delete " + k.ID, "delete " + rt.ID} {
		if !slices.Contains(ops, want) {
			t.Errorf("A1's pull after restart %v lacks %q", ops, want)
		}
	}
}

// point is the place's GeoJSON Point as an orb.Point-comparable value.
func (p placeOut) point() [2]float64 {
	c, _ := p.Geometry.Coordinates.([]any)
	if len(c) != 2 {
		return [2]float64{}
	}
	lon, _ := c[0].(float64)
	lat, _ := c[1].(float64)
	return [2]float64{lon, lat}
}

// TestPlaceEmptyPatch: a PATCH that changes nothing stores nothing: same version, nothing
// new to pull.
func TestPlaceEmptyPatch(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	for _, k := range placeKinds {
		var p, q placeOut
		e.must(201, "POST", k.path, k.body(tr.StationA1, 1), e.admin, &p)
		e.must(200, "PATCH", k.path+"/"+p.ID, map[string]any{}, e.admin, &q)
		e.must(200, "PATCH", k.path+"/"+p.ID, map[string]any{"name": p.Name}, e.admin, &q)
		if q.Version != p.Version {
			t.Fatalf("%s: an empty PATCH made version %d from %d", k.path, q.Version, p.Version)
		}
		e.must(200, "PATCH", k.path+"/"+p.ID, map[string]any{"name": p.Name + " renamed"}, e.admin, &q)
		if q.Version != p.Version+1 {
			t.Fatalf("%s: a rename made version %d from %d", k.path, q.Version, p.Version)
		}
	}
}
