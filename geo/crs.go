package geo

import (
	"fmt"
	"math"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"
)

// GCJ-02 is the public "offset" formula mandated for Chinese maps: WGS84 positions inside
// ChinaBound are shifted by 100–700 m. The forward formula below is the widely published one
// (Krasovsky ellipsoid); the inverse is found by fixed-point iteration.
const (
	krasovskyA  = 6378245.0
	krasovskyEE = 0.00669342162296594323
	gcjTol      = 1e-10 // degrees; the iteration stops when a step is smaller (≈ 0.01 mm)
	gcjMaxIter  = 30
)

// ToGCJ02 shifts a WGS84 position to GCJ-02. Positions outside ChinaBound are unchanged.
func ToGCJ02(p orb.Point) orb.Point {
	if !ChinaBound.Contains(p) {
		return p
	}
	return gcjForward(p)
}

// FromGCJ02 converts a GCJ-02 position back to WGS84 by inverting ToGCJ02 iteratively;
// the result reproduces p through ToGCJ02 to about 1e-10° (far below 0.5 m; the formula
// itself is the limit of accuracy). Positions outside ChinaBound are unchanged.
func FromGCJ02(p orb.Point) orb.Point {
	if !ChinaBound.Contains(p) {
		return p
	}
	w := p
	for range gcjMaxIter {
		g := gcjForward(w)
		step := orb.Point{p[0] - g[0], p[1] - g[1]}
		w = orb.Point{w[0] + step[0], w[1] + step[1]}
		if math.Abs(step[0]) < gcjTol && math.Abs(step[1]) < gcjTol {
			break
		}
	}
	return w
}

// gcjForward applies the GCJ-02 offset without the China box test.
func gcjForward(p orb.Point) orb.Point {
	lon, lat := p[0], p[1]
	dLat := gcjLat(lon-105, lat-35)
	dLon := gcjLon(lon-105, lat-35)
	rad := lat * math.Pi / 180
	magic := 1 - krasovskyEE*math.Sin(rad)*math.Sin(rad)
	sq := math.Sqrt(magic)
	dLat = dLat * 180 / ((krasovskyA * (1 - krasovskyEE)) / (magic * sq) * math.Pi)
	dLon = dLon * 180 / (krasovskyA / sq * math.Cos(rad) * math.Pi)
	return orb.Point{lon + dLon, lat + dLat}
}

func gcjLat(x, y float64) float64 {
	r := -100 + 2*x + 3*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	r += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	r += (20*math.Sin(y*math.Pi) + 40*math.Sin(y/3*math.Pi)) * 2 / 3
	r += (160*math.Sin(y/12*math.Pi) + 320*math.Sin(y*math.Pi/30)) * 2 / 3
	return r
}

func gcjLon(x, y float64) float64 {
	r := 300 + x + 2*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	r += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	r += (20*math.Sin(x*math.Pi) + 40*math.Sin(x/3*math.Pi)) * 2 / 3
	r += (150*math.Sin(x/12*math.Pi) + 300*math.Sin(x/30*math.Pi)) * 2 / 3
	return r
}

// CRS names the coordinate system a terminal declares for the positions it sends.
type CRS string

// The coordinate systems beatgrid accepts.
const (
	WGS84 CRS = "WGS84"  // GPS, RFC 7946 GeoJSON; also EPSG:4326 and OGC CRS84
	GCJ02 CRS = "GCJ-02" // Chinese map services (AMap/Gaode, Tencent, Google in China)
)

// ParseCRS reads a declared CRS name, case-insensitively: "WGS84", "EPSG:4326",
// "urn:ogc:def:crs:OGC:1.3:CRS84" or "" (the default) for WGS84; "GCJ-02" or "GCJ02" for GCJ-02.
func ParseCRS(name string) (CRS, error) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "", "WGS84", "WGS-84", "EPSG:4326", "URN:OGC:DEF:CRS:OGC:1.3:CRS84", "CRS84":
		return WGS84, nil
	case "GCJ02", "GCJ-02":
		return GCJ02, nil
	}
	return "", fmt.Errorf("geo: unknown CRS %q (want WGS84 or GCJ-02)", name)
}

// ToWGS84 returns a copy of g converted from crs to WGS84 (g itself when crs is WGS84).
func ToWGS84(g orb.Geometry, crs CRS) orb.Geometry {
	if crs != GCJ02 || g == nil {
		return g
	}
	return Convert(g, FromGCJ02)
}

// Convert returns a deep copy of g with every position passed through f.
func Convert(g orb.Geometry, f func(orb.Point) orb.Point) orb.Geometry {
	if g == nil {
		return nil
	}
	return project.Geometry(orb.Clone(g), f)
}
