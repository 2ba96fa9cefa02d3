package geo_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/paulmach/orb"
)

func exportFixes() []geo.Fix {
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	return []geo.Fix{
		{Point: orb.Point{121.9, 29.45}, T: t0, Acc: 5},
		{Point: orb.Point{121.9001, 29.4502}, T: t0.Add(5 * time.Second), Acc: 7.5},
		{Point: orb.Point{121.9003, 29.4505}, T: t0.Add(10 * time.Second)},
	}
}

// TestExportRoundTrips: what WriteGPX and WriteCSV write, ParseGPX and ParseCSV read back
// as the same fixes; WriteGeoJSON writes a LineString Feature with a time per position.
func TestExportRoundTrips(t *testing.T) {
	want := exportFixes()
	var gpx, csv, gj bytes.Buffer
	if err := geo.WriteGPX(&gpx, "patrol 1", want); err != nil {
		t.Fatal(err)
	}
	tracks, err := geo.ParseGPX(&gpx)
	if err != nil || len(tracks) != 1 || tracks[0].Name != "patrol 1" || len(tracks[0].Segments) != 1 {
		t.Fatalf("GPX read back: %+v, %v", tracks, err)
	}
	sameFixes(t, "GPX", tracks[0].Segments[0], want, false)

	if err := geo.WriteCSV(&csv, want); err != nil {
		t.Fatal(err)
	}
	fixes, err := geo.ParseCSV(&csv)
	if err != nil {
		t.Fatal(err)
	}
	sameFixes(t, "CSV", fixes, want, true)

	if err := geo.WriteGeoJSON(&gj, "patrol 1", want); err != nil {
		t.Fatal(err)
	}
	var f struct {
		Type     string `json:"type"`
		Geometry struct {
			Type        string       `json:"type"`
			Coordinates [][2]float64 `json:"coordinates"`
		} `json:"geometry"`
		Properties struct {
			Times []time.Time `json:"times"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(gj.Bytes(), &f); err != nil || f.Type != "Feature" || f.Geometry.Type != "LineString" ||
		len(f.Geometry.Coordinates) != 3 || f.Geometry.Coordinates[2] != [2]float64{121.9003, 29.4505} ||
		!f.Properties.Times[1].Equal(want[1].T) {
		t.Fatalf("GeoJSON %s: %+v, %v", gj.Bytes(), f, err)
	}
}

func sameFixes(t *testing.T, format string, got, want []geo.Fix, acc bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d fixes, want %d", format, len(got), len(want))
	}
	for i := range want {
		if got[i].Point != want[i].Point || !got[i].T.Equal(want[i].T) || (acc && got[i].Acc != want[i].Acc) {
			t.Fatalf("%s fix %d: %+v, want %+v", format, i, got[i], want[i])
		}
	}
}
