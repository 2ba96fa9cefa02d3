package geo

import (
	"time"
)

// TrackStats summarises a (filtered) track.
type TrackStats struct {
	Distance float64       // metres along the fixes (haversine)
	Duration time.Duration // from the first timed fix to the last
	Moving   time.Duration // time spent in steps at or above the moving speed
	AvgSpeed float64       // m/s: distance covered in moving steps / Moving
	MaxSpeed float64       // m/s: the fastest step
}

// Stats measures a track in time order; steps slower than minMoving m/s count as stopped.
// Steps without a positive time difference add to Distance only.
func Stats(fixes []Fix, minMoving float64) TrackStats {
	var s TrackStats
	var movingDist float64
	for i := 1; i < len(fixes); i++ {
		d, dt, timed := step(fixes[i-1], fixes[i])
		s.Distance += d
		if v := d / dt.Seconds(); timed {
			s.MaxSpeed = max(s.MaxSpeed, v)
			if v >= minMoving {
				s.Moving, movingDist = s.Moving+dt, movingDist+d
			}
		}
	}
	s.Duration = timedSpan(fixes)
	if s.Moving > 0 {
		s.AvgSpeed = movingDist / s.Moving.Seconds()
	}
	return s
}

// step is the distance and time from a to b; timed is false without a positive time.
func step(a, b Fix) (d float64, dt time.Duration, timed bool) {
	dt = b.T.Sub(a.T)
	return Distance(a.Point, b.Point), dt, a.Timed() && b.Timed() && dt > 0
}

// timedSpan is the time from the first timed fix to the last.
func timedSpan(fixes []Fix) time.Duration {
	var first, last time.Time
	for _, f := range fixes {
		if f.Timed() {
			if first.IsZero() {
				first = f.T
			}
			last = f.T
		}
	}
	return last.Sub(first)
}
