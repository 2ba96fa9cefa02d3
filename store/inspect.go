package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/paulmach/orb"
)

var _ beatgrid.InspectStore = (*DB)(nil)

// Collections of venue inspections. Inspections and terminal facts about hazards and tasks
// live in the mutation log; these hold what the console does.
const (
	collVenues       = "venues"
	collChecklists   = "checklists"     // one document per checklist version, insert-only
	collInspectEvent = "inspect_events" // console actions on hazards and tasks, insert-only
	collPublications = "publications"   // derived records as last published to the change feed
)

type venueDoc struct {
	Place        placeDoc `bson:",inline"`
	Type         string   `bson:"type"`
	Address      string   `bson:"address"`
	Point        []byte   `bson:"point_wkb"`
	OwnerContact string   `bson:"owner_contact"`
	RiskGrade    string   `bson:"risk_grade,omitempty"`
	RiskReasons  []string `bson:"risk_reasons,omitempty"`
}

type checklistItemDoc struct {
	ID       string `bson:"id"`
	Text     string `bson:"text"`
	Kind     string `bson:"kind"`
	Required bool   `bson:"required"`
}

// checklistDoc is one checklist version; _id is "<id>:<version>".
type checklistDoc struct {
	Key       string             `bson:"_id"`
	ID        string             `bson:"checklist_id"`
	OrgUnitID string             `bson:"org_unit_id"`
	VenueType string             `bson:"venue_type"`
	Name      string             `bson:"name"`
	Version   int64              `bson:"version"`
	Items     []checklistItemDoc `bson:"items"`
	CreatedBy string             `bson:"created_by"`
	CreatedAt time.Time          `bson:"created_at"`
	Rev       int64              `bson:"rev"`
}

type inspectEventDoc struct {
	ID         string    `bson:"_id"`
	Kind       string    `bson:"kind"`
	Target     string    `bson:"target"`
	At         time.Time `bson:"at"`
	UserID     string    `bson:"user_id"`
	OrgUnitID  string    `bson:"org_unit_id"`
	Note       string    `bson:"note,omitempty"`
	Action     string    `bson:"action,omitempty"`
	Pass       *bool     `bson:"pass,omitempty"`
	NoticeNo   string    `bson:"notice_no,omitempty"`
	Deadline   time.Time `bson:"deadline,omitempty"`
	Photos     []string  `bson:"photos,omitempty"`
	TaskKind   string    `bson:"task_kind,omitempty"`
	TaskTarget string    `bson:"task_target,omitempty"`
	AssigneeID string    `bson:"assignee_id,omitempty"`
	Due        time.Time `bson:"due,omitempty"`
}

// publicationDoc is a published derived record; _id is "<collection>/<id>".
type publicationDoc struct {
	Key        string   `bson:"_id"`
	Collection string   `bson:"collection"`
	ID         string   `bson:"id"`
	Unit       string   `bson:"unit"`
	PastUnits  []string `bson:"past_units,omitempty"`
	Deleted    bool     `bson:"deleted,omitempty"`
	Doc        []byte   `bson:"doc"`
	Version    int64    `bson:"version"`
	Rev        int64    `bson:"rev"`
}

// LoadInspect reads the inspection collections in one pass each.
func (db *DB) LoadInspect(ctx context.Context) (*beatgrid.InspectState, error) {
	st := &beatgrid.InspectState{}
	var err error
	if st.Venues, err = loadAll(ctx, db, collVenues, fromVenueDoc); err != nil {
		return nil, err
	}
	if st.Checklists, err = loadAll(ctx, db, collChecklists, fromChecklistDoc); err != nil {
		return nil, err
	}
	if st.Events, err = loadAll(ctx, db, collInspectEvent, fromInspectEventDoc); err != nil {
		return nil, err
	}
	if st.Publications, err = loadAll(ctx, db, collPublications, fromPublicationDoc); err != nil {
		return nil, err
	}
	return st, nil
}

func fromVenueDoc(d *venueDoc) (*beatgrid.Venue, error) {
	pt, err := fromWKB[orb.Point](collVenues, d.Place.ID, d.Point)
	if err != nil {
		return nil, err
	}
	return &beatgrid.Venue{Place: fromPlaceDoc(d.Place), Type: d.Type, Address: d.Address, Point: pt,
		OwnerContact: d.OwnerContact, RiskGrade: d.RiskGrade, RiskReasons: d.RiskReasons}, nil
}

func fromChecklistDoc(d *checklistDoc) (*beatgrid.Checklist, error) {
	c := &beatgrid.Checklist{ID: d.ID, OrgUnitID: d.OrgUnitID, VenueType: d.VenueType, Name: d.Name, Version: d.Version,
		Items: make([]beatgrid.ChecklistItem, len(d.Items)), CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt.UTC(), Rev: d.Rev}
	for i, it := range d.Items {
		c.Items[i] = beatgrid.ChecklistItem{ID: it.ID, Text: it.Text, Kind: it.Kind, Required: it.Required}
	}
	return c, nil
}

func fromInspectEventDoc(d *inspectEventDoc) (*beatgrid.InspectEvent, error) {
	return &beatgrid.InspectEvent{ID: d.ID, Kind: d.Kind, Target: d.Target, At: d.At.UTC(), UserID: d.UserID,
		OrgUnitID: d.OrgUnitID, Note: d.Note, Action: d.Action, Pass: d.Pass, NoticeNo: d.NoticeNo,
		Deadline: utcOrZero(d.Deadline), Photos: d.Photos, TaskKind: d.TaskKind, TaskTarget: d.TaskTarget,
		AssigneeID: d.AssigneeID, Due: utcOrZero(d.Due)}, nil
}

// utcOrZero keeps a zero time zero (the driver reads an absent date as the zero time already).
func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func fromPublicationDoc(d *publicationDoc) (*beatgrid.Publication, error) {
	return &beatgrid.Publication{Collection: d.Collection, ID: d.ID, Unit: d.Unit, PastUnits: d.PastUnits,
		Deleted: d.Deleted, Doc: d.Doc, Version: d.Version, Rev: d.Rev}, nil
}

// PutVenue stores v (see beatgrid.InspectStore).
func (db *DB) PutVenue(ctx context.Context, v *beatgrid.Venue) error {
	pt, err := toWKB(collVenues, v.ID, v.Point)
	if err != nil {
		return err
	}
	d := &venueDoc{Place: toPlaceDoc(&v.Place), Type: v.Type, Address: v.Address, Point: pt, OwnerContact: v.OwnerContact,
		RiskGrade: v.RiskGrade, RiskReasons: v.RiskReasons}
	return db.put(ctx, collVenues, v.ID, v.Version, d)
}

// InsertChecklist stores a new checklist version (see beatgrid.InspectStore).
func (db *DB) InsertChecklist(ctx context.Context, c *beatgrid.Checklist) error {
	d := &checklistDoc{Key: c.ID + ":" + strconv.FormatInt(c.Version, 10), ID: c.ID, OrgUnitID: c.OrgUnitID,
		VenueType: c.VenueType, Name: c.Name, Version: c.Version, Items: make([]checklistItemDoc, len(c.Items)),
		CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt.UTC(), Rev: c.Rev}
	for i, it := range c.Items {
		d.Items[i] = checklistItemDoc{ID: it.ID, Text: it.Text, Kind: it.Kind, Required: it.Required}
	}
	return db.insertOnce(ctx, collChecklists, d.Key, d)
}

// InsertInspectEvent stores a console action (see beatgrid.InspectStore).
func (db *DB) InsertInspectEvent(ctx context.Context, e *beatgrid.InspectEvent) error {
	d := &inspectEventDoc{ID: e.ID, Kind: e.Kind, Target: e.Target, At: e.At.UTC(), UserID: e.UserID,
		OrgUnitID: e.OrgUnitID, Note: e.Note, Action: e.Action, Pass: e.Pass, NoticeNo: e.NoticeNo,
		Deadline: utcOrZero(e.Deadline), Photos: e.Photos, TaskKind: e.TaskKind, TaskTarget: e.TaskTarget,
		AssigneeID: e.AssigneeID, Due: utcOrZero(e.Due)}
	return db.insertOnce(ctx, collInspectEvent, e.ID, d)
}

// PutPublication stores p (see beatgrid.InspectStore).
func (db *DB) PutPublication(ctx context.Context, p *beatgrid.Publication) error {
	key := p.Collection + "/" + p.ID
	d := &publicationDoc{Key: key, Collection: p.Collection, ID: p.ID, Unit: p.Unit, PastUnits: p.PastUnits,
		Deleted: p.Deleted, Doc: p.Doc, Version: p.Version, Rev: p.Rev}
	return db.put(ctx, collPublications, key, p.Version, d)
}

// insertOnce inserts doc; a document with its id already stored is ECONFLICT.
func (db *DB) insertOnce(ctx context.Context, coll, id string, doc any) error {
	defer db.writing()()
	_, err := db.coll(coll).InsertOne(ctx, doc)
	if isDup(err) {
		return beatgrid.Errorf(beatgrid.ECONFLICT, "The record was changed meanwhile; reload and retry.")
	} else if err != nil {
		return fmt.Errorf("store: insert %s %s: %w", coll, id, err)
	}
	return nil
}
