package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

func TestDistance(t *testing.T) {
	degree := orb.EarthRadius * math.Pi / 180
	cases := []struct {
		name string
		a, b orb.Point
		want float64
	}{
		{"same point", orb.Point{8.54, 47.37}, orb.Point{8.54, 47.37}, 0},
		{"a degree of latitude", orb.Point{8, 47}, orb.Point{8, 48}, degree},
		{"a degree of longitude at the equator", orb.Point{0, 0}, orb.Point{1, 0}, degree},
		{"across the antimeridian", orb.Point{179.5, 0}, orb.Point{-179.5, 0}, degree},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Distance(tc.a, tc.b); !float64Near(got, tc.want, 1e-6) {
				t.Errorf("got %.6f, want %.6f", got, tc.want)
			}
		})
	}
}

func TestWithinRadius(t *testing.T) {
	c := walker(0, 0, 0).Point
	if !WithinRadius(walker(30, 40, 0).Point, c, 50.01) || WithinRadius(walker(30, 40, 0).Point, c, 49.9) {
		t.Error("a point 50 m away")
	}
}

func TestDistanceToLine(t *testing.T) {
	line := orb.LineString{walker(0, 0, 0).Point, walker(200, 0, 0).Point, walker(200, 200, 0).Point}
	cases := []struct {
		name string
		p    orb.Point
		ls   orb.LineString
		want float64
	}{
		{"beside the first segment", walker(100, 30, 0).Point, line, 30},
		{"inside the corner", walker(170, 100, 0).Point, line, 30},
		{"beyond the start", walker(-40, -30, 0).Point, line, 50},
		{"on the line", walker(200, 50, 0).Point, line, 0},
		{"a one-point line", walker(30, 40, 0).Point, line[:1], 50},
		{"an empty line", walker(0, 0, 0).Point, nil, math.Inf(1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := DistanceToLine(tc.p, tc.ls); !float64Near(got, tc.want, 0.05) && got != tc.want {
				t.Errorf("got %.3f m, want %.3f m", got, tc.want)
			}
		})
	}
}

// TestDistanceToLineMatchesHaversine: the local projection agrees with Distance to 0.06%
// up to 10 km, in every direction, at latitudes up to 60°.
func TestDistanceToLineMatchesHaversine(t *testing.T) {
	for _, lat := range []float64{0, 30, 47, 60} {
		for _, d := range []float64{100, 1000, 10000} {
			for deg := 0.0; deg < 360; deg += 15 {
				p := orb.Point{8.54, lat}
				q := offset(p, d*math.Sin(deg*math.Pi/180), d*math.Cos(deg*math.Pi/180))
				if got, want := DistanceToLine(p, orb.LineString{q}), Distance(p, q); math.Abs(got-want) > 0.0006*want {
					t.Errorf("lat %v, %v m at %v°: %.3f m, haversine %.3f m", lat, d, deg, got, want)
				}
			}
		}
	}
}

func TestSnap(t *testing.T) {
	checkpoints := []orb.Point{walker(0, 0, 0).Point, walker(100, 0, 0).Point, walker(0, 100, 0).Point}
	cases := []struct {
		name   string
		p      orb.Point
		radius float64
		want   int // -1: none
	}{
		{"at a checkpoint", walker(100, 0, 0).Point, 5, 1},
		{"nearest of two in reach", walker(10, 60, 0).Point, 100, 2},
		{"none in reach", walker(50, 50, 0).Point, 60, -1},
		{"on the radius", walker(0, 125, 0).Point, 25.001, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			i, d, ok := Snap(tc.p, checkpoints, tc.radius)
			if i != tc.want || ok != (tc.want >= 0) || (ok && !float64Near(d, Distance(tc.p, checkpoints[i]), 1e-9)) {
				t.Errorf("Snap = %d, %.2f, %v; want %d", i, d, ok, tc.want)
			}
		})
	}
	if _, _, ok := Snap(checkpoints[0], nil, 1e6); ok {
		t.Error("snapped to nothing")
	}
}

func TestRouteAdherence(t *testing.T) {
	route := orb.LineString{walker(0, 0, 0).Point, walker(1000, 0, 0).Point}
	// The track follows 5 m north of the route for 500 m, then turns off 100 m north:
	//
	//	                ┌──────────── track, 100 m north
	//	════════════════╪═══════════  route
	//	────────────────┘             track, 5 m north
	track := orb.LineString{walker(0, 5, 0).Point, walker(500, 5, 0).Point, walker(500, 100, 0).Point, walker(1000, 100, 0).Point}
	cases := []struct {
		name            string
		route, track    orb.LineString
		corridor        float64
		covered, offish float64
	}{
		// the route is within 20 m of the track up to 520 m; the track is off beyond 20 m north
		{"half followed", route, track, 20, 520.0 / 1000, (80.0 + 500) / 1095},
		{"followed exactly", route, route, 1, 1, 0},
		{"no track", route, nil, 20, 0, 0},
		{"wide corridor", route, track, 150, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := RouteAdherence(tc.route, tc.track, tc.corridor)
			if !float64Near(a.RouteCovered, tc.covered, 0.005) || !float64Near(a.TrackOff, tc.offish, 0.005) {
				t.Errorf("got %+v, want covered %.3f, off %.3f", a, tc.covered, tc.offish)
			}
			if !float64Near(a.RouteLength, 1000, 0.5) {
				t.Errorf("route length %.2f", a.RouteLength)
			}
		})
	}
}
