package geo

import "github.com/paulmach/orb"

// ChinaBound is the box inside which the public GCJ-02 formula shifts positions (and outside
// which FromGCJ02 and ToGCJ02 leave them alone). It also serves as a region for InRegion.
var ChinaBound = orb.Bound{Min: orb.Point{72.004, 0.8293}, Max: orb.Point{137.8347, 55.8271}}

// InRegion checks that every position of g (any GeoJSON geometry type except
// GeometryCollection) lies in region, the area a service expects its data in. A position
// outside the region whose swapped axes would fall inside is reported as swapped; this
// catches [lat, lon] input that ValidPoint cannot, such as [47.37, 8.54] for Zürich.
func InRegion(g orb.Geometry, region orb.Bound) error {
	if _, ok := g.(orb.Collection); ok {
		return errAt("/type", "GeometryCollection is not supported")
	}
	return eachPosition(g, func(p orb.Point, at []int) error {
		switch {
		case region.Contains(p):
			return nil
		case region.Contains(orb.Point{p[1], p[0]}):
			return errAt(pointer(at...), "position [%g, %g] is outside the region but [%g, %g] is inside: axes swapped? GeoJSON order is [lon, lat]", p[0], p[1], p[1], p[0])
		default:
			return errAt(pointer(at...), "position [%g, %g] is outside the region", p[0], p[1])
		}
	})
}

// eachPosition calls fn for each position of g with its index path below "coordinates",
// stopping at the first error. Collections and bounds have no positions here.
func eachPosition(g orb.Geometry, fn func(p orb.Point, at []int) error) error {
	switch g := g.(type) {
	case orb.Point:
		return fn(g, nil)
	case orb.MultiPoint:
		return eachIn(g, nil, fn)
	case orb.LineString:
		return eachIn(g, nil, fn)
	case orb.Ring:
		return eachIn(g, nil, fn)
	case orb.MultiLineString:
		return eachNested(len(g), func(i int) []orb.Point { return g[i] }, nil, fn)
	case orb.Polygon:
		return eachNested(len(g), func(i int) []orb.Point { return g[i] }, nil, fn)
	case orb.MultiPolygon:
		for i, poly := range g {
			if err := eachNested(len(poly), func(j int) []orb.Point { return poly[j] }, []int{i}, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func eachNested(n int, part func(i int) []orb.Point, at []int, fn func(orb.Point, []int) error) error {
	for i := 0; i < n; i++ {
		if err := eachIn(part(i), append(at[:len(at):len(at)], i), fn); err != nil {
			return err
		}
	}
	return nil
}

func eachIn(pts []orb.Point, at []int, fn func(orb.Point, []int) error) error {
	at = append(at[:len(at):len(at)], 0)
	for k, p := range pts {
		at[len(at)-1] = k
		if err := fn(p, at); err != nil {
			return err
		}
	}
	return nil
}
