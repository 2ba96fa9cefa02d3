package geo

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

var t0 = time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)

// walker makes fixes near Zürich: east metres east and north metres north of a start,
// sec seconds after t0.
func walker(east, north float64, sec int) Fix {
	return Fix{Point: offset(orb.Point{8.54, 47.37}, east, north), T: t0.Add(time.Duration(sec) * time.Second)}
}

// offset moves p by east and north metres (locally flat).
func offset(p orb.Point, east, north float64) orb.Point {
	m := orb.EarthRadius * math.Pi / 180
	return orb.Point{p[0] + east/(m*math.Cos(p[1]*math.Pi/180)), p[1] + north/m}
}

func withAcc(f Fix, acc float64) Fix { f.Acc = acc; return f }

func TestFilter(t *testing.T) {
	cfg := FilterConfig{MaxSpeed: 4, Jitter: 10, MaxAccuracy: 50, Confirm: 3, Sort: true}
	unsorted := cfg
	unsorted.Sort = false
	walk := []Fix{walker(0, 0, 0), walker(10, 0, 5), walker(20, 0, 10), walker(30, 0, 15)}
	cases := []struct {
		name  string
		cfg   FilterConfig
		fixes []Fix
		want  FilterStats // In and Kept are filled in from the fixes and keep
		keep  []int       // indexes of the fixes kept, in output order
	}{
		{"a steady walk", cfg, walk, FilterStats{}, []int{0, 1, 2, 3}},
		{"invalid coordinates", cfg,
			[]Fix{walk[0], {Point: orb.Point{math.NaN(), 47}, T: t0}, {Point: orb.Point{8.5, 91}, T: t0}, withAcc(walk[1], -1)},
			FilterStats{Invalid: 3}, []int{0}},
		{"no time", cfg, []Fix{walk[0], {Point: walk[1].Point}}, FilterStats{NoTime: 1}, []int{0}},
		{"poor accuracy; unknown is fine", cfg, []Fix{walk[0], withAcc(walk[1], 80), withAcc(walk[2], 0)},
			FilterStats{Inaccurate: 1}, []int{0, 2}},
		{"same time", cfg, []Fix{walk[0], walk[1], {Point: walk[2].Point, T: walk[1].T}}, FilterStats{DupTime: 1}, []int{0, 1}},
		{"back to an earlier position", cfg, []Fix{walk[0], walk[1], {Point: walk[0].Point, T: walk[2].T}},
			FilterStats{Repeat: 1}, []int{0, 1}},
		{"descending input is sorted", cfg, []Fix{walk[3], walk[2], walk[1], walk[0]},
			FilterStats{Reordered: 3}, []int{3, 2, 1, 0}},
		{"without Sort, earlier fixes are out of order", unsorted, []Fix{walk[0], walk[2], walk[1], walk[3]},
			FilterStats{OutOfOrder: 1, Reordered: 1}, []int{0, 1, 3}},
		// 0 ─ 1 ─ · ─ 3     fix 2 leaps 1 km away for one report
		//         ╲ ╱
		//          2
		{"a spike", cfg, []Fix{walk[0], walk[1], walker(20, -1000, 10), walk[3]}, FilterStats{Teleport: 1}, []int{0, 1, 3}},
		{"a spike kept by a long gap, dropped by the next fix", cfg,
			[]Fix{walk[0], walker(0, 200, 60), walker(5, 0, 62)}, FilterStats{Teleport: 1}, []int{0, 2}},
		{"a teleport at the end", cfg, []Fix{walk[0], walk[1], walker(10, 5000, 10)}, FilterStats{Teleport: 1}, []int{0, 1}},
		{"a real jump is confirmed", cfg,
			[]Fix{walk[0], walker(3000, 0, 5), walker(3010, 0, 10), walker(3020, 0, 15)},
			FilterStats{Jumps: 1}, []int{0, 1, 2, 3}},
		{"a jump that is not confirmed", cfg,
			[]Fix{walk[0], walker(3000, 0, 5), walker(3010, 0, 10), walker(15, 0, 15)},
			FilterStats{Teleport: 2}, []int{0, 3}},
		{"accuracy widens the allowance", cfg,
			[]Fix{withAcc(walk[0], 30), withAcc(walker(60, 0, 1), 30)}, FilterStats{}, []int{0, 1}},
		{"no speed limit", FilterConfig{}, []Fix{walk[0], walker(1e5, 0, 1)}, FilterStats{}, []int{0, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.fixes)
			kept, st := Filter(tc.fixes, tc.cfg)
			want := tc.want
			want.In, want.Kept = len(tc.fixes), len(tc.keep)
			if st != want {
				t.Errorf("stats %+v\nwant  %+v", st, want)
			}
			for i, k := range tc.keep {
				if i >= len(kept) || kept[i] != tc.fixes[k] {
					t.Fatalf("kept %v, want fixes %v", kept, tc.keep)
				}
			}
			if fmt.Sprint(in) != fmt.Sprint(tc.fixes) { // NaN != NaN, so compare the text
				t.Error("Filter changed its input")
			}
		})
	}
}

func TestFilterFor(t *testing.T) {
	for _, m := range []Mode{Foot, Bike, Vehicle, Drone} {
		if c, err := FilterFor(m); err != nil || c.MaxSpeed <= 0 || !c.Sort {
			t.Errorf("%s: %+v, %v", m, c, err)
		}
	}
	if _, err := FilterFor("hovercraft"); err == nil {
		t.Error("unknown mode accepted")
	}
}

// rawRow is a CSV row read without ParseCSV, to compute expectations independently.
type rawRow struct {
	pos string // "lat lon" as written
	acc float64
	t   time.Time
}

func readRawRows(t *testing.T, name string) []rawRow {
	t.Helper()
	cr := csv.NewReader(bytes.NewReader(readFile(t, csvDir+name)))
	cr.Comma = ';'
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	rows := make([]rawRow, len(recs)-1)
	for i, rec := range recs[1:] {
		acc, err1 := strconv.ParseFloat(rec[col["accuracy"]], 64)
		tm, err2 := time.Parse("2006-01-02T15:04:05Z07:00", regexp.MustCompile(`^(\S+) (\S+)$`).ReplaceAllString(rec[col["tracked_at"]], "${1}T${2}Z"))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		rows[i] = rawRow{pos: rec[col["latitude"]] + " " + rec[col["longitude"]], acc: acc, t: tm}
	}
	return rows
}

// expectedRepeats counts, in time order, the rows at a position written before.
func expectedRepeats(rows []rawRow) int {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b rawRow) int { return a.t.Compare(b.t) })
	seen, n := map[string]bool{}, 0
	for _, r := range rows {
		if seen[r.pos] {
			n++
		}
		seen[r.pos] = true
	}
	return n
}

func countRows(rows []rawRow, keep func(rawRow) bool) int {
	n := 0
	for _, r := range rows {
		if keep(r) {
			n++
		}
	}
	return n
}

func descents(rows []rawRow) int {
	n := 0
	for i := 1; i < len(rows); i++ {
		if rows[i].t.Before(rows[i-1].t) {
			n++
		}
	}
	return n
}

// checkKeptSteps: every step of the kept track is within reach at MaxSpeed, except at most
// one step per confirmed jump.
func checkKeptSteps(t *testing.T, kept []Fix, c FilterConfig, st FilterStats) {
	t.Helper()
	fast := 0
	for i := 1; i < len(kept); i++ {
		a, b := kept[i-1], kept[i]
		slack := min(a.Acc, c.MaxAccuracy) + min(b.Acc, c.MaxAccuracy)
		if Distance(a.Point, b.Point) > c.MaxSpeed*b.T.Sub(a.T).Seconds()+c.Jitter+slack {
			fast++
		}
	}
	if fast > st.Jumps {
		t.Errorf("%d kept steps exceed the speed limit, %d jumps", fast, st.Jumps)
	}
	if st.In != st.Kept+st.Rejected() {
		t.Errorf("counts do not add up: %+v", st)
	}
}

func keptAt(kept []Fix, pos orb.Point) int {
	n := 0
	for _, f := range kept {
		if f.Point == pos {
			n++
		}
	}
	return n
}

// TestFilterPosmo: a train ride in Switzerland with a cached position that comes back 35
// times, interleaved with real fixes (steps of up to 15.5 km in 5 s).
func TestFilterPosmo(t *testing.T) {
	rows := readRawRows(t, "posmo_trajectory.csv")
	spot := orb.Point{6.8093174, 46.926998}
	if n := countRows(rows, func(r rawRow) bool { return r.pos == "46.926998 6.8093174" }); n != 35 {
		t.Fatalf("the spot occurs %d times in the file", n)
	}
	c, _ := FilterFor(Vehicle)
	kept, st := Filter(readCSVTrack(t, "posmo_trajectory.csv"), c)
	t.Logf("vehicle: %+v", st)
	want := FilterStats{In: len(rows), Kept: st.Kept, Teleport: st.Teleport, Jumps: st.Jumps,
		Inaccurate: countRows(rows, func(r rawRow) bool { return r.acc > c.MaxAccuracy }),
		Repeat:     expectedRepeats(rows), Reordered: descents(rows)}
	if st != want {
		t.Errorf("stats %+v\nwant  %+v", st, want)
	}
	// The first visit may be real (the fixes at 20:17:18-23 are 3 m from it); the 34 returns
	// must not be.
	if n := keptAt(kept, spot); n > 1 {
		t.Errorf("the cached spot survives %d times", n)
	}
	if st.Teleport == 0 {
		t.Error("no teleports found")
	}
	checkKeptSteps(t, kept, c, st)
}

// TestFilterGoogle: a Google location history excerpt in descending time order, with one
// position repeated 98 times and accuracy-1001 fixes 2.3 km off the track.
func TestFilterGoogle(t *testing.T) {
	rows := readRawRows(t, "google_trajectory.csv")
	fixes := readCSVTrack(t, "google_trajectory.csv")
	far := orb.Point{8.5193713, 47.3718985}
	if n := countRows(rows, func(r rawRow) bool { return r.acc == 1001 }); n != 3 {
		t.Fatalf("%d rows with accuracy 1001", n)
	}

	t.Run("foot, accuracy up to 100 m", func(t *testing.T) {
		c, _ := FilterFor(Foot)
		c.MaxAccuracy = 100
		kept, st := Filter(fixes, c)
		t.Logf("%+v", st)
		good := slices.DeleteFunc(slices.Clone(rows), func(r rawRow) bool { return r.acc > 100 })
		want := FilterStats{In: len(rows), Kept: st.Kept, Teleport: st.Teleport, Jumps: st.Jumps,
			Inaccurate: len(rows) - len(good), Repeat: expectedRepeats(good), Reordered: len(good) - 1}
		if st != want {
			t.Errorf("stats %+v\nwant  %+v", st, want)
		}
		checkKeptSteps(t, kept, c, st)
	})
	t.Run("foot, any accuracy", func(t *testing.T) {
		c, _ := FilterFor(Foot)
		c.MaxAccuracy = 0
		kept, st := Filter(fixes, c)
		t.Logf("%+v", st)
		if keptAt(kept, far) != 0 || st.Teleport < 1 {
			t.Errorf("the 2.3 km jumps survive: %+v", st)
		}
		if n := keptAt(kept, orb.Point{8.5488743, 47.3776657}); n > 1 {
			t.Errorf("the position repeated 98 times is kept %d times", n)
		}
		if st.Repeat != expectedRepeats(rows) || st.Reordered != len(rows)-1 {
			t.Errorf("repeats %d, reordered %d", st.Repeat, st.Reordered)
		}
		checkKeptSteps(t, kept, c, st)
	})
	t.Run("unsorted", func(t *testing.T) {
		c, _ := FilterFor(Foot)
		c.Sort, c.MaxAccuracy = false, 0
		kept, st := Filter(fixes, c)
		if len(kept) != 1 || st.OutOfOrder != len(rows)-1 {
			t.Errorf("kept %d, %+v", len(kept), st)
		}
	})
}

// gpxPoints splits a GPX file's text at each <trkpt, for expectations without the decoder.
func gpxPoints(t *testing.T, name string) []string {
	parts := regexp.MustCompile(`<trkpt\b`).Split(string(readFile(t, gpxDir+name)), -1)
	return parts[1:]
}

func TestFilterGPX(t *testing.T) {
	t.Run("korita: untimed track", func(t *testing.T) {
		pts := gpxPoints(t, "korita-zbevnica.gpx")
		untimed := 0
		for _, p := range pts {
			if !regexp.MustCompile(`^[^>]*>(?s:.)*?<time>`).MatchString(p) {
				untimed++
			}
		}
		c, _ := FilterFor(Foot)
		_, st := Filter(allFixes(readGPX(t, "korita-zbevnica.gpx")), c)
		if st.In != len(pts) || st.NoTime != untimed || untimed != 358 {
			t.Errorf("%d points, %d untimed: %+v", len(pts), untimed, st)
		}
	})
	t.Run("mojstrovka: broken times", func(t *testing.T) {
		times := map[string]int{}
		for _, p := range gpxPoints(t, "Mojstrovka.gpx") {
			times[regexp.MustCompile(`<time>([^<]*)</time>`).FindStringSubmatch(p)[1]]++
		}
		c, _ := FilterFor(Foot)
		kept, st := Filter(allFixes(readGPX(t, "Mojstrovka.gpx")), c)
		wantDup := st.In - len(times)
		if st.DupTime != wantDup || len(kept) != len(times) {
			t.Errorf("%d distinct times: kept %d, %+v", len(times), len(kept), st)
		}
	})
	t.Run("cerknicko: a 92 m/s step", func(t *testing.T) {
		c, _ := FilterFor(Bike)
		kept, st := Filter(allFixes(readGPX(t, "cerknicko-jezero.gpx")), c)
		t.Logf("%+v", st)
		for i := 1; i < len(kept); i++ {
			if kept[i].T.Sub(kept[i-1].T) <= 2*time.Second && Distance(kept[i-1].Point, kept[i].Point) > 150 {
				t.Errorf("kept a step of %.0f m at %s", Distance(kept[i-1].Point, kept[i].Point), kept[i].T)
			}
		}
		checkKeptSteps(t, kept, c, st)
	})
	t.Run("car drive: nothing to drop", func(t *testing.T) {
		c, _ := FilterFor(Vehicle)
		_, st := Filter(allFixes(readGPX(t, "around-visnjan-with-car.gpx")), c)
		if st.Rejected() != 0 || st.Kept != 104 {
			t.Errorf("%+v", st)
		}
	})
}
