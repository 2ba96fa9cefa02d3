package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// Limits of `beatgrid import`. The geometry limits are the server's, so that what is
// rejected here would be rejected there too.
const (
	importMaxFileBytes = 64 << 20 // bytes per input file
	importMaxItems     = 100000   // items in one run, all files together
	defaultRadiusM     = 30       // a checkpoint's radius when the input gives none
	maxRouteVertices   = 10000
	maxKioskVertices   = 5000
	maxKioskSegments   = 50
	maxBeatVertices    = 20000
)

// Input formats.
const (
	fmtGeoJSON = "GeoJSON"
	fmtGPX     = "GPX"
	fmtCSV     = "CSV"
)

// importKind is one kind of thing to import: where it goes and what it is read from.
type importKind struct {
	path    string   // the collection, POSTed to
	formats []string // the input formats it is read from
}

var importKinds = map[string]importKind{
	"beats":       {"/v1/beats", []string{fmtGeoJSON}},
	"routes":      {"/v1/routes", []string{fmtGeoJSON, fmtGPX, fmtCSV}},
	"checkpoints": {"/v1/checkpoints", []string{fmtGeoJSON, fmtGPX, fmtCSV}},
	"kiosks":      {"/v1/kiosks", []string{fmtGeoJSON}},
	"venues":      {"/v1/venues", []string{fmtGeoJSON, fmtCSV}},
}

// formatOf names a file's format by its extension; "" if unknown.
func formatOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".geojson", ".json":
		return fmtGeoJSON
	case ".gpx":
		return fmtGPX
	case ".csv":
		return fmtCSV
	}
	return ""
}

// importItem is one thing to create: the request body, or why it is rejected already.
type importItem struct {
	src    string         // where it came from, "stations.geojson #3"
	body   map[string]any // the POST body; nil when rejected
	reason string         // why it was rejected locally
}

// draft is an item as read from a file, before defaults, CRS conversion and validation.
type draft struct {
	n        int    // 1-based position in its file
	src      string // where it came from
	name     string
	geometry orb.Geometry
	segments orb.MultiLineString // kiosks' guarded segments
	fields   map[string]any      // the body's other fields
	reason   string              // set when the input is already known bad
}

// parseOptions say what the files hold and how to read them.
type parseOptions struct {
	kind string
	org  string
	crs  geo.CRS // positions' CRS unless a file declares its own
}

// errTooManyItems is returned when the input holds more than importMaxItems items.
var errTooManyItems = fmt.Errorf("more than %d items: split the input", importMaxItems)

// parseFile reads path into items; room is how many more items the run takes. An error is
// the whole file's (unreadable, not GeoJSON, too large) or errTooManyItems.
func parseFile(path string, opt parseOptions, room int) ([]importItem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > importMaxFileBytes {
		return nil, fmt.Errorf("file is larger than %d MiB", importMaxFileBytes>>20)
	}
	data, err := io.ReadAll(io.LimitReader(f, importMaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > importMaxFileBytes {
		return nil, fmt.Errorf("file is larger than %d MiB", importMaxFileBytes>>20)
	}
	return parseData(path, formatOf(path), data, opt, room)
}

// parseData reads the contents of file name, in format, into items.
func parseData(name, format string, data []byte, opt parseOptions, room int) ([]importItem, error) {
	drafts, crs, err := readDrafts(name, format, data, opt)
	if err != nil {
		return nil, err
	}
	if len(drafts) > room {
		return nil, errTooManyItems
	}
	stem := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	items := make([]importItem, len(drafts))
	for i, d := range drafts {
		items[i] = finish(d, opt, crs, stem)
	}
	return items, nil
}

// readDrafts dispatches on format; it returns the CRS the positions are in.
func readDrafts(name, format string, data []byte, opt parseOptions) ([]draft, geo.CRS, error) {
	base := filepath.Base(name)
	switch format {
	case fmtGeoJSON:
		return geoJSONDrafts(base, data, opt)
	case fmtGPX:
		d, err := gpxDrafts(base, data, opt.kind)
		return d, opt.crs, err
	case fmtCSV:
		d, err := csvDrafts(base, data, opt.kind)
		return d, opt.crs, err
	}
	return nil, "", fmt.Errorf("unknown format of %s (want .geojson, .json, .gpx or .csv)", base)
}

// finish turns a draft into an item: default name and fields, positions in WGS84, geometry
// checked as the server will check it.
func finish(d draft, opt parseOptions, crs geo.CRS, stem string) importItem {
	it := importItem{src: d.src}
	if d.reason != "" {
		it.reason = d.reason
		return it
	}
	if strings.TrimSpace(d.name) == "" {
		d.name = fmt.Sprintf("%s #%d", stem, d.n)
	}
	if crs == geo.GCJ02 {
		d.geometry = geo.Convert(d.geometry, geo.FromGCJ02)
		if d.segments != nil {
			d.segments = geo.Convert(d.segments, geo.FromGCJ02).(orb.MultiLineString)
		}
	}
	if it.reason = validateDraft(opt.kind, d); it.reason != "" {
		return it
	}
	it.body = bodyOf(opt, d)
	return it
}

// bodyOf is the POST body of a checked draft.
func bodyOf(opt parseOptions, d draft) map[string]any {
	body := map[string]any{"org_unit_id": opt.org, "name": d.name, "geometry": geojson.NewGeometry(d.geometry)}
	for k, v := range d.fields {
		body[k] = v
	}
	switch opt.kind {
	case "checkpoints":
		if _, ok := body["radius_m"]; !ok {
			body["radius_m"] = float64(defaultRadiusM)
		}
		if _, ok := body["tag"]; !ok {
			body["tag"] = d.name
		}
	case "kiosks":
		body["segments"] = geojson.NewGeometry(d.segments)
	}
	return body
}

// validateDraft checks a draft's geometry for its kind; "" if good, else "field: reason".
func validateDraft(kind string, d draft) string {
	if d.geometry == nil {
		return "/geometry: required"
	}
	switch kind {
	case "checkpoints", "venues":
		return checkPoint(d.geometry)
	case "routes":
		if _, ok := d.geometry.(orb.LineString); !ok {
			return "/geometry/type: must be LineString, not " + d.geometry.GeoJSONType()
		}
		return geoReason("/geometry", geo.ValidateLine(d.geometry, maxRouteVertices))
	case "kiosks":
		if r := checkPoint(d.geometry); r != "" {
			return r
		}
		if len(d.segments) > maxKioskSegments {
			return fmt.Sprintf("/segments/coordinates: more than %d segments", maxKioskSegments)
		}
		return geoReason("/segments", geo.ValidateLine(d.segments, maxKioskVertices))
	case "beats":
		return geoReason("/geometry", geo.ValidateArea(d.geometry, maxBeatVertices))
	}
	return "unknown kind " + kind
}

func checkPoint(g orb.Geometry) string {
	p, ok := g.(orb.Point)
	if !ok {
		return "/geometry/type: must be Point, not " + g.GeoJSONType()
	}
	return geoReason("/geometry", geo.ValidPoint(p, "/coordinates"))
}

// geoReason formats a geometry error below field as "field/path: reason"; "" for nil.
func geoReason(field string, err error) string {
	var ge *geo.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ge):
		return field + ge.Path + ": " + ge.Reason
	}
	return field + ": " + err.Error()
}

// ---- GeoJSON ----

// gjDoc is the top of a GeoJSON document: a FeatureCollection, a Feature or a geometry.
type gjDoc struct {
	Type     string            `json:"type"`
	Features []json.RawMessage `json:"features"`
	CRS      *struct {
		Properties struct {
			Name string `json:"name"`
		} `json:"properties"`
	} `json:"crs"`
}

type gjFeature struct {
	Type       string                     `json:"type"`
	Geometry   json.RawMessage            `json:"geometry"`
	Properties map[string]json.RawMessage `json:"properties"`
}

// geoJSONDrafts reads a GeoJSON document: each feature one draft. A document's "crs"
// member (GeoJSON 2008) naming a known CRS overrides opt.crs.
func geoJSONDrafts(base string, data []byte, opt parseOptions) ([]draft, geo.CRS, error) {
	var doc gjDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, "", fmt.Errorf("not GeoJSON: %w", err)
	}
	crs, err := docCRS(doc, opt.crs)
	if err != nil {
		return nil, "", err
	}
	var features []json.RawMessage
	switch doc.Type {
	case "FeatureCollection":
		features = doc.Features
	case "Feature":
		features = []json.RawMessage{data}
	case "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection":
		features = []json.RawMessage{[]byte(`{"type":"Feature","geometry":` + string(data) + `}`)}
	default:
		return nil, "", fmt.Errorf("not GeoJSON: type %q", doc.Type)
	}
	if len(features) > importMaxItems {
		return nil, "", errTooManyItems
	}
	drafts := make([]draft, len(features))
	for i, raw := range features {
		drafts[i] = featureDraft(raw, opt.kind)
		drafts[i].n, drafts[i].src = i+1, fmt.Sprintf("%s #%d", base, i+1)
	}
	return drafts, crs, nil
}

// docCRS is the CRS a document declares in its "crs" member, else def.
func docCRS(doc gjDoc, def geo.CRS) (geo.CRS, error) {
	if doc.CRS == nil || doc.CRS.Properties.Name == "" {
		return def, nil
	}
	name := doc.CRS.Properties.Name
	norm := strings.ToUpper(strings.NewReplacer("-", "", "_", "").Replace(name))
	switch {
	case strings.Contains(norm, "GCJ02"):
		return geo.GCJ02, nil
	case strings.HasSuffix(norm, "CRS84"), strings.HasSuffix(norm, ":4326"), strings.Contains(norm, "WGS84"):
		return geo.WGS84, nil
	}
	return "", fmt.Errorf("crs %q: unknown (want WGS84 or GCJ-02)", name)
}

// featureDraft reads one feature for kind.
func featureDraft(raw json.RawMessage, kind string) draft {
	var f gjFeature
	if err := json.Unmarshal(raw, &f); err != nil {
		return draft{reason: "not a GeoJSON Feature: " + jsonProblem(err)}
	}
	if f.Type != "Feature" {
		return draft{reason: fmt.Sprintf("/type: must be Feature, not %q", f.Type)}
	}
	d := draft{fields: map[string]any{}}
	g, reason := decodeGeometry(f.Geometry, "/geometry")
	if reason != "" {
		return draft{reason: reason}
	}
	if d.name, reason = propString(f.Properties, "name"); reason != "" {
		return draft{reason: reason}
	}
	if kind == "kiosks" {
		d.geometry, d.segments, reason = kioskGeometry(g, f.Properties)
	} else {
		d.geometry = g
		reason = featureFields(kind, f.Properties, d.fields)
	}
	if reason != "" {
		return draft{reason: reason}
	}
	return d
}

// decodeGeometry reads a GeoJSON geometry object; "" reason when good, nil for null.
func decodeGeometry(raw json.RawMessage, field string) (orb.Geometry, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, field + ": required"
	}
	g, err := geojson.UnmarshalGeometry(raw)
	if err != nil {
		return nil, field + ": not a GeoJSON geometry: " + jsonProblem(err)
	}
	return g.Geometry(), ""
}

// jsonProblem is err without the package prefixes JSON decoders add.
func jsonProblem(err error) string {
	s := err.Error()
	for _, p := range []string{"json: ", "geojson: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// featureFields copies the properties kind sends besides name and geometry into fields.
func featureFields(kind string, props map[string]json.RawMessage, fields map[string]any) string {
	switch kind {
	case "checkpoints":
		if r := copyNumber(props, "radius_m", fields); r != "" {
			return r
		}
		return copyStrings(props, fields, "tag")
	case "venues":
		return copyStrings(props, fields, "type", "address", "owner_contact")
	case "routes":
		raw, ok := props["checkpoint_ids"]
		if !ok || string(raw) == "null" {
			return ""
		}
		var ids []string
		if err := json.Unmarshal(raw, &ids); err != nil {
			return "/properties/checkpoint_ids: must be an array of strings"
		}
		fields["checkpoint_ids"] = ids
	}
	return ""
}

// kioskGeometry reads a kiosk: a Point with properties.segments (a LineString or
// MultiLineString), or a GeometryCollection of one Point and LineStrings.
func kioskGeometry(g orb.Geometry, props map[string]json.RawMessage) (orb.Geometry, orb.MultiLineString, string) {
	if c, ok := g.(orb.Collection); ok {
		return kioskCollection(c)
	}
	raw, ok := props["segments"]
	if !ok {
		return nil, nil, "/segments: required: properties.segments, a MultiLineString (or a GeometryCollection of a Point and LineStrings)"
	}
	sg, reason := decodeGeometry(raw, "/segments")
	if reason != "" {
		return nil, nil, reason
	}
	segs, ok := lines(sg)
	if !ok {
		return nil, nil, "/segments/type: must be MultiLineString, not " + sg.GeoJSONType()
	}
	return g, segs, ""
}

func kioskCollection(c orb.Collection) (orb.Geometry, orb.MultiLineString, string) {
	var pts []orb.Geometry
	var segs orb.MultiLineString
	for _, g := range c {
		if p, ok := g.(orb.Point); ok {
			pts = append(pts, p)
		} else if ls, ok := lines(g); ok {
			segs = append(segs, ls...)
		} else {
			return nil, nil, "/geometry/geometries: a kiosk's collection holds a Point and LineStrings, not " + g.GeoJSONType()
		}
	}
	if len(pts) != 1 {
		return nil, nil, fmt.Sprintf("/geometry/geometries: a kiosk's collection holds one Point, not %d", len(pts))
	}
	return pts[0], segs, ""
}

// lines is g as a MultiLineString if it is a LineString or MultiLineString.
func lines(g orb.Geometry) (orb.MultiLineString, bool) {
	switch g := g.(type) {
	case orb.LineString:
		return orb.MultiLineString{g}, true
	case orb.MultiLineString:
		return g, true
	}
	return nil, false
}

// propString reads a string (or number, as written) property; "" if absent or null.
func propString(props map[string]json.RawMessage, key string) (string, string) {
	raw, ok := props[key]
	if !ok || string(raw) == "null" {
		return "", ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, ""
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), ""
	}
	return "", "/properties/" + key + ": must be a string"
}

// copyStrings copies the string properties keys present in props into fields.
func copyStrings(props map[string]json.RawMessage, fields map[string]any, keys ...string) string {
	for _, k := range keys {
		if _, ok := props[k]; !ok {
			continue
		}
		s, reason := propString(props, k)
		if reason != "" {
			return reason
		}
		fields[k] = s
	}
	return ""
}

// copyNumber copies a number property (or a string holding one) into fields.
func copyNumber(props map[string]json.RawMessage, key string, fields map[string]any) string {
	s, reason := propString(props, key)
	if reason != "" || s == "" {
		return reason
	}
	v, ok := parseNumber(s)
	if !ok {
		return "/properties/" + key + ": must be a number"
	}
	fields[key] = v
	return ""
}

// parseNumber reads a finite number (JSON cannot carry NaN or infinities).
func parseNumber(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
}

// ---- GPX ----

// gpxExtras are the parts of a GPX document that geo.ParseGPX skips: waypoints and routes.
type gpxExtras struct {
	XMLName   xml.Name `xml:"gpx"`
	Waypoints []gpxWpt `xml:"wpt"`
	Routes    []struct {
		Name   string   `xml:"name"`
		Points []gpxWpt `xml:"rtept"`
	} `xml:"rte"`
}

type gpxWpt struct {
	Lat  string `xml:"lat,attr"`
	Lon  string `xml:"lon,attr"`
	Name string `xml:"name"`
}

// point reads a waypoint's position; the reason names what is wrong.
func (w gpxWpt) point() (orb.Point, string) {
	lon, err1 := strconv.ParseFloat(strings.TrimSpace(w.Lon), 64)
	lat, err2 := strconv.ParseFloat(strings.TrimSpace(w.Lat), 64)
	if err1 != nil || err2 != nil {
		return orb.Point{}, fmt.Sprintf("/geometry/coordinates: lon %q, lat %q: not numbers", w.Lon, w.Lat)
	}
	return orb.Point{lon, lat}, ""
}

// gpxDrafts reads checkpoints (waypoints; the name is also the tag) or routes (each
// non-empty track segment, and each route) from a GPX document.
func gpxDrafts(base string, data []byte, kind string) ([]draft, error) {
	var doc gpxExtras
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not GPX: %w", err)
	}
	var drafts []draft
	add := func(d draft) {
		d.n = len(drafts) + 1
		d.src = fmt.Sprintf("%s #%d", base, d.n)
		drafts = append(drafts, d)
	}
	if kind == "checkpoints" {
		for _, w := range doc.Waypoints {
			p, reason := w.point()
			name := strings.TrimSpace(w.Name)
			d := draft{name: name, geometry: p, reason: reason, fields: map[string]any{}}
			if name != "" {
				d.fields["tag"] = name
			}
			add(d)
		}
		return drafts, nil
	}
	tracks, err := geo.ParseGPX(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	for _, t := range tracks {
		for _, d := range trackDrafts(t) {
			add(d)
		}
	}
	for _, r := range doc.Routes {
		add(routeDraft(strings.TrimSpace(r.Name), r.Points))
	}
	return drafts, nil
}

// trackDrafts makes a route of each non-empty segment of t; a track of several segments
// names them "name, segment k".
func trackDrafts(t geo.Track) []draft {
	var segs [][]geo.Fix
	for _, s := range t.Segments {
		if len(s) > 0 {
			segs = append(segs, s)
		}
	}
	out := make([]draft, len(segs))
	for i, s := range segs {
		out[i] = draft{name: t.Name, geometry: fixLine(s)}
		if len(segs) > 1 && t.Name != "" {
			out[i].name = fmt.Sprintf("%s, segment %d", t.Name, i+1)
		}
	}
	return out
}

func routeDraft(name string, pts []gpxWpt) draft {
	ls := make(orb.LineString, len(pts))
	for i, w := range pts {
		p, reason := w.point()
		if reason != "" {
			return draft{reason: strings.Replace(reason, "/coordinates", fmt.Sprintf("/coordinates/%d", i), 1)}
		}
		ls[i] = p
	}
	return draft{name: name, geometry: ls}
}

func fixLine(fixes []geo.Fix) orb.LineString {
	ls := make(orb.LineString, len(fixes))
	for i, f := range fixes {
		ls[i] = f.Point
	}
	return ls
}

// ---- CSV ----

// csvDrafts reads a CSV file: for routes a track (geo.ParseCSV), one route per file; for
// checkpoints and venues a row per item with a header naming the columns.
func csvDrafts(base string, data []byte, kind string) ([]draft, error) {
	if kind == "routes" {
		fixes, err := geo.ParseCSV(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return []draft{{n: 1, src: base + " #1", geometry: fixLine(fixes)}}, nil
	}
	return csvRows(base, data, kind)
}

// csvAliases maps header names (lower case) to a column.
var csvAliases = map[string]string{
	"name": "name", "lon": "lon", "lng": "lon", "longitude": "lon", "lat": "lat", "latitude": "lat",
	"radius_m": "radius_m", "radius": "radius_m", "tag": "tag",
	"type": "type", "address": "address", "owner_contact": "owner_contact",
}

// csvStrings are the text columns each kind sends as they are.
var csvStrings = map[string][]string{
	"checkpoints": {"tag"},
	"venues":      {"type", "address", "owner_contact"},
}

// csvRows reads a header row and then one item per row. The separator is ';' or ',',
// whichever the header has more of. A bad row is a rejected item; reading goes on.
func csvRows(base string, data []byte, kind string) ([]draft, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	header, _, _ := bytes.Cut(data, []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(data))
	if bytes.Count(header, []byte(";")) > bytes.Count(header, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	names, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	cols, err := csvHeader(names)
	if err != nil {
		return nil, err
	}
	var drafts []draft
	for n := 1; len(drafts) <= importMaxItems; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return drafts, nil
		}
		line, _ := cr.FieldPos(0)
		d := draft{n: n, src: fmt.Sprintf("%s line %d", base, line)}
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			d.src, d.reason = fmt.Sprintf("%s line %d", base, pe.Line), "csv: "+pe.Err.Error()
		case err != nil:
			return nil, fmt.Errorf("csv: %w", err)
		default:
			csvRow(&d, rec, cols, kind)
		}
		drafts = append(drafts, d)
	}
	return nil, errTooManyItems
}

// csvHeader finds the known columns; lon and lat are required.
func csvHeader(names []string) (map[string]int, error) {
	cols := map[string]int{}
	for i, n := range names {
		if c, ok := csvAliases[strings.ToLower(strings.TrimSpace(n))]; ok {
			if _, dup := cols[c]; !dup {
				cols[c] = i
			}
		}
	}
	_, lon := cols["lon"]
	_, lat := cols["lat"]
	if !lon || !lat {
		return nil, fmt.Errorf("csv header %q has no lon and lat columns", strings.Join(names, ","))
	}
	return cols, nil
}

// csvRow fills d from one record.
func csvRow(d *draft, rec []string, cols map[string]int, kind string) {
	col := func(c string) string {
		if i, ok := cols[c]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	lon, err1 := strconv.ParseFloat(col("lon"), 64)
	lat, err2 := strconv.ParseFloat(col("lat"), 64)
	if err1 != nil || err2 != nil {
		d.reason = fmt.Sprintf("/geometry/coordinates: lon %q, lat %q: not numbers", col("lon"), col("lat"))
		return
	}
	d.name, d.geometry, d.fields = col("name"), orb.Point{lon, lat}, map[string]any{}
	for _, c := range csvStrings[kind] {
		if v := col(c); v != "" {
			d.fields[c] = v
		}
	}
	if r := col("radius_m"); kind == "checkpoints" && r != "" {
		v, ok := parseNumber(r)
		if !ok {
			d.reason = fmt.Sprintf("/radius_m: %q is not a number", r)
			return
		}
		d.fields["radius_m"] = v
	}
}
