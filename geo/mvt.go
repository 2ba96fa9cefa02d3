package geo

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CellStat is the coverage of one cell: how often, how lately and by which modes it was
// patrolled.
type CellStat struct {
	Cell      Cell
	Visits    int
	LastVisit time.Time // the zero time if unknown
	Modes     []string  // sorted, no duplicates (AggregateCells keeps them so)
}

// CoverageLayer is the name of the one layer of EncodeTile's tiles.
const CoverageLayer = "coverage"

// DefaultExtent is the tile extent EncodeTile uses for 0: 4096, the MVT default.
const DefaultExtent = 4096

// EncodeTile encodes the cells of tile t as a Mapbox Vector Tile (spec 2.1, not gzipped:
// the handler compresses) with one layer, "coverage", extent pixels across (0 means 4096).
// Each cell is one polygon feature, in the order given, with the properties
//
//	visits      integer
//	last_visit  integer, Unix seconds (left out for a zero LastVisit): a number, so a
//	            style can colour by recency with arithmetic on it, and 5 bytes, not 20
//	modes       string, the modes joined by commas (left out if none)
//	cell        string, the cell key in decimal (a string: JavaScript numbers hold only
//	            53 bits; use it as promoteId for feature state)
//
// Web Mercator is linear in tile space, so a cell is exactly the rectangle of its tile
// indexes scaled to the extent, with no projection or simplification: its edges are
// within half a pixel of its Bound (rounding), and exact when the cell is at most
// log2(extent) zooms finer than t (z ≤ t.Z+12 at 4096). A cell finer than a pixel is drawn
// one pixel wide; aggregate first (AggregateCells to t.Z+8 is plenty). A cell coarser than
// t that contains it is clipped to the tile; cells outside t are left out. The encoding is
// hand-written protobuf, because orb/encoding/mvt imports orb/geojson and so the
// database driver's bson package, which geo must not depend on. It fails for an invalid
// tile or cell key, or an extent over 2^24.
//
// Size: a zoom-14 tile full of its 256 zoom-18 cells, each with its own last_visit, is
// 16.5 KB (5 KB gzipped) at extent 4096 and hardly less at 256 (coordinates are 1–2 byte
// varints either way). The cell strings are a third of it (23 bytes a cell), last_visit
// values 9 bytes a cell, geometry 20. Dropping "cell" for the feature id would save 13
// bytes a cell, but ids are uint64 and JavaScript reads them as doubles (exact only up to
// zoom 26); coarser last_visit (hours) would share table values. Neither is done here.
func EncodeTile(t Tile, cells []CellStat, extent uint32) ([]byte, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("geo: invalid tile %v", t)
	}
	if extent == 0 {
		extent = DefaultExtent
	}
	if extent > 1<<24 {
		return nil, fmt.Errorf("geo: tile extent %d is over 2^24", extent)
	}
	enc := layerEncoder{values: make(map[mvtValue]uint32)}
	var feats []byte
	for _, cs := range cells {
		if !cs.Cell.Valid() {
			return nil, fmt.Errorf("geo: invalid cell key %#x", uint64(cs.Cell))
		}
		box, ok := cellBox(t, cs.Cell, extent)
		if !ok {
			continue
		}
		feats = enc.feature(feats, cs, box)
	}
	layer := appendBytes(nil, 1, []byte(CoverageLayer)) // name
	layer = append(layer, feats...)                     // features (field 2, already tagged)
	for _, k := range mvtKeys {
		layer = appendBytes(layer, 3, []byte(k))
	}
	for _, v := range enc.order {
		layer = appendBytes(layer, 4, v.encode())
	}
	layer = appendVarintField(layer, 5, uint64(extent))
	layer = appendVarintField(layer, 15, 2) // version
	return appendBytes(make([]byte, 0, len(layer)+8), 3, layer), nil
}

// cellBox is the pixel rectangle [x0, x1) × [y0, y1) of cell c in tile t, or ok = false if
// c does not overlap t.
func cellBox(t Tile, c Cell, extent uint32) (box [4]int64, ok bool) {
	ct := c.Tile()
	if d := ct.Z - t.Z; d < 0 { // coarser: it contains t, or misses it
		if t.X>>-d != ct.X || t.Y>>-d != ct.Y {
			return box, false
		}
		return [4]int64{0, 0, int64(extent), int64(extent)}, true
	} else if ct.X>>d != t.X || ct.Y>>d != t.Y {
		return box, false
	}
	d := ct.Z - t.Z
	scale := float64(extent) / math.Ldexp(1, d)
	ox, oy := float64(ct.X-t.X<<d), float64(ct.Y-t.Y<<d)
	x0, y0 := int64(math.Round(ox*scale)), int64(math.Round(oy*scale))
	x1, y1 := int64(math.Round((ox+1)*scale)), int64(math.Round((oy+1)*scale))
	return [4]int64{x0, y0, max(x1, x0+1), max(y1, y0+1)}, true
}

// The keys of the coverage layer, in the order of their indexes.
var mvtKeys = []string{"visits", "last_visit", "modes", "cell"}

const (
	keyVisits = iota
	keyLastVisit
	keyModes
	keyCell
)

// mvtValue is a value of the layer's table: a string, or an integer.
type mvtValue struct {
	s     string
	i     int64
	isStr bool
}

// encode writes v as a vector_tile Value message: string_value (1), uint_value (5) for
// non-negative integers, sint_value (6) for negative ones.
func (v mvtValue) encode() []byte {
	switch {
	case v.isStr:
		return appendBytes(nil, 1, []byte(v.s))
	case v.i >= 0:
		return appendVarintField(nil, 5, uint64(v.i))
	}
	return appendVarintField(nil, 6, uint64(v.i<<1)^uint64(v.i>>63))
}

// layerEncoder builds the features and the shared value table of a layer.
type layerEncoder struct {
	values map[mvtValue]uint32
	order  []mvtValue
	tags   []uint64
	geom   []uint64
	buf    []byte
}

func (e *layerEncoder) value(v mvtValue) uint64 {
	i, ok := e.values[v]
	if !ok {
		i = uint32(len(e.order))
		e.values[v] = i
		e.order = append(e.order, v)
	}
	return uint64(i)
}

// feature appends cell cs, drawn as box, as a Feature message (layer field 2).
func (e *layerEncoder) feature(dst []byte, cs CellStat, box [4]int64) []byte {
	e.tags = append(e.tags[:0], keyVisits, e.value(mvtValue{i: int64(cs.Visits)}))
	if !cs.LastVisit.IsZero() {
		e.tags = append(e.tags, keyLastVisit, e.value(mvtValue{i: cs.LastVisit.Unix()}))
	}
	if len(cs.Modes) > 0 {
		e.tags = append(e.tags, keyModes, e.value(mvtValue{s: strings.Join(cs.Modes, ","), isStr: true}))
	}
	e.tags = append(e.tags, keyCell, e.value(mvtValue{s: strconv.FormatUint(uint64(cs.Cell), 10), isStr: true}))

	// The exterior ring NW → NE → SE → SW: positive area in tile coordinates (y down),
	// as the spec requires; each command's cursor starts at (0, 0).
	x0, y0, x1, y1 := box[0], box[1], box[2], box[3]
	e.geom = append(e.geom[:0],
		command(1, 1), zigzag(x0), zigzag(y0),
		command(2, 3), zigzag(x1-x0), 0, 0, zigzag(y1-y0), zigzag(x0-x1), 0,
		command(7, 1))

	f := e.buf[:0]
	f = appendPacked(f, 2, e.tags)
	f = appendVarintField(f, 3, 3) // type POLYGON
	f = appendPacked(f, 4, e.geom)
	e.buf = f
	return appendBytes(dst, 2, f)
}

func command(id, count uint64) uint64 { return id&7 | count<<3 }

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

// Protobuf wire format: varint (0) and length-delimited (2) fields.

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendVarintField(b []byte, field int, v uint64) []byte {
	return appendVarint(appendVarint(b, uint64(field)<<3), v)
}

func appendBytes(b []byte, field int, p []byte) []byte {
	b = appendVarint(appendVarint(b, uint64(field)<<3|2), uint64(len(p)))
	return append(b, p...)
}

func appendPacked(b []byte, field int, vs []uint64) []byte {
	n := 0
	for _, v := range vs {
		n += varintLen(v)
	}
	b = appendVarint(appendVarint(b, uint64(field)<<3|2), uint64(n))
	for _, v := range vs {
		b = appendVarint(b, v)
	}
	return b
}

func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// AggregateCells rolls cells up to zoom z (clamped to 0..MaxZoom) for low-zoom tiles: one
// CellStat per parent, with the visits summed, the latest LastVisit and the union of the
// modes (sorted, no duplicates), sorted by key. Cells already at z or coarser are kept at
// their own zoom (and merged with equal keys). Invalid keys are dropped. The input is not
// changed, and the result shares no slices with it.
func AggregateCells(cells []CellStat, z int) []CellStat {
	z = clampZoom(z)
	out := make([]CellStat, 0, len(cells))
	for _, cs := range cells {
		if cs.Cell.Valid() {
			out = append(out, CellStat{Cell: cs.Cell.Parent(z), Visits: cs.Visits, LastVisit: cs.LastVisit, Modes: cs.Modes})
		}
	}
	slices.SortStableFunc(out, func(a, b CellStat) int { return cmp.Compare(a.Cell, b.Cell) })
	n := 0
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && out[j].Cell == out[i].Cell {
			j++
		}
		agg := CellStat{Cell: out[i].Cell}
		var modes []string
		for _, cs := range out[i:j] {
			agg.Visits += cs.Visits
			if cs.LastVisit.After(agg.LastVisit) {
				agg.LastVisit = cs.LastVisit
			}
			modes = append(modes, cs.Modes...)
		}
		if len(modes) > 0 {
			slices.Sort(modes)
			agg.Modes = slices.Compact(modes)
		}
		out[n] = agg
		n++
		i = j
	}
	return slices.Clip(out[:n])
}
