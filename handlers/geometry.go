package handlers

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/beatgrid/beatgrid"
	"github.com/paulmach/orb"
)

// geometryIn is a GeoJSON geometry as sent: decoded strictly, so a position must have two or
// three numbers and no member is ignored.
type geometryIn struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
	BBox        []float64       `json:"bbox,omitempty"` // allowed by RFC 7946 §5, not used
}

// geometryDecoders read the coordinates of each GeoJSON geometry type taken; path is the
// coordinates' JSON pointer.
var geometryDecoders = map[string]func(raw json.RawMessage, typ, path string) (orb.Geometry, error){
	"Point":           coordinates("a position", toPoint),
	"LineString":      coordinates("an array of positions", toLine),
	"MultiLineString": coordinates("an array of lines", toMultiLine),
	"Polygon":         coordinates("an array of rings of positions", toPolygon),
	"MultiPolygon":    coordinates("an array of polygons", toMultiPolygon),
}

// parseGeometry reads raw strictly as a GeoJSON geometry of one of types; field is its JSON
// pointer in the body. It returns nil for an absent or null geometry. Coordinates are checked
// for shape only; callers validate them (package geo).
func parseGeometry(raw json.RawMessage, field string, types ...string) (orb.Geometry, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var in geometryIn
	if err := strictUnmarshal(raw, &in); err != nil {
		return nil, beatgrid.FieldErrorf(field, "not a GeoJSON geometry object")
	}
	if !slices.Contains(types, in.Type) {
		return nil, beatgrid.FieldErrorf(field+"/type", "must be %s", strings.Join(types, " or "))
	}
	return geometryDecoders[in.Type](in.Coordinates, in.Type, field+"/coordinates")
}

// coordinates makes a decoder of coordinates of shape C, converted by conv.
func coordinates[C any, G orb.Geometry](shape string, conv func(C, string) (G, error)) func(json.RawMessage, string, string) (orb.Geometry, error) {
	return func(raw json.RawMessage, typ, path string) (orb.Geometry, error) {
		var c C
		if err := strictUnmarshal(raw, &c); err != nil {
			return nil, beatgrid.FieldErrorf(path, "a %s's coordinates are %s", typ, shape)
		}
		return conv(c, path)
	}
}

// toPoint converts a position of two numbers (lon, lat) or three (with an altitude, dropped).
func toPoint(pos []float64, path string) (orb.Point, error) {
	if len(pos) != 2 && len(pos) != 3 {
		return orb.Point{}, beatgrid.FieldErrorf(path, "a position is [lon, lat] or [lon, lat, alt]")
	}
	return orb.Point{pos[0], pos[1]}, nil
}

// each converts every element of xs with conv, extending path by the element's index.
func each[C, T any](xs []C, path string, conv func(C, string) (T, error)) ([]T, error) {
	out := make([]T, len(xs))
	for i, x := range xs {
		v, err := conv(x, path+"/"+itoa(i))
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func toLine(c [][]float64, path string) (orb.LineString, error) { return each(c, path, toPoint) }

func toMultiLine(c [][][]float64, path string) (orb.MultiLineString, error) {
	return each(c, path, toLine)
}

func toRing(c [][]float64, path string) (orb.Ring, error) { return each(c, path, toPoint) }

func toPolygon(c [][][]float64, path string) (orb.Polygon, error) { return each(c, path, toRing) }

func toMultiPolygon(c [][][][]float64, path string) (orb.MultiPolygon, error) {
	return each(c, path, toPolygon)
}

func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
