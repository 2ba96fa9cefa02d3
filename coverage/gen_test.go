package coverage_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/geo"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// A generator of a county's patrols, for the benchmarks of bench_test.go: terminals on
// 8-hour shifts (60% foot, 35% vehicle, 5% drone), one fix every 5 s, random walks with
// momentum kept inside the bounding box of a real county and pulled back towards the
// terminal's station, with correlated GPS noise, a few % inaccurate fixes and teleports.

const (
	genFixEvery  = 5 * time.Second
	genShift     = 8 * time.Hour
	genFixes     = int(genShift / genFixEvery) // 5760
	genBatch     = 500                         // fixes per track.points mutation, as a terminal sends
	genStations  = 24
	genInaccPct  = 0.03 // fixes with a bad reported accuracy (60–250 m) and an error to match
	genTeleport  = 0.01 // fixes far off with a good reported accuracy
	metresPerLat = 110540.0
)

// countyBound is the bounding box of Lucheng district, Wenzhou (330302): about 41 × 21 km.
func countyBound(t testing.TB) orb.Bound {
	t.Helper()
	raw, err := os.ReadFile("../testdata/boundaries/330302-lucheng.wgs84.geojson")
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(raw)
	if err != nil {
		t.Fatal(err)
	}
	b := fc.Features[0].Geometry.Bound()
	for _, f := range fc.Features[1:] {
		b = b.Union(f.Geometry.Bound())
	}
	return b
}

// genTerminal is one terminal of the county: its device, mode, station and shift.
type genTerminal struct {
	p     *beatgrid.Principal
	mode  geo.Mode
	home  orb.Point
	shift int // 0, 1, 2: starts at 00:00, 08:00, 16:00 UTC
	seq   int64
}

// genCounty is a county's terminals.
type genCounty struct {
	bound     orb.Bound
	terminals []*genTerminal
	rng       *rand.Rand
}

func newCounty(bound orb.Bound, n int, seed uint64) *genCounty {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	c := &genCounty{bound: bound, rng: rng}
	// Stations spread over the inner 80% of the box.
	w, h := bound.Max[0]-bound.Min[0], bound.Max[1]-bound.Min[1]
	stations := make([]orb.Point, genStations)
	for i := range stations {
		stations[i] = orb.Point{bound.Min[0] + w*(0.1+0.8*rng.Float64()), bound.Min[1] + h*(0.1+0.8*rng.Float64())}
	}
	for i := range n {
		mode := geo.Foot // 12 in 20: 60%
		switch r := i % 20; {
		case r == 19:
			mode = geo.Drone // 1 in 20: 5%
		case r >= 12:
			mode = geo.Vehicle // 7 in 20: 35%
		}
		c.terminals = append(c.terminals, &genTerminal{
			p: &beatgrid.Principal{UserID: fmt.Sprintf("u-%03d", i), Roles: []string{beatgrid.RoleOfficer}, OrgUnitID: unit,
				DeviceID: fmt.Sprintf("dev-%03d", i)},
			mode: mode, home: stations[i%genStations], shift: i % 3})
	}
	return c
}

// genPush is one push of one terminal: a batch of fixes (with the patrol's start before
// the first, its end after the last), sent when the batch's last fix is taken.
type genPush struct {
	term *genTerminal
	at   time.Time
	ms   []bgsync.Incoming
	n    int // fixes
}

// day generates every terminal's patrol of day (a midnight, UTC), as pushes in the order
// a server receives them. patrols gets each patrol's id and fixes if not nil.
func (c *genCounty) day(day time.Time, patrols func(term *genTerminal, id string, fixes []geo.Fix)) []genPush {
	var out []genPush
	for _, term := range c.terminals {
		start := day.Add(time.Duration(term.shift) * genShift)
		fixes := genWalk(c.rng, c.bound, term.mode, term.home, start)
		id := uuid.Must(uuid.NewV7()).String()
		if patrols != nil {
			patrols(term, id, fixes)
		}
		out = append(out, term.pushes(id, fixes)...)
	}
	slices.SortStableFunc(out, func(a, b genPush) int { return a.at.Compare(b.at) })
	return out
}

type genPoint struct {
	Lon float64   `json:"lon"`
	Lat float64   `json:"lat"`
	T   time.Time `json:"t"`
	Acc float64   `json:"acc"`
}

func (term *genTerminal) mutation(typ string, payload any) bgsync.Incoming {
	raw, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	term.seq++
	return bgsync.Incoming{ID: uuid.Must(uuid.NewV7()).String(), Seq: term.seq, Type: typ, Payload: raw}
}

// pushes turns a patrol into the terminal's pushes, genBatch fixes a track.points mutation.
func (term *genTerminal) pushes(id string, fixes []geo.Fix) []genPush {
	var out []genPush
	for s := 0; s < len(fixes); s += genBatch {
		part := fixes[s:min(s+genBatch, len(fixes))]
		var ms []bgsync.Incoming
		if s == 0 {
			ms = append(ms, term.mutation("patrol.start", bgsync.PatrolStart{PatrolID: id, Mode: string(term.mode), T: part[0].T}))
		}
		pts := make([]genPoint, len(part))
		for i, f := range part {
			pts[i] = genPoint{Lon: f.Point[0], Lat: f.Point[1], T: f.T, Acc: f.Acc}
		}
		ms = append(ms, term.mutation("track.points", map[string]any{"patrol_id": id, "points": pts}))
		if s+genBatch >= len(fixes) {
			ms = append(ms, term.mutation("patrol.end", bgsync.PatrolEnd{PatrolID: id, T: part[len(part)-1].T}))
		}
		out = append(out, genPush{term: term, at: part[len(part)-1].T, ms: ms, n: len(part)})
	}
	return out
}

// genWalk is one 8-hour patrol from home: a random walk with momentum (heading and speed
// drift; vehicles turn at "junctions", walkers stop now and then), pulled back when it
// strays beyond the mode's radius from home and turned back at the box's edges. The fixes
// carry a correlated GPS error (σ ≈ 5 m) and a reported accuracy; a few are inaccurate
// or teleports.
func genWalk(rng *rand.Rand, bound orb.Bound, mode geo.Mode, home orb.Point, start time.Time) []geo.Fix {
	var speed, turnSD, radius float64 // m/s, radians a step, metres
	switch mode {
	case geo.Vehicle:
		speed, turnSD, radius = 30/3.6, 0.05, 10000
	case geo.Drone:
		speed, turnSD, radius = 10, 0.08, 4000
	default:
		speed, turnSD, radius = 5/3.6, 0.2, 2500
	}
	mLon := metresPerLat * math.Cos(home[1]*math.Pi/180)
	toXY := func(p orb.Point) (float64, float64) { return (p[0] - home[0]) * mLon, (p[1] - home[1]) * metresPerLat }
	minX, minY := toXY(bound.Min)
	maxX, maxY := toXY(bound.Max)
	// Start somewhere within a few hundred metres of the station.
	x, y := rng.NormFloat64()*300, rng.NormFloat64()*300
	heading := rng.Float64() * 2 * math.Pi
	v := speed
	stop := 0 // steps left standing still
	var ex, ey float64
	dt := genFixEvery.Seconds()
	out := make([]geo.Fix, genFixes)
	for i := range out {
		switch {
		case stop > 0:
			stop--
		default:
			heading += rng.NormFloat64() * turnSD
			if mode == geo.Vehicle && rng.Float64() < 0.01 { // a junction
				heading += math.Pi / 2 * float64(1-2*rng.IntN(2))
			}
			if d := math.Hypot(x, y); d > radius { // steer home
				want := math.Atan2(-y, -x)
				diff := math.Remainder(want-heading, 2*math.Pi)
				heading += diff * 0.2
			}
			v += (speed-v)*0.1 + rng.NormFloat64()*speed*0.1
			v = max(v, 0)
			nx, ny := x+math.Cos(heading)*v*dt, y+math.Sin(heading)*v*dt
			if nx < minX || nx > maxX || ny < minY || ny > maxY {
				heading += math.Pi + rng.NormFloat64()*0.3
				nx, ny = x, y
			}
			x, y = nx, ny
			if mode != geo.Drone && rng.Float64() < 0.003 { // a stop: 1 to 10 minutes
				stop = 12 + rng.IntN(108)
			}
		}
		// Correlated GPS error: an AR(1) drift, σ ≈ 5 m.
		ex, ey = 0.95*ex+rng.NormFloat64()*1.5, 0.95*ey+rng.NormFloat64()*1.5
		fx, fy := x+ex, y+ey
		acc := 4 + math.Abs(rng.NormFloat64())*4
		switch r := rng.Float64(); {
		case r < genInaccPct: // a bad fix that says so
			acc = 60 + rng.Float64()*190
			fx, fy = fx+rng.NormFloat64()*acc, fy+rng.NormFloat64()*acc
		case r < genInaccPct+genTeleport: // a bad fix that claims to be good
			d, a := 300+rng.Float64()*2700, rng.Float64()*2*math.Pi
			fx, fy = fx+d*math.Cos(a), fy+d*math.Sin(a)
		}
		out[i] = geo.Fix{Point: orb.Point{home[0] + fx/mLon, home[1] + fy/metresPerLat},
			T: start.Add(time.Duration(i) * genFixEvery), Acc: math.Round(acc*10) / 10}
	}
	return out
}

// TestGenerator: the generator's walks stay in the county, move at their mode's pace and
// lose only a few % of fixes to the filters.
func TestGenerator(t *testing.T) {
	bound := countyBound(t)
	c := newCounty(bound, 20, 1)
	day := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	var n, kept int
	speeds := map[geo.Mode][]float64{}
	pushes := c.day(day, func(term *genTerminal, id string, fixes []geo.Fix) {
		mode := term.mode
		if len(fixes) != genFixes {
			t.Fatalf("%d fixes", len(fixes))
		}
		cfg, _ := geo.FilterFor(mode)
		k, _ := geo.Filter(fixes, cfg)
		n, kept = n+len(fixes), kept+len(k)
		for _, f := range k {
			if !bound.Pad(0.05).Contains(f.Point) {
				t.Fatalf("%s fix %v outside the county", mode, f.Point)
			}
		}
		d := 0.0
		for i := 1; i < len(k); i++ {
			d += geo.Distance(k[i-1].Point, k[i].Point)
		}
		speeds[mode] = append(speeds[mode], d/genShift.Hours()/1000)
	})
	if len(pushes) != 20*12 {
		t.Fatalf("%d pushes", len(pushes))
	}
	if f := float64(kept) / float64(n); f < 0.9 || f > 0.99 {
		t.Fatalf("filters kept %.1f%% of the fixes", 100*f)
	}
	for mode, s := range speeds {
		slices.Sort(s)
		t.Logf("%s: kept-track km/h median %.1f (%d patrols)", mode, s[len(s)/2], len(s))
	}
	t.Logf("kept %d of %d fixes (%.1f%%)", kept, n, 100*float64(kept)/float64(n))
}
