package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/beatgrid/beatgrid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The coverage ledger's detail lives in one collection per month ("coverage_m202611"), so
// retention drops whole partitions (a delete by filter would scan the embedded store's
// whole collection); day roll-ups live in "coverage_days".
const (
	coveragePartition = "coverage_m"
	collCoverageDays  = "coverage_days"
)

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

// partitionOf names the collection of an hour's entries.
func partitionOf(hour int64) string {
	return coveragePartition + time.Unix(hour*3600, 0).UTC().Format("200601")
}

// byPartition groups entries by their collection, in a fixed order.
func byPartition(es []beatgrid.CoverageEntry) ([]string, map[string][]beatgrid.CoverageEntry) {
	m := map[string][]beatgrid.CoverageEntry{}
	for _, e := range es {
		p := partitionOf(e.Hour)
		m[p] = append(m[p], e)
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, m
}

// coverageBatch bounds one insertMany of the ledger.
const coverageBatch = 2000

// InsertCoverage stores es; duplicates of stored entries are ignored.
func (db *DB) InsertCoverage(ctx context.Context, es []beatgrid.CoverageEntry) error {
	names, parts := byPartition(es)
	for _, name := range names {
		part := parts[name]
		for start := 0; start < len(part); start += coverageBatch {
			chunk := part[start:min(start+coverageBatch, len(part))]
			docs := make([]any, len(chunk))
			for i := range chunk {
				e := &chunk[i]
				docs[i] = coverageDoc{ID: coverageKey(e), Cell: int64(e.Cell), Hour: e.Hour, Source: e.Source, Unit: e.Unit,
					Mode: e.Mode, Last: e.Last.UTC()}
			}
			if err := db.insertIgnoringDups(ctx, name, docs); err != nil {
				return fmt.Errorf("store: insert coverage: %w", err)
			}
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
	names, parts := byPartition(es)
	for _, name := range names {
		part := parts[name]
		for start := 0; start < len(part); start += deleteBatch {
			chunk := part[start:min(start+deleteBatch, len(part))]
			ids := make(bson.A, len(chunk))
			for i := range chunk {
				ids[i] = coverageKey(&chunk[i])
			}
			if err := db.deleteIDs(ctx, name, ids); err != nil {
				return fmt.Errorf("store: delete coverage: %w", err)
			}
		}
	}
	return nil
}

func (db *DB) deleteIDs(ctx context.Context, coll string, ids bson.A) error {
	defer db.writing()()
	_, err := db.coll(coll).DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	return err
}

// partitions returns the names of the ledger's monthly collections, oldest first.
func (db *DB) partitions(ctx context.Context) ([]string, error) {
	names, err := db.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("store: list coverage partitions: %w", err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, coveragePartition) })
	slices.Sort(names)
	return names, nil
}

// ScanCoverage calls fn with every stored entry.
func (db *DB) ScanCoverage(ctx context.Context, fn func(*beatgrid.CoverageEntry) error) error {
	names, err := db.partitions(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		err := scanAll(ctx, db.coll(name), func(d *coverageDoc) error {
			return fn(&beatgrid.CoverageEntry{Cell: uint64(d.Cell), Hour: d.Hour, Source: d.Source, Unit: d.Unit,
				Mode: d.Mode, Last: d.Last.UTC()})
		})
		if err != nil {
			return fmt.Errorf("store: scan coverage %s: %w", name, err)
		}
	}
	return nil
}

// scanAll decodes every document of coll into a fresh D and calls fn.
func scanAll[D any](ctx context.Context, coll *mongo.Collection, fn func(*D) error) error {
	cur, err := coll.Find(ctx, bson.D{}, options.Find().SetBatchSize(5000))
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d D
		if err := cur.Decode(&d); err != nil {
			return err
		}
		if err := fn(&d); err != nil {
			return err
		}
	}
	return cur.Err()
}

// DropCoverageBefore drops the partitions of the months before t's month.
func (db *DB) DropCoverageBefore(ctx context.Context, t time.Time) error {
	names, err := db.partitions(ctx)
	if err != nil {
		return err
	}
	keep := partitionOf(t.Unix() / 3600)
	for _, name := range names {
		if name >= keep {
			break
		}
		if err := db.dropCollection(ctx, name); err != nil {
			return fmt.Errorf("store: drop coverage partition %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) dropCollection(ctx context.Context, name string) error {
	defer db.writing()()
	return db.coll(name).Drop(ctx)
}

// coverageDayDoc is a day roll-up as stored: one document per (tile, day).
type coverageDayDoc struct {
	ID    string           `bson:"_id"` // "<tile hex>:<day>"
	Tile  int64            `bson:"tile"`
	Day   int64            `bson:"day"`
	Cells []coverageDayRow `bson:"cells"`
}

type coverageDayRow struct {
	Cell   int64     `bson:"c"`
	Unit   string    `bson:"u"`
	Visits int       `bson:"v"`
	Modes  string    `bson:"m"`
	Last   time.Time `bson:"l"`
}

// InsertCoverageDays stores day roll-ups; a (tile, day) stored before is left as it was.
func (db *DB) InsertCoverageDays(ctx context.Context, ds []beatgrid.CoverageDay) error {
	for start := 0; start < len(ds); start += 500 {
		chunk := ds[start:min(start+500, len(ds))]
		docs := make([]any, len(chunk))
		for i, d := range chunk {
			doc := coverageDayDoc{ID: fmt.Sprintf("%016x:%d", d.Tile, d.Day), Tile: int64(d.Tile), Day: d.Day,
				Cells: make([]coverageDayRow, len(d.Cells))}
			for j, c := range d.Cells {
				doc.Cells[j] = coverageDayRow{Cell: int64(c.Cell), Unit: c.Unit, Visits: c.Visits, Modes: c.Modes, Last: c.Last.UTC()}
			}
			docs[i] = doc
		}
		if err := db.insertIgnoringDups(ctx, collCoverageDays, docs); err != nil {
			return fmt.Errorf("store: insert coverage days: %w", err)
		}
	}
	return nil
}

// ScanCoverageDays calls fn with every stored day roll-up.
func (db *DB) ScanCoverageDays(ctx context.Context, fn func(*beatgrid.CoverageDay) error) error {
	err := scanAll(ctx, db.coll(collCoverageDays), func(d *coverageDayDoc) error {
		day := beatgrid.CoverageDay{Tile: uint64(d.Tile), Day: d.Day, Cells: make([]beatgrid.CoverageDayCell, len(d.Cells))}
		for i, c := range d.Cells {
			day.Cells[i] = beatgrid.CoverageDayCell{Cell: uint64(c.Cell), Unit: c.Unit, Visits: c.Visits, Modes: c.Modes, Last: c.Last.UTC()}
		}
		return fn(&day)
	})
	if err != nil {
		return fmt.Errorf("store: scan coverage days: %w", err)
	}
	return nil
}
