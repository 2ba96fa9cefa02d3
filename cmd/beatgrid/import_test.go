package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// summarize shows an item as "name|GeometryType|key=value…" (the body's other fields,
// sorted), or "!reason" when rejected.
func summarize(it importItem) string {
	if it.body == nil {
		return "!" + it.reason
	}
	parts := []string{it.body["name"].(string), it.body["geometry"].(*geojson.Geometry).Type}
	var keys []string
	for k := range it.body {
		if k != "name" && k != "geometry" && k != "org_unit_id" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := it.body[k]
		if g, ok := v.(*geojson.Geometry); ok {
			v = g.Type
		}
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	return strings.Join(parts, "|")
}

// TestImportParse reads each format for each kind, good and bad items side by side.
func TestImportParse(t *testing.T) {
	cases := []struct {
		name, kind, file, data string
		want                   []string
	}{
		{"checkpoints from GeoJSON", "checkpoints", "gates.geojson", `{"type":"FeatureCollection","features":[
			{"type":"Feature","properties":{"name":"Gate A","radius_m":40,"tag":"gate-a"},"geometry":{"type":"Point","coordinates":[120.1,30.2]}},
			{"type":"Feature","properties":null,"geometry":{"type":"Point","coordinates":[120.1,30.2,12]}},
			{"type":"Feature","properties":{"name":7,"radius_m":"25"},"geometry":{"type":"Point","coordinates":[120.1,30.2]}},
			{"type":"Feature","properties":{"name":"far"},"geometry":{"type":"Point","coordinates":[200,30]}},
			{"type":"Feature","properties":{"name":"swapped"},"geometry":{"type":"Point","coordinates":[30.2,120.1]}},
			{"type":"Feature","properties":{"name":"line"},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}},
			{"type":"Feature","properties":{"name":"none"},"geometry":null},
			{"type":"Feature","properties":{"radius_m":"wide"},"geometry":{"type":"Point","coordinates":[1,1]}},
			{"type":"Feature","properties":{"name":["x"]},"geometry":{"type":"Point","coordinates":[1,1]}},
			{"type":"Feature","geometry":{"type":"Circle","coordinates":[1,1]}},
			{"type":"Point","coordinates":[1,1]},
			"junk"
		]}`, []string{
			"Gate A|Point|radius_m=40|tag=gate-a",
			"gates #2|Point|radius_m=30|tag=gates #2",
			"7|Point|radius_m=25|tag=7",
			"!/geometry/coordinates: longitude 200 is outside [-180, 180]",
			"!/geometry/coordinates: latitude 120.1 is outside [-90, 90]; the position looks like [lat, lon], GeoJSON order is [lon, lat]",
			"!/geometry/type: must be Point, not LineString",
			"!/geometry: required",
			"!/properties/radius_m: must be a number",
			"!/properties/name: must be a string",
			"!/geometry: not a GeoJSON geometry: invalid geometry",
			`!/type: must be Feature, not "Point"`,
			"!not a GeoJSON Feature: cannot unmarshal string into Go value of type main.gjFeature",
		}},
		{"a bare geometry is one feature", "routes", "walk.json", `{"type":"LineString","coordinates":[[1,1],[1,2],[2,2]]}`,
			[]string{"walk #1|LineString"}},
		{"routes from GeoJSON", "routes", "r.geojson", `{"type":"FeatureCollection","features":[
			{"type":"Feature","properties":{"name":"loop","checkpoint_ids":["a","b"]},"geometry":{"type":"LineString","coordinates":[[1,1],[1,2],[2,2],[1,1]]}},
			{"type":"Feature","properties":{"name":"dot"},"geometry":{"type":"LineString","coordinates":[[1,1],[1,1]]}},
			{"type":"Feature","properties":{"name":"multi"},"geometry":{"type":"MultiLineString","coordinates":[[[1,1],[1,2]]]}},
			{"type":"Feature","properties":{"checkpoint_ids":"a"},"geometry":{"type":"LineString","coordinates":[[1,1],[1,2]]}}
		]}`, []string{
			"loop|LineString|checkpoint_ids=[a b]",
			"!/geometry/coordinates: all positions of the line are the same point",
			"!/geometry/type: must be LineString, not MultiLineString",
			"!/properties/checkpoint_ids: must be an array of strings",
		}},
		{"beats", "beats", "b.geojson", `{"type":"FeatureCollection","features":[
			{"type":"Feature","properties":{"name":"square"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}},
			{"type":"Feature","properties":{"name":"bow tie"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}},
			{"type":"Feature","properties":{"name":"open"},"geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,1]]]]}},
			{"type":"Feature","properties":{"name":"point"},"geometry":{"type":"Point","coordinates":[0,0]}}
		]}`, []string{
			"square|Polygon",
			"!/geometry/coordinates/0/2: ring crosses itself: edge 2-3 meets edge 0-1",
			"!/geometry/coordinates/0/0: ring is not closed: the last position must equal the first",
			"!/geometry/type: must be Polygon or MultiPolygon, not Point",
		}},
		{"kiosks", "kiosks", "k.geojson", `{"type":"FeatureCollection","features":[
			{"type":"Feature","properties":{"name":"K1","segments":{"type":"MultiLineString","coordinates":[[[1,1],[1,2]],[[2,2],[2,3]]]}},"geometry":{"type":"Point","coordinates":[1,1]}},
			{"type":"Feature","properties":{"name":"K2"},"geometry":{"type":"GeometryCollection","geometries":[
				{"type":"LineString","coordinates":[[1,1],[1,2]]},{"type":"Point","coordinates":[1,1]},{"type":"LineString","coordinates":[[2,2],[2,3]]}]}},
			{"type":"Feature","properties":{"name":"K3"},"geometry":{"type":"Point","coordinates":[1,1]}},
			{"type":"Feature","properties":{"name":"K4","segments":{"type":"LineString","coordinates":[[1,1],[1,95]]}},"geometry":{"type":"Point","coordinates":[1,1]}},
			{"type":"Feature","properties":{"name":"K5"},"geometry":{"type":"GeometryCollection","geometries":[
				{"type":"Point","coordinates":[1,1]},{"type":"Point","coordinates":[2,2]}]}}
		]}`, []string{
			"K1|Point|segments=MultiLineString",
			"K2|Point|segments=MultiLineString",
			"!/segments: required: properties.segments, a MultiLineString (or a GeometryCollection of a Point and LineStrings)",
			"!/segments/coordinates/0/1: latitude 95 is outside [-90, 90]; the position looks like [lat, lon], GeoJSON order is [lon, lat]",
			"!/geometry/geometries: a kiosk's collection holds one Point, not 2",
		}},
		{"checkpoints from CSV, ';' separated", "checkpoints", "c.csv", "\ufeffName;Latitude;Longitude;radius;tag\n" +
			"North gate;30.5;120.5;50;N-1\n" +
			";30.5;120.5;;\n" +
			"bad;x;120.5;;\n" +
			"nan;NaN;120.5;;\n" +
			"radius;30.5;120.5;NaN;\n",
			[]string{
				"North gate|Point|radius_m=50|tag=N-1",
				"c #2|Point|radius_m=30|tag=c #2",
				`!/geometry/coordinates: lon "120.5", lat "x": not numbers`,
				"!/geometry/coordinates: coordinates must be finite numbers",
				`!/radius_m: "NaN" is not a number`,
			}},
		{"venues from CSV", "venues", "v.csv", "name,type,address,lon,lat,owner_contact\n" +
			"Bar Harbour,bar,\"1 Quay St, Harbour\",120.5,30.5,+86 123\n" +
			"Shop,shop,2 Quay St,120.5,30.5,\n" +
			"Broken,\"shop,1,1\n",
			[]string{
				"Bar Harbour|Point|address=1 Quay St, Harbour|owner_contact=+86 123|type=bar",
				"Shop|Point|address=2 Quay St|type=shop",
				`!csv: extraneous or missing " in quoted-field`,
			}},
		{"venues from GeoJSON", "venues", "v.geojson", `{"type":"Feature","properties":{"name":"Inn","type":"hotel","address":"3 Quay St"},"geometry":{"type":"Point","coordinates":[120.5,30.5]}}`,
			[]string{"Inn|Point|address=3 Quay St|type=hotel"}},
		{"GPX waypoints as checkpoints", "checkpoints", "w.gpx", `<?xml version="1.0"?>
			<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">
			<wpt lat="45.1" lon="14.2"><name>Bridge</name></wpt>
			<wpt lat="45.1" lon="14.2"></wpt>
			<wpt lat="north" lon="14.2"><name>bad</name></wpt>
			<trk><trkseg><trkpt lat="45" lon="14"/><trkpt lat="45.1" lon="14"/></trkseg></trk>
			</gpx>`,
			[]string{
				"Bridge|Point|radius_m=30|tag=Bridge",
				"w #2|Point|radius_m=30|tag=w #2",
				`!/geometry/coordinates: lon "14.2", lat "north": not numbers`,
			}},
		{"GPX tracks and routes as routes", "routes", "t.gpx", `<gpx version="1.0">
			<wpt lat="45.1" lon="14.2"><name>Bridge</name></wpt>
			<trk><name>Day 1</name><trkseg></trkseg><trkseg><trkpt lat="45" lon="14"/><trkpt lat="45.1" lon="14"/></trkseg>
				<trkseg><trkpt lat="45" lon="14"/></trkseg></trk>
			<trk><trkseg><trkpt lat="45" lon="14"/><trkpt lat="45.1" lon="14"/></trkseg></trk>
			<rte><name>Planned</name><rtept lat="45" lon="14"/><rtept lat="45.2" lon="14.1"/></rte>
			<rte><rtept lat="45" lon="14"/><rtept lat="45.2" lon="east"/></rte>
			</gpx>`,
			[]string{
				"Day 1, segment 1|LineString",
				"!/geometry/coordinates: a line needs at least 2 positions, has 1",
				"t #3|LineString",
				"Planned|LineString",
				`!/geometry/coordinates/1: lon "east", lat "45.2": not numbers`,
			}},
		{"a CSV track is one route", "routes", "track.csv", "time,lat,lon\n2024-01-01T00:00:00Z,45,14\n2024-01-01T00:00:05Z,45.001,14\n",
			[]string{"track #1|LineString"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opt := parseOptions{kind: tc.kind, org: "unit-1", crs: geo.WGS84}
			items, err := parseData(tc.file, formatOf(tc.file), []byte(tc.data), opt, importMaxItems)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range items {
				got = append(got, summarize(it))
				if it.body != nil && it.body["org_unit_id"] != "unit-1" {
					t.Errorf("%s: org_unit_id %v", it.src, it.body["org_unit_id"])
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// TestImportParseFileErrors: what makes a whole file unreadable.
func TestImportParseFileErrors(t *testing.T) {
	cases := []struct{ name, kind, file, data, want string }{
		{"not JSON", "beats", "a.geojson", `{"type":`, "not GeoJSON: unexpected end of JSON input"},
		{"not GeoJSON", "beats", "a.geojson", `{"type":"Topology"}`, `not GeoJSON: type "Topology"`},
		{"unknown crs", "beats", "a.geojson", `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:3857"}},"features":[]}`,
			`crs "EPSG:3857": unknown (want WGS84 or GCJ-02)`},
		{"not GPX", "routes", "a.gpx", `<kml></kml>`, "not GPX: expected element type <gpx> but have <kml>"},
		{"CSV without positions", "checkpoints", "a.csv", "name,x,y\nA,1,2\n", `csv header "name,x,y" has no lon and lat columns`},
		{"CSV track without positions", "routes", "a.csv", "name,x,y\nA,1,2\n", `geo: csv: header "name,x,y" has no longitude and latitude columns`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseData(tc.file, formatOf(tc.file), []byte(tc.data), parseOptions{kind: tc.kind}, importMaxItems)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %s", err, tc.want)
			}
		})
	}
}

// TestImportLimits: files over 64 MiB and runs over 100,000 items are refused.
func TestImportLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.geojson")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, importMaxFileBytes+1); err != nil {
		t.Fatal(err)
	}
	if _, err := parseFile(big, parseOptions{kind: "beats"}, importMaxItems); err == nil || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Fatalf("a file over 64 MiB: %v", err)
	}

	var b strings.Builder
	b.WriteString("name,lon,lat\n")
	for i := range importMaxItems + 1 {
		fmt.Fprintf(&b, "c%d,1,1\n", i)
	}
	if _, err := parseData("c.csv", fmtCSV, []byte(b.String()), parseOptions{kind: "checkpoints"}, importMaxItems); err != errTooManyItems {
		t.Fatalf("%d rows: %v", importMaxItems+1, err)
	}
	if _, err := parseData("c.csv", fmtCSV, []byte("name,lon,lat\na,1,1\nb,1,1\n"), parseOptions{kind: "checkpoints"}, 1); err != errTooManyItems {
		t.Fatalf("2 rows with room for 1: %v", err)
	}
}

// TestImportGCJ02 converts GCJ-02 positions to WGS84: by --crs, or by the file's own crs
// member (which wins over --crs).
func TestImportGCJ02(t *testing.T) {
	read := func(file string, crs geo.CRS) orb.Geometry {
		t.Helper()
		items, err := parseFile(file, parseOptions{kind: "beats", crs: crs}, importMaxItems)
		if err != nil || len(items) != 1 || items[0].body == nil {
			t.Fatalf("%s: %v %+v", file, err, items)
		}
		return items[0].body["geometry"].(*geojson.Geometry).Coordinates
	}
	gcj := read("../../testdata/boundaries/330302-lucheng.gcj02.geojson", geo.GCJ02)
	wgs := read("../../testdata/boundaries/330302-lucheng.wgs84.geojson", geo.WGS84)
	a, b := gcj.(orb.MultiPolygon)[0][0], wgs.(orb.MultiPolygon)[0][0]
	if len(a) != len(b) {
		t.Fatalf("%d vertices, want %d", len(a), len(b))
	}
	for i := range a {
		if math.Abs(a[i][0]-b[i][0]) > 1e-6 || math.Abs(a[i][1]-b[i][1]) > 1e-6 {
			t.Fatalf("vertex %d: %v, want %v", i, a[i], b[i])
		}
	}

	// A crs member naming GCJ-02 converts without --crs; one naming WGS84 keeps positions.
	p := orb.Point{120.67, 28.0}
	for _, tc := range []struct {
		crsName string
		flag    geo.CRS
		want    orb.Point
	}{
		{"GCJ-02", geo.WGS84, geo.FromGCJ02(p)},
		{"urn:ogc:def:crs:OGC:1.3:CRS84", geo.GCJ02, p},
		{"urn:ogc:def:crs:EPSG::4326", geo.GCJ02, p},
	} {
		doc := fmt.Sprintf(`{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":%q}},
			"features":[{"type":"Feature","properties":{"name":"c"},"geometry":{"type":"Point","coordinates":[%v,%v]}}]}`, tc.crsName, p[0], p[1])
		items, err := parseData("c.geojson", fmtGeoJSON, []byte(doc), parseOptions{kind: "checkpoints", crs: tc.flag}, importMaxItems)
		if err != nil {
			t.Fatal(err)
		}
		if got := items[0].body["geometry"].(*geojson.Geometry).Coordinates.(orb.Point); got != tc.want {
			t.Errorf("crs %s, --crs %s: %v, want %v", tc.crsName, tc.flag, got, tc.want)
		}
	}
}

// TestImportFlags: usage errors exit 2 before anything is read or sent.
func TestImportFlags(t *testing.T) {
	good := "../../testdata/tracks/gpx/cerknicko-jezero.gpx"
	t.Setenv("BEATGRID_PASSWORD", "")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no files", []string{"--org", "u", "--kind", "routes"}, "no files to import"},
		{"no kind", []string{good, "--org", "u"}, "--kind is required"},
		{"bad kind", []string{good, "--org", "u", "--kind", "roads"}, `--kind "roads"`},
		{"no org", []string{good, "--kind", "routes"}, "--org is required"},
		{"bad crs", []string{good, "--org", "u", "--kind", "routes", "--crs", "bd09"}, `--crs "bd09"`},
		{"unknown format", []string{"a.kml", "--org", "u", "--kind", "routes"}, "a.kml: unknown format"},
		{"format not for kind", []string{good, "--org", "u", "--kind", "beats"}, "beats are read from GeoJSON, not GPX"},
		{"missing file", []string{"nowhere.gpx", "--org", "u", "--kind", "routes"}, "no such file"},
		{"no password", []string{good, "--org", "u", "--kind", "routes"}, "no password"},
		{"unknown flag", []string{good, "--org", "u", "--kind", "routes", "--fast"}, "flag provided but not defined"},
		{"parallel", []string{good, "--org", "u", "--kind", "routes", "--parallel", "0"}, "--parallel 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := importCommand(context.Background(), tc.args, &stdout, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, &stderr)
			}
			if !strings.Contains(stderr.String(), tc.want) || stdout.Len() > 0 {
				t.Fatalf("stderr %q does not say %q (stdout %q)", &stderr, tc.want, &stdout)
			}
		})
	}
	var stderr bytes.Buffer
	if code := importCommand(context.Background(), []string{"-h"}, &stderr, &stderr); code != 0 || !strings.Contains(stderr.String(), "usage: beatgrid import FILE…") {
		t.Fatalf("-h: exit %d\n%s", code, &stderr)
	}
}

// TestImportInterleavedFlags: files may stand between flags; after "--" all are files.
func TestImportInterleavedFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	dry := fs.Bool("dry-run", false, "")
	kind := fs.String("kind", "", "")
	files, err := parseInterleaved(fs, []string{"a.gpx", "--kind", "routes", "b.gpx", "--dry-run", "--", "-c.gpx", "--org"})
	if err != nil || !*dry || *kind != "routes" || !slices.Equal(files, []string{"a.gpx", "b.gpx", "-c.gpx", "--org"}) {
		t.Fatalf("files %q, dry %v, kind %q, err %v", files, *dry, *kind, err)
	}
}

// TestImportAnswerReason turns server answers into reasons.
func TestImportAnswerReason(t *testing.T) {
	cases := []struct {
		status int
		body   string
		want   string
		fatal  bool
	}{
		{201, `{"id":"x"}`, "", false},
		{400, `{"type":"urn:beatgrid:problem:EINVALID","status":400,"detail":"Invalid /radius_m: must be 5 to 500 metres.","errors":[{"field":"/radius_m","reason":"must be 5 to 500 metres"}]}`,
			"/radius_m: must be 5 to 500 metres", false},
		{400, `{"errors":[{"field":"/a","reason":"x"},{"field":"/b","reason":"y"}]}`, "/a: x; /b: y", false},
		{409, `{"title":"Conflict","detail":"name taken"}`, "409 Conflict: name taken", false},
		{404, `{"title":"Not Found","detail":"Cannot POST /v1/venues"}`, "404 Not Found: Cannot POST /v1/venues", true},
		{403, `{}`, "403 Forbidden", true},
		{500, `{"title":"Internal Server Error"}`, "500 Internal Server Error", false},
		{502, `<html>bad gateway</html>`, "502 Bad Gateway: <html>bad gateway</html>", true},
	}
	for _, tc := range cases {
		reason, fatal := answerReason(tc.status, []byte(tc.body))
		if reason != tc.want || fatal != tc.fatal {
			t.Errorf("%d %s: %q fatal %v, want %q fatal %v", tc.status, tc.body, reason, fatal, tc.want, tc.fatal)
		}
	}
}

// TestImportDryRun checks files without a server: local rejections only, exit 1 if any.
func TestImportDryRun(t *testing.T) {
	t.Setenv("BEATGRID_PASSWORD", "")
	dir := t.TempDir()
	file := writeCheckpoints(t, dir)
	var stdout, stderr bytes.Buffer
	code := importCommand(context.Background(), []string{file, "--kind", "checkpoints", "--dry-run", "--server", "http://127.0.0.1:1"}, &stdout, &stderr)
	want := "dry run: 5 to import, rejected 1\n" +
		"  1 × /geometry/coordinates: longitude 200 is outside [-180, 180]  (checkpoints.geojson #3)\n"
	if code != 1 || stdout.String() != want || stderr.Len() > 0 {
		t.Fatalf("exit %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", code, &stdout, want, &stderr)
	}
	stdout.Reset()
	code = importCommand(context.Background(), []string{"--dry-run", "--kind", "routes",
		"../../testdata/tracks/gpx/cerknicko-jezero.gpx", "../../testdata/tracks/trackintel/posmo_trajectory.csv"}, &stdout, &stderr)
	if code != 0 || stdout.String() != "dry run: 8 to import, rejected 0\n" {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
}

// writeCheckpoints writes checkpoints.geojson in dir: 2 good, 1 bad here, 3 the server refuses.
func writeCheckpoints(t *testing.T, dir string) string {
	t.Helper()
	file := filepath.Join(dir, "checkpoints.geojson")
	doc := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"name":"Gate A","radius_m":40,"tag":"gate-a"},"geometry":{"type":"Point","coordinates":[120.1,30.2]}},
		{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[120.2,30.3]}},
		{"type":"Feature","properties":{"name":"far away"},"geometry":{"type":"Point","coordinates":[200,30.2]}},
		{"type":"Feature","properties":{"name":"too wide","radius_m":1000},"geometry":{"type":"Point","coordinates":[120.1,30.2]}},
		{"type":"Feature","properties":{"name":"too narrow","radius_m":2},"geometry":{"type":"Point","coordinates":[120.1,30.2]}},
		{"type":"Feature","properties":{"name":"` + strings.Repeat("n", 201) + `"},"geometry":{"type":"Point","coordinates":[120.1,30.2]}}
	]}`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestImportServer imports into a real server (embedded database) and reads back what it
// holds.
func TestImportServer(t *testing.T) {
	const password = "import-test-password"
	m, _ := runMain(t, t.TempDir(), password)
	c := client{t, m.URL}
	var admin tokens
	c.must(200, "POST", "/v1/auth/login", "", map[string]string{"username": "admin", "password": password}, &admin)
	var me struct {
		Scope struct{ ID string } `json:"scope"`
	}
	c.must(200, "GET", "/v1/me", admin.Access, nil, &me)
	var zone, station, other struct{ ID string }
	c.must(201, "POST", "/v1/org-units", admin.Access, map[string]string{"kind": "zone", "name": "East", "parent_id": me.Scope.ID}, &zone)
	c.must(201, "POST", "/v1/org-units", admin.Access, map[string]string{"kind": "station", "name": "Harbour", "parent_id": zone.ID}, &station)
	c.must(201, "POST", "/v1/org-units", admin.Access, map[string]string{"kind": "station", "name": "Hill", "parent_id": zone.ID}, &other)

	dir := t.TempDir()
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, org, kind string, files ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args := append([]string{"--server", m.URL, "--password-file", pwFile, "--org", org, "--kind", kind}, files...)
		code := importCommand(context.Background(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	listed := func(t *testing.T, path, org string) []string {
		t.Helper()
		var page struct {
			Items []struct {
				OrgUnitID string  `json:"org_unit_id"`
				Name      string  `json:"name"`
				Tag       string  `json:"tag"`
				RadiusM   float64 `json:"radius_m"`
			} `json:"items"`
		}
		c.must(200, "GET", path+"?limit=1000", admin.Access, nil, &page)
		var names []string
		for _, it := range page.Items {
			if it.OrgUnitID == org {
				s := it.Name
				if it.Tag != "" {
					s = fmt.Sprintf("%s|%s|%g", it.Name, it.Tag, it.RadiusM)
				}
				names = append(names, s)
			}
		}
		slices.Sort(names)
		return names
	}

	t.Run("checkpoints, good and bad", func(t *testing.T) {
		code, out, errOut := run(t, station.ID, "checkpoints", writeCheckpoints(t, dir))
		want := "imported 2, rejected 4\n" +
			"  2 × /radius_m: must be 5 to 500 metres  (checkpoints.geojson #4, checkpoints.geojson #5)\n" +
			"  1 × /geometry/coordinates: longitude 200 is outside [-180, 180]  (checkpoints.geojson #3)\n" +
			"  1 × /name: longer than 200 characters  (checkpoints.geojson #6)\n"
		if code != 1 || out != want {
			t.Fatalf("exit %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errOut)
		}
		if !strings.HasSuffix(errOut, "imported 2/6 (4 rejected)\n") {
			t.Errorf("progress:\n%s", errOut)
		}
		got := listed(t, "/v1/checkpoints", station.ID)
		if want := []string{"Gate A|gate-a|40", "checkpoints #2|checkpoints #2|30"}; !slices.Equal(got, want) {
			t.Fatalf("GET /v1/checkpoints: %q, want %q", got, want)
		}
	})

	t.Run("checkpoints and routes from testdata", func(t *testing.T) {
		gpx := []string{"../../testdata/tracks/gpx/cerknicko-jezero.gpx", "../../testdata/tracks/gpx/korita-zbevnica.gpx"}
		code, out, errOut := run(t, other.ID, "checkpoints", gpx...)
		if code != 0 || out != "imported 9, rejected 0\n" {
			t.Fatalf("checkpoints: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if got := listed(t, "/v1/checkpoints", other.ID); len(got) != 9 || !slices.Contains(got, "BACK T TH|BACK T TH|30") {
			t.Fatalf("GET /v1/checkpoints: %q", got)
		}
		tracks := append(gpx, "../../testdata/tracks/gpx/around-visnjan-with-car.gpx", "../../testdata/tracks/gpx/Mojstrovka.gpx",
			"../../testdata/tracks/trackintel/posmo_trajectory.csv", "../../testdata/tracks/trackintel/google_trajectory.csv")
		code, out, errOut = run(t, other.ID, "routes", tracks...)
		if code != 0 || out != "imported 14, rejected 0\n" {
			t.Fatalf("routes: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if got := listed(t, "/v1/routes", other.ID); len(got) != 14 || !slices.Contains(got, "posmo_trajectory #1") {
			t.Fatalf("GET /v1/routes: %q", got)
		}
	})

	t.Run("kiosks", func(t *testing.T) {
		file := filepath.Join(dir, "kiosks.geojson")
		doc := `{"type":"FeatureCollection","features":[
			{"type":"Feature","properties":{"name":"K1","segments":{"type":"MultiLineString","coordinates":[[[120.1,30.2],[120.1,30.3]]]}},"geometry":{"type":"Point","coordinates":[120.1,30.2]}},
			{"type":"Feature","properties":{"name":"K2"},"geometry":{"type":"GeometryCollection","geometries":[
				{"type":"Point","coordinates":[120.1,30.2]},{"type":"LineString","coordinates":[[120.1,30.2],[120.2,30.2]]}]}}]}`
		if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := run(t, station.ID, "kiosks", file)
		if code != 0 || out != "imported 2, rejected 0\n" {
			t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if got := listed(t, "/v1/kiosks", station.ID); !slices.Equal(got, []string{"K1", "K2"}) {
			t.Fatalf("GET /v1/kiosks: %q", got)
		}
	})

	t.Run("beats", func(t *testing.T) {
		file := filepath.Join(dir, "beats.geojson")
		doc := `{"type":"FeatureCollection","features":[
			{"type":"Feature","properties":{"name":"Quay"},"geometry":{"type":"Polygon","coordinates":[[[120,30],[120.01,30],[120.01,30.01],[120,30.01],[120,30]]]}},
			{"type":"Feature","properties":{"name":"Bow tie"},"geometry":{"type":"Polygon","coordinates":[[[120,30],[120.01,30.01],[120.01,30],[120,30.01],[120,30]]]}}]}`
		if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		// POST /v1/beats may not exist yet: then the good beat is refused with 404.
		code, out, errOut := run(t, station.ID, "beats", file)
		crossing := "  1 × /geometry/coordinates/0/2: ring crosses itself: edge 2-3 meets edge 0-1  (beats.geojson #2)\n"
		if code != 1 || !strings.Contains(out, crossing) ||
			!strings.HasPrefix(out, "imported 1, rejected 1\n") && !strings.Contains(out, "1 × 404 Not Found") {
			t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if strings.HasPrefix(out, "imported 1") {
			if got := listed(t, "/v1/beats", station.ID); !slices.Equal(got, []string{"Quay"}) {
				t.Fatalf("GET /v1/beats: %q", got)
			}
		}
	})

	t.Run("venues from CSV, the server refusing a kind it does not know", func(t *testing.T) {
		file := filepath.Join(dir, "venues.csv")
		if err := os.WriteFile(file, []byte("name,type,address,lon,lat,owner_contact\n"+
			"Noodle house,restaurant,1 Quay St,120.1,30.2,Mr Li 138\n"+
			"Harbour inn,hotel,2 Quay St,120.11,30.2,\n"+
			"Night bar,bar,3 Quay St,120.12,30.2,\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := run(t, station.ID, "venues", "--parallel", "1", file)
		if code != 1 || !strings.HasPrefix(out, "imported 2, rejected 1\n") || !strings.Contains(out, "/type") {
			t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if got := listed(t, "/v1/venues", station.ID); !slices.Equal(got, []string{"Harbour inn", "Noodle house"}) {
			t.Fatalf("GET /v1/venues: %q", got)
		}
	})

	t.Run("an unknown org unit stops before sending", func(t *testing.T) {
		code, out, errOut := run(t, "no-such-unit", "checkpoints", "../../testdata/tracks/gpx/cerknicko-jezero.gpx")
		if code != 1 || out != "" || !strings.Contains(errOut, "--org no-such-unit: no such org unit in your scope") {
			t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
	})

	t.Run("a refused access token is renewed", func(t *testing.T) {
		ic := newImportClient(m.URL, "admin", password, slog.New(slog.DiscardHandler))
		if err := ic.login(context.Background()); err != nil {
			t.Fatal(err)
		}
		ic.access = "expired"
		body := map[string]any{"org_unit_id": station.ID, "name": "renewed", "tag": "renewed", "radius_m": 30,
			"geometry": geojson.NewGeometry(orb.Point{120.1, 30.2})}
		if reason, fatal := ic.create(context.Background(), "/v1/checkpoints", body); reason != "" || fatal {
			t.Fatalf("create with an expired token: %q (fatal %v)", reason, fatal)
		}
		if ic.access == "expired" {
			t.Fatal("the access token was not renewed")
		}
	})

	t.Run("a wrong password stops before sending", func(t *testing.T) {
		t.Setenv("BEATGRID_PASSWORD", "wrong-password")
		var stdout, stderr bytes.Buffer
		code := importCommand(context.Background(), []string{"--server", m.URL, "--org", station.ID, "--kind", "checkpoints",
			"../../testdata/tracks/gpx/cerknicko-jezero.gpx"}, &stdout, &stderr)
		if code != 1 || stdout.Len() > 0 || !strings.Contains(stderr.String(), "sign in to "+m.URL+" as admin: 401") {
			t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
		}
	})
}

// TestImportProgress: a line per tenth when not a terminal; redrawn in place on one.
func TestImportProgress(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, 20)
	for i := 1; i <= 20; i++ {
		p.show(i-i/5, i/5)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 10 || lines[0] != "imported 2/20 (0 rejected)" || lines[9] != "imported 16/20 (4 rejected)" {
		t.Fatalf("progress:\n%s", &b)
	}
	b.Reset()
	p = newProgress(&b, 3)
	p.tty = true
	for i := 1; i <= 3; i++ {
		p.show(i, 0)
	}
	if want := "\rimported 1/3 (0 rejected)\rimported 3/3 (0 rejected)\n"; b.String() != want {
		t.Fatalf("terminal progress %q, want %q", &b, want)
	}
}

// TestImportReport: reasons by count, then by text; the first three items of each in input
// order, whatever order the answers came in.
func TestImportReport(t *testing.T) {
	r := newImportReport([]importItem{{src: "a #1", reason: "bad"}, {src: "a #2", body: map[string]any{}}})
	for _, seq := range []int{9, 5, 7, 3} {
		r.reject(seq, fmt.Sprintf("a #%d", seq+1), "/radius_m: too wide")
	}
	r.imported = 1
	r.total = 10
	var b bytes.Buffer
	r.print(&b, false)
	want := "imported 1, rejected 5\n" +
		"  4 × /radius_m: too wide  (a #4, a #6, a #8, …)\n" +
		"  1 × bad  (a #1)\n"
	if b.String() != want {
		t.Fatalf("report:\n%s\nwant:\n%s", &b, want)
	}
}
