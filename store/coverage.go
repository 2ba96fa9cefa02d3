package store

import (
	"context"
	"encoding/binary"
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

// coverageDoc is a ledger delta as stored. The _id is "<tile hex>:<hour>:<source>:<round>":
// a repeated insert of the same round is a duplicate; on a sharded MongoDB the ledger splits
// by ranges of tiles, which is how it is read. The cells are packed: 10 bytes a cell (the
// key and the second of the hour, little-endian) and 8 a removed one.
type coverageDoc struct {
	ID      string `bson:"_id"`
	Tile    int64  `bson:"tile"` // the uint64 key's bits
	Hour    int64  `bson:"hour"`
	Source  string `bson:"src"`
	Unit    string `bson:"unit"`
	Mode    string `bson:"mode"`
	Round   int64  `bson:"round"`
	Set     []byte `bson:"set,omitempty"`
	Removed []byte `bson:"removed,omitempty"`
}

// partitionOf names the collection of an hour's deltas.
func partitionOf(hour int64) string {
	return coveragePartition + time.Unix(hour*3600, 0).UTC().Format("200601")
}

// coverageBatch bounds one insertMany of the ledger.
const coverageBatch = 1000

// InsertCoverage stores deltas; duplicates of stored ones are ignored.
func (db *DB) InsertCoverage(ctx context.Context, ds []beatgrid.CoverageDelta) error {
	parts := map[string][]any{}
	for i := range ds {
		d := &ds[i]
		doc := coverageDoc{ID: fmt.Sprintf("%016x:%d:%s:%d", d.Tile, d.Hour, d.Source, d.Round), Tile: int64(d.Tile),
			Hour: d.Hour, Source: d.Source, Unit: d.Unit, Mode: d.Mode, Round: d.Round}
		if len(d.Set) > 0 {
			doc.Set = make([]byte, 10*len(d.Set))
			for j, c := range d.Set {
				binary.LittleEndian.PutUint64(doc.Set[10*j:], c.Cell)
				binary.LittleEndian.PutUint16(doc.Set[10*j+8:], c.Secs)
			}
		}
		if len(d.Removed) > 0 {
			doc.Removed = packCells(d.Removed)
		}
		p := partitionOf(d.Hour)
		parts[p] = append(parts[p], doc)
	}
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		docs := parts[name]
		for start := 0; start < len(docs); start += coverageBatch {
			if err := db.insertIgnoringDups(ctx, name, docs[start:min(start+coverageBatch, len(docs))]); err != nil {
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

// ScanCoverage calls fn with every stored delta.
func (db *DB) ScanCoverage(ctx context.Context, fn func(*beatgrid.CoverageDelta) error) error {
	names, err := db.partitions(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		err := scanAll(ctx, db.coll(name), func(d *coverageDoc) error {
			if len(d.Set)%10 != 0 || len(d.Removed)%8 != 0 {
				return fmt.Errorf("delta %s: cells of %d and %d bytes", d.ID, len(d.Set), len(d.Removed))
			}
			out := beatgrid.CoverageDelta{Tile: uint64(d.Tile), Hour: d.Hour, Source: d.Source, Unit: d.Unit, Mode: d.Mode,
				Round: d.Round, Removed: unpackCells(d.Removed), Set: make([]beatgrid.CoverageCell, len(d.Set)/10)}
			for j := range out.Set {
				out.Set[j] = beatgrid.CoverageCell{Cell: binary.LittleEndian.Uint64(d.Set[10*j:]), Secs: binary.LittleEndian.Uint16(d.Set[10*j+8:])}
			}
			return fn(&out)
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
