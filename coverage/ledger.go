// Package coverage keeps the coverage ledger: which grid cells each patrol, kiosk duty,
// camera and drone covered, hour by hour, and answers the commanders' questions about it
// (tiles, cells, beats, gaps, suggested routes).
//
// The ledger is a fold over facts. A source (a patrol, or the duty of one device at one
// kiosk) has a set of entries (cell, hour) computed from all its facts at once: the fixes its
// mode's filter keeps, rasterized segment by segment (footprints swept for video and drone),
// the places of its verified punches, the guarded segments of a kiosk while on duty. Facts
// only mark their source dirty; a single writer recomputes dirty sources a moment later, off
// the push path, stores the difference (inserts with deterministic keys, rare deletes) and
// then shows it. The same facts give the same entries whatever their order or repetition,
// so a rebuild from the facts equals the ledger grown incrementally (ARCHITECTURE.md §3.4).
package coverage

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/geo"
	"github.com/beatgrid/beatgrid/patrol"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/paulmach/orb"
)

// Modes of coverage, as bits.
const (
	ModeFoot uint8 = 1 << iota
	ModeVehicle
	ModeVideo
	ModeDrone
	ModeKiosk
)

var modeNames = []string{"foot", "vehicle", "video", "drone", "kiosk"}

// ModeBit returns the bit of a mode name; 0 for an unknown one.
func ModeBit(name string) uint8 {
	if i := slices.Index(modeNames, name); i >= 0 {
		return 1 << i
	}
	return 0
}

// ModeNames returns the names of the modes in bits, in a fixed order.
func ModeNames(bits uint8) []string {
	var out []string
	for i, n := range modeNames {
		if bits&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// bucketZoom is the zoom of the buckets the ledger's cells are kept in: a z14 tile (about
// 2 km across) holds 256 cells of zoom 18, and a tile request reads one bucket.
const bucketZoom = 14

// maxDutyHours bounds the hours one kiosk duty covers (a missing check-out never covers
// more than the check-in hour; a check-out 3 days later covers at most this).
const maxDutyHours = 24

// Config sets up a Ledger.
type Config struct {
	Store   beatgrid.CoverageStore
	Patrols *patrol.Service
	Places  *patrol.Places // kiosks; may be nil
	Zoom    int            // cell zoom (geo.DefaultZoom when 0)
	Raster  geo.RasterConfig
	Logger  *slog.Logger
	// Retain is how long the hourly detail is kept (whole months: the detail of a month
	// goes once all of it is older than Retain); older coverage is kept as day roll-ups.
	// DefaultRetain when 0.
	Retain time.Duration
	Now    func() time.Time
}

// DefaultRetain keeps about three months of hourly detail.
const DefaultRetain = 92 * 24 * time.Hour

// entry is one (cell, hour, source) in memory: 12 bytes.
type entry struct {
	hour int32  // hours since the epoch
	src  uint32 // index into Ledger.sources
	secs uint16 // the latest second of the hour the source was in the cell
	mode uint8
}

func (e entry) last() time.Time { return time.Unix(int64(e.hour)*3600+int64(e.secs), 0).UTC() }

// cellHour is an entry of a source's set.
type cellHour struct {
	cell geo.Cell
	hour int32
	secs uint16
}

// source is a patrol or a kiosk duty and the entries it has now.
type source struct {
	key  string
	unit string
	mode uint8
	set  []cellHour // sorted by cell, hour
}

// duty is what the facts say of one device's duty at one kiosk.
type duty struct {
	kioskID, unit string
	ins, outs     map[time.Time]bool
}

// Ledger is the coverage ledger in memory, backed by the store.
type Ledger struct {
	cfg Config

	dmu    gosync.Mutex // guards dirty and duties
	dirty  map[string]bool
	duties map[string]*duty // by source key
	wake   chan struct{}

	fmu gosync.Mutex // one writer: Flush

	mu      gosync.RWMutex // guards what follows
	sources []*source
	byKey   map[string]uint32
	buckets map[geo.Cell]map[geo.Cell][]entry // z14 tile → cell → entries
	gen     uint64                            // bumped by every change shown

	// floor is the first hour of detail kept: facts before it count only in the day
	// roll-ups, which hold the coverage of expired months.
	floor int32
	days  map[geo.Cell]map[geo.Cell][]dayEntry // z14 tile → cell → day roll-ups
	units []string                             // the units of day roll-ups, by index
	unitN map[string]uint32
}

// New returns an empty ledger. Call Register before the sync log loads, then Load, then Run.
func New(cfg Config) *Ledger {
	if cfg.Zoom == 0 {
		cfg.Zoom = geo.DefaultZoom
	}
	if cfg.Raster == (geo.RasterConfig{}) {
		cfg.Raster = geo.DefaultRaster
	}
	cfg.Raster.Zoom = cfg.Zoom
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Retain == 0 {
		cfg.Retain = DefaultRetain
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	return &Ledger{cfg: cfg, dirty: map[string]bool{}, duties: map[string]*duty{}, wake: make(chan struct{}, 1),
		byKey: map[string]uint32{}, buckets: map[geo.Cell]map[geo.Cell][]entry{},
		days: map[geo.Cell]map[geo.Cell][]dayEntry{}, unitN: map[string]uint32{}}
}

// Zoom returns the zoom of the ledger's cells.
func (l *Ledger) Zoom() int { return l.cfg.Zoom }

// Register follows the facts: patrols through the patrol service, kiosk duty itself.
func (l *Ledger) Register(reg *bgsync.Registry) {
	l.cfg.Patrols.OnChange(func(id string) { l.markDirty(id) })
	reg.Fold("kiosk.checkin", func(m *beatgrid.Mutation) { l.foldDuty(m, true) })
	reg.Fold("kiosk.checkout", func(m *beatgrid.Mutation) { l.foldDuty(m, false) })
}

func (l *Ledger) markDirty(key string) {
	l.dmu.Lock()
	l.dirty[key] = true
	l.dmu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// dutyKey names the source of one device's duty at one kiosk.
func dutyKey(kioskID, deviceID string) string { return "kiosk:" + kioskID + ":" + deviceID }

func (l *Ledger) foldDuty(m *beatgrid.Mutation, in bool) {
	var f bgsync.KioskDuty
	if json.Unmarshal(m.Fact, &f) != nil {
		return
	}
	key := dutyKey(f.KioskID, m.DeviceID)
	l.dmu.Lock()
	d := l.duties[key]
	if d == nil {
		d = &duty{kioskID: f.KioskID, unit: m.OrgUnitID, ins: map[time.Time]bool{}, outs: map[time.Time]bool{}}
		l.duties[key] = d
	}
	if in {
		d.ins[f.T] = true
	} else {
		d.outs[f.T] = true
	}
	l.dmu.Unlock()
	l.markDirty(key)
}

// Load reads the stored ledger into memory (one pass). Sources are then brought up to date
// from their facts by the writer as they are marked dirty.
func (l *Ledger) Load(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	sets := map[uint32][]cellHour{}
	err := l.cfg.Store.ScanCoverage(ctx, func(e *beatgrid.CoverageEntry) error {
		i := l.sourceLocked(e.Source, e.Unit, ModeBit(e.Mode))
		sets[i] = append(sets[i], cellHour{cell: geo.Cell(e.Cell), hour: int32(e.Hour), secs: secsOf(e.Hour, e.Last)})
		return nil
	})
	if err != nil {
		return fmt.Errorf("coverage: load: %w", err)
	}
	for i, set := range sets {
		sortSet(set)
		src := l.sources[i]
		src.set = set
		for _, ch := range set {
			l.addLocked(ch, i, src.mode)
		}
	}
	err = l.cfg.Store.ScanCoverageDays(ctx, func(d *beatgrid.CoverageDay) error {
		l.addDayLocked(d)
		if h := int32((d.Day + 1) * 24); h > l.floor {
			l.floor = h // a rolled-up day: its detail is gone for good
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("coverage: load: %w", err)
	}
	l.gen++
	return nil
}

func secsOf(hour int64, last time.Time) uint16 {
	return uint16(min(max(last.Unix()-hour*3600, 0), 3599))
}

// sourceLocked returns the index of source key, adding it if new. Callers hold l.mu.
func (l *Ledger) sourceLocked(key, unit string, mode uint8) uint32 {
	if i, ok := l.byKey[key]; ok {
		return i
	}
	i := uint32(len(l.sources))
	l.sources = append(l.sources, &source{key: key, unit: unit, mode: mode})
	l.byKey[key] = i
	return i
}

func (l *Ledger) addLocked(ch cellHour, src uint32, mode uint8) {
	b := ch.cell.Parent(bucketZoom)
	cells := l.buckets[b]
	if cells == nil {
		cells = map[geo.Cell][]entry{}
		l.buckets[b] = cells
	}
	cells[ch.cell] = append(cells[ch.cell], entry{hour: ch.hour, src: src, secs: ch.secs, mode: mode})
}

func (l *Ledger) removeLocked(ch cellHour, src uint32) {
	b := ch.cell.Parent(bucketZoom)
	cells := l.buckets[b]
	es := slices.DeleteFunc(cells[ch.cell], func(e entry) bool { return e.src == src && e.hour == ch.hour })
	if len(es) == 0 {
		delete(cells, ch.cell)
		if len(cells) == 0 {
			delete(l.buckets, b)
		}
		return
	}
	cells[ch.cell] = es
}

func sortSet(set []cellHour) {
	slices.SortFunc(set, func(a, b cellHour) int { return cmp.Or(cmp.Compare(a.cell, b.cell), cmp.Compare(a.hour, b.hour)) })
}

// Run recomputes dirty sources as they come, until ctx ends; pause is the least time
// between two rounds (facts arriving meanwhile are folded in one recompute).
func (l *Ledger) Run(ctx context.Context, pause time.Duration) {
	expire := func() {
		if err := l.Expire(ctx); err != nil && ctx.Err() == nil {
			l.cfg.Logger.Error("coverage: expire", "err", err)
		}
	}
	expire()
	hourly := time.NewTicker(time.Hour)
	defer hourly.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hourly.C:
			expire()
			continue
		case <-l.wake:
		}
		if err := l.Flush(ctx); err != nil && ctx.Err() == nil {
			l.cfg.Logger.Error("coverage: flush", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}

// Flush recomputes every dirty source now, stores the differences and shows them. A source
// whose write fails stays dirty.
func (l *Ledger) Flush(ctx context.Context) error {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	l.dmu.Lock()
	keys := make([]string, 0, len(l.dirty))
	for k := range l.dirty {
		keys = append(keys, k)
	}
	clear(l.dirty)
	l.dmu.Unlock()
	slices.Sort(keys)
	var firstErr error
	for _, k := range keys {
		if err := l.recompute(ctx, k); err != nil {
			l.markDirty(k)
			if firstErr == nil {
				firstErr = err
			}
			if ctx.Err() != nil {
				return firstErr
			}
		}
	}
	return firstErr
}

// Dirty returns how many sources wait for a recompute.
func (l *Ledger) Dirty() int {
	l.dmu.Lock()
	defer l.dmu.Unlock()
	return len(l.dirty)
}

// recompute brings source key up to date with its facts. Called by the writer only.
func (l *Ledger) recompute(ctx context.Context, key string) error {
	unit, mode, set, ok := l.compute(key)
	l.mu.RLock()
	set = l.sinceFloor(set)
	i, known := l.byKey[key]
	var old []cellHour
	rewrite := false
	if known {
		src := l.sources[i]
		old, rewrite = src.set, src.mode != mode || src.unit != unit
	}
	l.mu.RUnlock()
	if !ok && !known {
		return nil
	}
	return l.apply(ctx, key, unit, mode, diff(old, set, rewrite), set)
}

// change is how a source's set changes: entries added and removed (stored), and entries
// whose last time within the hour moved (shown only: the stored entry keeps the time it was
// first stored with, so a growing patrol costs inserts, never deletes — a delete scans the
// embedded store's whole partition).
type change struct {
	added, removed, retimed []cellHour
}

func (c change) empty() bool { return len(c.added)+len(c.removed)+len(c.retimed) == 0 }

// diff compares a source's old and new sets by (cell, hour); rewrite (the source changed
// its mode or unit, which every stored entry carries) removes and adds them all.
func diff(a, b []cellHour, rewrite bool) change {
	if rewrite {
		return change{added: b, removed: a}
	}
	type key struct {
		cell geo.Cell
		hour int32
	}
	in := make(map[key]uint16, len(a))
	for _, x := range a {
		in[key{x.cell, x.hour}] = x.secs
	}
	var c change
	for _, x := range b {
		k := key{x.cell, x.hour}
		secs, ok := in[k]
		switch {
		case !ok:
			c.added = append(c.added, x)
		case secs != x.secs:
			c.retimed = append(c.retimed, x)
		}
		delete(in, k)
	}
	for _, x := range a {
		if _, ok := in[key{x.cell, x.hour}]; ok {
			c.removed = append(c.removed, x)
		}
	}
	return c
}

// apply stores a source's changes, then shows them: set is the source's new set.
func (l *Ledger) apply(ctx context.Context, key, unit string, mode uint8, c change, set []cellHour) error {
	if c.empty() {
		return nil
	}
	if len(c.removed) > 0 {
		if err := l.cfg.Store.DeleteCoverage(ctx, toEntries(key, unit, mode, c.removed)); err != nil {
			return fmt.Errorf("coverage: %s: %w", key, err)
		}
	}
	if len(c.added) > 0 {
		if err := l.cfg.Store.InsertCoverage(ctx, toEntries(key, unit, mode, c.added)); err != nil {
			return fmt.Errorf("coverage: %s: %w", key, err)
		}
	}
	sortSet(set)
	l.mu.Lock()
	defer l.mu.Unlock()
	i := l.sourceLocked(key, unit, mode)
	src := l.sources[i]
	for _, ch := range c.removed {
		l.removeLocked(ch, i)
	}
	src.unit, src.mode, src.set = unit, mode, set
	for _, ch := range c.added {
		l.addLocked(ch, i, mode)
	}
	for _, ch := range c.retimed {
		es := l.buckets[ch.cell.Parent(bucketZoom)][ch.cell]
		for j := range es {
			if es[j].src == i && es[j].hour == ch.hour {
				es[j].secs = ch.secs
			}
		}
	}
	l.gen++
	return nil
}

func toEntries(key, unit string, mode uint8, chs []cellHour) []beatgrid.CoverageEntry {
	out := make([]beatgrid.CoverageEntry, len(chs))
	name := strings.Join(ModeNames(mode), ",")
	for i, ch := range chs {
		out[i] = beatgrid.CoverageEntry{Cell: uint64(ch.cell), Hour: int64(ch.hour), Source: key, Unit: unit, Mode: name,
			Last: time.Unix(int64(ch.hour)*3600+int64(ch.secs), 0).UTC()}
	}
	return out
}

// compute returns what source key covers now, from its facts; ok is false if it has none.
func (l *Ledger) compute(key string) (unit string, mode uint8, set []cellHour, ok bool) {
	if strings.HasPrefix(key, "kiosk:") {
		return l.computeDuty(key)
	}
	g, ok := l.cfg.Patrols.Ground(key)
	if !ok {
		return "", 0, nil, false
	}
	mode = ModeBit(g.Mode)
	if mode == 0 {
		mode = ModeFoot // a patrol whose start has not arrived: its fixes still cover ground
	}
	h := hours{}
	switch mode {
	case ModeVideo, ModeDrone:
		sw := geo.SweepConfig{Raster: l.cfg.Raster, View: geo.View{Mode: geo.Mode(g.Mode)}}
		v, err := geo.SweepCells(g.Kept, sw)
		if err != nil {
			l.cfg.Logger.Warn("coverage: footprint", "patrol", key, "err", err)
			h.track(geo.Rasterize(g.Kept, l.cfg.Raster), l.cfg.Raster.MaxGap)
		} else {
			h.seen(v) // cells seen: counted when first seen
		}
		h.seen(geo.Rasterize(g.Kept, l.cfg.Raster)) // and the cells under the camera, when passed
	default:
		h.track(geo.Rasterize(g.Kept, l.cfg.Raster), l.cfg.Raster.MaxGap)
	}
	for _, f := range g.Kept { // a unit standing in a cell for hours is there every hour it reports
		h.add(geo.CellAt(f.Point, l.cfg.Zoom), f.T.Unix())
	}
	for _, p := range g.Punches {
		h.add(geo.CellAt(p.Point, l.cfg.Zoom), p.T.Unix())
	}
	return g.UnitID, mode, h.set(), true
}

// hours collects (cell, hour) entries with the latest second of each.
type hours map[[2]int64]int64

func (h hours) add(c geo.Cell, t int64) {
	k := [2]int64{int64(c), t / 3600}
	if old, ok := h[k]; !ok || t > old {
		h[k] = t
	}
}

// seen adds each visit at its time.
func (h hours) seen(visits []geo.Visit) {
	for _, v := range visits {
		h.add(v.Cell, v.T.Unix())
	}
}

// track adds a rasterized track's visits as stays: a cell holds the track from its entry
// until the next cell's entry when that follows within maxGap (a walked step), and counts
// in every hour of the stay; otherwise (a gap) only at its entry.
func (h hours) track(visits []geo.Visit, maxGap time.Duration) {
	for i, v := range visits {
		from, to := v.T.Unix(), v.T.Unix()
		if i+1 < len(visits) && visits[i+1].T.Sub(v.T) <= maxGap {
			to = visits[i+1].T.Unix()
		}
		for hr := from / 3600; hr <= to/3600; hr++ {
			h.add(v.Cell, min(to, hr*3600+3599))
		}
	}
}

func (h hours) set() []cellHour { return hourly(h) }

// hourly turns collected hours into a sorted set.
func hourly(latest hours) []cellHour {
	out := make([]cellHour, 0, len(latest))
	for k, t := range latest {
		out = append(out, cellHour{cell: geo.Cell(k[0]), hour: int32(k[1]), secs: uint16(t - k[1]*3600)})
	}
	sortSet(out)
	return out
}

// computeDuty covers a kiosk's guarded segments during each duty: from a check-in to the
// next check-out (at most maxDutyHours); a check-in not yet checked out covers its hour.
func (l *Ledger) computeDuty(key string) (string, uint8, []cellHour, bool) {
	l.dmu.Lock()
	d := l.duties[key]
	var ins, outs []time.Time
	var unit, kioskID string
	if d != nil {
		ins, outs = sortedTimes(d.ins), sortedTimes(d.outs)
		unit, kioskID = d.unit, d.kioskID
	}
	l.dmu.Unlock()
	if d == nil || l.cfg.Places == nil {
		return "", 0, nil, false
	}
	k := l.cfg.Places.KioskByID(kioskID)
	if k == nil {
		return unit, ModeKiosk, nil, true
	}
	cells := SegmentCells(k.Segments, l.cfg.Zoom)
	h := hours{}
	for _, in := range ins {
		end := in
		if j, _ := slices.BinarySearchFunc(outs, in, time.Time.Compare); j < len(outs) {
			end = outs[j] // the first check-out at or after the check-in
		}
		end = minTime(end, in.Add(maxDutyHours*time.Hour))
		for hr := in.Truncate(time.Hour); !hr.After(end); hr = hr.Add(time.Hour) {
			t := minTime(end, hr.Add(time.Hour-time.Second))
			for _, c := range cells {
				h.add(c, t.Unix())
			}
		}
	}
	return unit, ModeKiosk, h.set(), true
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func sortedTimes(m map[time.Time]bool) []time.Time {
	out := make([]time.Time, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// SegmentCells returns the cells at zoom z that lines pass through, each once, sorted: each
// segment is walked in steps of at most 10 m.
func SegmentCells(lines orb.MultiLineString, z int) []geo.Cell {
	var out []geo.Cell
	for _, ls := range lines {
		for i := range ls {
			out = append(out, geo.CellAt(ls[i], z))
			if i == 0 {
				continue
			}
			a, b := ls[i-1], ls[i]
			n := int(geo.Distance(a, b)/10) + 1
			for s := 1; s < n; s++ {
				f := float64(s) / float64(n)
				out = append(out, geo.CellAt(orb.Point{a[0] + (b[0]-a[0])*f, a[1] + (b[1]-a[1])*f}, z))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// RebuildStats says what a rebuild found.
type RebuildStats struct {
	Sources  int // sources recomputed
	Entries  int // entries in the window, as the facts give them
	Inserted int // missing from the stored ledger, now stored
	Deleted  int // stored, but not what the facts give: removed
}

// Rebuild recomputes, from the facts, every source's entries whose hour lies in [from, to)
// and makes the stored ledger (as loaded) equal to them: what is missing is inserted, what
// the facts do not give is deleted; entries outside the window are left alone. progress, if
// set, is told how many sources are done of how many.
func (l *Ledger) Rebuild(ctx context.Context, from, to time.Time, progress func(done, total int)) (RebuildStats, error) {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	lo, hi := int32(from.Unix()/3600), int32((to.Unix()+3599)/3600)
	in := func(ch cellHour) bool { return ch.hour >= lo && ch.hour < hi }
	keySet := map[string]bool{}
	l.dmu.Lock()
	for k := range l.dirty {
		keySet[k] = true
	}
	for k := range l.duties {
		keySet[k] = true
	}
	l.dmu.Unlock()
	l.mu.RLock()
	for k := range l.byKey {
		keySet[k] = true
	}
	l.mu.RUnlock()
	for _, id := range l.cfg.Patrols.IDs() {
		keySet[id] = true
	}
	keys := make([]string, 0, len(keySet))
	for k := range keySet {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	var st RebuildStats
	for n, key := range keys {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		unit, mode, set, _ := l.compute(key)
		l.mu.RLock()
		set = l.sinceFloor(set)
		l.mu.RUnlock()
		var window []cellHour
		for _, ch := range set {
			if in(ch) {
				window = append(window, ch)
			}
		}
		l.mu.RLock()
		var old, kept []cellHour
		i, known := l.byKey[key]
		if known {
			for _, ch := range l.sources[i].set {
				if in(ch) {
					old = append(old, ch)
				} else {
					kept = append(kept, ch)
				}
			}
		}
		rewrite := known && (l.sources[i].mode != mode || l.sources[i].unit != unit)
		l.mu.RUnlock()
		st.Sources++
		st.Entries += len(window)
		c := diff(old, window, rewrite)
		if err := l.apply(ctx, key, unit, mode, c, append(kept, window...)); err != nil {
			return st, err
		}
		st.Inserted += len(c.added)
		st.Deleted += len(c.removed)
		if progress != nil {
			progress(n+1, len(keys))
		}
	}
	return st, nil
}
