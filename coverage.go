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
	// DropCoverageBefore removes every entry of the months before the month of t: detail
	// is kept in monthly partitions, so retention drops whole partitions.
	DropCoverageBefore(ctx context.Context, t time.Time) error

	// InsertCoverageDays stores day roll-ups; one stored before under the same (tile, day)
	// is left as it was.
	InsertCoverageDays(ctx context.Context, ds []CoverageDay) error
	// ScanCoverageDays calls fn with every stored day roll-up.
	ScanCoverageDays(ctx context.Context, fn func(*CoverageDay) error) error
}

// CoverageDay is the roll-up of one day of the ledger in one tile (of zoom 14): per cell and
// unit, how many patrol-hours, by which modes, and the last visit. It outlives the detail.
type CoverageDay struct {
	Tile  uint64 // the geo.Cell key of the zoom-14 tile
	Day   int64  // days since the Unix epoch (UTC)
	Cells []CoverageDayCell
}

// CoverageDayCell is one cell's day in a CoverageDay.
type CoverageDayCell struct {
	Cell   uint64
	Unit   string
	Visits int
	Modes  string // comma-joined
	Last   time.Time
}
