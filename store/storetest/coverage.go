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
}
