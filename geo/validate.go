// Package geo holds beatgrid's geometry: validation of what comes in, and (to come) grid
// cells, track rasterizing, geofences and CRS conversion. Pure functions on orb types: no I/O,
// no HTTP, no database.
package geo

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

// Error says what is wrong with a geometry and where: Path is a JSON pointer below the
// geometry ("/coordinates/0/5" is ring 0, vertex 5 of a Polygon).
type Error struct {
	Path   string
	Reason string
}

func (e *Error) Error() string { return "geo: " + e.Path + ": " + e.Reason }

func errAt(path, format string, args ...any) *Error {
	return &Error{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// ValidPoint checks that p is a finite WGS84 lon/lat.
func ValidPoint(p orb.Point, path string) error {
	lon, lat := p[0], p[1]
	switch {
	case math.IsNaN(lon) || math.IsNaN(lat) || math.IsInf(lon, 0) || math.IsInf(lat, 0):
		return errAt(path, "coordinates must be finite numbers")
	case lon < -180 || lon > 180:
		return errAt(path, "longitude %g is outside [-180, 180]", lon)
	case lat < -90 || lat > 90:
		return errAt(path, "latitude %g is outside [-90, 90]", lat)
	}
	return nil
}

// ValidateArea checks an area (Polygon or MultiPolygon): finite in-range coordinates, closed
// rings of at least four positions, and at most maxVertices positions in all.
func ValidateArea(g orb.Geometry, maxVertices int) error {
	var polys []orb.Polygon
	var prefix func(i int) string
	switch g := g.(type) {
	case orb.Polygon:
		polys, prefix = []orb.Polygon{g}, func(int) string { return "/coordinates" }
	case orb.MultiPolygon:
		polys, prefix = g, func(i int) string { return fmt.Sprintf("/coordinates/%d", i) }
	case nil:
		return errAt("", "geometry is empty")
	default:
		return errAt("/type", "must be Polygon or MultiPolygon, not %s", g.GeoJSONType())
	}
	if len(polys) == 0 {
		return errAt("/coordinates", "geometry is empty")
	}
	n := 0
	for i, poly := range polys {
		if len(poly) == 0 {
			return errAt(prefix(i), "polygon has no rings")
		}
		for j, ring := range poly {
			path := fmt.Sprintf("%s/%d", prefix(i), j)
			if n += len(ring); n > maxVertices {
				return errAt(path, "more than %d vertices", maxVertices)
			}
			if err := validRing(ring, path); err != nil {
				return err
			}
		}
	}
	return nil
}

func validRing(ring orb.Ring, path string) error {
	if len(ring) < 4 {
		return errAt(path, "a ring needs at least 4 positions, has %d", len(ring))
	}
	for k, p := range ring {
		if err := ValidPoint(p, fmt.Sprintf("%s/%d", path, k)); err != nil {
			return err
		}
	}
	if !ring.Closed() {
		return errAt(path, "ring is not closed: the last position must equal the first")
	}
	return nil
}
