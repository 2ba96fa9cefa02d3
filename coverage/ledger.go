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
	// PersistEvery is how often Run stores what changed (DefaultPersistEvery when 0): the
	// ledger is derived, so a crash loses nothing that the facts cannot give again at the
	// next start, and a longer round puts more cells in each stored delta.
	PersistEvery time.Duration
}

// DefaultPersistEvery is the default round of the ledger's writes.
const DefaultPersistEvery = 30 * time.Second

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

	// pending holds the changes shown but not stored yet, by (tile, hour, source): Persist
	// writes each as one delta of the next round.
	pending map[pendingKey]*pendingGroup
	round   int64    // the last round stored
	units   []string // the units of day roll-ups, by index
	unitN   map[string]uint32
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
	if cfg.PersistEvery == 0 {
		cfg.PersistEvery = DefaultPersistEvery
	}
	return &Ledger{cfg: cfg, dirty: map[string]bool{}, duties: map[string]*duty{}, wake: make(chan struct{}, 1),
		byKey: map[string]uint32{}, buckets: map[geo.Cell]map[geo.Cell][]entry{},
		days: map[geo.Cell]map[geo.Cell][]dayEntry{}, unitN: map[string]uint32{}, pending: map[pendingKey]*pendingGroup{}}
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
	var deltas []beatgrid.CoverageDelta
	err := l.cfg.Store.ScanCoverage(ctx, func(d *beatgrid.CoverageDelta) error {
		deltas = append(deltas, *d)
		return nil
	})
	if err != nil {
		return fmt.Errorf("coverage: load: %w", err)
	}
	for _, r := range replay(deltas) {
		i := l.sourceLocked(r.source, r.unit, ModeBit(r.mode))
		src := l.sources[i]
		src.unit, src.mode, src.set = r.unit, ModeBit(r.mode), r.set
		for _, ch := range r.set {
			l.addLocked(ch, i, src.mode)
		}
		l.round = max(l.round, r.round)
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

// replayed is a source's entries as the stored deltas give them.
type replayed struct {
	source, unit, mode string
	round              int64 // the latest round of the source
	set                []cellHour
}

// replay applies deltas in round order (then tile, hour) and returns each source's entries,
// by source.
func replay(deltas []beatgrid.CoverageDelta) []replayed {
	slices.SortFunc(deltas, func(a, b beatgrid.CoverageDelta) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Round, b.Round), cmp.Compare(a.Tile, b.Tile), cmp.Compare(a.Hour, b.Hour))
	})
	var out []replayed
	type key struct {
		cell geo.Cell
		hour int32
	}
	for start := 0; start < len(deltas); {
		end := start
		for end < len(deltas) && deltas[end].Source == deltas[start].Source {
			end++
		}
		cells := map[key]uint16{}
		for _, d := range deltas[start:end] {
			for _, c := range d.Removed {
				delete(cells, key{geo.Cell(c), int32(d.Hour)})
			}
			for _, c := range d.Set {
				cells[key{geo.Cell(c.Cell), int32(d.Hour)}] = c.Secs
			}
		}
		last := deltas[end-1]
		r := replayed{source: last.Source, unit: last.Unit, mode: last.Mode, round: last.Round}
		for k, secs := range cells {
			r.set = append(r.set, cellHour{cell: k.cell, hour: k.hour, secs: secs})
		}
		sortSet(r.set)
		if len(r.set) > 0 {
			out = append(out, r)
		}
		start = end
	}
	return out
}

// StoredEntries returns the entries a store holds, as its deltas replay, sorted by source,
// cell and hour: what a ledger loading from it starts with.
func StoredEntries(ctx context.Context, st beatgrid.CoverageStore) ([]beatgrid.CoverageEntry, error) {
	var deltas []beatgrid.CoverageDelta
	err := st.ScanCoverage(ctx, func(d *beatgrid.CoverageDelta) error {
		deltas = append(deltas, *d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("coverage: stored entries: %w", err)
	}
	var out []beatgrid.CoverageEntry
	for _, r := range replay(deltas) {
		for _, ch := range r.set {
			out = append(out, beatgrid.CoverageEntry{Cell: uint64(ch.cell), Hour: int64(ch.hour), Source: r.source, Unit: r.unit,
				Mode: r.mode, Last: time.Unix(int64(ch.hour)*3600+int64(ch.secs), 0).UTC()})
		}
	}
	return out, nil
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
	persist := func(ctx context.Context) {
		if err := l.Persist(ctx); err != nil {
			l.cfg.Logger.Error("coverage: persist", "err", err)
		}
	}
	defer func() { // what changed since the last round, before the server stops
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		persist(ctx)
	}()
	expire()
	hourly := time.NewTicker(time.Hour)
	defer hourly.Stop()
	rounds := time.NewTicker(l.cfg.PersistEvery)
	defer rounds.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hourly.C:
			expire()
			continue
		case <-rounds.C:
			persist(ctx)
			continue
		case <-l.wake:
		}
		l.recomputeDirty()
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}

// Flush recomputes every dirty source now, shows the changes, and stores them (Persist).
func (l *Ledger) Flush(ctx context.Context) error {
	l.recomputeDirty()
	return l.Persist(ctx)
}

// recomputeDirty recomputes every dirty source and shows the changes.
func (l *Ledger) recomputeDirty() {
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
	for _, k := range keys {
		l.recompute(k)
	}
}

// pendingKey names a delta: the changes of one source in one tile during one hour.
type pendingKey struct {
	tile geo.Cell
	hour int32
	src  uint32
}

type pendingGroup struct {
	set     map[geo.Cell]uint16
	removed map[geo.Cell]bool
}

// note records changes for the next round. Callers hold l.mu.
func (l *Ledger) note(src uint32, c change) {
	group := func(ch cellHour) *pendingGroup {
		k := pendingKey{ch.cell.Parent(bucketZoom), ch.hour, src}
		g := l.pending[k]
		if g == nil {
			g = &pendingGroup{set: map[geo.Cell]uint16{}, removed: map[geo.Cell]bool{}}
			l.pending[k] = g
		}
		return g
	}
	for _, ch := range c.removed {
		g := group(ch)
		delete(g.set, ch.cell)
		g.removed[ch.cell] = true
	}
	for _, list := range [][]cellHour{c.added, c.retimed} {
		for _, ch := range list {
			g := group(ch)
			delete(g.removed, ch.cell)
			g.set[ch.cell] = ch.secs
		}
	}
}

// Persist stores the changes shown since the last round, one delta per (tile, hour,
// source), all of one new round; on failure they wait for the next round.
func (l *Ledger) Persist(ctx context.Context) error {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	l.mu.Lock()
	pending := l.pending
	l.pending = map[pendingKey]*pendingGroup{}
	round := max(l.round+1, time.Now().UnixNano())
	var deltas []beatgrid.CoverageDelta
	for k, g := range pending {
		if k.hour < l.floor { // expired meanwhile
			continue
		}
		src := l.sources[k.src]
		d := beatgrid.CoverageDelta{Tile: uint64(k.tile), Hour: int64(k.hour), Source: src.key, Unit: src.unit,
			Mode: strings.Join(ModeNames(src.mode), ","), Round: round}
		for c, secs := range g.set {
			d.Set = append(d.Set, beatgrid.CoverageCell{Cell: uint64(c), Secs: secs})
		}
		for c := range g.removed {
			d.Removed = append(d.Removed, uint64(c))
		}
		slices.SortFunc(d.Set, func(a, b beatgrid.CoverageCell) int { return cmp.Compare(a.Cell, b.Cell) })
		slices.Sort(d.Removed)
		deltas = append(deltas, d)
	}
	l.mu.Unlock()
	if len(deltas) == 0 {
		return nil
	}
	if err := l.cfg.Store.InsertCoverage(ctx, deltas); err != nil {
		l.mu.Lock()
		for k, g := range l.pending { // changes noted meanwhile are newer: they win
			old := pending[k]
			if old == nil {
				pending[k] = g
				continue
			}
			for c := range g.removed {
				delete(old.set, c)
				old.removed[c] = true
			}
			for c, secs := range g.set {
				delete(old.removed, c)
				old.set[c] = secs
			}
		}
		l.pending = pending
		l.mu.Unlock()
		return fmt.Errorf("coverage: persist %d deltas: %w", len(deltas), err)
	}
	l.mu.Lock()
	l.round = round
	l.mu.Unlock()
	return nil
}

// Dirty returns how many sources wait for a recompute.
func (l *Ledger) Dirty() int {
	l.dmu.Lock()
	defer l.dmu.Unlock()
	return len(l.dirty)
}

// recompute brings source key up to date with its facts and shows the changes; the next
// round stores them. Called by the writer only.
func (l *Ledger) recompute(key string) {
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
		return
	}
	l.apply(key, unit, mode, diff(old, set, rewrite), set)
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

// apply shows a source's changes and notes them for the next round: set is the source's
// new set.
func (l *Ledger) apply(key, unit string, mode uint8, c change, set []cellHour) {
	if c.empty() {
		return
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
	l.note(i, c)
	l.gen++
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
	st, err := l.rebuild(ctx, from, to, progress)
	if err != nil {
		return st, err
	}
	return st, l.Persist(ctx)
}

func (l *Ledger) rebuild(ctx context.Context, from, to time.Time, progress func(done, total int)) (RebuildStats, error) {
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
		l.apply(key, unit, mode, c, append(kept, window...))
		st.Inserted += len(c.added)
		st.Deleted += len(c.removed)
		if progress != nil {
			progress(n+1, len(keys))
		}
	}
	return st, nil
}
