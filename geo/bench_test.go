package geo

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

var (
	cellSink  Cell
	visitSink []Visit
)

// benchPoints is the point generator that bench/h3/bench.js repeats exactly: a 32-bit LCG
// (x ← 1664525·x + 1013904223 mod 2³², from x = 1), two draws per point, lon first, uniform
// over 121–122°E × 29–30°N (around Ningbo).
func benchPoints(n int) []orb.Point {
	x := uint32(1)
	next := func() float64 {
		x = x*1664525 + 1013904223
		return float64(x) / (1 << 32)
	}
	pts := make([]orb.Point, n)
	for i := range pts {
		lon := 121 + next()
		pts[i] = orb.Point{lon, 29 + next()}
	}
	return pts
}

// BenchmarkCellAt measures points → zoom-18 cells on one goroutine (bench/points-cells.sh
// compares it with h3-js).
func BenchmarkCellAt(b *testing.B) {
	pts := benchPoints(1 << 20)
	var sink Cell
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink ^= CellAt(pts[i&(1<<20-1)], DefaultZoom)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpoints/s")
	cellSink = sink
	b.Logf("points: %d, checksum %.9f", len(pts), pointsChecksum(pts))
}

// pointsChecksum sums the coordinates in order, so bench.js can show it made the same points.
func pointsChecksum(pts []orb.Point) float64 {
	var s float64
	for _, p := range pts {
		s += p[0] + p[1]
	}
	return s
}

// patrolTrack is a drive of about km kilometres: a fix every 2 s at 12 m/s, turning a
// little at random.
func patrolTrack(km float64) []Fix {
	r := rand.New(rand.NewPCG(11, 12))
	p, heading := orb.Point{121.87, 29.48}, 0.0
	fixes := make([]Fix, int(km*1000/24)+1)
	for i := range fixes {
		fixes[i] = Fix{Point: p, T: t0.Add(time.Duration(2*i) * time.Second)}
		heading += r.NormFloat64() * 0.3
		p = offset(p, 24*math.Sin(heading), 24*math.Cos(heading))
	}
	return fixes
}

// BenchmarkRasterize measures the walk of a 100 km drive into zoom-18 cells, per km.
func BenchmarkRasterize(b *testing.B) {
	const km = 100
	fixes := patrolTrack(km)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		visitSink = Rasterize(fixes, DefaultRaster)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/km/1000, "µs/km")
	b.ReportMetric(float64(len(visitSink))/km, "visits/km")
}

// BenchmarkRasterizePosmo: the noisy train ride, filtered, then rasterized.
func BenchmarkRasterizePosmo(b *testing.B) {
	c, _ := FilterFor(Vehicle)
	fixes, _ := Filter(readCSVTrack(b, "posmo_trajectory.csv"), c)
	km := Stats(fixes, 0.5).Distance / 1000
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		visitSink = Rasterize(fixes, DefaultRaster)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/km/1000, "µs/km")
}

// BenchmarkCoverCounty covers each county outline with zoom-16 cells.
func BenchmarkCoverCounty(b *testing.B) {
	for _, county := range counties {
		mp := readBoundary(b, county+".wgs84")
		b.Run(county, func(b *testing.B) {
			var cells []Cell
			for i := 0; i < b.N; i++ {
				cells, _ = Cover(mp, 16, 1<<22)
			}
			b.ReportMetric(float64(len(cells)), "cells")
		})
	}
}

// comb is a simple polygon of 4·teeth vertices: teeth one unit wide and 100 high along a
// base, scaled to metres near Ningbo and turned by angle degrees. Turned 45°, every edge
// overlaps every other along both axes: the worst case of the crossing sweep.
func comb(teeth int, angle float64) orb.Polygon {
	pts := []orb.Point{{0, 0}, {float64(2*teeth - 1), 0}}
	for i := teeth - 1; i >= 0; i-- {
		x := float64(2 * i)
		pts = append(pts, orb.Point{x + 1, 100}, orb.Point{x, 100})
		if i > 0 {
			pts = append(pts, orb.Point{x, 1}, orb.Point{x - 1, 1})
		}
	}
	pts = append(pts, pts[0])
	sin, cos := math.Sincos(angle * math.Pi / 180)
	ring := make(orb.Ring, len(pts))
	for i, p := range pts {
		ring[i] = offset(orb.Point{121.87, 29.48}, p[0]*cos-p[1]*sin, p[0]*sin+p[1]*cos)
	}
	return orb.Polygon{ring}
}

func BenchmarkValidateArea(b *testing.B) {
	cases := []struct {
		name string
		g    orb.Geometry
	}{
		{"xiangshan-1587", readBoundary(b, "330225-xiangshan.gcj02")},
		{"comb-20000", comb(5000, 0)},
		{"comb-20000-turned", comb(5000, 45)},
	}
	for _, tc := range cases {
		if err := ValidateArea(tc.g, 20001); err != nil {
			b.Fatalf("%s: %v", tc.name, err)
		}
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_ = ValidateArea(tc.g, 20001)
			}
		})
	}
}

func BenchmarkFromGCJ02(b *testing.B) {
	p := gcjVectors[0].gcj
	for i := 0; i < b.N; i++ {
		p2 := FromGCJ02(p)
		cellSink ^= Cell(math.Float64bits(p2[0]))
	}
}

func BenchmarkFilterPosmo(b *testing.B) {
	fixes := readCSVTrack(b, "posmo_trajectory.csv")
	c, _ := FilterFor(Vehicle)
	for i := 0; i < b.N; i++ {
		Filter(fixes, c)
	}
}
