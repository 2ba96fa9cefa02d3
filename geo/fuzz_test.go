package geo

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// FuzzValidateArea feeds GeoJSON geometries, seeded with the county outlines, to the area
// checks and the cover: no panics, errors are *Error, and a valid area covers.
func FuzzValidateArea(f *testing.F) {
	seeds := []orb.Geometry{readBoundary(f, "469006-wanning.gcj02")} // 326 vertices
	for _, poly := range readBoundary(f, "330225-xiangshan.gcj02") {
		if len(poly[0]) < 12 { // the small islands
			seeds = append(seeds, poly)
		}
	}
	for _, g := range seeds {
		raw, err := geojson.NewGeometry(g).MarshalJSON()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"type":"Polygon","coordinates":[[[0,0],[2,2],[2,0],[0,2],[0,0]]]}`))
	f.Add([]byte(`{"type":"Polygon","coordinates":[[[120.65,28.01],[120.659,28.01],[120.659,28.016],[120.65,28.01]],[[120.652,28.011],[120.653,28.011],[120.653,28.012],[120.652,28.011]]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := geojson.UnmarshalGeometry(data)
		if err != nil {
			return
		}
		err = ValidateArea(g.Coordinates, 5000)
		var ge *Error
		if err != nil && !errors.As(err, &ge) {
			t.Fatalf("error %v is not an *Error", err)
		}
		_ = InRegion(g.Coordinates, ChinaBound)
		_ = ValidateLine(g.Coordinates, 5000)
		if err != nil {
			return
		}
		cells, err := Cover(g.Coordinates, 12, 20000)
		if err != nil && !errors.Is(err, ErrTooManyCells) {
			t.Fatalf("cover: %v", err)
		}
		if !slices.IsSorted(cells) || slices.ContainsFunc(cells, func(c Cell) bool { return !c.Valid() || c.Zoom() != 12 }) {
			t.Fatalf("bad cover %v", cells)
		}
	})
}

// FuzzParseGPX decodes GPX, seeded with the real files, and runs what follows a decode.
func FuzzParseGPX(f *testing.F) {
	for _, name := range []string{"cerknicko-jezero.gpx", "korita-zbevnica.gpx", "around-visnjan-with-car.gpx", "Mojstrovka.gpx"} {
		f.Add(gpxHead(readFile(f, gpxDir+name), 4))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tracks, err := ParseGPX(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, trk := range tracks {
			for _, seg := range trk.Segments {
				checkTrackPipeline(t, seg)
			}
		}
	})
}

// gpxHead keeps the root element of a GPX file and its track points up to the n-th,
// dropping metadata and waypoints: small seeds keep the fuzzer fast (it minimises every
// new input it finds, which takes long on large ones).
func gpxHead(doc []byte, n int) []byte {
	root := bytes.Index(doc, []byte("<gpx"))
	rootEnd := root + bytes.IndexByte(doc[root:], '>') + 1
	trk := bytes.Index(doc, []byte("<trk>"))
	end := trk
	for range n {
		i := bytes.Index(doc[end:], []byte("</trkpt>"))
		if root < 0 || trk < 0 || i < 0 {
			return doc
		}
		end += i + len("</trkpt>")
	}
	seed := append(doc[:rootEnd:rootEnd], doc[trk:end]...)
	return append(seed, "</trkseg></trk></gpx>"...)
}

// FuzzFilterTrack decodes CSV, seeded with the noisy real tracks, and filters, rasterizes
// and measures the result.
func FuzzFilterTrack(f *testing.F) {
	for _, name := range []string{"posmo_trajectory.csv", "google_trajectory.csv"} {
		raw := readFile(f, csvDir+name)
		f.Add(raw[:min(len(raw), 4000)]) // a few dozen rows: mutations stay meaningful
	}
	f.Add([]byte("lon,lat,time,acc\n8.5,47.5,2024-05-01T08:00:00Z,5\n8.6,47.5,2024-05-01T08:00:01Z,NaN\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fixes, err := ParseCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		checkTrackPipeline(t, fixes)
	})
}

// checkTrackPipeline filters fixes with each preset and checks the invariants of the result.
func checkTrackPipeline(t *testing.T, fixes []Fix) {
	for _, m := range []Mode{Foot, Vehicle} {
		c, _ := FilterFor(m)
		kept, st := Filter(fixes, c)
		if st.In != st.Kept+st.Rejected() || st.Kept != len(kept) {
			t.Fatalf("%s: counts do not add up: %+v", m, st)
		}
		for i, k := range kept {
			if pointProblem(k.Point) != "" || !k.Timed() || (i > 0 && !k.T.After(kept[i-1].T)) {
				t.Fatalf("%s: kept fix %d: %+v", m, i, k)
			}
		}
		visits := Rasterize(kept, DefaultRaster)
		if len(kept) > 0 && len(visits) == 0 {
			t.Fatalf("%s: %d fixes, no visits", m, len(kept))
		}
		if s := Stats(kept, 0.5); math.IsNaN(s.Distance) || math.IsNaN(s.AvgSpeed) {
			t.Fatalf("%s: stats %+v", m, s)
		}
	}
}

// FuzzCellRoundTrip: any position and zoom give a valid cell that round-trips through its
// tile, contains the position, and nests in its parent.
func FuzzCellRoundTrip(f *testing.F) {
	for _, fx := range readCSVTrack(f, "google_trajectory.csv")[:20] {
		f.Add(fx.Point[0], fx.Point[1], uint8(18))
	}
	for z, p := range readBoundary(f, "469006-wanning.wgs84")[0][0][:31] {
		f.Add(p[0], p[1], uint8(z))
	}
	f.Add(180.0, 90.0, uint8(30))
	f.Add(math.NaN(), math.Inf(1), uint8(255))
	f.Fuzz(func(t *testing.T, lon, lat float64, zoom uint8) {
		p, z := orb.Point{lon, lat}, int(zoom)
		c := CellAt(p, z)
		if !c.Valid() || c.Zoom() != clampZoom(z) || CellFromTile(c.Tile()) != c {
			t.Fatalf("CellAt(%v, %d) = %v (%#x)", p, z, c, uint64(c))
		}
		if parent := c.Parent(c.Zoom() - 1); !parent.Contains(c) || (c.Zoom() > 0 && parent == c) {
			t.Fatalf("%v: parent %v", c, parent)
		}
		if lo, hi := c.Range(); lo > c || c > hi || CellAt(c.Center(), c.Zoom()) != c {
			t.Fatalf("%v: range %v..%v, centre %v", c, lo, hi, c.Center())
		}
		if pointProblem(p) == "" && math.Abs(lat) < 85 && lon < 180 && !grown(c.Bound(), 1e-9).Contains(p) {
			t.Fatalf("%v (%v) does not contain %v", c, c.Bound(), p)
		}
	})
}

func grown(b orb.Bound, by float64) orb.Bound {
	return orb.Bound{Min: orb.Point{b.Min[0] - by, b.Min[1] - by}, Max: orb.Point{b.Max[0] + by, b.Max[1] + by}}
}
