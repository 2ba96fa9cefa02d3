package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beatgrid/beatgrid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

const collMutations = "mutations"

var _ beatgrid.MutationStore = (*DB)(nil)

// mutationDoc is a mutation as stored; its _id, "device/id", makes the first write win.
type mutationDoc struct {
	ID         string    `bson:"_id"`
	DeviceID   string    `bson:"device_id"`
	MutationID string    `bson:"mutation_id"`
	Seq        int64     `bson:"seq"`
	Type       string    `bson:"type"`
	OccurredAt time.Time `bson:"occurred_at"`
	DeviceTime time.Time `bson:"device_time"`
	ReceivedAt time.Time `bson:"received_at"`
	UserID     string    `bson:"user_id"`
	OrgUnitID  string    `bson:"org_unit_id"`
	Hash       string    `bson:"hash"`
	Fact       []byte    `bson:"fact,omitempty"`
	Status     string    `bson:"status"`
	Code       string    `bson:"code,omitempty"`
	Field      string    `bson:"field,omitempty"`
	Detail     string    `bson:"detail,omitempty"`
	Flags      []string  `bson:"flags,omitempty"`
}

func mutationKey(deviceID, id string) string { return deviceID + "/" + id }

func toMutationDoc(m *beatgrid.Mutation) *mutationDoc {
	return &mutationDoc{ID: mutationKey(m.DeviceID, m.ID), DeviceID: m.DeviceID, MutationID: m.ID, Seq: m.Seq,
		Type: m.Type, OccurredAt: m.OccurredAt.UTC(), DeviceTime: m.DeviceTime.UTC(), ReceivedAt: m.ReceivedAt.UTC(),
		UserID: m.UserID, OrgUnitID: m.OrgUnitID, Hash: m.Hash, Fact: m.Fact, Status: m.Status, Code: m.Code,
		Field: m.Field, Detail: m.Detail, Flags: m.Flags}
}

func fromMutationDoc(d *mutationDoc) *beatgrid.Mutation {
	return &beatgrid.Mutation{DeviceID: d.DeviceID, ID: d.MutationID, Seq: d.Seq, Type: d.Type,
		OccurredAt: utc(d.OccurredAt), DeviceTime: utc(d.DeviceTime), ReceivedAt: d.ReceivedAt.UTC(),
		UserID: d.UserID, OrgUnitID: d.OrgUnitID, Hash: d.Hash, Fact: d.Fact, Status: d.Status, Code: d.Code,
		Field: d.Field, Detail: d.Detail, Flags: d.Flags}
}

// InsertMutations stores ms in one unordered insertMany (see beatgrid.MutationStore). The
// client's journaled majority write concern makes MongoDB acknowledge only durable writes;
// the embedded store commits (SQLite WAL, synchronous=FULL) before it answers.
func (db *DB) InsertMutations(ctx context.Context, ms []*beatgrid.Mutation) ([]int, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	docs := make([]any, len(ms))
	for i, m := range ms {
		docs[i] = toMutationDoc(m)
	}
	defer db.writing()()
	_, err := db.coll(collMutations).InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return nil, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, fmt.Errorf("store: insert mutations: %w", err)
	}
	dups := make([]int, 0, len(bwe.WriteErrors))
	for _, we := range bwe.WriteErrors {
		if we.Code != codeDuplicateKey {
			return nil, fmt.Errorf("store: insert mutation %d: %w", we.Index, err)
		}
		dups = append(dups, we.Index)
	}
	return dups, nil
}

const codeDuplicateKey = 11000

// Mutation returns the stored mutation (a lookup by _id: indexed on MongoDB, a scan on the
// embedded store, where it serves only the rare retry after a crash).
func (db *DB) Mutation(ctx context.Context, deviceID, id string) (*beatgrid.Mutation, error) {
	var d mutationDoc
	err := db.coll(collMutations).FindOne(ctx, bson.D{{Key: "_id", Value: mutationKey(deviceID, id)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, beatgrid.Errorf(beatgrid.ENOTFOUND, "No such mutation.")
	} else if err != nil {
		return nil, fmt.Errorf("store: read mutation: %w", err)
	}
	return fromMutationDoc(&d), nil
}

// ScanMutations calls fn with every stored mutation.
func (db *DB) ScanMutations(ctx context.Context, fn func(*beatgrid.Mutation) error) error {
	cur, err := db.coll(collMutations).Find(ctx, bson.D{}, options.Find().SetBatchSize(1000))
	if err != nil {
		return fmt.Errorf("store: scan mutations: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d mutationDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("store: scan mutations: %w", err)
		}
		if err := fn(fromMutationDoc(&d)); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("store: scan mutations: %w", err)
	}
	return nil
}
