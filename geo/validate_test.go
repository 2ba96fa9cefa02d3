package geo

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

var square = orb.Ring{{0, 0}, {2, 0}, {2, 2}, {0, 2}, {0, 0}}

// checkErr compares err with a wanted path and reason fragment (both empty: no error),
// and a path ending in "/" is a prefix (when several edges conflict, any may be named).
func checkErr(t *testing.T, err error, path, reason string) {
	t.Helper()
	if path == "" && reason == "" {
		if err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		return
	}
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("got %v, want a *geo.Error at %s", err, path)
	}
	pathOK := ge.Path == path || (strings.HasSuffix(path, "/") && strings.HasPrefix(ge.Path, path))
	if !pathOK || !strings.Contains(ge.Reason, reason) {
		t.Fatalf("got %q: %q, want %q: …%s…", ge.Path, ge.Reason, path, reason)
	}
}

func TestValidateArea(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name         string
		g            orb.Geometry
		max          int
		path, reason string
	}{
		{name: "square", g: orb.Polygon{square}, max: 5},
		{name: "square with a hole",
			g: orb.Polygon{square, {{0.5, 0.5}, {0.5, 1.5}, {1.5, 1.5}, {1.5, 0.5}, {0.5, 0.5}}}, max: 10},
		{name: "repeated vertex", g: orb.Polygon{{{0, 0}, {2, 0}, {2, 0}, {2, 2}, {0, 2}, {0, 0}}}, max: 10},
		{name: "nil", g: nil, path: "", reason: "empty"},
		{name: "line", g: orb.LineString{{0, 0}, {1, 1}}, path: "/type", reason: "not LineString"},
		{name: "empty multipolygon", g: orb.MultiPolygon{}, path: "/coordinates", reason: "empty"},
		{name: "polygon without rings", g: orb.MultiPolygon{{}}, max: 10, path: "/coordinates/0", reason: "no rings"},
		{name: "three positions", g: orb.Polygon{{{0, 0}, {1, 0}, {0, 0}}}, max: 10, path: "/coordinates/0", reason: "at least 4"},
		{name: "not closed", g: orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}, max: 10, path: "/coordinates/0", reason: "not closed"},
		{name: "NaN vertex", g: orb.Polygon{{{0, 0}, {1, 0}, {nan, 1}, {0, 1}, {0, 0}}}, max: 10, path: "/coordinates/0/2", reason: "finite"},
		{name: "swapped axes", g: orb.Polygon{{{30, 120}, {30.1, 120}, {30.1, 120.1}, {30, 120}}}, max: 10,
			path: "/coordinates/0/0", reason: "[lat, lon]"},
		{name: "over the vertex limit", g: orb.Polygon{square}, max: 4, path: "/coordinates/0", reason: "more than 4"},
		{name: "second polygon over the limit", g: orb.MultiPolygon{{square}, {square}}, max: 8,
			path: "/coordinates/1/0", reason: "more than 8"},
		{name: "no area", g: orb.Polygon{{{0, 0}, {1, 1}, {2, 2}, {0, 0}}}, max: 10, path: "/coordinates/0", reason: "one line"},
		// (0,2) ●───● (2,2)
		//        ╲ ╱
		//         ╳      edges 0-1 and 2-3 cross
		//        ╱ ╲
		// (0,0) ●───● (2,0)
		{name: "bow tie", g: orb.Polygon{{{0, 0}, {2, 2}, {2, 0}, {0, 2}, {0, 0}}}, max: 10,
			path: "/coordinates/0/2", reason: "edge 2-3 meets edge 0-1"},
		// ●─────────●
		// │    ●    │   the ring passes through (1,1) twice
		// │   ╱ ╲   │
		// ●──●   ●──●
		{name: "pinched", g: orb.Polygon{{{0, 0}, {0.5, 0}, {1, 1}, {1.5, 0}, {2, 0}, {2, 2}, {1, 1}, {0, 2}, {0, 0}}},
			max: 10, path: "/coordinates/0/", reason: "crosses itself"},
		// ●────●
		// │    ●──●   a spike out and back along the same line
		// ●────●
		{name: "spike", g: orb.Polygon{{{0, 0}, {2, 0}, {2, 1}, {3, 1}, {2, 1}, {2, 2}, {0, 2}, {0, 0}}},
			max: 10, path: "/coordinates/0/", reason: "crosses itself"},
		{name: "hole crossing the shell", g: orb.Polygon{square, {{1, 1}, {3, 1}, {3, 1.5}, {1, 1.5}, {1, 1}}},
			max: 10, path: "/coordinates/1/", reason: "ring 1 edge"},
		{name: "second polygon crossing itself", g: orb.MultiPolygon{{square}, {{{0, 0}, {2, 2}, {2, 0}, {0, 2}, {0, 0}}}},
			max: 10, path: "/coordinates/1/0/2", reason: "crosses itself"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, ValidateArea(tc.g, tc.max), tc.path, tc.reason)
		})
	}
}

// TestValidateAreaRealBoundaries: the county outlines, as published and as converted, are
// valid areas (60 polygons for Xiangshan, up to 1,587 vertices).
func TestValidateAreaRealBoundaries(t *testing.T) {
	for _, county := range counties {
		for _, crs := range []string{".gcj02", ".wgs84"} {
			if err := ValidateArea(readBoundary(t, county+crs), 20000); err != nil {
				t.Errorf("%s%s: %v", county, crs, err)
			}
		}
	}
}

// TestValidateAreaNamesTheCrossing breaks a real outline by swapping two vertices; one of
// the two edges the error names must be an edge that moved (the outline was valid before).
func TestValidateAreaNamesTheCrossing(t *testing.T) {
	mp := readBoundary(t, "469006-wanning.wgs84")
	ring := mp[0][0]
	ring[100], ring[200] = ring[200], ring[100]
	err := ValidateArea(mp, 20000)
	checkErr(t, err, "/coordinates/0/0/", "crosses itself")
	m := regexp.MustCompile(`edge (\d+)-\d+ meets edge (\d+)-`).FindStringSubmatch(err.(*Error).Reason)
	moved := map[string]bool{"99": true, "100": true, "199": true, "200": true}
	if m == nil || !(moved[m[1]] || moved[m[2]]) {
		t.Errorf("%v names no edge at vertex 100 or 200", err)
	}
}

func TestValidateLine(t *testing.T) {
	long := make(orb.LineString, 20)
	for i := range long {
		long[i] = orb.Point{8.5 + float64(i)*1e-4, 47.3}
	}
	bad := append(orb.LineString(nil), long...)
	bad[17] = orb.Point{8.5, math.Inf(1)}
	cases := []struct {
		name         string
		g            orb.Geometry
		max          int
		path, reason string
	}{
		{name: "route", g: long, max: 20},
		{name: "loop crossing itself is fine", g: orb.LineString{{0, 0}, {1, 1}, {1, 0}, {0, 1}}, max: 20},
		{name: "nil", g: nil, path: "", reason: "empty"},
		{name: "polygon", g: orb.Polygon{square}, path: "/type", reason: "not Polygon"},
		{name: "one position", g: orb.LineString{{0, 0}}, max: 20, path: "/coordinates", reason: "at least 2"},
		{name: "infinite vertex 17", g: bad, max: 20, path: "/coordinates/17", reason: "finite"},
		{name: "all the same point", g: orb.LineString{{1, 1}, {1, 1}}, max: 20, path: "/coordinates", reason: "same point"},
		{name: "over the limit", g: long, max: 19, path: "/coordinates", reason: "more than 19"},
		{name: "empty multiline", g: orb.MultiLineString{}, path: "/coordinates", reason: "empty"},
		{name: "second line bad", g: orb.MultiLineString{long, {{200, 0}, {0, 0}}}, max: 40,
			path: "/coordinates/1/0", reason: "longitude 200"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, ValidateLine(tc.g, tc.max), tc.path, tc.reason)
		})
	}
}

func TestValidPoint(t *testing.T) {
	cases := []struct {
		name   string
		p      orb.Point
		reason string // "" = valid
	}{
		{"Zürich", orb.Point{8.54, 47.37}, ""},
		{"corners of the world", orb.Point{-180, 90}, ""},
		{"NaN", orb.Point{math.NaN(), 0}, "finite"},
		{"infinite latitude", orb.Point{0, math.Inf(-1)}, "finite"},
		{"longitude too big", orb.Point{180.5, 0}, "longitude 180.5"},
		{"latitude too big", orb.Point{100, 95}, "latitude 95 is outside [-90, 90]"},
		{"Shanghai as [lat, lon]", orb.Point{31.23, 121.47}, "looks like [lat, lon]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.reason != "" {
				path = "/coordinates"
			}
			checkErr(t, ValidPoint(tc.p, "/coordinates"), path, tc.reason)
		})
	}
}

func TestInRegion(t *testing.T) {
	zurich := orb.Bound{Min: orb.Point{8.4, 47.3}, Max: orb.Point{8.7, 47.5}}
	cases := []struct {
		name         string
		g            orb.Geometry
		region       orb.Bound
		path, reason string
	}{
		{name: "inside", g: orb.Point{8.54, 47.37}, region: zurich},
		{name: "swapped", g: orb.Point{47.37, 8.54}, region: zurich, path: "/coordinates", reason: "axes swapped"},
		{name: "Paris", g: orb.Point{2.35, 48.85}, region: zurich, path: "/coordinates", reason: "outside the region"},
		{name: "third vertex of a line", g: orb.LineString{{8.5, 47.4}, {8.51, 47.4}, {47.4, 8.52}},
			region: zurich, path: "/coordinates/2", reason: "swapped"},
		{name: "ring vertex", g: orb.MultiPolygon{{{{121.4, 31.2}, {121.5, 31.2}, {31.25, 121.5}, {121.4, 31.2}}}},
			region: ChinaBound, path: "/coordinates/0/0/2", reason: "swapped"},
		{name: "collection", g: orb.Collection{orb.Point{8.54, 47.37}}, region: zurich, path: "/type", reason: "not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, InRegion(tc.g, tc.region), tc.path, tc.reason)
		})
	}
}
