package beatgrid

import (
	"context"
	"time"
)

// CoverageEntry is one line of the coverage ledger: a source (a patrol, or a kiosk's duty by
// one device) was in a cell during an hour. The ledger is insert-only on its hot path: the
// entry's key is (Cell, Hour, Source), so storing it again changes nothing.
type CoverageEntry struct {
	Cell   uint64    // a geo.Cell key
	Hour   int64     // hours since the Unix epoch (UTC)
	Source string    // a patrol id, or "kiosk:<kiosk id>:<device id>"
	Unit   string    // the org unit of the source: whose scope sees it
	Mode   string    // foot, vehicle, video, drone or kiosk
	Last   time.Time // the latest moment of the hour the source was in the cell
}

// CoverageStore keeps the coverage ledger.
type CoverageStore interface {
	// InsertCoverage stores entries in unordered writes; entries stored before are left as
	// they were (a duplicate key means "already counted").
	InsertCoverage(ctx context.Context, es []CoverageEntry) error
	// DeleteCoverage removes entries by key (a late fact changed what a source covered).
	DeleteCoverage(ctx context.Context, es []CoverageEntry) error
	// ScanCoverage calls fn with every stored entry, in no particular order.
	ScanCoverage(ctx context.Context, fn func(*CoverageEntry) error) error
}
