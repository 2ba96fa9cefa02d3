package beatgrid

import (
	"context"
	"time"
)

// CoverageEntry is one line of the coverage ledger: a source (a patrol, or the duty of one
// device at one kiosk) was in a cell during an hour, last at Last.
type CoverageEntry struct {
	Cell   uint64    // a geo.Cell key
	Hour   int64     // hours since the Unix epoch (UTC)
	Source string    // a patrol id, or "kiosk:<kiosk id>:<device id>"
	Unit   string    // the org unit of the source: whose scope sees it
	Mode   string    // foot, vehicle, video, drone or kiosk
	Last   time.Time // the latest moment of the hour the source was in the cell
}

// CoverageDelta is what one write round changed of one source's entries in one zoom-14
// tile during one hour: the ledger is stored as an insert-only log of such deltas, one
// document each, so a round costs a document per (tile, hour, source) touched, not one per
// cell, and never an update. Replayed in Round order, the deltas give the entries.
type CoverageDelta struct {
	Tile    uint64 // the geo.Cell key of the zoom-14 tile
	Hour    int64  // hours since the Unix epoch (UTC)
	Source  string
	Unit    string
	Mode    string
	Round   int64          // the write round: later rounds override earlier ones, cell by cell
	Set     []CoverageCell // cells covered, with their last second in the hour
	Removed []uint64       // cells no longer covered (a late fact changed the track)
}

// CoverageCell is a cell of a CoverageDelta and the last second of the hour it was seen.
type CoverageCell struct {
	Cell uint64
	Secs uint16
}

// CoverageStore keeps the coverage ledger.
type CoverageStore interface {
	// InsertCoverage stores deltas in unordered writes; a delta stored before (same tile,
	// hour, source and round) is left as it was.
	InsertCoverage(ctx context.Context, ds []CoverageDelta) error
	// ScanCoverage calls fn with every stored delta, in no particular order.
	ScanCoverage(ctx context.Context, fn func(*CoverageDelta) error) error
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
