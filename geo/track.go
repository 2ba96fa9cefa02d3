package geo

import (
	"time"

	"github.com/paulmach/orb"
)

// Fix is one position report from a terminal.
type Fix struct {
	Point   orb.Point // WGS84 lon/lat
	T       time.Time // when it was measured; the zero time if unknown
	Acc     float64   // horizontal accuracy in metres (radius); 0 = unknown
	Speed   float64   // m/s as the device reported it; 0 = unknown
	Heading float64   // degrees clockwise from north as reported
	Alt     float64   // metres above sea level as reported
}

// Timed reports whether f carries a time. Decoders keep points without one; Filter drops them.
func (f Fix) Timed() bool { return !f.T.IsZero() }

// Track is a named track from a file: its segments, each a run of fixes in file order.
type Track struct {
	Name     string
	Segments [][]Fix
}

// Points returns the positions of fixes as a line.
func Points(fixes []Fix) orb.LineString {
	ls := make(orb.LineString, len(fixes))
	for i, f := range fixes {
		ls[i] = f.Point
	}
	return ls
}
