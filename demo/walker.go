package demo

import (
	"math"
	mrand "math/rand/v2"
	"time"

	"github.com/paulmach/orb"
)

// walker moves along a street grid (a lattice of spacing metres) that stays inside its
// station's beats: mostly straight on, sometimes turning, back only at a dead end.
type walker struct {
	beats   []orb.Bound
	origin  orb.Point // lattice origin, lon/lat
	mx, my  float64   // metres per degree of lon and lat here
	spacing float64   // metres between crossings
	speed   float64   // metres per second
	every   time.Duration
	x, y    float64 // position, metres from origin
	tx, ty  float64 // the crossing headed for
	dir     int     // 0 east, 1 north, 2 west, 3 south
	at      time.Time
	rng     *mrand.Rand
}

type fix struct {
	lon, lat, speed float64
	t               time.Time
}

var dirs = [4][2]float64{{1, 0}, {0, 1}, {-1, 0}, {0, -1}}

func newWalker(beats []orb.Polygon, mode string, rng *mrand.Rand) *walker {
	w := &walker{rng: rng, spacing: 150, speed: 1.3, every: 15 * time.Second}
	if mode == "vehicle" {
		w.spacing, w.speed, w.every = 300, 8, 5*time.Second
	}
	b := beats[0].Bound()
	for _, p := range beats {
		w.beats = append(w.beats, p.Bound())
		b = b.Union(p.Bound())
	}
	w.origin = b.Min
	w.my = 111320.0
	w.mx = w.my * math.Cos(b.Center()[1]*math.Pi/180)
	// Start at a crossing near the centre of a random beat.
	c := w.beats[rng.IntN(len(w.beats))].Center()
	w.x = math.Round((c[0]-w.origin[0])*w.mx/w.spacing) * w.spacing
	w.y = math.Round((c[1]-w.origin[1])*w.my/w.spacing) * w.spacing
	w.tx, w.ty = w.x, w.y
	w.dir = rng.IntN(4)
	return w
}

func (w *walker) lonlat(x, y float64) orb.Point {
	return orb.Point{w.origin[0] + x/w.mx, w.origin[1] + y/w.my}
}

func (w *walker) inside(x, y float64) bool {
	p := w.lonlat(x, y)
	for _, b := range w.beats {
		if b.Contains(p) {
			return true
		}
	}
	return false
}

// next picks the crossing after the one reached.
func (w *walker) next() {
	r := w.rng.Float64()
	order := []int{w.dir, (w.dir + 1) % 4, (w.dir + 3) % 4}
	switch {
	case r > 0.85:
		order[0], order[2] = order[2], order[0]
	case r > 0.6:
		order[0], order[1] = order[1], order[0]
	}
	order = append(order, (w.dir+2)%4)
	for _, d := range order {
		nx, ny := w.tx+dirs[d][0]*w.spacing, w.ty+dirs[d][1]*w.spacing
		if w.inside(nx, ny) {
			w.dir, w.tx, w.ty = d, nx, ny
			return
		}
	}
}

// run walks from from (or where it stopped, if later) to to and returns a fix every interval.
func (w *walker) run(from, to time.Time) []fix {
	if w.at.After(from) {
		from = w.at
	}
	var out []fix
	for t := from.Add(w.every); !t.After(to); t = t.Add(w.every) {
		v := w.speed * (0.8 + 0.4*w.rng.Float64())
		step := v * w.every.Seconds()
		for step > 0 {
			dx, dy := w.tx-w.x, w.ty-w.y
			rest := math.Hypot(dx, dy)
			if rest <= step {
				w.x, w.y = w.tx, w.ty
				step -= rest
				w.next()
				if w.tx == w.x && w.ty == w.y { // boxed in: stand
					break
				}
				continue
			}
			w.x += dx / rest * step
			w.y += dy / rest * step
			step = 0
		}
		// A few metres of GPS noise.
		p := w.lonlat(w.x+w.rng.NormFloat64()*3, w.y+w.rng.NormFloat64()*3)
		out = append(out, fix{lon: round7(p[0]), lat: round7(p[1]), speed: math.Round(v*10) / 10, t: t})
		w.at = t
	}
	return out
}

func round7(f float64) float64 { return math.Round(f*1e7) / 1e7 }

func pointsJSON(fs []fix) []map[string]any {
	out := make([]map[string]any, len(fs))
	for i, f := range fs {
		out[i] = map[string]any{"lon": f.lon, "lat": f.lat, "t": f.t, "acc": 6, "speed": f.speed}
	}
	return out
}

// loop goes round the closed line rounds times from from, a fix every interval at about the
// walker's speed, and returns the fixes and the times of the first round's passes at the
// line's vertices (the first at from). The walker's own position stays where it was.
func (w *walker) loop(line orb.LineString, from time.Time, rounds int) ([]fix, []time.Time) {
	xy := make([][2]float64, len(line))
	cum := make([]float64, len(line)) // metres along the line to each vertex
	for i, p := range line {
		xy[i] = [2]float64{(p[0] - w.origin[0]) * w.mx, (p[1] - w.origin[1]) * w.my}
		if i > 0 {
			cum[i] = cum[i-1] + math.Hypot(xy[i][0]-xy[i-1][0], xy[i][1]-xy[i-1][1])
		}
	}
	perimeter := cum[len(cum)-1]
	passes := []time.Time{from}
	var out []fix
	s, t := 0.0, from
	for s < float64(rounds)*perimeter {
		v := w.speed * (0.8 + 0.4*w.rng.Float64())
		next := s + v*w.every.Seconds()
		// Vertices passed in this step, on the first round.
		for i := len(passes); i < len(line)-1 && cum[i] <= next; i++ {
			passes = append(passes, t.Add(time.Duration((cum[i]-s)/v*float64(time.Second))).Truncate(time.Second))
		}
		s, t = next, t.Add(w.every)
		at := math.Mod(s, perimeter)
		i := 1
		for i < len(cum)-1 && cum[i] < at {
			i++
		}
		f := (at - cum[i-1]) / (cum[i] - cum[i-1])
		x := xy[i-1][0] + f*(xy[i][0]-xy[i-1][0]) + w.rng.NormFloat64()*3
		y := xy[i-1][1] + f*(xy[i][1]-xy[i-1][1]) + w.rng.NormFloat64()*3
		p := w.lonlat(x, y)
		out = append(out, fix{lon: round7(p[0]), lat: round7(p[1]), speed: math.Round(v*10) / 10, t: t})
	}
	return out, passes
}
