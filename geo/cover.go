package geo

import (
	"errors"
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// ErrTooManyCells is returned by Cover when the area needs more cells than allowed.
var ErrTooManyCells = errors.New("geo: area needs more cells than allowed")

// Cover returns, sorted, the cells at zoom z (clamped to 0..MaxZoom) that intersect the
// area g, a Polygon or MultiPolygon; holes are honoured. Edges are straight lines in Web
// Mercator, as a map draws them. The cover is exact: the cells the boundary passes through
// (a supercover walk of each edge) plus the cells whose centre lies inside (a scanline fill
// at each row's centre). It fails with ErrTooManyCells beyond maxCells cells, before doing
// much more work than that, and with an *Error for other geometry types.
func Cover(g orb.Geometry, z, maxCells int) ([]Cell, error) {
	polys, _, err := areaPolygons(g)
	if err != nil {
		return nil, err
	}
	cv := coverer{z: clampZoom(z), max: maxCells}
	for _, poly := range polys {
		if err := cv.polygon(poly); err != nil {
			return nil, err
		}
	}
	slices.Sort(cv.cells)
	cv.cells = slices.Compact(cv.cells)
	if len(cv.cells) > maxCells {
		return nil, ErrTooManyCells
	}
	return cv.cells, nil
}

// coverer collects cells; duplicates are allowed until the end, up to twice the limit.
type coverer struct {
	z, max int
	cells  []Cell
}

func (cv *coverer) room(n int) bool { return len(cv.cells)+n-cv.max <= cv.max }

func (cv *coverer) add(x, y int) { cv.cells = append(cv.cells, cellXY(uint32(x), uint32(y), cv.z)) }

func (cv *coverer) polygon(poly orb.Polygon) error {
	rings := cv.project(poly)
	top, bottom := rowSpan(rings)
	if bottom < top {
		return nil // no positions
	}
	if bottom-top+1 > cv.max { // the boundary visits every row it spans
		return ErrTooManyCells
	}
	rows := make([][]float64, bottom-top+1)
	for _, ring := range rings {
		for i := range ring {
			a, b := ring[i], ring[(i+1)%len(ring)]
			if err := cv.edge(a, b); err != nil {
				return err
			}
			addCrossings(rows, top, a, b)
		}
	}
	return cv.fill(rows, top)
}

// project maps the rings into tile space at the cover's zoom.
func (cv *coverer) project(poly orb.Polygon) [][]tilePt {
	rings := make([][]tilePt, len(poly))
	for j, ring := range poly {
		rings[j] = make([]tilePt, len(ring))
		for k, p := range ring {
			rings[j][k] = toTile(p, cv.z)
		}
	}
	return rings
}

func rowSpan(rings [][]tilePt) (top, bottom int) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, ring := range rings {
		for _, p := range ring {
			lo, hi = min(lo, p.Y), max(hi, p.Y)
		}
	}
	if lo > hi {
		return 0, -1
	}
	return int(lo), int(hi)
}

// edge adds the cells the boundary edge a→b passes through.
func (cv *coverer) edge(a, b tilePt) error {
	if !cv.room(walkLen(a, b)) {
		return ErrTooManyCells
	}
	walk(a, b, func(x, y int, _ float64) { cv.add(x, y) })
	return nil
}

// addCrossings records where edge a→b crosses the centre line y = row+0.5 of each row it
// spans, counting an end on the line as above it (so each crossing is counted once).
func addCrossings(rows [][]float64, top int, a, b tilePt) {
	lo, hi := min(a.Y, b.Y), max(a.Y, b.Y)
	first := max(int(math.Ceil(lo-0.5)), top)
	for r := first; r < len(rows)+top && float64(r)+0.5 < hi; r++ {
		c := float64(r) + 0.5
		rows[r-top] = append(rows[r-top], a.X+(c-a.Y)*(b.X-a.X)/(b.Y-a.Y))
	}
}

// fill adds, row by row, the cells whose centre lies between pairs of crossings.
func (cv *coverer) fill(rows [][]float64, top int) error {
	for i, xs := range rows {
		slices.Sort(xs)
		for k := 0; k+1 < len(xs); k += 2 {
			from, to := int(math.Ceil(xs[k]-0.5)), int(math.Floor(xs[k+1]-0.5))
			if !cv.room(to - from + 1) {
				return ErrTooManyCells
			}
			for x := from; x <= to; x++ {
				cv.add(x, top+i)
			}
		}
	}
	return nil
}
