package geo

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// segmentSizes lists the points per segment per track, e.g. "[[0] [173 2]]".
func segmentSizes(tracks []Track) string {
	out := make([][]int, len(tracks))
	for i, trk := range tracks {
		out[i] = []int{}
		for _, seg := range trk.Segments {
			out[i] = append(out[i], len(seg))
		}
	}
	return fmt.Sprint(out)
}

func TestParseGPXFiles(t *testing.T) {
	// Sizes from SOURCES.md; the point counts are recounted from the raw text.
	cases := []struct {
		file     string
		segments string
		timed    int
	}{
		{"cerknicko-jezero.gpx", "[[0] [173] [52] [2] [44] [2] [2] [21]]", 296},
		{"korita-zbevnica.gpx", "[[0] [358] [176] [337]]", 513},
		{"around-visnjan-with-car.gpx", "[[104]]", 104},
		{"Mojstrovka.gpx", "[[184]]", 184},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			tracks := readGPX(t, tc.file)
			fixes := allFixes(tracks)
			timed := 0
			for _, f := range fixes {
				if f.Timed() {
					timed++
				}
			}
			if got := segmentSizes(tracks); got != tc.segments || timed != tc.timed || len(fixes) != len(gpxPoints(t, tc.file)) {
				t.Errorf("segments %s (want %s), %d timed (want %d), %d points", got, tc.segments, timed, tc.timed, len(fixes))
			}
		})
	}
}

func TestParseGPXPoint(t *testing.T) {
	tracks := readGPX(t, "around-visnjan-with-car.gpx")
	first := tracks[0].Segments[0][0]
	want := Fix{Point: orb.Point{13.7142099626, 45.2735188510}, T: time.Date(2020, 12, 18, 6, 15, 50, 0, time.UTC), Alt: 211.15}
	if first != want || tracks[0].Name != "2020-12-18 07:24:29" {
		t.Errorf("got %+v %q", first, tracks[0].Name)
	}
	moj := readGPX(t, "Mojstrovka.gpx")[0].Segments[0]
	if moj[0].T != time.Date(1901, 12, 13, 20, 45, 52, 207343700, time.UTC) || moj[1].T.Nanosecond() != 207000000 {
		t.Errorf("Mojstrovka times %v, %v", moj[0].T, moj[1].T)
	}
}

func TestParseGPXInput(t *testing.T) {
	const head = `<gpx version="1.0" xmlns="http://www.topografix.com/GPX/1/0"><trk><trkseg>`
	const tail = `</trkseg></trk></gpx>`
	cases := []struct {
		name, doc string
		want      Fix
		err       string
	}{
		{name: "GPX 1.0 speed and course",
			doc:  head + `<trkpt lat="45.5" lon="14.25"><ele>10</ele><time>2010-08-05T14:23:59.5Z</time><speed>1.5</speed><course>90</course></trkpt>` + tail,
			want: Fix{Point: orb.Point{14.25, 45.5}, T: time.Date(2010, 8, 5, 14, 23, 59, 5e8, time.UTC), Alt: 10, Speed: 1.5, Heading: 90}},
		{name: "time with an offset becomes UTC",
			doc:  head + `<trkpt lat="1" lon="2"><time>2010-08-05T16:23:59+02:00</time></trkpt>` + tail,
			want: Fix{Point: orb.Point{2, 1}, T: time.Date(2010, 8, 5, 14, 23, 59, 0, time.UTC)}},
		{name: "no time", doc: head + `<trkpt lat="1" lon="2"/>` + tail, want: Fix{Point: orb.Point{2, 1}}},
		{name: "not GPX", doc: `<kml></kml>`, err: "expected element type <gpx>"},
		{name: "missing lat", doc: head + `<trkpt lon="2"/>` + tail, err: "trk 0 trkseg 0 trkpt 0: lat: missing"},
		{name: "bad lon", doc: head + `<trkpt lat="1" lon="east"/>` + tail, err: `lon: not a number: "east"`},
		{name: "bad time", doc: head + `<trkpt lat="1" lon="2"><time>yesterday</time></trkpt>` + tail, err: "time: cannot read"},
		{name: "truncated", doc: head + `<trkpt lat="1"`, err: "unexpected EOF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tracks, err := ParseGPX(strings.NewReader(tc.doc))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want …%s…", err, tc.err)
				}
				return
			}
			if err != nil || tracks[0].Segments[0][0] != tc.want {
				t.Fatalf("got %+v, %v", tracks, err)
			}
		})
	}
}

func TestParseCSVFiles(t *testing.T) {
	cases := []struct {
		file  string
		rows  int
		first Fix
	}{
		{"posmo_trajectory.csv", 1327, Fix{Point: orb.Point{7.0389004, 47.0516249},
			T: time.Date(2019, 1, 25, 20, 0, 16, 178999901, time.UTC)}},
		{"google_trajectory.csv", 416, Fix{Point: orb.Point{8.5484732, 47.3766094}, Acc: 20,
			T: time.Date(2012, 12, 18, 21, 30, 35, 0, time.UTC)}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			fixes := readCSVTrack(t, tc.file)
			if len(fixes) != tc.rows || fixes[0] != tc.first {
				t.Errorf("%d rows, first %+v", len(fixes), fixes[0])
			}
		})
	}
}

func TestParseCSVInput(t *testing.T) {
	cases := []struct {
		name, doc string
		want      []Fix
		err       string
	}{
		{name: "comma separated, other names and order",
			doc:  "time,lat,lng,acc,altitude,speed,bearing\n2024-05-01T08:00:00Z,47.5,8.5,12,400,1.5,270\n",
			want: []Fix{{Point: orb.Point{8.5, 47.5}, T: t0, Acc: 12, Alt: 400, Speed: 1.5, Heading: 270}}},
		{name: "quoted fields, BOM, CRLF, unknown columns",
			doc:  "\ufeff\"Latitude\";\"Longitude\";\"note\"\r\n\"47.5\";\"8.5\";\"a;b\"\r\n",
			want: []Fix{{Point: orb.Point{8.5, 47.5}}}},
		{name: "header only", doc: "lon,lat\n", want: nil},
		{name: "no newline after the last row", doc: "lon;lat;tracked_at\n8.5;47.5;2024-05-01 08:00:00", want: []Fix{{Point: orb.Point{8.5, 47.5}, T: t0}}},
		{name: "no coordinate columns", doc: "x,y\n1,2\n", err: "no longitude and latitude"},
		{name: "empty", doc: "", err: "header"},
		{name: "bad number on line 3", doc: "lon,lat\n1,2\n1,north\n", err: "line 3: latitude: not a number"},
		{name: "missing longitude", doc: "lon,lat\n,2\n", err: "line 2: longitude: missing"},
		{name: "bad time", doc: "lon,lat,time\n1,2,noon\n", err: "line 2: time: cannot read"},
		{name: "short row", doc: "lon,lat,acc\n1,2\n", err: "wrong number of fields"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(tc.doc))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want …%s…", err, tc.err)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
