package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beatgrid/beatgrid"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

const collAlertAcks = "alert_acks"

var _ beatgrid.AlertStore = (*DB)(nil)

type alertAckDoc struct {
	ID     string    `bson:"_id"` // the alert's id: one acknowledgement each
	UserID string    `bson:"user_id"`
	Note   string    `bson:"note,omitempty"`
	At     time.Time `bson:"at"`
}

// InsertAck stores an acknowledgement; ECONFLICT if the alert has one.
func (db *DB) InsertAck(ctx context.Context, a *beatgrid.AlertAck) error {
	defer db.writing()()
	_, err := db.coll(collAlertAcks).InsertOne(ctx, alertAckDoc{ID: a.AlertID, UserID: a.UserID, Note: a.Note, At: a.At.UTC()})
	if mongo.IsDuplicateKeyError(err) {
		return beatgrid.Errorf(beatgrid.ECONFLICT, "The alert was acknowledged already.")
	}
	if err != nil {
		return fmt.Errorf("store: insert alert ack: %w", err)
	}
	return nil
}

// LoadAcks reads every acknowledgement.
func (db *DB) LoadAcks(ctx context.Context) ([]*beatgrid.AlertAck, error) {
	var out []*beatgrid.AlertAck
	err := scanAll(ctx, db.coll(collAlertAcks), func(d *alertAckDoc) error {
		out = append(out, &beatgrid.AlertAck{AlertID: d.ID, UserID: d.UserID, Note: d.Note, At: d.At.UTC()})
		return nil
	})
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, fmt.Errorf("store: load alert acks: %w", err)
	}
	return out, nil
}
