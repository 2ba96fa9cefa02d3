// Package storetest opens real databases for tests and holds the conformance suite that every
// backend of package store must pass (in the manner of perkeep's kvtest): the embedded
// FerretDB always, and the MongoDB named by MONGODB_URI when that is set.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid/store"
)

// Backend is one database to run tests on.
type Backend struct {
	Name string
	URI  string // empty for the embedded store
}

// Backends returns the embedded store and, with MONGODB_URI set, that MongoDB.
func Backends() []Backend {
	b := []Backend{{Name: "embedded"}}
	if uri := os.Getenv("MONGODB_URI"); uri != "" {
		b = append(b, Backend{Name: "mongodb", URI: uri})
	}
	return b
}

// Open opens a fresh, empty database on b for the test and closes it (dropping it on a
// shared MongoDB) when the test ends.
func Open(t testing.TB, b Backend) *store.DB {
	t.Helper()
	return OpenDir(t, b, t.TempDir())
}

// OpenDir is Open with the embedded store's files in dir, so a test can reopen them.
func OpenDir(t testing.TB, b Backend, dir string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := store.Config{URI: b.URI, DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if b.URI != "" {
		cfg.Database = "beatgrid_test_" + randomHex(6)
	}
	db, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open %s store: %v", b.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if b.URI != "" {
			_ = db.Drop(ctx)
		}
		_ = db.Close(ctx)
	})
	return db
}

// OpenEmbedded opens a fresh embedded store: what most package tests need.
func OpenEmbedded(t testing.TB) *store.DB { return Open(t, Backend{Name: "embedded"}) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
