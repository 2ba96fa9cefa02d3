package store

import (
	"context"

	"github.com/beatgrid/beatgrid"
)

// GridBlobs returns the GridFS blob store on db's database, whatever the backend, so the
// conformance suite runs it on the embedded FerretDB too.
func GridBlobs(ctx context.Context, db *DB) (beatgrid.BlobStore, error) {
	return newGridBlobs(ctx, db.db, db.logger)
}
