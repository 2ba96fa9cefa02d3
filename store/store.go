// Package store keeps beatgrid's records in MongoDB: a real server named by MONGODB_URI, or by
// default an embedded FerretDB (SQLite files under the data directory) run in this process.
// It is the only package that imports the database driver.
//
// The embedded store scans a whole collection on every query and does not arbitrate
// concurrent updates (ARCHITECTURE.md §5), so callers read whole collections once at start,
// keep working state in memory, and write through one writer per record.
package store

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/beatgrid/beatgrid"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
)

// Config says which database to use.
type Config struct {
	URI      string // a MongoDB URI; empty runs the embedded FerretDB
	DataDir  string // where the embedded store keeps its files
	Database string // database name; "beatgrid" when empty
	Logger   *slog.Logger
}

// DB is an open database.
type DB struct {
	// wmu makes writes to the embedded store one at a time: its SQLite backend stalls for
	// seconds, then runs out of connections, under many concurrent writers (250 terminals
	// signing in at once did it), while one writer at a time runs at full speed.
	wmu sync.Mutex

	client   *mongo.Client
	db       *mongo.Database
	embedded bool
	stop     func() // stops the embedded server; nil otherwise
	logger   *slog.Logger
	blobs    beatgrid.BlobStore // files under DataDir/blobs when embedded, GridFS otherwise
}

// Open connects to the database of cfg, starting the embedded one if cfg.URI is empty, and
// creates the indexes (idempotently).
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Database == "" {
		cfg.Database = "beatgrid"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	db := &DB{logger: cfg.Logger}
	uri := cfg.URI
	if uri == "" {
		var err error
		if uri, db.stop, err = startEmbedded(cfg.DataDir, cfg.Logger); err != nil {
			return nil, err
		}
		db.embedded = true
	}
	// Journaled majority writes: an acknowledged write survives a crash (ARCHITECTURE.md §3.2).
	// The embedded store ignores write concerns; it commits before it answers.
	opts := options.Client().ApplyURI(uri).
		SetWriteConcern(&writeconcern.WriteConcern{W: "majority", Journal: ptr(true)}).
		SetAppName("beatgrid").
		SetServerSelectionTimeout(10 * time.Second)
	client, err := mongo.Connect(opts)
	if err != nil {
		db.Close(ctx)
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	db.client, db.db = client, client.Database(cfg.Database)
	if err := db.Ping(ctx); err != nil {
		db.Close(ctx)
		return nil, fmt.Errorf("store: first ping: %w", err)
	}
	if err := db.ensureIndexes(ctx); err != nil {
		db.Close(ctx)
		return nil, err
	}
	if err := db.openBlobs(ctx, cfg.DataDir); err != nil {
		db.Close(ctx)
		return nil, err
	}
	return db, nil
}

// openBlobs puts blobs in files under the data directory beside the embedded store, in
// GridFS on MongoDB (blobs.go).
func (db *DB) openBlobs(ctx context.Context, dataDir string) error {
	var err error
	if db.embedded {
		db.blobs, err = newFileBlobs(filepath.Join(dataDirOr(dataDir), "blobs"))
	} else {
		db.blobs, err = newGridBlobs(ctx, db.db, db.logger)
	}
	return err
}

// dataDirOr returns dir, or the default data directory if it is empty.
func dataDirOr(dir string) string {
	if dir == "" {
		return "beatgrid-data"
	}
	return dir
}

func ptr[T any](v T) *T { return &v }

// startEmbedded runs FerretDB with its SQLite backend in dir and returns its URI.
func startEmbedded(dir string, logger *slog.Logger) (string, func(), error) {
	abs, err := filepath.Abs(filepath.Join(dataDirOr(dir), "db"))
	if err != nil {
		return "", nil, fmt.Errorf("store: data dir: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", nil, fmt.Errorf("store: data dir: %w", err)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
		Logger:    quiet(logger),
	})
	if err != nil {
		return "", nil, fmt.Errorf("store: embedded FerretDB: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.Run(ctx); err != nil {
			logger.Error("embedded FerretDB stopped", "err", err)
		}
	}()
	stop := func() { cancel(); <-done }
	return f.MongoDBURI(), stop, nil
}

// quiet returns a logger for FerretDB that passes only its errors: it logs every connection
// at info level and every error answer (a duplicate key, a missing collection) as a warning.
func quiet(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{inner: l.Handler(), min: slog.LevelError}).With("component", "ferretdb")
}

// levelFilter passes on FerretDB's records of min and above. The attributes FerretDB adds
// to its loggers (the SQL and the whole document of every statement) are kept unformatted
// and given to the inner handler only when a record is logged: formatting them for records
// that are then dropped took 12% of the CPU of an ingest.
type levelFilter struct {
	inner slog.Handler
	min   slog.Level
	ops   []func(slog.Handler) slog.Handler // WithAttrs and WithGroup, in order
}

func (h levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.inner.Enabled(ctx, l)
}

func (h levelFilter) Handle(ctx context.Context, r slog.Record) error {
	inner := h.inner
	for _, op := range h.ops {
		inner = op(inner)
	}
	return inner.Handle(ctx, r)
}

func (h levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{h.inner, h.min, append(slices.Clip(h.ops), func(x slog.Handler) slog.Handler { return x.WithAttrs(a) })}
}

func (h levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{h.inner, h.min, append(slices.Clip(h.ops), func(x slog.Handler) slog.Handler { return x.WithGroup(n) })}
}

// writing takes the embedded store's write lock and returns its release; on MongoDB, which
// takes concurrent writers in its stride, it does nothing.
func (db *DB) writing() (release func()) {
	if !db.embedded {
		return func() {}
	}
	db.wmu.Lock()
	return db.wmu.Unlock
}

// Embedded reports whether this is the embedded FerretDB.
func (db *DB) Embedded() bool { return db.embedded }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Drop deletes the whole database; tests use it to clean up a shared MongoDB.
func (db *DB) Drop(ctx context.Context) error {
	if err := db.db.Drop(ctx); err != nil {
		return fmt.Errorf("store: drop: %w", err)
	}
	return nil
}

// Close disconnects and stops the embedded server, if any.
func (db *DB) Close(ctx context.Context) error {
	var err error
	if db.client != nil {
		if e := db.client.Disconnect(ctx); e != nil {
			err = fmt.Errorf("store: disconnect: %w", e)
		}
	}
	if db.stop != nil {
		db.stop()
		db.stop = nil
	}
	return err
}

func (db *DB) coll(name string) *mongo.Collection { return db.db.Collection(name) }

// Collection names.
const (
	collOrgUnits        = "org_units"
	collUsers           = "users"
	collDevices         = "devices"
	collRefreshTokens   = "refresh_tokens"
	collRefreshSpent    = "refresh_spent"
	collRevokedFamilies = "refresh_revoked_families"
	collSigningKeys     = "signing_keys"
)

func isDup(err error) bool { return mongo.IsDuplicateKeyError(err) }
