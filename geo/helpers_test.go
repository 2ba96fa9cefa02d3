package geo

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Real data shared by the project (see ../testdata/SOURCES.md).
const (
	boundaryDir = "../testdata/boundaries/"
	gpxDir      = "../testdata/tracks/gpx/"
	csvDir      = "../testdata/tracks/trackintel/"
)

var counties = []string{"330225-xiangshan", "451322-xiangzhou", "611024-shanyang", "330302-lucheng", "469006-wanning"}

// float64Near reports whether a and b differ by at most eps.
func float64Near(a, b, eps float64) bool { return math.Abs(a-b) <= eps }

// pointNear reports whether a and b are at most tol metres apart.
func pointNear(a, b orb.Point, tol float64) bool { return Distance(a, b) <= tol }

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readBoundary returns the one MultiPolygon of a county file, e.g. "469006-wanning.wgs84".
func readBoundary(t testing.TB, name string) orb.MultiPolygon {
	t.Helper()
	fc, err := geojson.UnmarshalFeatureCollection(readFile(t, boundaryDir+name+".geojson"))
	if err != nil {
		t.Fatal(err)
	}
	mp, ok := fc.Features[0].Geometry.(orb.MultiPolygon)
	if len(fc.Features) != 1 || !ok {
		t.Fatalf("%s: want one MultiPolygon feature", name)
	}
	return mp
}

func readCSVTrack(t testing.TB, name string) []Fix {
	t.Helper()
	fixes, err := ParseCSV(bytes.NewReader(readFile(t, csvDir+name)))
	if err != nil {
		t.Fatal(err)
	}
	return fixes
}

func readGPX(t testing.TB, name string) []Track {
	t.Helper()
	tracks, err := ParseGPX(bytes.NewReader(readFile(t, gpxDir+name)))
	if err != nil {
		t.Fatal(err)
	}
	return tracks
}

// allFixes joins the segments of all tracks.
func allFixes(tracks []Track) []Fix {
	var out []Fix
	for _, trk := range tracks {
		for _, seg := range trk.Segments {
			out = append(out, seg...)
		}
	}
	return out
}

// cellFeatures draws cells as GeoJSON polygons with their key and tile; more adds
// properties to feature i.
func cellFeatures(cells []Cell, more func(i int, props geojson.Properties)) *geojson.FeatureCollection {
	fc := geojson.NewFeatureCollection()
	for i, c := range cells {
		f := geojson.NewFeature(c.Polygon())
		f.Properties["cell"] = c.String()
		f.Properties["key"] = uint64(c)
		if more != nil {
			more(i, f.Properties)
		}
		fc.Append(f)
	}
	return fc
}

// golden compares fc with testdata/name, or rewrites the file with -update. The file has
// one feature per line, so a diff shows which cells changed.
func golden(t *testing.T, name string, fc *geojson.FeatureCollection) {
	t.Helper()
	var got bytes.Buffer
	got.WriteString(`{"type":"FeatureCollection","features":[`)
	for i, f := range fc.Features {
		raw, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			got.WriteByte(',')
		}
		got.WriteString("\n")
		got.Write(raw)
	}
	got.WriteString("\n]}\n")
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want := readFile(t, path); !bytes.Equal(got.Bytes(), want) {
		t.Errorf("%s differs from the golden file; run go test ./geo -update if the change is intended", path)
	}
}
