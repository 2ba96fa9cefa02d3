package beatgrid

import (
	"context"
	"time"

	"github.com/paulmach/orb"
)

// Place is the bookkeeping every patrol place (route, checkpoint, kiosk) carries: its unit,
// its name, and the versions the stores and the change feed compare on.
type Place struct {
	ID        string
	OrgUnitID string // the unit whose subtree sees the place
	Name      string
	Deleted   bool  // a tombstone: kept so that terminals pull the delete
	Version   int64 // bumped by every change; stores compare-and-set on it
	Rev       int64 // the change feed's version of the last change
	// PastUnits are the units the place belonged to before: terminals there get a tombstone.
	PastUnits []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Meta returns the place's bookkeeping; Route, Checkpoint and Kiosk share it by embedding.
func (p *Place) Meta() *Place { return p }

// Route is a patrol route: a line to walk or drive and the checkpoints to punch on it, in order.
type Route struct {
	Place
	Line          orb.LineString
	CheckpointIDs []string
}

// Checkpoint is a point an officer punches (NFC tag or QR code) within RadiusM of Point.
type Checkpoint struct {
	Place
	Point   orb.Point
	RadiusM float64
	Tag     string
}

// Kiosk is a police kiosk (a fixed post) and the road segments its officers guard.
type Kiosk struct {
	Place
	Point    orb.Point
	Segments orb.MultiLineString
}

// PlacesState is every patrol place, tombstones included, as loaded at start in one pass per
// collection.
type PlacesState struct {
	Routes      []*Route
	Checkpoints []*Checkpoint
	Kiosks      []*Kiosk
}

// PlaceStore keeps patrol places durably. Reads happen at start; writes come from one writer.
//
// Put methods insert a record whose Version is 1 and otherwise replace the stored record whose
// Version is one less than the record's. They return ECONFLICT if the stored version differs
// (another server changed it) or, for an insert, if a record with the same id exists.
type PlaceStore interface {
	LoadPlaces(ctx context.Context) (*PlacesState, error)

	PutRoute(ctx context.Context, r *Route) error
	PutCheckpoint(ctx context.Context, c *Checkpoint) error
	PutKiosk(ctx context.Context, k *Kiosk) error
}
