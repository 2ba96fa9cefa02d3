package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
)

// TestCoverageStore checks a CoverageStore: deltas are kept whole, a repeated delta (same
// tile, hour, source and round) changes nothing, a scan returns each once, retention drops
// whole months, day roll-ups are kept once each.
func TestCoverageStore(t *testing.T, s beatgrid.CoverageStore) {
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 8, 30, 0, 0, time.UTC)
	var ds []beatgrid.CoverageDelta
	for i := range 60 {
		d := beatgrid.CoverageDelta{Tile: 1<<63 | uint64(i%4)<<40, Hour: at.Unix()/3600 + int64(i%3),
			Source: fmt.Sprintf("patrol-%d", i%7), Unit: "ou-1", Mode: "foot", Round: int64(1000 + i/10)}
		for j := range i % 5 {
			d.Set = append(d.Set, beatgrid.CoverageCell{Cell: d.Tile | uint64(j+1)<<24, Secs: uint16(60 * j)})
		}
		if i%6 == 0 {
			d.Removed = []uint64{d.Tile | 9<<24, 1<<63 | 1} // the top bit and the lowest survive
		}
		ds = append(ds, d)
	}
	mustOK(t, s.InsertCoverage(ctx, ds))
	twin := ds[5]
	twin.Mode = "vehicle" // same key: ignored, the first stays
	mustOK(t, s.InsertCoverage(ctx, append(ds[:10:10], twin)))

	got := scanDeltas(t, s)
	if len(got) != len(ds) {
		t.Fatalf("scanned %d deltas, want %d", len(got), len(ds))
	}
	for _, d := range ds {
		g, ok := got[deltaKey(&d)]
		if !ok || g.Unit != d.Unit || g.Mode != d.Mode || !slices.Equal(g.Set, d.Set) || !slices.Equal(g.Removed, d.Removed) {
			t.Fatalf("delta %+v scanned as %+v", d, g)
		}
	}

	// Retention drops the months before a time; the month of the time stays.
	old := beatgrid.CoverageDelta{Tile: 1 << 63, Hour: at.AddDate(0, -2, 0).Unix() / 3600, Source: "patrol-old", Unit: "ou-1",
		Mode: "foot", Round: 1, Set: []beatgrid.CoverageCell{{Cell: 1<<63 | 1<<24, Secs: 5}}}
	mustOK(t, s.InsertCoverage(ctx, []beatgrid.CoverageDelta{old}))
	if n := len(scanDeltas(t, s)); n != len(ds)+1 {
		t.Fatalf("%d deltas with one of two months ago, want %d", n, len(ds)+1)
	}
	mustOK(t, s.DropCoverageBefore(ctx, at.AddDate(0, 0, -at.Day()+1))) // the first of this month
	if n := len(scanDeltas(t, s)); n != len(ds) {
		t.Fatalf("%d deltas after dropping the months before this one, want %d", n, len(ds))
	}

	// Day roll-ups: one document per (tile, day); a repeat is ignored.
	day := beatgrid.CoverageDay{Tile: 1 << 63, Day: at.Unix() / 86400, Cells: []beatgrid.CoverageDayCell{
		{Cell: 1<<63 | 1<<20, Unit: "ou-1", Visits: 3, Modes: "foot,vehicle", Last: at},
		{Cell: 1<<63 | 2<<20, Unit: "ou-2", Visits: 1, Modes: "kiosk", Last: at.Add(time.Hour)}}}
	mustOK(t, s.InsertCoverageDays(ctx, []beatgrid.CoverageDay{day}))
	twinDay := day
	twinDay.Cells = day.Cells[:1]
	mustOK(t, s.InsertCoverageDays(ctx, []beatgrid.CoverageDay{twinDay}))
	var days []beatgrid.CoverageDay
	mustOK(t, s.ScanCoverageDays(ctx, func(d *beatgrid.CoverageDay) error { days = append(days, *d); return nil }))
	if len(days) != 1 || days[0].Tile != day.Tile || days[0].Day != day.Day || len(days[0].Cells) != 2 ||
		days[0].Cells[1] != day.Cells[1] || days[0].Cells[0] != day.Cells[0] {
		t.Fatalf("day roll-ups %+v, want %+v", days, day)
	}
}

func deltaKey(d *beatgrid.CoverageDelta) string {
	return fmt.Sprintf("%x/%d/%s/%d", d.Tile, d.Hour, d.Source, d.Round)
}

func scanDeltas(t *testing.T, s beatgrid.CoverageStore) map[string]beatgrid.CoverageDelta {
	t.Helper()
	got := map[string]beatgrid.CoverageDelta{}
	mustOK(t, s.ScanCoverage(context.Background(), func(d *beatgrid.CoverageDelta) error {
		k := deltaKey(d)
		if _, dup := got[k]; dup {
			t.Fatalf("delta %s scanned twice", k)
		}
		got[k] = *d
		return nil
	}))
	return got
}
