package geo

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
)

func ptr(f float64) *float64 { return &f }

// droneReach is alt·tan(42°), the radius of the default drone camera at height alt.
func droneReach(alt float64) float64 { return alt * math.Tan(42*math.Pi/180) }

// TestFootprintShape: footprints are true on the ground: circles and sectors of the
// right radius (every arc vertex on the circle, by haversine), areas on the sphere within
// 2% of π r² and of the sector's, counter-clockwise, pointing where the camera looks.
func TestFootprintShape(t *testing.T) {
	cases := []struct {
		name    string
		v       View
		r, fov  float64
		heading float64
	}{
		{"drone, height unknown", View{Mode: Drone}, droneReach(100), 360, 0},
		{"drone at 10 m", View{Mode: Drone, Alt: ptr(10)}, droneReach(10), 360, 0},
		{"drone at 500 m", View{Mode: Drone, Alt: ptr(500)}, droneReach(500), 360, 0},
		{"drone at 2 km: 500 m", View{Mode: Drone, Alt: ptr(2000)}, droneReach(500), 360, 0},
		{"drone, 60° lens at 100 m", View{Mode: Drone, Camera: Camera{FOVDeg: 60}, Alt: ptr(100)}, 100 * math.Tan(math.Pi/6), 360, 0},
		{"video, heading unknown", View{Mode: Video}, 25, 360, 0},
		{"video looking east", View{Mode: Video, Heading: ptr(90)}, 50, 60, 90},
		{"video looking north-west", View{Mode: Video, Heading: ptr(-45)}, 50, 60, -45},
		{"video looking south, 100° × 80 m", View{Mode: Video, Camera: Camera{FOVDeg: 100, RangeM: 80}, Heading: ptr(180)}, 80, 100, 180},
		{"video, a 7° lens", View{Mode: Video, Camera: Camera{FOVDeg: 7, RangeM: 200}, Heading: ptr(10)}, 200, 7, 10},
		{"video, 270° panorama", View{Mode: Video, Camera: Camera{FOVDeg: 270}, Heading: ptr(0)}, 50, 270, 0},
		{"video, 360° panorama", View{Mode: Video, Camera: Camera{FOVDeg: 360, RangeM: 40}, Heading: ptr(0)}, 40, 360, 0},
	}
	for _, lat := range []float64{0, 29.48, 47.37, 69.6, -33.9} {
		p := orb.Point{121.87, lat}
		for _, tc := range cases {
			poly, err := Footprint(p, tc.v)
			if err != nil {
				t.Fatalf("%s at %v: %v", tc.name, p, err)
			}
			if reach, _ := tc.v.Reach(); !float64Near(reach, tc.r, 1e-9) {
				t.Errorf("%s: reach %v, want %v", tc.name, reach, tc.r)
			}
			ring := poly[0]
			if len(poly) != 1 || !ring.Closed() {
				t.Fatalf("%s: %d rings, closed %v", tc.name, len(poly), ring.Closed())
			}
			for i, q := range ring {
				d := Distance(p, q)
				if d != 0 && !float64Near(d, tc.r, 1e-6*tc.r) {
					t.Errorf("%s at %v: vertex %d is %v m away, want %v", tc.name, p, i, d, tc.r)
				}
			}
			want := tc.fov / 360 * math.Pi * tc.r * tc.r
			if area := orbgeo.Area(poly); math.Abs(area-want) > 0.02*want {
				t.Errorf("%s at %v: area %.1f m², want %.1f ± 2%%", tc.name, p, area, want)
			}
			if a := orbgeo.SignedArea(ring); a <= 0 {
				t.Errorf("%s at %v: ring is clockwise", tc.name, p)
			}
			if tc.fov < 360 { // the arc runs from heading + fov/2 to heading − fov/2
				right, left := orbgeo.Bearing(p, ring[1]), orbgeo.Bearing(p, ring[len(ring)-2])
				if math.Abs(math.Remainder(right-tc.heading-tc.fov/2, 360)) > 1e-6 ||
					math.Abs(math.Remainder(left-tc.heading+tc.fov/2, 360)) > 1e-6 {
					t.Errorf("%s at %v: arc from %v° to %v°", tc.name, p, right, left)
				}
			}
		}
	}
}

// TestDestination agrees with orb's own great-circle formula.
func TestDestination(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		p := orb.Point{r.Float64()*360 - 180, r.Float64()*170 - 85}
		b, d := r.Float64()*720-360, r.Float64()*2000
		got, want := destination(p, b, d), orbgeo.PointAtBearingAndDistance(p, b, d)
		if !pointNear(got, want, 1e-6) || !float64Near(Distance(p, got), d, 1e-6) {
			t.Fatalf("%v %v° %v m: %v, want %v", p, b, d, got, want)
		}
	}
}

// nearestIn is the point of bound b nearest to p (in lon/lat, fine at cell sizes).
func nearestIn(b orb.Bound, p orb.Point) orb.Point {
	return orb.Point{max(b.Min[0], min(p[0], b.Max[0])), max(b.Min[1], min(p[1], b.Max[1]))}
}

// cellDiagonal is the diagonal of cell c in metres.
func cellDiagonal(c Cell) float64 { b := c.Bound(); return Distance(b.Min, b.Max) }

// TestFootprintCellsDrone: the cells of a drone footprint contain the cell under the drone,
// touch the circle (none farther than r + a cell diagonal), and include every cell that
// reaches well into it, at several zooms and places.
func TestFootprintCellsDrone(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		p := orb.Point{r.Float64()*360 - 180, r.Float64()*140 - 70}
		if i == 0 {
			p = orb.Point{121.87, 29.48}
		}
		z := 16 + r.IntN(5)
		alt := 100.0
		if i%2 == 1 {
			alt = 10 + r.Float64()*490
		}
		v := View{Mode: Drone, Alt: &alt}
		cells, err := FootprintCells(p, v, z)
		if err != nil {
			t.Fatal(err)
		}
		rad := droneReach(alt)
		if !slices.Contains(cells, CellAt(p, z)) {
			t.Fatalf("%v z%d: the cell under the drone is missing", p, z)
		}
		if !slices.IsSorted(cells) {
			t.Fatalf("%v z%d: not sorted", p, z)
		}
		for _, c := range cells {
			if d := Distance(p, c.Center()); d > rad+cellDiagonal(c) {
				t.Fatalf("%v z%d alt %.0f: %v is %.1f m away, beyond %.1f + a diagonal", p, z, alt, c, d, rad)
			}
			if d := Distance(p, nearestIn(c.Bound(), p)); d > rad*(1+1e-6) {
				t.Fatalf("%v z%d alt %.0f: %v does not touch the circle (%.1f m > %.1f m)", p, z, alt, c, d, rad)
			}
		}
		// every cell within 98% of the radius (the 24-gon's inradius is 99.1%) is in
		centre := CellAt(p, z).Tile()
		for dx := -8; dx <= 8; dx++ {
			for dy := -8; dy <= 8; dy++ {
				c := CellFromTile(Tile{X: uint32(int(centre.X) + dx), Y: uint32(int(centre.Y) + dy), Z: z})
				if c == 0 || slices.Contains(cells, c) {
					continue
				}
				if d := Distance(p, nearestIn(c.Bound(), p)); d < 0.98*rad {
					t.Fatalf("%v z%d alt %.0f: %v is %.1f m away, inside the circle, but left out", p, z, alt, c, d)
				}
			}
		}
	}
}

func TestFootprintCellsVideo(t *testing.T) {
	p := orb.Point{121.87, 29.48}
	for _, h := range []float64{0, 45, 90, 200, 359} {
		cells, err := FootprintCells(p, View{Mode: Video, Heading: ptr(h)}, 20) // ≈ 33 m cells
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(cells, CellAt(p, 20)) || !slices.Contains(cells, CellAt(destination(p, h, 49), 20)) {
			t.Errorf("heading %v: missing the camera's cell or the one 49 m ahead: %v", h, cells)
		}
		circle, _ := FootprintCells(p, View{Mode: Video, Camera: Camera{FOVDeg: 360}, Heading: ptr(h)}, 20)
		for _, c := range cells {
			if !slices.Contains(circle, c) {
				t.Errorf("heading %v: %v is outside the 50 m circle's cells", h, c)
			}
		}
		if len(cells) >= len(circle) {
			t.Errorf("heading %v: %d cells for a sixth of a circle of %d", h, len(cells), len(circle))
		}
	}
}

// TestFootprintBadInputs: unknown readings fall back, absurd ones are clamped, and a bad
// mode, camera or position is an error.
func TestFootprintBadInputs(t *testing.T) {
	p := orb.Point{121.87, 29.48}
	reach := func(v View) float64 {
		t.Helper()
		r, err := v.Reach()
		if err != nil {
			t.Fatalf("%+v: %v", v, err)
		}
		return r
	}
	for _, h := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if r := reach(View{Mode: Video, Heading: ptr(h)}); r != UnknownHeadingRadius {
			t.Errorf("heading %v: reach %v, want the unknown-heading circle", h, r)
		}
	}
	if r := reach(View{Mode: Video, Heading: ptr(720 + 90)}); r != 50 {
		t.Errorf("heading 810°: reach %v", r)
	}
	for alt, want := range map[float64]float64{
		math.NaN(): 100, math.Inf(1): 100, -30: MinDroneAlt, 0: MinDroneAlt, 3: MinDroneAlt, 80: 80, 1e6: MaxDroneAlt,
	} {
		if r := reach(View{Mode: Drone, Alt: ptr(alt)}); !float64Near(r, droneReach(want), 1e-9) {
			t.Errorf("alt %v: reach %v, want %v (alt %v)", alt, r, droneReach(want), want)
		}
	}
	if a, b := reach(View{Mode: Drone}), reach(View{Mode: Drone, Heading: ptr(30)}); a != b {
		t.Errorf("a drone's heading changes its reach")
	}
	for name, v := range map[string]View{
		"no mode":              {},
		"foot":                 {Mode: Foot},
		"NaN FOV":              {Mode: Drone, Camera: Camera{FOVDeg: math.NaN()}},
		"negative FOV":         {Mode: Video, Camera: Camera{FOVDeg: -60}, Heading: ptr(0)},
		"FOV over 360":         {Mode: Video, Camera: Camera{FOVDeg: 400}, Heading: ptr(0)},
		"drone FOV 180":        {Mode: Drone, Camera: Camera{FOVDeg: 180}},
		"negative range":       {Mode: Video, Camera: Camera{RangeM: -5}},
		"infinite range":       {Mode: Video, Camera: Camera{RangeM: math.Inf(1)}},
		"NaN range, no header": {Mode: Video, Camera: Camera{RangeM: math.NaN()}},
	} {
		if _, err := Footprint(p, v); !errors.Is(err, ErrView) {
			t.Errorf("%s: %v, want ErrView", name, err)
		}
		if _, err := SweepCells([]Fix{{Point: p, T: t0}}, SweepConfig{Raster: DefaultRaster, View: v}); !errors.Is(err, ErrView) {
			t.Errorf("%s: SweepCells %v, want ErrView", name, err)
		}
	}
	for _, q := range []orb.Point{{math.NaN(), 29}, {121, math.Inf(1)}, {181, 29}, {121, -91}} {
		var e *Error
		if _, err := FootprintCells(q, View{Mode: Drone}, 18); !errors.As(err, &e) {
			t.Errorf("%v: %v, want an *Error", q, err)
		}
	}
	// a far too fine zoom for a 450 m footprint
	if _, err := FootprintCells(p, View{Mode: Drone, Alt: ptr(500)}, 26); !errors.Is(err, ErrTooManyCells) {
		t.Errorf("zoom 26: %v, want ErrTooManyCells", err)
	}
	// near the antimeridian and the poles: cells, no panic
	for _, q := range []orb.Point{{179.9999, 10}, {-180, -10}, {0, 85}, {0, 89.9}} {
		if cells, err := FootprintCells(q, View{Mode: Drone}, 18); err != nil || len(cells) == 0 {
			t.Errorf("%v: %d cells, %v", q, len(cells), err)
		}
	}
	// round the pole a footprint spans every column of Web Mercator's last row
	if _, err := FootprintCells(orb.Point{0, -90}, View{Mode: Drone}, 18); !errors.Is(err, ErrTooManyCells) {
		t.Errorf("at the pole: %v", err)
	}
	polar := []Fix{walker(0, 0, 0), {Point: orb.Point{0, 90}, T: t0.Add(time.Hour)}}
	if visits, err := SweepCells(polar, DefaultSweep); err != nil || len(visits) == 0 {
		t.Errorf("a track to the pole: %d cells, %v", len(visits), err)
	}
}

// cellSet is the cells of visits, each with its visit time.
func cellSet(visits []Visit) map[Cell]time.Time {
	m := make(map[Cell]time.Time, len(visits))
	for _, v := range visits {
		if old, ok := m[v.Cell]; !ok || v.T.Before(old) {
			m[v.Cell] = v.T
		}
	}
	return m
}

// checkSweep: visits are in time order, each cell once.
func checkSweep(t *testing.T, visits []Visit) {
	t.Helper()
	seen := map[Cell]bool{}
	for i, v := range visits {
		if seen[v.Cell] {
			t.Fatalf("%v twice", v.Cell)
		}
		seen[v.Cell] = true
		if i > 0 && v.T.Before(visits[i-1].T) {
			t.Fatalf("visit %d at %v after %v", i, v.T, visits[i-1].T)
		}
	}
}

// TestSweepCellsRealTrack: a drone and a camera car following the filtered drive around
// Višnjan see a superset of the cells Rasterize walks, no later than it enters them, plus
// every fix's footprint, and nothing beyond the reach of the track.
func TestSweepCellsRealTrack(t *testing.T) {
	c, _ := FilterFor(Vehicle)
	fixes, _ := Filter(allFixes(readGPX(t, "around-visnjan-with-car.gpx")), c)
	walked := cellSet(Rasterize(fixes, DefaultRaster))
	line := Points(fixes)
	for name, v := range map[string]View{
		"drone": {Mode: Drone}, "drone at 30 m": {Mode: Drone, Alt: ptr(30)},
		"camera": {Mode: Video}, "camera looking north": {Mode: Video, Heading: ptr(0)},
	} {
		visits, err := SweepCells(fixes, SweepConfig{Raster: DefaultRaster, View: v})
		if err != nil {
			t.Fatal(err)
		}
		checkSweep(t, visits)
		seen := cellSet(visits)
		for cell, tw := range walked {
			if ts, ok := seen[cell]; !ok || ts.After(tw) {
				t.Fatalf("%s: walked %v at %v, seen %v (%v)", name, cell, tw, ts, ok)
			}
		}
		for _, f := range fixes {
			cells, _ := FootprintCells(f.Point, v, DefaultZoom)
			for _, cell := range cells {
				if ts, ok := seen[cell]; !ok || ts.After(f.T) {
					t.Fatalf("%s: %v in the footprint at %v, seen %v (%v)", name, cell, f.T, ts, ok)
				}
			}
		}
		reach, _ := v.Reach()
		for cell := range seen {
			if d := DistanceToLine(cell.Center(), line); d > reach+cellDiagonal(cell) {
				t.Fatalf("%s: %v is %.0f m from the track", name, cell, d)
			}
		}
		t.Logf("%s: reach %.0f m, %d cells seen, %d walked", name, reach, len(seen), len(walked))
		if len(seen) <= len(walked) && reach > 50 {
			t.Errorf("a wide view saw no more than the walk")
		}
	}
}

// denseSweep is the reference: footprints every metre along a straight step a→b.
func denseSweep(t *testing.T, a, b Fix, v func(f float64) View) map[Cell]bool {
	t.Helper()
	out := map[Cell]bool{}
	n := int(Distance(a.Point, b.Point))
	for k := 0; k <= n; k++ {
		f := float64(k) / float64(n)
		p := orb.Point{a.Point[0] + f*(b.Point[0]-a.Point[0]), a.Point[1] + f*(b.Point[1]-a.Point[1])}
		cells, err := FootprintCells(p, v(f), DefaultZoom)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cells {
			out[c] = true
		}
	}
	return out
}

// TestSweepCellsNoHoles: along bridged steps the sampled footprints see the cells that
// footprints every metre see, and entry times grow along the step; across a gap only the
// ends count.
func TestSweepCellsNoHoles(t *testing.T) {
	cases := []struct {
		name string
		a, b Fix
		v    View
		fv   func(f float64) View // the view a fraction f along
	}{
		{"drone east at 100 m", walker(0, 0, 0), walker(480, 60, 60), View{Mode: Drone},
			func(float64) View { return View{Mode: Drone} }},
		{"low drone diagonally", walker(0, 0, 0), walker(-300, 350, 90), View{Mode: Drone, Alt: ptr(12)},
			func(float64) View { return View{Mode: Drone, Alt: ptr(12)} }},
		{"camera looking north, driving east", walker(0, 0, 0), walker(490, 0, 40), View{Mode: Video, Heading: ptr(0)},
			func(float64) View { return View{Mode: Video, Heading: ptr(0)} }},
		{"camera looking ahead", walker(0, 0, 0), walker(0, -490, 40), View{Mode: Video, Heading: ptr(180)},
			func(float64) View { return View{Mode: Video, Heading: ptr(180)} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			visits, err := SweepCells([]Fix{tc.a, tc.b}, SweepConfig{Raster: DefaultRaster, View: tc.v})
			if err != nil {
				t.Fatal(err)
			}
			checkSweep(t, visits)
			got := cellSet(visits)
			want := denseSweep(t, tc.a, tc.b, tc.fv)
			for c := range want {
				if _, ok := got[c]; !ok {
					t.Errorf("missed %v", c)
				}
			}
			for c := range got {
				if !want[c] {
					t.Errorf("extra %v", c)
				}
			}
		})
	}
	// a turning camera: headings interpolated the shorter way, 350° → 10° through north
	a, b := walker(0, 0, 0), walker(400, 0, 60)
	a.Heading, b.Heading = 350, 10
	visits, err := SweepCells([]Fix{a, b}, SweepConfig{Raster: DefaultRaster, View: View{Mode: Video}, FixHeading: true})
	if err != nil {
		t.Fatal(err)
	}
	got, want := cellSet(visits), denseSweep(t, a, b, func(f float64) View { return View{Mode: Video, Heading: ptr(350 + 20*f)} })
	for c := range want {
		if _, ok := got[c]; !ok {
			t.Errorf("turning: missed %v", c)
		}
	}
	// a gap: only the footprints at the ends
	gapA, gapB := walker(0, 0, 0), walker(1500, 0, 60)
	visits, _ = SweepCells([]Fix{gapA, gapB}, SweepConfig{Raster: DefaultRaster, View: View{Mode: Drone}})
	ends, _ := FootprintCells(gapA.Point, View{Mode: Drone}, DefaultZoom)
	endsB, _ := FootprintCells(gapB.Point, View{Mode: Drone}, DefaultZoom)
	if len(visits) != len(ends)+len(endsB) {
		t.Errorf("across a gap: %d cells, want %d + %d", len(visits), len(ends), len(endsB))
	}
}

// TestSweepCellsFixReadings: FixAlt takes each fix's height; invalid fixes are skipped.
func TestSweepCellsFixReadings(t *testing.T) {
	low, high := walker(0, 0, 0), walker(0, 0, 10)
	low.Alt, high.Alt = 10, 400
	cfg := SweepConfig{Raster: DefaultRaster, View: View{Mode: Drone}, FixAlt: true}
	visits, err := SweepCells([]Fix{low}, cfg)
	if err != nil || len(visits) != 1 {
		t.Errorf("a drone at 10 m: %d cells, %v", len(visits), err)
	}
	visits, _ = SweepCells([]Fix{high}, cfg)
	want, _ := FootprintCells(high.Point, View{Mode: Drone, Alt: ptr(400)}, DefaultZoom)
	if len(visits) != len(want) {
		t.Errorf("a drone at 400 m: %d cells, want %d", len(visits), len(want))
	}
	bad := Fix{Point: orb.Point{math.NaN(), 47}, T: t0.Add(5 * time.Second)}
	visits, err = SweepCells([]Fix{low, bad, walker(5, 0, 20)}, SweepConfig{Raster: DefaultRaster, View: View{Mode: Video}})
	if err != nil || len(visits) == 0 || visits[0].Cell.Tile().X == 0 {
		t.Errorf("with a NaN fix: %v, %v", visits, err)
	}
	if visits, err := SweepCells(nil, DefaultSweep); len(visits) != 0 || err != nil {
		t.Errorf("no fixes: %v, %v", visits, err)
	}
}

func BenchmarkFootprintCells(b *testing.B) {
	p := orb.Point{121.87, 29.48}
	for _, tc := range []struct {
		name string
		v    View
	}{
		{"drone-100m", View{Mode: Drone}},
		{"drone-500m", View{Mode: Drone, Alt: ptr(500)}},
		{"video-sector", View{Mode: Video, Heading: ptr(30)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var cells []Cell
			for i := 0; i < b.N; i++ {
				cells, _ = FootprintCells(p, tc.v, DefaultZoom)
			}
			b.ReportMetric(float64(len(cells)), "cells")
		})
	}
}

// BenchmarkSweepCells sweeps a 10 km drive (a fix every 24 m), per km.
func BenchmarkSweepCells(b *testing.B) {
	const km = 10
	fixes := patrolTrack(km)
	for _, tc := range []struct {
		name string
		v    View
	}{
		{"drone-100m", View{Mode: Drone}},
		{"video-ahead", View{Mode: Video, Heading: ptr(0)}},
		{"video-unknown", View{Mode: Video}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := SweepConfig{Raster: DefaultRaster, View: tc.v}
			for i := 0; i < b.N; i++ {
				visitSink, _ = SweepCells(fixes, cfg)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/km/1000, "µs/km")
			b.ReportMetric(float64(len(visitSink))/km, "cells/km")
		})
	}
}
