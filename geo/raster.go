package geo

import (
	"math"
	"time"

	"github.com/paulmach/orb"
)

// Visit is a cell a track entered, and when.
type Visit struct {
	Cell Cell
	T    time.Time // interpolated along the step that entered the cell
}

// RasterConfig sets how Rasterize bridges the steps between consecutive fixes.
type RasterConfig struct {
	Zoom    int           // cell zoom, clamped to 0..MaxZoom
	MaxGap  time.Duration // longest step in time that is walked
	MaxStep float64       // longest step in metres that is walked
}

// DefaultRaster bridges steps of up to 2 minutes and 500 m with zoom-18 cells.
var DefaultRaster = RasterConfig{Zoom: DefaultZoom, MaxGap: 2 * time.Minute, MaxStep: 500}

// maxWalk bounds the cells of one walked step whatever the config (a 500 m step crosses
// about 10 zoom-18 cells, tens of thousands at zoom 30).
const maxWalk = 1 << 16

// maxMercatorLat is where Web Mercator tiles end.
const maxMercatorLat = 85.05112878

// Rasterize returns the cells a track (filtered, in time order) passes through, in order,
// each with the time it was entered; a cell appears again each time the track re-enters
// it, so callers can bucket visits by hour. Each step from one fix to the next is walked
// through every cell the straight line (in Web Mercator) crosses, with times interpolated
// along it, when it spans at most MaxGap and MaxStep; longer steps are gaps, where only the
// fix at each end counts.
func Rasterize(fixes []Fix, c RasterConfig) []Visit {
	r := rasterizer{c: c, z: clampZoom(c.Zoom)}
	for i, f := range fixes {
		if i > 0 && r.bridges(fixes[i-1], f) {
			r.step(fixes[i-1], f)
		} else {
			r.enter(CellAt(f.Point, r.z), f.T)
		}
	}
	return r.visits
}

type rasterizer struct {
	c      RasterConfig
	z      int
	visits []Visit
}

// enter records a visit unless the track is already in that cell.
func (r *rasterizer) enter(c Cell, t time.Time) {
	if n := len(r.visits); n == 0 || r.visits[n-1].Cell != c {
		r.visits = append(r.visits, Visit{Cell: c, T: t})
	}
}

// bridges reports whether the step from a to b is walked: short enough in time and
// metres, and crossing no more cells than its length allows (near the poles, or across
// the antimeridian, a short step can span half the tile world). A straight step of d
// metres crosses at most ⌈|Δx|⌉+⌈|Δy|⌉+1 ≤ 3+√2·d/w cells of width w: a 12 m step past
// a corner crosses 3.
func (r *rasterizer) bridges(a, b Fix) bool {
	dt, d := b.T.Sub(a.T), Distance(a.Point, b.Point)
	if dt < 0 || dt > r.c.MaxGap || !(d <= r.c.MaxStep) {
		return false
	}
	n := walkLen(toTile(a.Point, r.z), toTile(b.Point, r.z))
	return n <= maxWalk && float64(n) <= 3+2*d/r.cellMetres((a.Point[1]+b.Point[1])/2)
}

// cellMetres is the width of a cell at latitude lat.
func (r *rasterizer) cellMetres(lat float64) float64 {
	lat = max(-maxMercatorLat, min(lat, maxMercatorLat))
	return 2 * math.Pi * orb.EarthRadius * math.Cos(lat*math.Pi/180) / math.Ldexp(1, r.z)
}

// step walks the cells from fix a to fix b.
func (r *rasterizer) step(a, b Fix) {
	dt := float64(b.T.Sub(a.T))
	walk(toTile(a.Point, r.z), toTile(b.Point, r.z), func(x, y int, t float64) {
		r.enter(cellXY(uint32(x), uint32(y), r.z), a.T.Add(time.Duration(t*dt)))
	})
}
