package store

import (
	"context"
	"fmt"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"go.mongodb.org/mongo-driver/v2/bson"
)

var _ beatgrid.PlaceStore = (*DB)(nil)

// Patrol place collections.
const (
	collRoutes      = "routes"
	collCheckpoints = "checkpoints"
	collKiosks      = "kiosks"
)

// placeDoc is the bookkeeping every place document carries.
type placeDoc struct {
	ID        string    `bson:"_id"`
	OrgUnitID string    `bson:"org_unit_id"`
	Name      string    `bson:"name"`
	Deleted   bool      `bson:"deleted,omitempty"`
	Version   int64     `bson:"version"`
	Rev       int64     `bson:"rev"`
	PastUnits []string  `bson:"past_units,omitempty"`
	CreatedAt time.Time `bson:"created_at"`
	UpdatedAt time.Time `bson:"updated_at"`
}

type routeDoc struct {
	Place         placeDoc `bson:",inline"`
	Line          []byte   `bson:"line_wkb,omitempty"`
	CheckpointIDs []string `bson:"checkpoint_ids"`
}

type checkpointDoc struct {
	Place   placeDoc `bson:",inline"`
	Point   []byte   `bson:"point_wkb"`
	RadiusM float64  `bson:"radius_m"`
	Tag     string   `bson:"tag"`
}

type kioskDoc struct {
	Place    placeDoc `bson:",inline"`
	Point    []byte   `bson:"point_wkb"`
	Segments []byte   `bson:"segments_wkb,omitempty"`
}

func toPlaceDoc(p *beatgrid.Place) placeDoc {
	return placeDoc{ID: p.ID, OrgUnitID: p.OrgUnitID, Name: p.Name, Deleted: p.Deleted, Version: p.Version,
		Rev: p.Rev, PastUnits: p.PastUnits, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
}

func fromPlaceDoc(d placeDoc) beatgrid.Place {
	return beatgrid.Place{ID: d.ID, OrgUnitID: d.OrgUnitID, Name: d.Name, Deleted: d.Deleted, Version: d.Version,
		Rev: d.Rev, PastUnits: d.PastUnits, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

// toWKB encodes g; no geometry is stored as nothing.
func toWKB(coll, id string, g orb.Geometry) ([]byte, error) {
	if g == nil {
		return nil, nil
	}
	b, err := wkb.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("store: %s %s geometry: %w", coll, id, err)
	}
	return b, nil
}

// fromWKB decodes b into a geometry of type T; empty b gives T's zero value.
func fromWKB[T orb.Geometry](coll, id string, b []byte) (T, error) {
	var zero T
	if len(b) == 0 {
		return zero, nil
	}
	g, err := wkb.Unmarshal(b)
	if err != nil {
		return zero, fmt.Errorf("store: %s %s geometry: %w", coll, id, err)
	}
	t, ok := g.(T)
	if !ok {
		return zero, fmt.Errorf("store: %s %s geometry: a %s, want a %s", coll, id, g.GeoJSONType(), zero.GeoJSONType())
	}
	return t, nil
}

// LoadPlaces reads the place collections, tombstones included, in one pass each.
func (db *DB) LoadPlaces(ctx context.Context) (*beatgrid.PlacesState, error) {
	st := &beatgrid.PlacesState{}
	var err error
	if st.Routes, err = loadAll(ctx, db, collRoutes, fromRouteDoc); err != nil {
		return nil, err
	}
	if st.Checkpoints, err = loadAll(ctx, db, collCheckpoints, fromCheckpointDoc); err != nil {
		return nil, err
	}
	if st.Kiosks, err = loadAll(ctx, db, collKiosks, fromKioskDoc); err != nil {
		return nil, err
	}
	return st, nil
}

// loadAll reads every document of coll and converts each with from.
func loadAll[D, T any](ctx context.Context, db *DB, coll string, from func(*D) (T, error)) ([]T, error) {
	var docs []*D
	if err := db.all(ctx, coll, bson.D{}, &docs); err != nil {
		return nil, err
	}
	out := make([]T, 0, len(docs))
	for _, d := range docs {
		x, err := from(d)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func fromRouteDoc(d *routeDoc) (*beatgrid.Route, error) {
	line, err := fromWKB[orb.LineString](collRoutes, d.Place.ID, d.Line)
	if err != nil {
		return nil, err
	}
	return &beatgrid.Route{Place: fromPlaceDoc(d.Place), Line: line, CheckpointIDs: d.CheckpointIDs}, nil
}

func fromCheckpointDoc(d *checkpointDoc) (*beatgrid.Checkpoint, error) {
	pt, err := fromWKB[orb.Point](collCheckpoints, d.Place.ID, d.Point)
	if err != nil {
		return nil, err
	}
	return &beatgrid.Checkpoint{Place: fromPlaceDoc(d.Place), Point: pt, RadiusM: d.RadiusM, Tag: d.Tag}, nil
}

func fromKioskDoc(d *kioskDoc) (*beatgrid.Kiosk, error) {
	pt, err := fromWKB[orb.Point](collKiosks, d.Place.ID, d.Point)
	if err != nil {
		return nil, err
	}
	segs, err := fromWKB[orb.MultiLineString](collKiosks, d.Place.ID, d.Segments)
	if err != nil {
		return nil, err
	}
	return &beatgrid.Kiosk{Place: fromPlaceDoc(d.Place), Point: pt, Segments: segs}, nil
}

// PutRoute stores r (see beatgrid.PlaceStore).
func (db *DB) PutRoute(ctx context.Context, r *beatgrid.Route) error {
	line, err := toWKB(collRoutes, r.ID, r.Line)
	if err != nil {
		return err
	}
	d := &routeDoc{Place: toPlaceDoc(&r.Place), Line: line, CheckpointIDs: r.CheckpointIDs}
	return db.put(ctx, collRoutes, r.ID, r.Version, d)
}

// PutCheckpoint stores c (see beatgrid.PlaceStore).
func (db *DB) PutCheckpoint(ctx context.Context, c *beatgrid.Checkpoint) error {
	pt, err := toWKB(collCheckpoints, c.ID, c.Point)
	if err != nil {
		return err
	}
	d := &checkpointDoc{Place: toPlaceDoc(&c.Place), Point: pt, RadiusM: c.RadiusM, Tag: c.Tag}
	return db.put(ctx, collCheckpoints, c.ID, c.Version, d)
}

// PutKiosk stores k (see beatgrid.PlaceStore).
func (db *DB) PutKiosk(ctx context.Context, k *beatgrid.Kiosk) error {
	pt, err := toWKB(collKiosks, k.ID, k.Point)
	if err != nil {
		return err
	}
	segs, err := toWKB(collKiosks, k.ID, k.Segments)
	if err != nil {
		return err
	}
	d := &kioskDoc{Place: toPlaceDoc(&k.Place), Point: pt, Segments: segs}
	return db.put(ctx, collKiosks, k.ID, k.Version, d)
}
