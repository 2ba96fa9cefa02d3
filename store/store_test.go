package store_test

import (
	"context"
	"testing"

	"github.com/beatgrid/beatgrid/store/storetest"
)

func TestConformance(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("identity", func(t *testing.T) { storetest.TestIdentityStore(t, storetest.Open(t, b)) })
			t.Run("mutations", func(t *testing.T) { storetest.TestMutationStore(t, storetest.Open(t, b)) })
			t.Run("blobs", func(t *testing.T) { storetest.TestBlobStore(t, storetest.Open(t, b)) })
		})
	}
}

// TestReopen checks that the embedded store keeps what it acknowledged across a restart on
// the same files, and that creating the indexes again is harmless.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	b := storetest.Backends()[0]
	ctx := context.Background()
	db := storetest.OpenDir(t, b, dir)
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if !db.Embedded() {
		t.Fatal("default backend is not the embedded store")
	}
	db.Close(ctx)
	db = storetest.OpenDir(t, b, dir)
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}
