package geo

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// TestWalkIsSupercover: walk visits, in order along the segment, exactly the tiles whose
// square the segment touches, each entered at the segment fraction where it crosses in.
func TestWalkIsSupercover(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		a := tilePt{r.Float64() * 20, r.Float64() * 20}
		b := tilePt{a.X + r.NormFloat64()*5, a.Y + r.NormFloat64()*5}
		type hit struct{ x, y int }
		var got []hit
		prevT := 0.0
		walk(a, b, func(x, y int, tt float64) {
			if tt < prevT || tt > 1 {
				t.Fatalf("%v→%v: t %v after %v", a, b, tt, prevT)
			}
			// the point at tt lies on the border of the tile it enters
			p := tilePt{a.X + tt*(b.X-a.X), a.Y + tt*(b.Y-a.Y)}
			if len(got) > 0 && (p.X < float64(x)-1e-9 || p.X > float64(x+1)+1e-9 || p.Y < float64(y)-1e-9 || p.Y > float64(y+1)+1e-9) {
				t.Fatalf("%v→%v: enters %d,%d at %v", a, b, x, y, p)
			}
			got, prevT = append(got, hit{x, y}), tt
		})
		var want []hit
		for x := int(math.Floor(min(a.X, b.X))); x <= int(max(a.X, b.X)); x++ {
			for y := int(math.Floor(min(a.Y, b.Y))); y <= int(max(a.Y, b.Y)); y++ {
				box := orb.Bound{Min: orb.Point{float64(x), float64(y)}, Max: orb.Point{float64(x + 1), float64(y + 1)}}
				if segmentHitsBox(orb.Point{a.X, a.Y}, orb.Point{b.X, b.Y}, box) {
					want = append(want, hit{x, y})
				}
			}
		}
		sorted := slices.Clone(got)
		slices.SortFunc(sorted, func(p, q hit) int { return (p.x-q.x)*1000 + p.y - q.y })
		if !slices.Equal(sorted, want) || len(got) > walkLen(a, b) {
			t.Fatalf("%v→%v: walked %v, want %v", a, b, got, want)
		}
	}
}

func TestRasterize(t *testing.T) {
	cfg := RasterConfig{Zoom: 18, MaxGap: time.Minute, MaxStep: 500}
	start := walker(0, 0, 0)
	// borders counts the cell borders crossed going east metres due east from start.
	borders := func(east float64) int {
		return int(CellAt(walker(east, 0, 0).Point, 18).Tile().X - CellAt(start.Point, 18).Tile().X)
	}
	cases := []struct {
		name   string
		fixes  []Fix
		visits int // cells entered
	}{
		{"nothing", nil, 0},
		{"one fix", []Fix{start}, 1},
		{"standing still", []Fix{start, walker(1, 1, 10), walker(0, 2, 20)}, 1},
		{"a walked step", []Fix{start, walker(400, 0, 50)}, 1 + borders(400)},
		{"a gap in time: the ends only", []Fix{start, walker(400, 0, 61)}, 2},
		{"a gap in distance: the ends only", []Fix{start, walker(600, 0, 50)}, 2},
		{"there and back: cells re-entered", []Fix{start, walker(250, 0, 30), walker(0, 0, 60)}, 1 + 2*borders(250)},
	}
	if borders(400) < 3 {
		t.Fatalf("400 m cross only %d borders", borders(400))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			visits := Rasterize(tc.fixes, cfg)
			if len(visits) != tc.visits {
				t.Fatalf("%d visits, want %d: %v", len(visits), tc.visits, visits)
			}
			checkVisits(t, tc.fixes, visits)
		})
	}
}

// checkVisits: visits start in the first fix's cell at its time, times never go back, and
// each cell differs from the one before.
func checkVisits(t *testing.T, fixes []Fix, visits []Visit) {
	t.Helper()
	if len(fixes) == 0 {
		return
	}
	if visits[0].Cell != CellAt(fixes[0].Point, 18) || !visits[0].T.Equal(fixes[0].T) {
		t.Errorf("first visit %v", visits[0])
	}
	for i := 1; i < len(visits); i++ {
		if visits[i].T.Before(visits[i-1].T) || visits[i].Cell == visits[i-1].Cell {
			t.Fatalf("visit %d: %v after %v", i, visits[i], visits[i-1])
		}
	}
}

// TestRasterizeEntryTimes: on a straight step at constant speed, each cell is entered when
// the line crosses into it.
func TestRasterizeEntryTimes(t *testing.T) {
	a, b := walker(0, 0, 0), walker(450, 0, 90)
	visits := Rasterize([]Fix{a, b}, DefaultRaster)
	for _, v := range visits[1:] {
		west := v.Cell.Bound().Min[0] // the border crossed going east
		frac := (west - a.Point[0]) / (b.Point[0] - a.Point[0])
		want := a.T.Add(time.Duration(frac * float64(b.T.Sub(a.T))))
		if d := v.T.Sub(want); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("%v entered at %v, want %v", v.Cell, v.T, want)
		}
	}
}

// TestRasterizeRealTrack: the filtered car drive around Višnjan, its cells written to a
// golden file. Consecutive visits are neighbours wherever the step was walked.
func TestRasterizeRealTrack(t *testing.T) {
	c, _ := FilterFor(Vehicle)
	fixes, _ := Filter(allFixes(readGPX(t, "around-visnjan-with-car.gpx")), c)
	visits := Rasterize(fixes, DefaultRaster)
	checkVisits(t, fixes, visits)
	for i := 1; i < len(visits); i++ {
		p, q := visits[i-1].Cell.Tile(), visits[i].Cell.Tile()
		if dx, dy := int(p.X)-int(q.X), int(p.Y)-int(q.Y); dx*dx > 1 || dy*dy > 1 {
			t.Errorf("visit %d jumps from %v to %v", i, visits[i-1].Cell, visits[i].Cell)
		}
	}
	cells := make([]Cell, len(visits))
	for i, v := range visits {
		cells[i] = v.Cell
	}
	fc := cellFeatures(cells, func(i int, props geojson.Properties) {
		props["entered"] = visits[i].T.Format(time.RFC3339Nano)
	})
	track := geojson.NewFeature(Points(fixes))
	track.Properties["name"] = "around-visnjan-with-car, filtered"
	fc.Features = append([]*geojson.Feature{track}, fc.Features...)
	golden(t, "visnjan_visits_z18.geojson", fc)
}

func TestRasterizeBoundsTheWalk(t *testing.T) {
	// A 500 m step at zoom 30 crosses ~27,000 cells: walked. Steps whose few metres span
	// much of the tile world are gaps.
	cfg := RasterConfig{Zoom: 30, MaxGap: time.Hour, MaxStep: math.Inf(1)}
	if n := len(Rasterize([]Fix{walker(0, 0, 0), walker(500, 0, 60)}, cfg)); n < 10000 {
		t.Errorf("%d visits on a 500 m step at zoom 30", n)
	}
	for name, ends := range map[string][2]orb.Point{
		"across the world":        {{-170, 60}, {170, -60}},
		"across the antimeridian": {{179.9999, 10}, {-179.9999, 10}},
		"round the pole":          {{0, 89.999}, {90, 89.999}},
	} {
		steps := []Fix{{Point: ends[0], T: t0}, {Point: ends[1], T: t0.Add(time.Second)}}
		if n := len(Rasterize(steps, cfg)); n != 2 {
			t.Errorf("%s: %d visits", name, n)
		}
	}
}

// TestRasterizeShortDiagonalStep: a step of a few metres past a cell corner crosses three
// cells, and all three are walked (the walk's bound once refused such steps).
func TestRasterizeShortDiagonalStep(t *testing.T) {
	corner := CellFromTile(Tile{X: 140000, Y: 90000, Z: 18}).Bound().Min // the south-west corner
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	// From about 5 m north-west of the corner to 5 m south-east,
	// passing 1 m beside the corner.
	a := Fix{Point: orb.Point{corner[0] - 0.00004, corner[1] + 0.00003}, T: t0}
	b := Fix{Point: orb.Point{corner[0] + 0.00004, corner[1] - 0.00004}, T: t0.Add(2 * time.Second)}
	vs := Rasterize([]Fix{a, b}, DefaultRaster)
	if len(vs) != 3 {
		t.Fatalf("a %.1f m diagonal step past a corner gives %d cells, want 3: %v", Distance(a.Point, b.Point), len(vs), vs)
	}
}
