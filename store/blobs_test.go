package store_test

import (
	"context"
	"testing"

	"github.com/beatgrid/beatgrid/store"
	"github.com/beatgrid/beatgrid/store/storetest"
)

// TestGridBlobsOnEmbedded runs the blob suite on the GridFS backend over the embedded
// FerretDB: MongoDB's code path, tested without a MongoDB.
func TestGridBlobsOnEmbedded(t *testing.T) {
	db := storetest.OpenEmbedded(t)
	s, err := store.GridBlobs(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	storetest.TestBlobStore(t, s)
}
