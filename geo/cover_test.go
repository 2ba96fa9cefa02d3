package geo

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"
	"github.com/paulmach/orb/planar"
)

// beat is a small patrol beat in Lucheng, Wenzhou (about 900 m × 600 m), L-shaped with a
// park cut out of it:
//
//	●───────●
//	│       │
//	│  ▢    ●─────●     ▢ = the park (a hole)
//	│             │
//	●─────────────●
var beat = orb.Polygon{
	{{120.650, 28.010}, {120.659, 28.010}, {120.659, 28.013}, {120.655, 28.013}, {120.655, 28.016}, {120.650, 28.016}, {120.650, 28.010}},
	{{120.6515, 28.0125}, {120.6515, 28.0145}, {120.6535, 28.0145}, {120.6535, 28.0125}, {120.6515, 28.0125}},
}

// bruteCover finds the cells that intersect mp the slow way, with orb's projection and
// containment test: for every tile of the bounding box, does the tile's centre lie in the
// area, or does an edge touch the (closed) tile?
func bruteCover(mp orb.MultiPolygon, z int) []Cell {
	polys := make([]orb.Polygon, len(mp))
	box := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	for i, poly := range mp {
		polys[i] = make(orb.Polygon, len(poly))
		for j, ring := range poly {
			for _, p := range ring {
				polys[i][j] = append(polys[i][j], maptile.Fraction(p, maptile.Zoom(z)))
			}
			b := polys[i][j].Bound()
			box.Min = orb.Point{min(box.Min[0], b.Min[0]), min(box.Min[1], b.Min[1])}
			box.Max = orb.Point{max(box.Max[0], b.Max[0]), max(box.Max[1], b.Max[1])}
		}
	}
	var cells []Cell
	for x := math.Floor(box.Min[0]); x <= box.Max[0]; x++ {
		for y := math.Floor(box.Min[1]); y <= box.Max[1]; y++ {
			if tileHit(polys, orb.Bound{Min: orb.Point{x, y}, Max: orb.Point{x + 1, y + 1}}) {
				cells = append(cells, CellFromTile(Tile{uint32(x), uint32(y), z}))
			}
		}
	}
	slices.Sort(cells)
	return cells
}

func tileHit(polys []orb.Polygon, tile orb.Bound) bool {
	for _, poly := range polys {
		if planar.PolygonContains(poly, tile.Center()) {
			return true
		}
		for _, ring := range poly {
			for k := 0; k+1 < len(ring); k++ {
				if segmentHitsBox(ring[k], ring[k+1], tile) {
					return true
				}
			}
		}
	}
	return false
}

// segmentHitsBox clips ab against box (Liang–Barsky).
func segmentHitsBox(a, b orb.Point, box orb.Bound) bool {
	t0, t1 := 0.0, 1.0
	for axis := range 2 {
		d := b[axis] - a[axis]
		for _, s := range [2][2]float64{{-d, a[axis] - box.Min[axis]}, {d, box.Max[axis] - a[axis]}} {
			switch {
			case s[0] == 0 && s[1] < 0:
				return false
			case s[0] < 0:
				t0 = max(t0, s[1]/s[0])
			case s[0] > 0:
				t1 = min(t1, s[1]/s[0])
			}
		}
	}
	return t0 <= t1
}

func TestCoverIsExact(t *testing.T) {
	type area struct {
		name string
		mp   orb.MultiPolygon
		zs   []int
	}
	areas := []area{{"beat", orb.MultiPolygon{beat}, []int{16, 17, 18, 19}}}
	for _, county := range counties {
		areas = append(areas, area{county, readBoundary(t, county+".wgs84"), []int{14, 15, 16}})
	}
	for _, a := range areas {
		for _, z := range a.zs {
			t.Run(fmt.Sprintf("%s/z%d", a.name, z), func(t *testing.T) {
				t.Parallel()
				got, err := Cover(a.mp, z, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				want := bruteCover(a.mp, z)
				if !slices.Equal(got, want) {
					t.Fatalf("%d cells, want %d; first difference %v", len(got), len(want), firstDiff(got, want))
				}
				t.Logf("%d cells; orb's tilecover differs on %d", len(got), orbDifference(a.mp, z, got))
			})
		}
	}
}

func firstDiff(a, b []Cell) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("at %d: %v vs %v", i, a[i], b[i])
		}
	}
	return "one is a prefix of the other"
}

// orbDifference counts the cells in one of our cover and orb's tilecover but not both.
func orbDifference(mp orb.MultiPolygon, z int, ours []Cell) int {
	set, err := tilecover.MultiPolygon(mp, maptile.Zoom(z))
	if err != nil {
		return -1
	}
	n := len(set)
	for _, c := range ours {
		if set[toMaptile(c.Tile())] {
			n--
		} else {
			n++
		}
	}
	return n
}

func TestCoverBeatGolden(t *testing.T) {
	cells, err := Cover(beat, 18, 1000)
	if err != nil {
		t.Fatal(err)
	}
	fc := cellFeatures(cells, nil)
	outline := geojson.NewFeature(beat)
	outline.Properties["name"] = "beat"
	fc.Features = append([]*geojson.Feature{outline}, fc.Features...)
	golden(t, "beat_cells_z18.geojson", fc)
}

func TestCoverHonoursHoles(t *testing.T) {
	// At zoom 20 (≈ 34 m cells) the 200 m park holds whole cells, which must be left out.
	cells, err := Cover(beat, 20, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	inPark := CellAt(orb.Point{120.6525, 28.0135}, 20)
	if _, found := slices.BinarySearch(cells, inPark); found {
		t.Errorf("cell %v in the park is covered", inPark)
	}
	if _, found := slices.BinarySearch(cells, CellAt(orb.Point{120.651, 28.011}, 20)); !found {
		t.Error("a cell inside the beat is missing")
	}
}

func TestCoverErrors(t *testing.T) {
	cases := []struct {
		name string
		g    orb.Geometry
		max  int
		want error
	}{
		{"too many cells", beat, 10, ErrTooManyCells},
		{"too many rows for the limit", orb.Polygon{{{0, -60}, {1, -60}, {1, 60}, {0, -60}}}, 1000, ErrTooManyCells},
		{"a line", orb.LineString{{0, 0}, {1, 1}}, 10, &Error{}},
		{"nil", nil, 10, &Error{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Cover(tc.g, 18, tc.max)
			var ge *Error
			if _, wantGeo := tc.want.(*Error); (wantGeo && !errors.As(err, &ge)) || (!wantGeo && !errors.Is(err, tc.want)) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCoverMultiPolygonIsUnion(t *testing.T) {
	mp := readBoundary(t, "330225-xiangshan.wgs84") // 60 polygons, mostly islands
	all, err := Cover(mp, 15, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var union []Cell
	for _, poly := range mp {
		cells, err := Cover(poly, 15, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		union = append(union, cells...)
	}
	slices.Sort(union)
	if union = slices.Compact(union); !slices.Equal(all, union) {
		t.Errorf("%d cells, union of the parts %d", len(all), len(union))
	}
}
