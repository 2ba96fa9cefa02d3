package handlers_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// beatSquare is a valid beat polygon of about 1 km × 1 km near (121, 31).
func beatSquare(n int) map[string]any {
	x := 121 + float64(n%50)*0.02
	return map[string]any{"type": "Polygon", "coordinates": [][][]float64{
		{{x, 31}, {x + 0.01, 31}, {x + 0.01, 31.009}, {x, 31.009}, {x, 31}}}}
}

func init() {
	admins := func(self, sibling string) map[string]string {
		return map[string]string{rootAdmin: self + " " + self + " " + self + " " + self,
			a1Admin: self + " " + self + " " + sibling + " " + sibling, a1AdminTerm: "403 403 403 403",
			a1Commander: "403 403 403 403", a1Officer: "403 403 403 403", a1Inspector: "403 403 403 403",
			anonymous: "-   401 401 401"}
	}
	scopeTable["GET /v1/beats"] = scopeExpect{cells: map[string]string{rootAdmin: "200 - - -", a1Admin: "200 - - -",
		a1AdminTerm: "200 - - -", a1Commander: "200 - - -", a1Officer: "200 - - -", a1Inspector: "200 - - -", anonymous: "401 - - -"}}
	scopeRoutes["GET /v1/beats"] = scopeRoute{}
	scopeTable["POST /v1/beats"] = scopeExpect{cells: admins("201", "400")}
	scopeRoutes["POST /v1/beats"] = scopeRoute{target: unitTarget, write: true, field: "/org_unit_id",
		body: func(id string, n int) any {
			return map[string]any{"org_unit_id": id, "name": fmt.Sprintf("Scope beat %d", n), "geometry": beatSquare(n)}
		}}
	scopeTable["GET /v1/beats/:id"] = scopeExpect{cells: map[string]string{rootAdmin: "404 404 404 404",
		a1Admin: "404 404 404 404", a1AdminTerm: "404 404 404 404", a1Commander: "404 404 404 404",
		a1Officer: "404 404 404 404", a1Inspector: "404 404 404 404", anonymous: "-   401 401 401"}}
	scopeRoutes["GET /v1/beats/:id"] = scopeRoute{target: userTarget}
	scopeTable["PATCH /v1/beats/:id"] = scopeExpect{cells: admins("404", "404")}
	scopeRoutes["PATCH /v1/beats/:id"] = scopeRoute{target: userTarget, write: true,
		body: func(_ string, n int) any { return map[string]string{"name": fmt.Sprintf("Renamed %d", n)} }}
	scopeTable["DELETE /v1/beats/:id"] = scopeExpect{cells: admins("404", "404")}
	scopeRoutes["DELETE /v1/beats/:id"] = scopeRoute{target: userTarget, write: true}
}

type beatOut struct {
	ID        string            `json:"id"`
	OrgUnitID string            `json:"org_unit_id"`
	Name      string            `json:"name"`
	Geometry  *geojson.Geometry `json:"geometry"`
	Cells     int               `json:"cells"`
	CellZoom  int               `json:"cell_zoom"`
	Version   int64             `json:"version"`
}

// TestBeats walks a beat's life: its cells are those geo computes, a change of boundary
// recomputes them, a real county is too big for a beat, and a beat with places in it cannot
// be deleted.
func TestBeats(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	admin := e.login("admin", adminPassword).AccessToken

	poly := beatSquare(0)
	var b beatOut
	e.must(201, "POST", "/v1/beats", map[string]any{"org_unit_id": tr.StationA1, "name": "Beat Z", "geometry": poly}, admin, &b)
	want, err := geo.Cover(orb.Polygon{{{121, 31}, {121.01, 31}, {121.01, 31.009}, {121, 31.009}, {121, 31}}}, geo.DefaultZoom, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if b.Cells != len(want) || b.CellZoom != geo.DefaultZoom || b.OrgUnitID != tr.StationA1 || b.Version != 1 {
		t.Fatalf("created beat %+v, want %d cells at zoom %d below %s", b, len(want), geo.DefaultZoom, tr.StationA1)
	}
	// It is an org unit of kind beat too.
	var u struct{ Kind, ParentID string }
	e.must(200, "GET", "/v1/org-units/"+b.ID, nil, admin, &struct {
		Kind     *string `json:"kind"`
		ParentID *string `json:"parent_id"`
	}{&u.Kind, &u.ParentID})
	if u.Kind != "beat" || u.ParentID != tr.StationA1 {
		t.Fatalf("org unit of the beat: %+v", u)
	}

	// A bigger boundary gives more cells; an empty PATCH stores nothing.
	bigger := map[string]any{"type": "Polygon", "coordinates": [][][]float64{
		{{121, 31}, {121.02, 31}, {121.02, 31.018}, {121, 31.018}, {121, 31}}}}
	var b2 beatOut
	e.must(200, "PATCH", "/v1/beats/"+b.ID, map[string]any{"geometry": bigger}, admin, &b2)
	if b2.Cells <= b.Cells || b2.Version != 2 {
		t.Fatalf("after growing: %d cells (was %d), version %d", b2.Cells, b.Cells, b2.Version)
	}
	var b3 beatOut
	e.must(200, "PATCH", "/v1/beats/"+b.ID, map[string]any{}, admin, &b3)
	if b3.Version != 2 {
		t.Fatalf("an empty PATCH made version %d", b3.Version)
	}

	// Listed, also as GeoJSON; the station's other units are not beats.
	var list struct{ Items []beatOut }
	e.must(200, "GET", "/v1/beats", nil, admin, &list)
	ids := map[string]int{}
	for _, x := range list.Items {
		ids[x.ID] = x.Cells
	}
	if ids[b.ID] != b2.Cells || len(ids) != 2 { // the tree's Beat A1-1 and this one
		t.Fatalf("listed beats %v", ids)
	}
	r := e.do("GET", "/v1/beats?format=geojson", nil, admin)
	fc, err := geojson.UnmarshalFeatureCollection(r.Body)
	if r.Status != 200 || err != nil || len(fc.Features) != 2 {
		t.Fatalf("GeoJSON list: %d %v, %d features", r.Status, err, len(fc.Features))
	}
	for _, f := range fc.Features {
		if (f.ID == b.ID) != (f.Geometry != nil) { // Beat A1-1 has no boundary
			t.Fatalf("feature %v has geometry %v", f.ID, f.Geometry)
		}
	}

	// Bad geometry names its field; a county-sized polygon is over the cell bound.
	p := e.do("POST", "/v1/beats", map[string]any{"org_unit_id": tr.StationA1, "name": "Bow tie",
		"geometry": map[string]any{"type": "Polygon", "coordinates": [][][]float64{{{121, 31}, {121.01, 31.01}, {121.01, 31}, {121, 31.01}, {121, 31}}}}}, admin).problem(t)
	if p.Status != 400 || len(p.Errors) == 0 || p.Errors[0].Field[:len("/geometry")] != "/geometry" {
		t.Fatalf("bow tie: %+v", p)
	}
	county := readCounty(t)
	p = e.do("POST", "/v1/beats", map[string]any{"org_unit_id": tr.StationA1, "name": "County", "geometry": county}, admin).problem(t)
	if p.Status != 400 || len(p.Errors) == 0 || p.Errors[0].Field != "/geometry" {
		t.Fatalf("county as a beat: %+v", p)
	}

	// A beat with a checkpoint in it stays; once empty it goes, and its id is gone.
	var cp placeOut
	e.must(201, "POST", "/v1/checkpoints", checkpointBody(b.ID, 1), admin, &cp)
	if p := e.do("DELETE", "/v1/beats/"+b.ID, nil, admin).problem(t); p.Status != 409 {
		t.Fatalf("delete of a beat in use: %+v", p)
	}
	e.must(204, "DELETE", "/v1/checkpoints/"+cp.ID, nil, admin, nil)
	e.must(204, "DELETE", "/v1/beats/"+b.ID, nil, admin, nil)
	e.must(404, "GET", "/v1/beats/"+b.ID, nil, admin, nil)
	e.must(404, "GET", "/v1/org-units/"+b.ID, nil, admin, nil)
	if r := e.do("DELETE", "/v1/beats/"+tr.StationA1, nil, admin); r.Status != http.StatusNotFound {
		t.Fatalf("a station through /v1/beats: %d", r.Status)
	}
}

// readCounty returns a real county boundary (WGS84) as GeoJSON geometry.
func readCounty(t *testing.T) *geojson.Geometry {
	t.Helper()
	files, _ := filepath.Glob("../testdata/boundaries/*wgs84*.geojson")
	if len(files) == 0 {
		t.Fatal("no WGS84 boundary in ../testdata/boundaries")
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(raw)
	if err != nil {
		t.Fatal(err)
	}
	return geojson.NewGeometry(fc.Features[0].Geometry)
}
