package geo

import (
	"testing"
	"time"
)

func TestStats(t *testing.T) {
	cases := []struct {
		name  string
		fixes []Fix
		want  TrackStats
	}{
		{"empty", nil, TrackStats{}},
		{"one fix", []Fix{walker(0, 0, 0)}, TrackStats{}},
		// 100 m in 10 s, a minute standing, then 50 m in 10 s
		{"walk, stop, walk", []Fix{walker(0, 0, 0), walker(100, 0, 10), walker(100, 0, 70), walker(150, 0, 80)},
			TrackStats{Distance: 150, Duration: 80 * time.Second, Moving: 20 * time.Second, AvgSpeed: 7.5, MaxSpeed: 10}},
		{"untimed fixes add distance only", []Fix{walker(0, 0, 0), {Point: walker(0, 30, 0).Point}, walker(0, 60, 30)},
			TrackStats{Distance: 60, Duration: 30 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Stats(tc.fixes, 0.5)
			if !float64Near(got.Distance, tc.want.Distance, 0.01) || got.Duration != tc.want.Duration ||
				got.Moving != tc.want.Moving || !float64Near(got.AvgSpeed, tc.want.AvgSpeed, 0.001) ||
				!float64Near(got.MaxSpeed, tc.want.MaxSpeed, 0.001) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestStatsCarDrive: SOURCES.md gives the drive as about 2.7 km, 06:15:50–06:24:24, with a
// top speed of about 26 m/s.
func TestStatsCarDrive(t *testing.T) {
	s := Stats(allFixes(readGPX(t, "around-visnjan-with-car.gpx")), 0.5)
	t.Logf("%+v", s)
	if !float64Near(s.Distance, 2700, 100) || s.Duration != 8*time.Minute+34*time.Second ||
		!float64Near(s.MaxSpeed, 26, 1) || s.Moving <= 0 || s.Moving > s.Duration {
		t.Errorf("%+v", s)
	}
}
