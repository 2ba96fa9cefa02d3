package coverage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/geo"
)

// dayEntry is a day roll-up of one cell for one unit, in memory.
type dayEntry struct {
	day    int32  // days since the epoch
	unit   uint32 // index into Ledger.units
	last   uint32 // second of the day of the last visit
	visits uint16 // patrol-hours
	modes  uint8
}

func (d dayEntry) lastUnix() int64 { return int64(d.day)*86400 + int64(d.last) }

// sinceFloor drops the entries before the first hour of detail kept. Callers hold l.mu.
func (l *Ledger) sinceFloor(set []cellHour) []cellHour {
	if l.floor == 0 {
		return set
	}
	out := set[:0:0]
	for _, ch := range set {
		if ch.hour >= l.floor {
			out = append(out, ch)
		}
	}
	return out
}

func (l *Ledger) unitLocked(name string) uint32 {
	if i, ok := l.unitN[name]; ok {
		return i
	}
	i := uint32(len(l.units))
	l.units = append(l.units, name)
	l.unitN[name] = i
	return i
}

// addDayLocked adds a stored day roll-up to memory. Callers hold l.mu.
func (l *Ledger) addDayLocked(d *beatgrid.CoverageDay) {
	tile := geo.Cell(d.Tile)
	cells := l.days[tile]
	if cells == nil {
		cells = map[geo.Cell][]dayEntry{}
		l.days[tile] = cells
	}
	for _, c := range d.Cells {
		var modes uint8
		for _, m := range strings.Split(c.Modes, ",") {
			modes |= ModeBit(m)
		}
		cells[geo.Cell(c.Cell)] = append(cells[geo.Cell(c.Cell)], dayEntry{day: int32(d.Day), unit: l.unitLocked(c.Unit),
			last: uint32(c.Last.Unix() - d.Day*86400), visits: uint16(min(c.Visits, 1<<16-1)), modes: modes})
	}
}

// monthStart is the first instant of t's month (UTC).
func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Expire rolls the detail of the months that lie wholly before now − Retain up into day
// roll-ups (per cell, day and unit: patrol-hours, modes, last visit), stores them, drops
// those months' detail partitions, and keeps only the roll-ups in memory. It is idempotent:
// roll-ups stored before are kept as they were, and a crash between the two writes repeats
// the drop at the next call.
func (l *Ledger) Expire(ctx context.Context) error {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	cut := monthStart(l.cfg.Now().Add(-l.cfg.Retain))
	floor := int32(cut.Unix() / 3600)
	l.mu.RLock()
	if floor <= l.floor {
		l.mu.RUnlock()
		return nil
	}
	type key struct {
		tile geo.Cell
		day  int64
	}
	type cellUnit struct {
		cell geo.Cell
		unit string
	}
	acc := map[key]map[cellUnit]*beatgrid.CoverageDayCell{}
	modes := map[*beatgrid.CoverageDayCell]uint8{}
	for tile, cells := range l.buckets {
		for c, es := range cells {
			for _, e := range es {
				if e.hour >= floor {
					continue
				}
				k := key{tile, int64(e.hour) / 24}
				if acc[k] == nil {
					acc[k] = map[cellUnit]*beatgrid.CoverageDayCell{}
				}
				cu := cellUnit{c, l.sources[e.src].unit}
				dc := acc[k][cu]
				if dc == nil {
					dc = &beatgrid.CoverageDayCell{Cell: uint64(c), Unit: cu.unit}
					acc[k][cu] = dc
				}
				dc.Visits++
				modes[dc] |= e.mode
				if t := e.last(); t.After(dc.Last) {
					dc.Last = t
				}
			}
		}
	}
	l.mu.RUnlock()
	days := make([]beatgrid.CoverageDay, 0, len(acc))
	for k, cells := range acc {
		d := beatgrid.CoverageDay{Tile: uint64(k.tile), Day: k.day}
		for _, dc := range cells {
			dc.Modes = strings.Join(ModeNames(modes[dc]), ",")
			d.Cells = append(d.Cells, *dc)
		}
		days = append(days, d)
	}
	if err := l.cfg.Store.InsertCoverageDays(ctx, days); err != nil {
		return fmt.Errorf("coverage: expire: %w", err)
	}
	if err := l.cfg.Store.DropCoverageBefore(ctx, cut); err != nil {
		return fmt.Errorf("coverage: expire: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range days {
		l.addDayLocked(&days[i])
	}
	for tile, cells := range l.buckets {
		for c, es := range cells {
			kept := es[:0]
			for _, e := range es {
				if e.hour >= floor {
					kept = append(kept, e)
				}
			}
			if len(kept) == 0 {
				delete(cells, c)
			} else {
				cells[c] = kept
			}
		}
		if len(cells) == 0 {
			delete(l.buckets, tile)
		}
	}
	l.floor = floor
	for _, src := range l.sources {
		src.set = l.sinceFloor(src.set)
	}
	l.gen++
	l.cfg.Logger.Info("coverage: detail expired", "before", cut, "day_rollups", len(days))
	return nil
}
