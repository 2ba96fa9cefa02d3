package geo

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"time"
)

// WriteGeoJSON writes fixes as a GeoJSON Feature with a LineString (RFC 7946) whose
// properties carry name and the fixes' times (RFC 3339, one per position).
func WriteGeoJSON(w io.Writer, name string, fixes []Fix) error {
	coords := make([][2]float64, len(fixes))
	times := make([]string, len(fixes))
	for i, f := range fixes {
		coords[i] = [2]float64{f.Point[0], f.Point[1]}
		times[i] = f.T.UTC().Format(time.RFC3339Nano)
	}
	feature := map[string]any{
		"type":       "Feature",
		"geometry":   map[string]any{"type": "LineString", "coordinates": coords},
		"properties": map[string]any{"name": name, "times": times},
	}
	if err := json.NewEncoder(w).Encode(feature); err != nil {
		return fmt.Errorf("geo: write GeoJSON: %w", err)
	}
	return nil
}

// gpxDoc is the GPX 1.1 subset written: one track of one segment.
type gpxDoc struct {
	XMLName xml.Name `xml:"http://www.topografix.com/GPX/1/1 gpx"`
	Version string   `xml:"version,attr"`
	Creator string   `xml:"creator,attr"`
	Track   struct {
		Name    string `xml:"name"`
		Segment struct {
			Points []gpxOut `xml:"trkpt"`
		} `xml:"trkseg"`
	} `xml:"trk"`
}

type gpxOut struct {
	Lat  float64  `xml:"lat,attr"`
	Lon  float64  `xml:"lon,attr"`
	Ele  *float64 `xml:"ele,omitempty"`
	Time string   `xml:"time"`
}

// WriteGPX writes fixes as a GPX 1.1 document with one track; ParseGPX reads it back.
func WriteGPX(w io.Writer, name string, fixes []Fix) error {
	doc := gpxDoc{Version: "1.1", Creator: "beatgrid"}
	doc.Track.Name = name
	for _, f := range fixes {
		p := gpxOut{Lat: f.Point[1], Lon: f.Point[0], Time: f.T.UTC().Format(time.RFC3339Nano)}
		if f.Alt != 0 {
			alt := f.Alt
			p.Ele = &alt
		}
		doc.Track.Segment.Points = append(doc.Track.Segment.Points, p)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("geo: write GPX: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("geo: write GPX: %w", err)
	}
	return nil
}

// WriteCSV writes fixes as comma-separated rows with the header
// time,longitude,latitude,accuracy; ParseCSV reads it back.
func WriteCSV(w io.Writer, fixes []Fix) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"time", "longitude", "latitude", "accuracy"})
	for _, f := range fixes {
		_ = cw.Write([]string{f.T.UTC().Format(time.RFC3339Nano), strconv.FormatFloat(f.Point[0], 'f', -1, 64),
			strconv.FormatFloat(f.Point[1], 'f', -1, 64), strconv.FormatFloat(f.Acc, 'f', -1, 64)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("geo: write CSV: %w", err)
	}
	return nil
}
