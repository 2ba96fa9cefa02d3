package geo

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
)

// tileStats is every cell at zoom z inside tile t, with visits, times and modes that vary.
func tileStats(t Tile, z int) []CellStat {
	d := z - t.Z
	var keys []Cell
	for dy := range uint32(1) << d {
		for dx := range uint32(1) << d {
			keys = append(keys, CellFromTile(Tile{X: t.X<<d + dx, Y: t.Y<<d + dy, Z: z}))
		}
	}
	slices.Sort(keys)
	modes := [][]string{{"foot"}, {"foot", "vehicle"}, {"drone"}, nil}
	out := make([]CellStat, len(keys))
	for i, c := range keys {
		out[i] = CellStat{Cell: c, Visits: 1 + i%7, LastVisit: t0.Add(time.Duration(i) * time.Minute), Modes: modes[i%4]}
	}
	return out
}

// decodeTile unmarshals a tile with orb and returns its one layer, unprojected to lon/lat.
func decodeTile(t *testing.T, tile Tile, data []byte) *mvt.Layer {
	t.Helper()
	layers, err := mvt.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 || layers[0].Name != CoverageLayer || layers[0].Version != 2 {
		t.Fatalf("layers %v", layers)
	}
	layers.ProjectToWGS84(maptile.New(tile.X, tile.Y, maptile.Zoom(tile.Z)))
	return layers[0]
}

// TestEncodeTile: orb decodes the tile: one polygon per cell inside the tile, in order,
// with its properties, within a pixel of the cell's bounds; coarser cells are clipped to
// the tile; cells elsewhere are left out.
func TestEncodeTile(t *testing.T) {
	p := orb.Point{121.87, 29.48}
	tile := CellAt(p, 14).Tile()
	inside := tileStats(tile, 18)
	if len(inside) != 256 {
		t.Fatalf("%d cells in a z14 tile", len(inside))
	}
	cells := append([]CellStat{}, inside[:40]...)
	cells = append(cells,
		CellStat{Cell: CellAt(p, 12), Visits: 3},                        // contains the tile
		CellStat{Cell: CellAt(orb.Point{121.95, 29.48}, 18), Visits: 5}, // another tile
		CellStat{Cell: CellAt(p, 22), Visits: 9, Modes: []string{"video"}},
	)
	tb := CellFromTile(tile).Bound()
	for _, extent := range []uint32{0, 256, 1024, 4096} {
		data, err := EncodeTile(tile, cells, extent)
		if err != nil {
			t.Fatal(err)
		}
		layer := decodeTile(t, tile, data)
		ext := cmpOr(extent, DefaultExtent)
		if layer.Extent != ext {
			t.Errorf("extent %d, want %d", layer.Extent, ext)
		}
		want := slices.Concat(cells[:41], cells[42:])
		if len(layer.Features) != len(want) {
			t.Fatalf("extent %d: %d features, want %d", ext, len(layer.Features), len(want))
		}
		// a pixel in degrees (lat: the tile's tallest pixel, plus a margin)
		pxLon := (tb.Max[0] - tb.Min[0]) / float64(ext)
		pxLat := 1.01 * (tb.Max[1] - tb.Min[1]) / float64(ext)
		for i, f := range layer.Features {
			cs := want[i]
			if key, _ := strconv.ParseUint(f.Properties.MustString("cell"), 10, 64); Cell(key) != cs.Cell {
				t.Fatalf("feature %d is cell %v, want %v", i, Cell(key), cs.Cell)
			}
			if v := f.Properties["visits"]; v != float64(cs.Visits) {
				t.Errorf("%v: visits %v, want %d", cs.Cell, v, cs.Visits)
			}
			if v, ok := f.Properties["last_visit"]; cs.LastVisit.IsZero() && ok || !cs.LastVisit.IsZero() && v != float64(cs.LastVisit.Unix()) {
				t.Errorf("%v: last_visit %v, want %v", cs.Cell, v, cs.LastVisit.Unix())
			}
			if v, ok := f.Properties["modes"]; len(cs.Modes) == 0 && ok || len(cs.Modes) > 0 && v != strings.Join(cs.Modes, ",") {
				t.Errorf("%v: modes %v, want %v", cs.Cell, v, cs.Modes)
			}
			poly, ok := f.Geometry.(orb.Polygon)
			if !ok || len(poly) != 1 || len(poly[0]) != 5 {
				t.Fatalf("%v: geometry %#v", cs.Cell, f.Geometry)
			}
			want := cs.Cell.Bound()
			if cs.Cell.Zoom() < tile.Z {
				want = tb // clipped
			}
			got := poly.Bound()
			if math.Abs(got.Min[0]-want.Min[0]) > pxLon || math.Abs(got.Max[0]-want.Max[0]) > pxLon ||
				math.Abs(got.Min[1]-want.Min[1]) > pxLat || math.Abs(got.Max[1]-want.Max[1]) > pxLat {
				t.Errorf("extent %d: %v drawn as %v, want %v", ext, cs.Cell, got, want)
			}
		}
	}
}

func cmpOr(a, b uint32) uint32 {
	if a == 0 {
		return b
	}
	return a
}

func TestEncodeTileEmptyAndErrors(t *testing.T) {
	tile := Tile{X: 13703, Y: 6784, Z: 14}
	for _, cells := range [][]CellStat{nil, {{Cell: CellAt(orb.Point{0, 0}, 18), Visits: 1}}} {
		data, err := EncodeTile(tile, cells, 0)
		if err != nil {
			t.Fatal(err)
		}
		if layer := decodeTile(t, tile, data); len(layer.Features) != 0 {
			t.Errorf("%d features", len(layer.Features))
		}
		t.Logf("empty tile: %d bytes", len(data))
	}
	if _, err := EncodeTile(Tile{X: 1 << 14, Y: 0, Z: 14}, nil, 0); err == nil {
		t.Error("an invalid tile encoded")
	}
	if _, err := EncodeTile(tile, []CellStat{{Cell: 2}}, 0); err == nil {
		t.Error("an invalid cell encoded")
	}
	if _, err := EncodeTile(tile, nil, 1<<25); err == nil {
		t.Error("extent 2^25 accepted")
	}
	// negative visits (a correction) survive as sint
	c := CellFromTile(Tile{X: tile.X << 4, Y: tile.Y << 4, Z: 18})
	data, _ := EncodeTile(tile, []CellStat{{Cell: c, Visits: -2}}, 0)
	if v := decodeTile(t, tile, data).Features[0].Properties["visits"]; v != float64(-2) {
		t.Errorf("visits %v", v)
	}
}

// TestEncodeTileSubPixel: zoom-18 cells on a zoom-8 tile are a quarter of a pixel at
// extent 1024; each is still drawn, a pixel wide.
func TestEncodeTileSubPixel(t *testing.T) {
	tile := CellAt(orb.Point{121.87, 29.48}, 8).Tile()
	cells := tileStats(CellAt(orb.Point{121.87, 29.48}, 14).Tile(), 18)[:20]
	data, err := EncodeTile(tile, cells, 1024)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := mvt.Unmarshal(data)
	if n := len(layers[0].Features); n != 20 {
		t.Fatalf("%d features", n)
	}
	for _, f := range layers[0].Features {
		if b := f.Geometry.Bound(); b.Max[0]-b.Min[0] != 1 || b.Max[1]-b.Min[1] != 1 {
			t.Errorf("drawn as %v", b)
		}
	}
}

// TestAggregateCells: visits are preserved, each cell rolls into exactly one parent,
// which holds the latest visit and the union of modes; the result is sorted, unique, the
// same for any input order, and leaves the input alone.
func TestAggregateCells(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	modes := []string{"foot", "vehicle", "drone", "video"}
	var cells []CellStat
	for i := range 3000 {
		p := orb.Point{121.8 + r.Float64()*0.2, 29.4 + r.Float64()*0.2}
		cs := CellStat{Cell: CellAt(p, 18), Visits: r.IntN(20), LastVisit: t0.Add(time.Duration(r.IntN(1e6)) * time.Second)}
		for _, m := range modes {
			if r.IntN(3) == 0 {
				cs.Modes = append(cs.Modes, m)
			}
		}
		if i%10 == 0 {
			cs.Cell = cs.Cell.Parent(13) // coarser than some targets
		}
		cells = append(cells, cs)
	}
	cells = append(cells, cells[7], CellStat{Cell: 0, Visits: 1000}) // a duplicate, an invalid key
	before := slices.Clone(cells)
	total := 0
	for _, cs := range cells[:len(cells)-1] {
		total += cs.Visits
	}
	for _, z := range []int{18, 16, 14, 12, 0} {
		agg := AggregateCells(cells, z)
		if !slices.IsSortedFunc(agg, func(a, b CellStat) int { return cmp.Compare(a.Cell, b.Cell) }) {
			t.Fatalf("z%d: not sorted", z)
		}
		sum := 0
		for i, a := range agg {
			sum += a.Visits
			if i > 0 && agg[i-1].Cell == a.Cell {
				t.Fatalf("z%d: %v twice", z, a.Cell)
			}
			if !slices.IsSorted(a.Modes) || len(slices.Compact(slices.Clone(a.Modes))) != len(a.Modes) {
				t.Fatalf("z%d: modes %v", z, a.Modes)
			}
		}
		if sum != total {
			t.Errorf("z%d: %d visits, want %d", z, sum, total)
		}
		for _, cs := range cells[:len(cells)-1] {
			parent := cs.Cell.Parent(z)
			i, found := slices.BinarySearchFunc(agg, parent, func(a CellStat, c Cell) int { return cmp.Compare(a.Cell, c) })
			if !found {
				t.Fatalf("z%d: no parent for %v", z, cs.Cell)
			}
			a := agg[i]
			if !a.Cell.Contains(cs.Cell) || a.Cell.Zoom() != min(z, cs.Cell.Zoom()) || a.LastVisit.Before(cs.LastVisit) {
				t.Fatalf("z%d: %v in %v (last %v < %v)", z, cs.Cell, a.Cell, a.LastVisit, cs.LastVisit)
			}
			for _, m := range cs.Modes {
				if !slices.Contains(a.Modes, m) {
					t.Fatalf("z%d: %v lost mode %s", z, a.Cell, m)
				}
			}
		}
		shuffled := slices.Clone(cells)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		again := AggregateCells(shuffled, z)
		if !slices.EqualFunc(agg, again, func(a, b CellStat) bool {
			return a.Cell == b.Cell && a.Visits == b.Visits && a.LastVisit.Equal(b.LastVisit) && slices.Equal(a.Modes, b.Modes)
		}) {
			t.Errorf("z%d: depends on the input order", z)
		}
		if len(agg) > 0 && len(agg[0].Modes) > 0 {
			agg[0].Modes[0] = "changed"
		}
	}
	for i := range cells {
		if cells[i].Cell != before[i].Cell || !slices.Equal(cells[i].Modes, before[i].Modes) {
			t.Fatalf("input %d changed", i)
		}
	}
	if got := AggregateCells(nil, 12); len(got) != 0 {
		t.Errorf("nil: %v", got)
	}
}

// BenchmarkEncodeTile encodes a zoom-14 tile fully covered by its 256 zoom-18 cells, at
// several extents, and reports the tile's size raw and gzipped.
func BenchmarkEncodeTile(b *testing.B) {
	tile := CellAt(orb.Point{121.87, 29.48}, 14).Tile()
	cells := tileStats(tile, 18)
	for _, extent := range []uint32{4096, 1024, 256} {
		b.Run(strconv.Itoa(int(extent)), func(b *testing.B) {
			var data []byte
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				data, _ = EncodeTile(tile, cells, extent)
			}
			var gz bytes.Buffer
			w := gzip.NewWriter(&gz)
			w.Write(data)
			w.Close()
			b.ReportMetric(float64(len(data)), "bytes")
			b.ReportMetric(float64(gz.Len()), "gzip-bytes")
		})
	}
}

// BenchmarkAggregateCells rolls 65,536 zoom-18 cells (a zoom-10 tile's worth) up to zoom 14.
func BenchmarkAggregateCells(b *testing.B) {
	var cells []CellStat
	for _, c := range tileStats(CellAt(orb.Point{121.87, 29.48}, 12).Tile(), 16) {
		cells = append(cells, tileStats(c.Cell.Tile(), 18)...)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		AggregateCells(cells, 14)
	}
	b.ReportMetric(float64(len(cells)), "cells")
}
