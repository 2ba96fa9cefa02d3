package geo

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// Error says what is wrong with a geometry and where: Path is a JSON pointer below the
// geometry ("/coordinates/0/5" is ring 0, vertex 5 of a Polygon).
type Error struct {
	Path   string
	Reason string
}

// Error formats e as "geo: <path>: <reason>".
func (e *Error) Error() string { return "geo: " + e.Path + ": " + e.Reason }

func errAt(path, format string, args ...any) *Error {
	return &Error{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// pointer is the JSON pointer of a position or ring: "/coordinates" followed by the indexes.
func pointer(at ...int) string {
	var b strings.Builder
	b.WriteString("/coordinates")
	for _, i := range at {
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(i))
	}
	return b.String()
}

// ValidPoint checks that p is a finite WGS84 lon/lat. A latitude out of range that would be
// a valid longitude, with a longitude that would be a valid latitude, is reported as
// likely swapped axes.
func ValidPoint(p orb.Point, path string) error {
	if reason := pointProblem(p); reason != "" {
		return &Error{Path: path, Reason: reason}
	}
	return nil
}

func pointProblem(p orb.Point) string {
	lon, lat := p[0], p[1]
	switch {
	case !finite(lon) || !finite(lat):
		return "coordinates must be finite numbers"
	case lon < -180 || lon > 180:
		return fmt.Sprintf("longitude %g is outside [-180, 180]", lon)
	case (lat < -90 || lat > 90) && math.Abs(lon) <= 90 && math.Abs(lat) <= 180:
		return fmt.Sprintf("latitude %g is outside [-90, 90]; the position looks like [lat, lon], GeoJSON order is [lon, lat]", lat)
	case lat < -90 || lat > 90:
		return fmt.Sprintf("latitude %g is outside [-90, 90]", lat)
	}
	return ""
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// validPositions checks each position of pts; at is the index path of pts itself.
func validPositions(pts []orb.Point, at ...int) error {
	return eachIn(pts, at, func(p orb.Point, at []int) error {
		if reason := pointProblem(p); reason != "" {
			return &Error{Path: pointer(at...), Reason: reason}
		}
		return nil
	})
}

// ValidateArea checks an area (Polygon or MultiPolygon): at most maxVertices positions in
// all, finite in-range coordinates, closed rings of at least four positions that enclose
// some area, and no ring that crosses or touches itself or another ring of its polygon.
// Overlaps between the polygons of a MultiPolygon are not checked.
func ValidateArea(g orb.Geometry, maxVertices int) error {
	polys, at, err := areaPolygons(g)
	if err != nil {
		return err
	}
	if err := vertexLimit(polys, at, maxVertices); err != nil {
		return err
	}
	for i, poly := range polys {
		if err := validPolygon(poly, at(i)); err != nil {
			return err
		}
	}
	return nil
}

// areaPolygons unpacks an area; at(i) is the index path of polygon i.
func areaPolygons(g orb.Geometry) ([]orb.Polygon, func(i int) []int, error) {
	switch g := g.(type) {
	case orb.Polygon:
		return []orb.Polygon{g}, func(int) []int { return nil }, nil
	case orb.MultiPolygon:
		if len(g) == 0 {
			return nil, nil, errAt("/coordinates", "geometry is empty")
		}
		return g, func(i int) []int { return []int{i} }, nil
	case nil:
		return nil, nil, errAt("", "geometry is empty")
	default:
		return nil, nil, errAt("/type", "must be Polygon or MultiPolygon, not %s", g.GeoJSONType())
	}
}

// vertexLimit names the first ring at which the running count of positions passes max.
func vertexLimit(polys []orb.Polygon, at func(int) []int, max int) error {
	n := 0
	for i, poly := range polys {
		for j, ring := range poly {
			if n += len(ring); n > max {
				return errAt(pointer(append(at(i), j)...), "more than %d vertices", max)
			}
		}
	}
	return nil
}

func validPolygon(poly orb.Polygon, at []int) error {
	if len(poly) == 0 {
		return errAt(pointer(at...), "polygon has no rings")
	}
	for j, ring := range poly {
		if err := validRing(ring, append(at, j)); err != nil {
			return err
		}
	}
	return polygonCrossing(poly, at)
}

func validRing(ring orb.Ring, at []int) error {
	path := pointer(at...)
	if len(ring) < 4 {
		return errAt(path, "a ring needs at least 4 positions, has %d", len(ring))
	}
	if err := validPositions(ring, at...); err != nil {
		return err
	}
	if !ring.Closed() {
		return errAt(path, "ring is not closed: the last position must equal the first")
	}
	if collinear(ring) {
		return errAt(path, "ring encloses no area: all its positions lie on one line")
	}
	return nil
}

// collinear reports whether all positions of r lie on one line (or one point).
func collinear(r orb.Ring) bool {
	k := slices.IndexFunc(r, func(p orb.Point) bool { return p != r[0] })
	if k < 0 {
		return true
	}
	return !slices.ContainsFunc(r[k+1:], func(p orb.Point) bool { return orient(r[0], r[k], p) != 0 })
}

// ValidateLine checks a route or segment (LineString or MultiLineString): at most
// maxVertices positions in all, finite in-range coordinates, and lines of at least two
// positions that do not all coincide. Lines may cross themselves (patrols loop).
func ValidateLine(g orb.Geometry, maxVertices int) error {
	lines, at, err := lineStrings(g)
	if err != nil {
		return err
	}
	return validLines(lines, at, maxVertices)
}

// lineStrings unpacks a line geometry; at(i) is the index path of line i.
func lineStrings(g orb.Geometry) ([]orb.LineString, func(i int) []int, error) {
	switch g := g.(type) {
	case orb.LineString:
		return []orb.LineString{g}, func(int) []int { return nil }, nil
	case orb.MultiLineString:
		if len(g) == 0 {
			return nil, nil, errAt("/coordinates", "geometry is empty")
		}
		return g, func(i int) []int { return []int{i} }, nil
	case nil:
		return nil, nil, errAt("", "geometry is empty")
	default:
		return nil, nil, errAt("/type", "must be LineString or MultiLineString, not %s", g.GeoJSONType())
	}
}

func validLines(lines []orb.LineString, at func(int) []int, max int) error {
	n := 0
	for i, ls := range lines {
		if n += len(ls); n > max {
			return errAt(pointer(at(i)...), "more than %d vertices", max)
		}
		if err := validLine(ls, at(i)); err != nil {
			return err
		}
	}
	return nil
}

func validLine(ls orb.LineString, at []int) error {
	if len(ls) < 2 {
		return errAt(pointer(at...), "a line needs at least 2 positions, has %d", len(ls))
	}
	if err := validPositions(ls, at...); err != nil {
		return err
	}
	for _, p := range ls[1:] {
		if p != ls[0] {
			return nil
		}
	}
	return errAt(pointer(at...), "all positions of the line are the same point")
}
