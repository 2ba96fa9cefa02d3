package handlers

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// fullTile is a zoom-14 tile near Ningbo with all its 256 zoom-18 cells covered, each with
// its own visits, last visit and modes: the largest z14 tile the coverage endpoints send.
func fullTile() (geo.Tile, []geo.CellStat) {
	t := geo.CellAt(orb.Point{121.87, 29.48}, 14).Tile()
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	modes := [][]string{{"foot"}, {"vehicle"}, {"foot", "vehicle"}, {"drone", "foot"}}
	cells := make([]geo.CellStat, 0, 256)
	for i := range uint32(256) {
		c := geo.CellFromTile(geo.Tile{X: t.X<<4 + i%16, Y: t.Y<<4 + i/16, Z: 18})
		cells = append(cells, geo.CellStat{Cell: c, Visits: 1 + int(i*7%23),
			LastVisit: t0.Add(time.Duration(i*37) * time.Second), Modes: modes[i%4]})
	}
	return t, cells
}

// gzipFast compresses as the tile handler does (gzip.BestSpeed).
func gzipFast(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// BenchmarkTileFormat encodes the same full z14 tile (256 cells) as a Mapbox Vector Tile
// (geo.EncodeTile, what /v1/coverage/tiles sends) and as a GeoJSON FeatureCollection of the
// cells' polygons (cellFeature + json.Marshal, what /v1/coverage/cells sends), each raw and
// gzipped (BestSpeed, as the tile handler does); it reports the bytes of each answer.
// bench/run-all.sh prints them side by side.
func BenchmarkTileFormat(b *testing.B) {
	t, cells := fullTile()
	mvt := func() []byte {
		out, err := geo.EncodeTile(t, cells, 0)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	gj := func() []byte {
		fc := geojson.NewFeatureCollection()
		for _, st := range cells {
			fc.Append(cellFeature(st))
		}
		out, err := json.Marshal(fc)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		name string
		enc  func() []byte
		gz   bool
	}{{"mvt", mvt, false}, {"mvt-gzip", mvt, true}, {"geojson", gj, false}, {"geojson-gzip", gj, true}} {
		b.Run(c.name, func(b *testing.B) {
			var out []byte
			for b.Loop() {
				out = c.enc()
				if c.gz {
					out = gzipFast(out)
				}
			}
			b.ReportMetric(float64(len(out)), "bytes")
			b.ReportMetric(float64(len(cells)), "cells")
		})
	}
}

// TestTileFormatSame checks that both encodings of fullTile hold the 256 cells.
func TestTileFormatSame(t *testing.T) {
	tile, cells := fullTile()
	if len(cells) != 256 {
		t.Fatalf("%d cells", len(cells))
	}
	for _, c := range cells {
		if c.Cell.Tile().Z != 18 || c.Cell.Parent(14) != geo.CellFromTile(tile) {
			t.Fatalf("cell %v is not a z18 cell of %v", c.Cell, tile)
		}
	}
	mvt, err := geo.EncodeTile(tile, cells, 0)
	if err != nil || len(mvt) < 256*20 {
		t.Fatalf("EncodeTile: %d bytes, %v", len(mvt), err)
	}
	fc := geojson.NewFeatureCollection()
	for _, st := range cells {
		fc.Append(cellFeature(st))
	}
	raw, _ := json.Marshal(fc)
	back, err := geojson.UnmarshalFeatureCollection(raw)
	if err != nil || len(back.Features) != 256 {
		t.Fatalf("GeoJSON: %v, %d features", err, len(back.Features))
	}
}
