package geo

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// randomPoint is uniform in lon/lat within the Web Mercator latitudes.
func randomPoint(r *rand.Rand) orb.Point {
	return orb.Point{-180 + r.Float64()*360, -85 + r.Float64()*170}
}

func fromMaptile(t maptile.Tile) Tile { return Tile{X: t.X, Y: t.Y, Z: int(t.Z)} }
func toMaptile(t Tile) maptile.Tile   { return maptile.New(t.X, t.Y, maptile.Zoom(t.Z)) }

func TestCellLayout(t *testing.T) {
	cases := []struct {
		name string
		tile Tile
		key  uint64
	}{
		{"world", Tile{0, 0, 0}, 1 << 60},
		{"NW quarter", Tile{0, 0, 1}, 0b00_1 << 58},
		{"NE quarter", Tile{1, 0, 1}, 0b01_1 << 58},
		{"SW quarter", Tile{0, 1, 1}, 0b10_1 << 58},
		{"SE quarter", Tile{1, 1, 1}, 0b11_1 << 58},
		{"SE of NE at zoom 2", Tile{3, 1, 2}, 0b01_11_1 << 56},
		{"doc example", Tile{219815, 108590, 18}, 0x0f33_8899_7b00_0000},
		{"last leaf", Tile{1<<30 - 1, 1<<30 - 1, 30}, 1<<61 - 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := CellFromTile(tc.tile)
			if uint64(c) != tc.key || c.Tile() != tc.tile || c.Zoom() != tc.tile.Z || !c.Valid() {
				t.Errorf("key %#x (tile %v, zoom %d), want %#x", uint64(c), c.Tile(), c.Zoom(), tc.key)
			}
		})
	}
}

// TestCellAtMatchesMaptile: CellAt agrees with orb's maptile.At, and the key's digits are
// orb's (Bing) quadkey.
func TestCellAtMatchesMaptile(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		p := randomPoint(r)
		for z := 0; z <= MaxZoom; z++ {
			c, want := CellAt(p, z), maptile.At(p, maptile.Zoom(z))
			if c.Tile() != fromMaptile(want) {
				t.Fatalf("CellAt(%v, %d) = %v, want %v", p, z, c.Tile(), want)
			}
			if digits := uint64(c) >> (posBits - 2*z); z > 0 && digits != want.Quadkey() {
				t.Fatalf("%v: digits %b, quadkey %b", want, digits, want.Quadkey())
			}
		}
	}
}

func TestCellAtEdges(t *testing.T) {
	last := uint32(1<<18 - 1)
	cases := []struct {
		name string
		p    orb.Point
		x, y uint32
	}{
		{"antimeridian west", orb.Point{-180, 0}, 0, 1 << 17},
		{"antimeridian east", orb.Point{180, 0}, last, 1 << 17},
		{"north pole", orb.Point{0, 90}, 1 << 17, 0},
		{"south pole", orb.Point{0, -90}, 1 << 17, last},
		{"NaN", orb.Point{math.NaN(), math.NaN()}, 0, 0},
		{"beyond the world", orb.Point{1e9, -1e9}, last, last},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := CellAt(tc.p, 18)
			if want := (Tile{tc.x, tc.y, 18}); !c.Valid() || c.Tile() != want {
				t.Errorf("got %v, want %v", c, want)
			}
		})
	}
}

// TestRangeNests checks the promise of the layout on every tile down to zoom 5: a tile's
// Range holds exactly the tile and its descendants.
func TestRangeNests(t *testing.T) {
	var all []maptile.Tile
	for z := maptile.Zoom(0); z <= 5; z++ {
		all = append(all, maptile.ChildrenInZoomRange(maptile.New(0, 0, 0), z, z)...)
	}
	for _, outer := range all {
		lo, hi := TileRange(fromMaptile(outer))
		for _, inner := range all {
			c := CellFromTile(fromMaptile(inner))
			if in := lo <= c && c <= hi; in != outer.Contains(inner) {
				t.Fatalf("tile %v, cell %v: in range %v", outer, inner, in)
			}
		}
	}
}

// TestZOrder: sorting the keys of one zoom sorts the tiles in Z-order, NW NE SW SE, recursively.
func TestZOrder(t *testing.T) {
	tiles := maptile.ChildrenInZoomRange(maptile.New(0, 0, 0), 2, 2)
	cells := make([]Cell, len(tiles))
	for i, tl := range tiles {
		cells[i] = CellFromTile(fromMaptile(tl))
	}
	slices.Sort(cells)
	want := []Tile{
		{X: 0, Y: 0, Z: 2}, {X: 1, Y: 0, Z: 2}, {X: 0, Y: 1, Z: 2}, {X: 1, Y: 1, Z: 2},
		{X: 2, Y: 0, Z: 2}, {X: 3, Y: 0, Z: 2}, {X: 2, Y: 1, Z: 2}, {X: 3, Y: 1, Z: 2},
	}
	for i, w := range want {
		if cells[i].Tile() != w {
			t.Fatalf("position %d: %v, want %v", i, cells[i], w)
		}
	}
}

func TestParent(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		c := CellAt(randomPoint(r), MaxZoom)
		z := r.IntN(MaxZoom + 1)
		p := c.Parent(z)
		want := c.Tile()
		want.X, want.Y, want.Z = want.X>>(MaxZoom-z), want.Y>>(MaxZoom-z), z
		if p.Tile() != want || !p.Contains(c) || p.Zoom() != z {
			t.Fatalf("%v.Parent(%d) = %v, want %v", c, z, p, want)
		}
	}
	c := CellAt(orb.Point{121.87, 29.48}, 18)
	if c.Parent(-3) != CellFromTile(Tile{0, 0, 0}) || c.Parent(25) != c {
		t.Error("Parent should clamp the zoom and never refine")
	}
}

func TestCellValid(t *testing.T) {
	cases := []struct {
		name string
		c    Cell
		ok   bool
	}{
		{"zero", 0, false},
		{"world", 1 << 60, true},
		{"beyond 61 bits", 1 << 61, false},
		{"sentinel at an odd bit", 1 << 59, false},
		{"a leaf", 0xf3388997b000001, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.c.Valid() != tc.ok {
				t.Errorf("Valid(%#x) = %v", uint64(tc.c), !tc.ok)
			}
		})
	}
	if CellFromTile(Tile{4, 0, 2}) != 0 || CellFromTile(Tile{0, 0, 31}) != 0 {
		t.Error("invalid tiles should give the zero cell")
	}
}

func TestCellGeometry(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 500 {
		z := 1 + r.IntN(MaxZoom)
		c := CellAt(randomPoint(r), z)
		b, want := c.Bound(), toMaptile(c.Tile()).Bound()
		if !float64Near(b.Min[0], want.Min[0], 1e-9) || !float64Near(b.Min[1], want.Min[1], 1e-9) ||
			!float64Near(b.Max[0], want.Max[0], 1e-9) || !float64Near(b.Max[1], want.Max[1], 1e-9) {
			t.Fatalf("%v: bound %v, maptile %v", c, b, want)
		}
		if ctr := c.Center(); !b.Contains(ctr) || CellAt(ctr, z) != c {
			t.Fatalf("%v: centre %v", c, ctr)
		}
		if ring := c.Polygon()[0]; len(ring) != 5 || !ring.Closed() {
			t.Fatalf("%v: polygon %v", c, ring)
		}
	}
	if s := CellAt(orb.Point{121.87, 29.48}, 18).String(); s != "18/219815/108590" {
		t.Errorf("String() = %s", s)
	}
}
