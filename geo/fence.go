package geo

import (
	"math"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
)

// Distance is the great-circle (haversine) distance between a and b in metres.
func Distance(a, b orb.Point) float64 { return orbgeo.DistanceHaversine(a, b) }

// WithinRadius reports whether p lies within r metres of centre (boundary included).
func WithinRadius(p, centre orb.Point, r float64) bool { return Distance(p, centre) <= r }

// DistanceToLine is the distance in metres from p to the nearest point of ls, measured in
// a local equirectangular projection around p: within 0.06% of the haversine figure up to
// 10 km away, at latitudes up to 60°. It is +Inf for an empty line.
func DistanceToLine(p orb.Point, ls orb.LineString) float64 {
	pl := planeAt(p)
	xy := pl.line(ls)
	switch len(xy) {
	case 0:
		return math.Inf(1)
	case 1:
		return math.Hypot(xy[0].x, xy[0].y)
	}
	best := math.Inf(1)
	for i := 0; i+1 < len(xy); i++ {
		best = min(best, segDist2(vec{}, xy[i], xy[i+1]))
	}
	return math.Sqrt(best)
}

// Snap finds the checkpoint nearest to p within radius metres (boundary included): its
// index and distance, and ok = false if none is that close.
func Snap(p orb.Point, checkpoints []orb.Point, radius float64) (i int, d float64, ok bool) {
	i, d = -1, math.Inf(1)
	for k, c := range checkpoints {
		if dk := Distance(p, c); dk < d {
			i, d = k, dk
		}
	}
	if i < 0 || d > radius {
		return -1, d, false
	}
	return i, d, true
}

// vec is a position in metres on a local plane.
type vec struct{ x, y float64 }

// plane is an equirectangular projection centred on an origin, in metres.
type plane struct {
	origin orb.Point
	kx, ky float64
}

func planeAt(origin orb.Point) plane {
	ky := orb.EarthRadius * math.Pi / 180
	return plane{origin: origin, kx: ky * math.Cos(origin[1]*math.Pi/180), ky: ky}
}

func (pl plane) xy(p orb.Point) vec {
	return vec{(p[0] - pl.origin[0]) * pl.kx, (p[1] - pl.origin[1]) * pl.ky}
}

func (pl plane) line(ls orb.LineString) []vec {
	out := make([]vec, len(ls))
	for i, p := range ls {
		out[i] = pl.xy(p)
	}
	return out
}

// segDist2 is the squared distance from p to the segment ab.
func segDist2(p, a, b vec) float64 {
	dx, dy := b.x-a.x, b.y-a.y
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = max(0, min(1, ((p.x-a.x)*dx+(p.y-a.y)*dy)/l2))
	}
	ex, ey := a.x+t*dx-p.x, a.y+t*dy-p.y
	return ex*ex + ey*ey
}
