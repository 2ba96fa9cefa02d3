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

const collCoverage = "coverage"

var _ beatgrid.CoverageStore = (*DB)(nil)

// coverageDoc is a ledger entry as stored. The _id is "<cell hex>:<hour>:<source>": the key
// of the entry, so a repeated insert is a duplicate, and on a sharded MongoDB the ledger
// splits by ranges of cells (tiles), which is how it is read.
type coverageDoc struct {
	ID     string    `bson:"_id"`
	Cell   int64     `bson:"cell"` // the uint64 key's bits
	Hour   int64     `bson:"hour"`
	Source string    `bson:"src"`
	Unit   string    `bson:"unit"`
	Mode   string    `bson:"mode"`
	Last   time.Time `bson:"last"`
}

func coverageKey(e *beatgrid.CoverageEntry) string {
	return fmt.Sprintf("%016x:%d:%s", e.Cell, e.Hour, e.Source)
}

// coverageBatch bounds one insertMany of the ledger.
const coverageBatch = 2000

// InsertCoverage stores es; duplicates of stored entries are ignored.
func (db *DB) InsertCoverage(ctx context.Context, es []beatgrid.CoverageEntry) error {
	for start := 0; start < len(es); start += coverageBatch {
		part := es[start:min(start+coverageBatch, len(es))]
		docs := make([]any, len(part))
		for i := range part {
			e := &part[i]
			docs[i] = coverageDoc{ID: coverageKey(e), Cell: int64(e.Cell), Hour: e.Hour, Source: e.Source, Unit: e.Unit,
				Mode: e.Mode, Last: e.Last.UTC()}
		}
		if err := db.insertIgnoringDups(ctx, collCoverage, docs); err != nil {
			return fmt.Errorf("store: insert coverage: %w", err)
		}
	}
	return nil
}

// insertIgnoringDups inserts docs unordered and returns only errors other than duplicate keys.
func (db *DB) insertIgnoringDups(ctx context.Context, coll string, docs []any) error {
	defer db.writing()()
	_, err := db.coll(coll).InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if err == nil || !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return err
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != codeDuplicateKey {
			return err
		}
	}
	return nil
}

// deleteBatch bounds one delete command: the embedded store hangs on large write commands
// that match documents (ARCHITECTURE.md §5).
const deleteBatch = 50

// DeleteCoverage removes es by key, 50 a command.
func (db *DB) DeleteCoverage(ctx context.Context, es []beatgrid.CoverageEntry) error {
	for start := 0; start < len(es); start += deleteBatch {
		part := es[start:min(start+deleteBatch, len(es))]
		ids := make(bson.A, len(part))
		for i := range part {
			ids[i] = coverageKey(&part[i])
		}
		if err := db.deleteIDs(ctx, collCoverage, ids); err != nil {
			return fmt.Errorf("store: delete coverage: %w", err)
		}
	}
	return nil
}

func (db *DB) deleteIDs(ctx context.Context, coll string, ids bson.A) error {
	defer db.writing()()
	_, err := db.coll(coll).DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	return err
}

// ScanCoverage calls fn with every stored entry.
func (db *DB) ScanCoverage(ctx context.Context, fn func(*beatgrid.CoverageEntry) error) error {
	cur, err := db.coll(collCoverage).Find(ctx, bson.D{}, options.Find().SetBatchSize(5000))
	if err != nil {
		return fmt.Errorf("store: scan coverage: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d coverageDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("store: scan coverage: %w", err)
		}
		e := beatgrid.CoverageEntry{Cell: uint64(d.Cell), Hour: d.Hour, Source: d.Source, Unit: d.Unit, Mode: d.Mode, Last: d.Last.UTC()}
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("store: scan coverage: %w", err)
	}
	return nil
}
