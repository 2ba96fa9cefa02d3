package coverage

import (
	"cmp"
	"slices"
	"time"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/paulmach/orb"
)

// Filter selects ledger entries: by time (an entry counts if the source's latest moment in
// the cell that hour lies in [From, To); zero bounds are open), by mode (0: all) and by the
// unit of the source (nil: all).
type Filter struct {
	From, To time.Time
	Modes    uint8
	In       func(unit string) bool
}

// matcher applies a Filter, remembering the scope answer per source.
type matcher struct {
	f         Filter
	from, to  int64
	scope     []int8 // per source: 0 unknown, 1 in, -1 out
	sources   []*source
	unitScope []int8 // per unit of the day roll-ups, likewise
	units     []string
}

func (l *Ledger) matcher(f Filter) *matcher {
	m := &matcher{f: f, from: -1 << 62, to: 1 << 62, sources: l.sources, scope: make([]int8, len(l.sources)),
		units: l.units, unitScope: make([]int8, len(l.units))}
	if !f.From.IsZero() {
		m.from = f.From.Unix()
	}
	if !f.To.IsZero() {
		m.to = f.To.Unix()
	}
	return m
}

func (m *matcher) match(e entry) bool {
	if m.f.Modes != 0 && e.mode&m.f.Modes == 0 {
		return false
	}
	if t := int64(e.hour)*3600 + int64(e.secs); t < m.from || t >= m.to {
		return false
	}
	return m.in(m.scope, e.src, func() string { return m.sources[e.src].unit })
}

// in answers the scope question for index i of a cache, asking the filter once.
func (m *matcher) in(cache []int8, i uint32, unit func() string) bool {
	if m.f.In == nil {
		return true
	}
	switch cache[i] {
	case 1:
		return true
	case -1:
		return false
	}
	in := m.f.In(unit())
	cache[i] = -1
	if in {
		cache[i] = 1
	}
	return in
}

// matchDay tells whether a day roll-up counts: by its last visit, modes and unit.
func (m *matcher) matchDay(d dayEntry) bool {
	if m.f.Modes != 0 && d.modes&m.f.Modes == 0 {
		return false
	}
	if t := d.lastUnix(); t < m.from || t >= m.to {
		return false
	}
	return m.in(m.unitScope, d.unit, func() string { return m.units[d.unit] })
}

// stat sums the entries and day roll-ups of a cell that match; ok is false if none do.
func (m *matcher) stat(c geo.Cell, es []entry, ds []dayEntry) (geo.CellStat, bool) {
	st := geo.CellStat{Cell: c}
	var modes uint8
	var last int64
	for _, e := range es {
		if m.match(e) {
			st.Visits++
			modes |= e.mode
			last = max(last, int64(e.hour)*3600+int64(e.secs))
		}
	}
	for _, d := range ds {
		if m.matchDay(d) {
			st.Visits += int(d.visits)
			modes |= d.modes
			last = max(last, d.lastUnix())
		}
	}
	if st.Visits == 0 {
		return st, false
	}
	st.LastVisit, st.Modes = time.Unix(last, 0).UTC(), ModeNames(modes)
	return st, true
}

// Gen returns a number that changes whenever the ledger shown changes (for ETags).
func (l *Ledger) Gen() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.gen
}

// Tile returns the stats of the ledger's cells inside tile t that have matching entries,
// sorted by cell. A tile at the bucket zoom or finer reads one bucket; a coarser one reads
// the buckets inside it.
func (l *Ledger) Tile(t geo.Tile, f Filter) []geo.CellStat {
	l.mu.RLock()
	defer l.mu.RUnlock()
	m := l.matcher(f)
	var out []geo.CellStat
	tc := geo.CellFromTile(t)
	each := func(b geo.Cell) {
		l.eachCell(b, func(c geo.Cell, es []entry, ds []dayEntry) {
			if !tc.Contains(c) {
				return
			}
			if st, ok := m.stat(c, es, ds); ok {
				out = append(out, st)
			}
		})
	}
	if t.Z >= bucketZoom {
		each(tc.Parent(bucketZoom))
	} else {
		for _, b := range l.bucketKeys() {
			if tc.Contains(b) {
				each(b)
			}
		}
	}
	slices.SortFunc(out, func(a, b geo.CellStat) int { return cmp.Compare(a.Cell, b.Cell) })
	return out
}

// Bound returns the stats of the cells with matching entries whose centre lies in b, sorted
// by cell; ok is false if there would be more than limit.
func (l *Ledger) Bound(b orb.Bound, f Filter, limit int) (out []geo.CellStat, ok bool) {
	lo, hi := geo.CellAt(b.Min, bucketZoom).Tile(), geo.CellAt(b.Max, bucketZoom).Tile()
	l.mu.RLock()
	defer l.mu.RUnlock()
	m := l.matcher(f)
	for x := lo.X; x <= hi.X; x++ {
		for y := hi.Y; y <= lo.Y; y++ { // tile y grows southwards
			full := false
			l.eachCell(geo.CellFromTile(geo.Tile{X: x, Y: y, Z: bucketZoom}), func(c geo.Cell, es []entry, ds []dayEntry) {
				if full || !b.Contains(c.Center()) {
					return
				}
				if st, found := m.stat(c, es, ds); found {
					if len(out) == limit {
						full = true
						return
					}
					out = append(out, st)
				}
			})
			if full {
				return nil, false
			}
		}
	}
	slices.SortFunc(out, func(a, b geo.CellStat) int { return cmp.Compare(a.Cell, b.Cell) })
	return out, true
}

// Stats returns the stats of each of cells (Visits 0 where nothing matched), in order.
func (l *Ledger) Stats(cells []geo.Cell, f Filter) []geo.CellStat {
	l.mu.RLock()
	defer l.mu.RUnlock()
	m := l.matcher(f)
	out := make([]geo.CellStat, len(cells))
	for i, c := range cells {
		b := c.Parent(bucketZoom)
		out[i], _ = m.stat(c, l.buckets[b][c], l.days[b][c])
	}
	return out
}

// Summary is the coverage of a set of cells (a beat).
type Summary struct {
	Cells   int            // cells of the beat
	Covered int            // cells with a matching entry
	Percent float64        // 100 · Covered / Cells
	ByMode  map[string]int // cells covered by each mode
	ByHour  [24]int        // cells covered in each hour of the day (UTC)
}

// Summarize sums up the coverage of cells.
func (l *Ledger) Summarize(cells []geo.Cell, f Filter) Summary {
	s := Summary{Cells: len(cells), ByMode: map[string]int{}}
	l.mu.RLock()
	defer l.mu.RUnlock()
	m := l.matcher(f)
	for _, c := range cells {
		var modes uint8
		var hours uint32
		b := c.Parent(bucketZoom)
		for _, e := range l.buckets[b][c] {
			if m.match(e) {
				modes |= e.mode
				hours |= 1 << (e.hour % 24)
			}
		}
		for _, d := range l.days[b][c] { // rolled-up days: no hours
			if m.matchDay(d) {
				modes |= d.modes
			}
		}
		if modes == 0 {
			continue
		}
		s.Covered++
		for _, n := range ModeNames(modes) {
			s.ByMode[n]++
		}
		for h := range 24 {
			if hours&(1<<h) != 0 {
				s.ByHour[h]++
			}
		}
	}
	if s.Cells > 0 {
		s.Percent = 100 * float64(s.Covered) / float64(s.Cells)
	}
	return s
}

// Gap is a cell not visited within the SLA: its last visit, zero if never.
type Gap struct {
	Cell      geo.Cell
	LastVisit time.Time
}

// Gaps returns the cells whose last matching visit is before since (or that have none),
// stalest first (never visited first, then by time, then by cell).
func (l *Ledger) Gaps(cells []geo.Cell, since time.Time, f Filter) []Gap {
	var out []Gap
	for _, st := range l.Stats(cells, f) {
		if st.Visits == 0 || st.LastVisit.Before(since) {
			out = append(out, Gap{Cell: st.Cell, LastVisit: st.LastVisit})
		}
	}
	slices.SortFunc(out, func(a, b Gap) int { return cmp.Or(a.LastVisit.Compare(b.LastVisit), cmp.Compare(a.Cell, b.Cell)) })
	return out
}

// Suggest returns a route through the centres of the stalest of cells (at most n), starting
// at the stalest and going on to the nearest of the rest each time, and the cells in visiting
// order.
func (l *Ledger) Suggest(cells []geo.Cell, n int, f Filter) (orb.LineString, []Gap) {
	gaps := l.Gaps(cells, time.Unix(1<<40, 0), f) // every cell, stalest first
	if len(gaps) > n {
		gaps = gaps[:n]
	}
	if len(gaps) == 0 {
		return nil, nil
	}
	order := []Gap{gaps[0]}
	rest := slices.Clone(gaps[1:])
	for len(rest) > 0 {
		at := order[len(order)-1].Cell.Center()
		best := 0
		for i := range rest {
			if geo.Distance(at, rest[i].Cell.Center()) < geo.Distance(at, rest[best].Cell.Center()) {
				best = i
			}
		}
		order = append(order, rest[best])
		rest = slices.Delete(rest, best, best+1)
	}
	line := make(orb.LineString, len(order))
	for i, g := range order {
		line[i] = g.Cell.Center()
	}
	return line, order
}

// eachCell calls fn with every cell of bucket b that has detail or day roll-ups. Callers
// hold l.mu.
func (l *Ledger) eachCell(b geo.Cell, fn func(c geo.Cell, es []entry, ds []dayEntry)) {
	days := l.days[b]
	for c, es := range l.buckets[b] {
		fn(c, es, days[c])
	}
	for c, ds := range days {
		if _, seen := l.buckets[b][c]; !seen {
			fn(c, nil, ds)
		}
	}
}

// bucketKeys returns the buckets with detail or day roll-ups. Callers hold l.mu.
func (l *Ledger) bucketKeys() []geo.Cell {
	out := make([]geo.Cell, 0, len(l.buckets)+len(l.days))
	for b := range l.buckets {
		out = append(out, b)
	}
	for b := range l.days {
		if _, seen := l.buckets[b]; !seen {
			out = append(out, b)
		}
	}
	return out
}
