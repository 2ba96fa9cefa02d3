package geo

import (
	"fmt"
	"math/bits"

	"github.com/paulmach/orb"
)

// Zoom levels of cells.
const (
	MaxZoom     = 30 // the finest tile level a Cell holds (≈ 3.7 cm at the equator)
	DefaultZoom = 18 // coverage cells: ≈ 153 m at the equator, ≈ 133 m at 30°N
)

// posBits is the width of the position field: two bits per level and the sentinel.
const posBits = 2*MaxZoom + 1

// A Cell is a Web Mercator tile (x, y, z) with z in 0..MaxZoom, packed in 64 bits so that
// the numeric order of keys walks the tile quadtree depth first (Z-order, Morton order):
// at every zoom, keys sort tiles in Z-order, and the descendants of a tile, at any zoom,
// are exactly the keys inside the tile's Range, one range scan. The layout follows the S2
// CellID:
//
//	bits 63..61          0 (spare: keys are < 2^61, so they fit a signed int64 such as a
//	                     BSON long, in the same order)
//	bits 60..61-2z       z quadkey digits, two bits per zoom level, zoom 1 first; the digit
//	                     for level k is y_k<<1 | x_k, where x_k and y_k are bit z-k of the
//	                     tile's X and Y (0 = NW, 1 = NE, 2 = SW, 3 = SE child)
//	bit  60-2z           1, the sentinel that marks where the digits end, so the key
//	                     also encodes z (it is the key's lowest set bit)
//	bits 59-2z..0        0
//
// For example tile 18/219815/108590 (in Xiangshan, Ningbo) has key 0x0f33_8899_7b00_0000:
// 36 bits of digits, then the sentinel at bit 24. Zoom 0, the whole world, is
// 1<<60; zoom 30 keys are odd. The zero Cell is invalid and serves as "no cell".
type Cell uint64

// CellAt returns the cell at zoom z (clamped to 0..MaxZoom) that contains p. Positions
// beyond ±85.0511° fall in the top or bottom row; invalid ones (NaN) somewhere in the world,
// so validate first.
func CellAt(p orb.Point, z int) Cell {
	// The tile at zoom z itself, not the zoom-30 tile's ancestor: scaling by 2^z is exact,
	// so they are the same, and this is the hot path of coverage (bench/points-cells.sh).
	z = clampZoom(z)
	t := toTile(p, z)
	return cellXY(uint32(t.X), uint32(t.Y), z)
}

// Tile is a Web Mercator tile: column X counted from 180°W, row Y from 85.0511°N, at
// zoom Z (2^Z × 2^Z tiles). It converts to orb's maptile.Tile field by field.
type Tile struct {
	X, Y uint32
	Z    int
}

// Valid reports whether t is a tile at a zoom from 0 to MaxZoom.
func (t Tile) Valid() bool {
	return t.Z >= 0 && t.Z <= MaxZoom && uint64(t.X) < 1<<t.Z && uint64(t.Y) < 1<<t.Z
}

// String formats t as "z/x/y".
func (t Tile) String() string { return fmt.Sprintf("%d/%d/%d", t.Z, t.X, t.Y) }

// CellFromTile returns the cell of tile t, or the zero Cell if t is not valid.
func CellFromTile(t Tile) Cell {
	if !t.Valid() {
		return 0
	}
	return cellXY(t.X, t.Y, t.Z)
}

func cellXY(x, y uint32, z int) Cell {
	digits := spread(x) | spread(y)<<1
	return Cell(digits<<(posBits-2*z) | lsbAt(z))
}

// lsbAt is the sentinel bit of a cell at zoom z.
func lsbAt(z int) uint64 { return 1 << (2 * (MaxZoom - z)) }

// spread moves bit i of v to bit 2i.
func spread(v uint32) uint64 {
	x := uint64(v)
	x = (x | x<<16) & 0x0000ffff0000ffff
	x = (x | x<<8) & 0x00ff00ff00ff00ff
	x = (x | x<<4) & 0x0f0f0f0f0f0f0f0f
	x = (x | x<<2) & 0x3333333333333333
	return (x | x<<1) & 0x5555555555555555
}

// squeeze is the inverse of spread: it gathers the even bits of x.
func squeeze(x uint64) uint32 {
	x &= 0x5555555555555555
	x = (x | x>>1) & 0x3333333333333333
	x = (x | x>>2) & 0x0f0f0f0f0f0f0f0f
	x = (x | x>>4) & 0x00ff00ff00ff00ff
	x = (x | x>>8) & 0x0000ffff0000ffff
	return uint32(x | x>>16)
}

// Valid reports whether c is a key that a tile produces.
func (c Cell) Valid() bool {
	tz := bits.TrailingZeros64(uint64(c))
	return c != 0 && uint64(c) < 1<<posBits && tz%2 == 0
}

// Zoom is the zoom level of c (meaningless for an invalid cell).
func (c Cell) Zoom() int { return MaxZoom - bits.TrailingZeros64(uint64(c))/2 }

func (c Cell) lsb() uint64 { return uint64(c) & -uint64(c) }

// Parent returns the tile at zoom z (clamped to 0..MaxZoom) that contains c; c itself when
// z is not coarser than c.
func (c Cell) Parent(z int) Cell {
	z = clampZoom(z)
	if z >= c.Zoom() {
		return c
	}
	lsb := lsbAt(z)
	return Cell(uint64(c)&-lsb | lsb)
}

func clampZoom(z int) int { return max(0, min(z, MaxZoom)) }

// Range returns the smallest and largest keys of c's descendants at any zoom, c included:
// the cells inside tile c are exactly those with lo <= key <= hi, one range scan.
func (c Cell) Range() (lo, hi Cell) {
	l := c.lsb()
	return Cell(uint64(c) - l + 1), Cell(uint64(c) + l - 1)
}

// TileRange is the key range of tile t's descendants (see Cell.Range); both are zero if
// t is not a valid tile.
func TileRange(t Tile) (lo, hi Cell) {
	c := CellFromTile(t)
	if c == 0 {
		return 0, 0
	}
	return c.Range()
}

// Contains reports whether d lies in tile c (d == c included).
func (c Cell) Contains(d Cell) bool {
	lo, hi := c.Range()
	return lo <= d && d <= hi
}

// Tile returns the x, y, z of c.
func (c Cell) Tile() Tile {
	z := c.Zoom()
	digits := uint64(c) >> (posBits - 2*z)
	return Tile{X: squeeze(digits), Y: squeeze(digits >> 1), Z: z}
}

// Bound is c's extent in lon/lat.
func (c Cell) Bound() orb.Bound {
	t, z := c.Tile(), c.Zoom()
	nw := toLonLat(tilePt{float64(t.X), float64(t.Y)}, z)
	se := toLonLat(tilePt{float64(t.X) + 1, float64(t.Y) + 1}, z)
	return orb.Bound{Min: orb.Point{nw[0], se[1]}, Max: orb.Point{se[0], nw[1]}}
}

// Polygon is c's outline in lon/lat, a closed counter-clockwise ring.
func (c Cell) Polygon() orb.Polygon { return c.Bound().ToPolygon() }

// Center is the centre of c in Web Mercator, in lon/lat (a little poleward of the
// centre of its lon/lat Bound).
func (c Cell) Center() orb.Point {
	t := c.Tile()
	return toLonLat(tilePt{float64(t.X) + 0.5, float64(t.Y) + 0.5}, c.Zoom())
}

// String formats c as "z/x/y", or "invalid(0x…)" for an invalid key.
func (c Cell) String() string {
	if !c.Valid() {
		return fmt.Sprintf("invalid(%#x)", uint64(c))
	}
	return c.Tile().String()
}
