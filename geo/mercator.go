package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// tilePt is a position in tile space at some zoom z: Web Mercator scaled so that tile (x, y)
// covers [x, x+1) × [y, y+1); x grows east from 180°W, y grows south from 85.0511°N.
type tilePt struct{ X, Y float64 }

// toTile maps p into tile space at zoom z, clamped to the world [0, 2^z) × [0, 2^z):
// latitudes beyond ±85.0511° (even beyond ±90°) land on the top or bottom row, and NaN on 0.
func toTile(p orb.Point, z int) tilePt {
	n := math.Ldexp(1, z)
	s := math.Sin(max(-90, min(p[1], 90)) * (math.Pi / 180)) // constants folded: no divisions
	x := (p[0]*(1.0/360) + 0.5) * n
	y := (0.5 - math.Log((1+s)/(1-s))*(1/(4*math.Pi))) * n
	return tilePt{clampTile(x, n), clampTile(y, n)}
}

func clampTile(v, n float64) float64 {
	switch {
	case !(v > 0): // also NaN
		return 0
	case v >= n:
		return math.Nextafter(n, 0)
	}
	return v
}

// toLonLat maps a tile-space position at zoom z back to lon/lat.
func toLonLat(t tilePt, z int) orb.Point {
	n := math.Ldexp(1, z)
	lon := t.X/n*360 - 180
	lat := math.Atan(math.Sinh(math.Pi*(1-2*t.Y/n))) * 180 / math.Pi
	return orb.Point{lon, lat}
}
