package geo

import (
	"fmt"
	"slices"

	"github.com/paulmach/orb"
)

// FilterConfig sets the thresholds of Filter.
type FilterConfig struct {
	// MaxSpeed in m/s: a fix farther from the last kept fix than MaxSpeed·Δt + Jitter plus
	// both fixes' accuracy is a teleport. 0 disables the check.
	MaxSpeed float64
	// Jitter in metres: movement always allowed between fixes, whatever the time between
	// them, for GPS noise.
	Jitter float64
	// MaxAccuracy in metres: fixes reporting a worse (larger) accuracy are dropped; fixes
	// with unknown accuracy (0) are kept. The accuracy of the fixes kept widens the speed
	// allowance between them. 0 ignores accuracy altogether.
	MaxAccuracy float64
	// Confirm is how many consecutive fixes, each consistent with the one before, confirm
	// that the terminal really moved: after a teleport, such a run is kept and the track
	// carries on from there (a wrong first fix would otherwise hold the whole track back).
	// 0 never confirms.
	Confirm int
	// Sort orders the fixes by time first (stable), so uploads in any order give the same
	// result; without it a fix earlier than the last kept one is dropped as out of order.
	Sort bool
}

// Mode is how a unit patrols; each has a preset FilterConfig.
type Mode string

// The patrol modes.
const (
	Foot    Mode = "foot"
	Bike    Mode = "bike"
	Vehicle Mode = "vehicle"
	Drone   Mode = "drone"
)

var presets = map[Mode]FilterConfig{
	Foot:    {MaxSpeed: 4, Jitter: 15, MaxAccuracy: 50, Confirm: 3, Sort: true},
	Bike:    {MaxSpeed: 12, Jitter: 15, MaxAccuracy: 50, Confirm: 3, Sort: true},
	Vehicle: {MaxSpeed: 45, Jitter: 25, MaxAccuracy: 100, Confirm: 3, Sort: true},
	Drone:   {MaxSpeed: 30, Jitter: 10, MaxAccuracy: 20, Confirm: 3, Sort: true},
}

// FilterFor returns the preset thresholds for a patrol mode.
func FilterFor(m Mode) (FilterConfig, error) {
	c, ok := presets[m]
	if !ok {
		return FilterConfig{}, fmt.Errorf("geo: unknown patrol mode %q", m)
	}
	return c, nil
}

// FilterStats counts what Filter did. In = Kept + Rejected().
type FilterStats struct {
	In, Kept int

	Invalid    int // coordinates not a finite WGS84 lon/lat, or a NaN/negative accuracy
	NoTime     int // no time
	Inaccurate int // accuracy worse than MaxAccuracy
	OutOfOrder int // earlier than the last kept fix (only without Sort)
	DupTime    int // the same time as the last kept fix
	Repeat     int // exactly the position of an earlier fix: a stale or cached report
	Teleport   int // out of reach of the last kept fix, or a spike between two kept fixes

	Reordered int // not a reject: fixes that passed the first tests but came earlier than the one before them
	Jumps     int // not a reject: runs of Confirm fixes kept after a teleport
}

// Rejected is the number of fixes dropped, of all kinds.
func (s FilterStats) Rejected() int {
	return s.Invalid + s.NoTime + s.Inaccurate + s.OutOfOrder + s.DupTime + s.Repeat + s.Teleport
}

// Filter returns the fixes worth keeping, in time order, and counts the rest by reason.
// Each fix is judged by the first test it fails. Alone: invalid coordinates, no time,
// accuracy. Then, in time order, against the last kept fix: out of order, same time; a
// position already seen (exact float equality: real GPS fixes do not repeat to the bit,
// cached ones do); and reach. A fix out of reach of the last kept fix (MaxSpeed, Jitter and
// accuracy) is a teleport, unless it is within reach of the kept fix before that: then
// the last kept fix was a spike, and it goes instead. Confirm consecutive teleports that
// are within reach of each other are a real jump and are kept. fixes is not modified.
func Filter(fixes []Fix, c FilterConfig) ([]Fix, FilterStats) {
	st := FilterStats{In: len(fixes)}
	cands := make([]Fix, 0, len(fixes))
	for _, f := range fixes {
		if st.screen(f, c) {
			cands = append(cands, f)
		}
	}
	st.Reordered = countDescents(cands)
	if c.Sort {
		slices.SortStableFunc(cands, func(a, b Fix) int { return a.T.Compare(b.T) })
	}
	tf := trackFilter{c: c, st: &st, seen: make(map[orb.Point]struct{}, len(cands))}
	for _, f := range cands {
		tf.push(f)
	}
	st.Teleport += len(tf.pending)
	st.Kept = len(tf.kept)
	return tf.kept, st
}

// screen counts f if it fails one of the tests that need no neighbours.
func (s *FilterStats) screen(f Fix, c FilterConfig) bool {
	switch {
	case pointProblem(f.Point) != "" || !(f.Acc >= 0) || !finite(f.Acc):
		s.Invalid++
	case !f.Timed():
		s.NoTime++
	case c.MaxAccuracy > 0 && f.Acc > c.MaxAccuracy:
		s.Inaccurate++
	default:
		return true
	}
	return false
}

func countDescents(fixes []Fix) int {
	n := 0
	for i := 1; i < len(fixes); i++ {
		if fixes[i].T.Before(fixes[i-1].T) {
			n++
		}
	}
	return n
}

// trackFilter holds the kept fixes and, after a teleport, the run of fixes that may yet
// confirm a real jump.
type trackFilter struct {
	c       FilterConfig
	st      *FilterStats
	seen    map[orb.Point]struct{}
	kept    []Fix
	pending []Fix
}

func (tf *trackFilter) push(f Fix) {
	last, ok := tf.last()
	switch {
	case ok && f.T.Before(last.T):
		tf.st.OutOfOrder++
	case ok && f.T.Equal(last.T):
		tf.st.DupTime++
	case tf.repeats(f.Point):
		tf.st.Repeat++
	default:
		tf.judgeSpeed(f, last, ok)
	}
}

func (tf *trackFilter) last() (Fix, bool) {
	if len(tf.kept) == 0 {
		return Fix{}, false
	}
	return tf.kept[len(tf.kept)-1], true
}

// repeats reports whether p was seen before, and remembers it.
func (tf *trackFilter) repeats(p orb.Point) bool {
	if _, ok := tf.seen[p]; ok {
		return true
	}
	tf.seen[p] = struct{}{}
	return false
}

func (tf *trackFilter) judgeSpeed(f, last Fix, haveLast bool) {
	switch {
	case !haveLast || tf.consistent(last, f):
		tf.keep(f)
	case tf.spiked(f):
		tf.kept = tf.kept[:len(tf.kept)-1]
		tf.st.Teleport++
		tf.keep(f)
	case len(tf.pending) > 0 && tf.consistent(tf.pending[len(tf.pending)-1], f):
		tf.pending = append(tf.pending, f)
		tf.confirm()
	default:
		tf.st.Teleport += len(tf.pending)
		tf.pending = append(tf.pending[:0], f)
	}
}

// keep appends f to the track, ending any pending run as teleports.
func (tf *trackFilter) keep(f Fix) {
	tf.st.Teleport += len(tf.pending)
	tf.pending = tf.pending[:0]
	tf.kept = append(tf.kept, f)
}

// spiked reports whether f, too far from the last kept fix, is within reach of the one
// before it: then the last kept fix was a spike off the track.
func (tf *trackFilter) spiked(f Fix) bool {
	n := len(tf.kept)
	return n >= 2 && len(tf.pending) == 0 && tf.consistent(tf.kept[n-2], f)
}

// confirm keeps the pending run once it is long enough.
func (tf *trackFilter) confirm() {
	if tf.c.Confirm > 0 && len(tf.pending) >= tf.c.Confirm {
		tf.kept = append(tf.kept, tf.pending...)
		tf.pending = tf.pending[:0]
		tf.st.Jumps++
	}
}

// consistent reports whether b comes after a and is reachable from it at MaxSpeed,
// allowing Jitter and the fixes' accuracy.
func (tf *trackFilter) consistent(a, b Fix) bool {
	dt := b.T.Sub(a.T).Seconds()
	if dt <= 0 {
		return false
	}
	if tf.c.MaxSpeed <= 0 {
		return true
	}
	return Distance(a.Point, b.Point) <= tf.c.MaxSpeed*dt+tf.c.Jitter+tf.c.slack(a)+tf.c.slack(b)
}

// slack is how far f may be from where it says, as far as the filter trusts it.
func (c FilterConfig) slack(f Fix) float64 { return min(f.Acc, c.MaxAccuracy) }
