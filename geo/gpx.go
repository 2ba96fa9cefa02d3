package geo

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// gpxFile is the part of a GPX 1.0 or 1.1 document that ParseGPX reads. Element names
// match in any namespace, so both versions decode alike.
type gpxFile struct {
	XMLName xml.Name   `xml:"gpx"`
	Tracks  []gpxTrack `xml:"trk"`
}

type gpxTrack struct {
	Name     string       `xml:"name"`
	Segments []gpxSegment `xml:"trkseg"`
}

type gpxSegment struct {
	Points []gpxPoint `xml:"trkpt"`
}

type gpxPoint struct {
	Lat    string `xml:"lat,attr"`
	Lon    string `xml:"lon,attr"`
	Ele    string `xml:"ele"`
	Time   string `xml:"time"`
	Speed  string `xml:"speed"`  // GPX 1.0 only
	Course string `xml:"course"` // GPX 1.0 only
}

// ParseGPX reads the tracks of a GPX 1.0 or 1.1 document: each <trk> with its name and
// segments, each <trkpt> as a Fix with its elevation, time and (GPX 1.0) speed and course.
// Points without a time are kept with the zero time (Fix.Timed reports false); empty
// segments stay empty. Waypoints and routes are ignored. Coordinates are not validated
// here (Filter does); unreadable numbers and times are errors naming the point.
func ParseGPX(r io.Reader) ([]Track, error) {
	var doc gpxFile
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("geo: gpx: %w", err)
	}
	tracks := make([]Track, len(doc.Tracks))
	for i, trk := range doc.Tracks {
		tracks[i] = Track{Name: strings.TrimSpace(trk.Name), Segments: make([][]Fix, len(trk.Segments))}
		for j, seg := range trk.Segments {
			fixes, err := gpxFixes(seg.Points)
			if err != nil {
				return nil, fmt.Errorf("geo: gpx: trk %d trkseg %d %w", i, j, err)
			}
			tracks[i].Segments[j] = fixes
		}
	}
	return tracks, nil
}

func gpxFixes(pts []gpxPoint) ([]Fix, error) {
	fixes := make([]Fix, len(pts))
	for k, p := range pts {
		f, err := p.fix()
		if err != nil {
			return nil, fmt.Errorf("trkpt %d: %w", k, err)
		}
		fixes[k] = f
	}
	return fixes, nil
}

func (p gpxPoint) fix() (Fix, error) {
	var f Fix
	err := parseNumbers([]numField{
		{"lon", p.Lon, &f.Point[0], true}, {"lat", p.Lat, &f.Point[1], true},
		{"ele", p.Ele, &f.Alt, false}, {"speed", p.Speed, &f.Speed, false}, {"course", p.Course, &f.Heading, false},
	})
	if err != nil {
		return Fix{}, err
	}
	f.T, err = parseTime(p.Time)
	return f, err
}

// numField is a number to read: its name for errors, its text and where it goes; empty
// text is an error only if required.
type numField struct {
	name     string
	text     string
	dst      *float64
	required bool
}

func parseNumbers(fields []numField) error {
	for _, fd := range fields {
		s := strings.TrimSpace(fd.text)
		if s == "" && fd.required {
			return fmt.Errorf("%s: missing", fd.name)
		}
		if s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%s: not a number: %q", fd.name, s)
		}
		*fd.dst = v
	}
	return nil
}

// timeLayouts are the time forms the decoders read; a form without a zone is UTC, and
// fractional seconds of any length are accepted after the seconds.
var timeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05"}

// parseTime reads a time in one of timeLayouts; empty is the zero time.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time: cannot read %q (want RFC 3339)", s)
}
