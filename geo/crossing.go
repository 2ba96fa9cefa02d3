package geo

import (
	"cmp"
	"slices"

	"github.com/paulmach/orb"
)

// edge is one side of a ring with its place: ring index, index of its first vertex in the
// ring, and its rank among the ring's non-degenerate edges (for adjacency).
type edge struct {
	a, b       orb.Point
	box        orb.Bound
	ring, from int
	rank, of   int // rank among the ring's `of` non-degenerate edges
}

func newEdge(a, b orb.Point) edge {
	return edge{a: a, b: b, box: orb.Bound{Min: orb.Point{min(a[0], b[0]), min(a[1], b[1])}, Max: orb.Point{max(a[0], b[0]), max(a[1], b[1])}}}
}

func (e edge) lo(axis int) float64 { return e.box.Min[axis] }
func (e edge) hi(axis int) float64 { return e.box.Max[axis] }

// polygonCrossing reports the first pair of edges of poly that cross or touch, other than
// neighbours meeting at their shared vertex (which must not fold back over each other).
// It sweeps the edges sorted along the axis where they overlap least, testing each against
// the edges whose extent it overlaps: near O(n log n) on real outlines, O(n²) at worst,
// which the vertex limit bounds.
func polygonCrossing(poly orb.Polygon, at []int) error {
	edges := polygonEdges(poly)
	axis := sweepAxis(edges)
	slices.SortFunc(edges, func(e, f edge) int { return cmp.Compare(e.lo(axis), f.lo(axis)) })
	var active []edge
	for _, e := range edges {
		active = slices.DeleteFunc(active, func(f edge) bool { return f.hi(axis) < e.lo(axis) })
		for _, f := range active {
			if edgesConflict(e, f) {
				return crossingError(e, f, at)
			}
		}
		active = append(active, e)
	}
	return nil
}

func polygonEdges(poly orb.Polygon) []edge {
	var edges []edge
	for j, ring := range poly {
		start := len(edges)
		for k := 0; k+1 < len(ring); k++ {
			if ring[k] != ring[k+1] {
				e := newEdge(ring[k], ring[k+1])
				e.ring, e.from, e.rank = j, k, len(edges)-start
				edges = append(edges, e)
			}
		}
		for i := start; i < len(edges); i++ {
			edges[i].of = len(edges) - start
		}
	}
	return edges
}

// sweepAxis picks the axis (0 = lon, 1 = lat) along which the edges' extents sum to the
// smallest share of the whole extent, so fewer edges are active at once.
func sweepAxis(edges []edge) int {
	var share [2]float64
	for axis := range share {
		lo, hi, sum := 1e300, -1e300, 0.0
		for _, e := range edges {
			lo, hi, sum = min(lo, e.lo(axis)), max(hi, e.hi(axis)), sum+e.hi(axis)-e.lo(axis)
		}
		share[axis] = sum / max(hi-lo, 1e-300)
	}
	if share[1] < share[0] {
		return 1
	}
	return 0
}

func crossingError(e, f edge, at []int) error {
	if f.ring > e.ring || (f.ring == e.ring && f.from > e.from) {
		e, f = f, e // name the later edge
	}
	path := pointer(append(at[:len(at):len(at)], e.ring, e.from)...)
	if e.ring == f.ring {
		return errAt(path, "ring crosses itself: edge %d-%d meets edge %d-%d", e.from, e.from+1, f.from, f.from+1)
	}
	return errAt(path, "ring %d edge %d-%d meets ring %d edge %d-%d", e.ring, e.from, e.from+1, f.ring, f.from, f.from+1)
}

// edgesConflict reports whether two edges of a polygon share more than neighbours may.
func edgesConflict(e, f edge) bool {
	if !e.box.Intersects(f.box) {
		return false
	}
	if v, p, q, ok := neighbours(e, f); ok {
		return foldsBack(v, p, q)
	}
	return segmentsMeet(e.a, e.b, f.a, f.b)
}

// neighbours reports whether e and f follow each other in their ring, and if so returns
// their shared vertex v and their other ends p (of the first) and q (of the second).
func neighbours(e, f edge) (v, p, q orb.Point, ok bool) {
	if e.ring != f.ring {
		return v, p, q, false
	}
	if e.rank > f.rank {
		e, f = f, e
	}
	switch {
	case f.rank == e.rank+1:
		return e.b, e.a, f.b, true
	case e.rank == 0 && f.rank == f.of-1:
		return f.b, f.a, e.b, true
	}
	return v, p, q, false
}

// foldsBack reports whether the edges v→p and v→q lie along the same ray, overlapping.
func foldsBack(v, p, q orb.Point) bool {
	return orient(v, p, q) == 0 && (p[0]-v[0])*(q[0]-v[0])+(p[1]-v[1])*(q[1]-v[1]) > 0
}

// orient is the sign of the turn a→b→c: > 0 counter-clockwise, < 0 clockwise, 0 collinear.
func orient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

// segmentsMeet reports whether the closed segments ab and cd share at least one point.
func segmentsMeet(a, b, c, d orb.Point) bool {
	d1, d2 := orient(c, d, a), orient(c, d, b)
	d3, d4 := orient(a, b, c), orient(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && onSegment(c, d, a)) || (d2 == 0 && onSegment(c, d, b)) ||
		(d3 == 0 && onSegment(a, b, c)) || (d4 == 0 && onSegment(a, b, d))
}

// onSegment reports whether p, known to be collinear with ab, lies within its box.
func onSegment(a, b, p orb.Point) bool {
	return min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) && min(a[1], b[1]) <= p[1] && p[1] <= max(a[1], b[1])
}
