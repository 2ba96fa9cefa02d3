package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
)

// TestCoverageStore checks a CoverageStore: entries are keyed by (cell, hour, source), a
// repeat changes nothing, deletes remove by key, a scan returns each entry once.
func TestCoverageStore(t *testing.T, s beatgrid.CoverageStore) {
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 8, 30, 0, 0, time.UTC)
	var es []beatgrid.CoverageEntry
	for i := range 120 {
		es = append(es, beatgrid.CoverageEntry{Cell: 1<<63 | uint64(i)<<8, Hour: at.Unix()/3600 + int64(i%3),
			Source: fmt.Sprintf("patrol-%d", i%7), Unit: "ou-1", Mode: "foot", Last: at.Add(time.Duration(i) * time.Second)})
	}
	mustOK(t, s.InsertCoverage(ctx, es))
	twin := es[5]
	twin.Mode = "vehicle" // same key: ignored, the first stays
	mustOK(t, s.InsertCoverage(ctx, append(es[:10:10], twin)))
	mustOK(t, s.DeleteCoverage(ctx, es[100:]))

	got := map[string]beatgrid.CoverageEntry{}
	mustOK(t, s.ScanCoverage(ctx, func(e *beatgrid.CoverageEntry) error {
		k := fmt.Sprintf("%x/%d/%s", e.Cell, e.Hour, e.Source)
		if _, dup := got[k]; dup {
			t.Fatalf("entry %s scanned twice", k)
		}
		got[k] = *e
		return nil
	}))
	if len(got) != 100 {
		t.Fatalf("scanned %d entries, want 100", len(got))
	}
	for _, e := range es[:100] {
		g, ok := got[fmt.Sprintf("%x/%d/%s", e.Cell, e.Hour, e.Source)]
		if !ok || g != e {
			t.Fatalf("entry %+v scanned as %+v", e, g)
		}
	}

	// Retention drops the months before a time; the month of the time stays.
	old := beatgrid.CoverageEntry{Cell: 1 << 63, Hour: at.AddDate(0, -2, 0).Unix() / 3600, Source: "patrol-old", Unit: "ou-1",
		Mode: "foot", Last: at.AddDate(0, -2, 0)}
	mustOK(t, s.InsertCoverage(ctx, []beatgrid.CoverageEntry{old}))
	if n := countCoverage(t, s); n != 101 {
		t.Fatalf("%d entries with one of two months ago, want 101", n)
	}
	mustOK(t, s.DropCoverageBefore(ctx, at.AddDate(0, 0, -at.Day()+1))) // the first of this month
	if n := countCoverage(t, s); n != 100 {
		t.Fatalf("%d entries after dropping the months before this one, want 100", n)
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

func countCoverage(t *testing.T, s beatgrid.CoverageStore) int {
	t.Helper()
	n := 0
	mustOK(t, s.ScanCoverage(context.Background(), func(*beatgrid.CoverageEntry) error { n++; return nil }))
	return n
}
