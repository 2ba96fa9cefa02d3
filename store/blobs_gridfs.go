package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/beatgrid/beatgrid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// On MongoDB, where several servers share the database, blobs live in the database:
//
//   - a partial upload is parts in blob_parts, one insert-only document per ≤ 1 MiB, with _id
//     "sha/offset" so a part written twice (a retry, or two servers at once) is kept once;
//   - a complete blob is a GridFS file of the bucket "blobs", named by its sha (its _id is a
//     fresh ObjectID: two servers assembling the same blob at once each write their own copy,
//     and neither's cleanup can touch the other's chunks; readers take any one).
//
// The bytes received are the chain of parts from offset 0, each starting where the one
// before ends. When the chain reaches the total, the parts are streamed into GridFS through
// sha256; the file is committed (its files document inserted) only if the hash matches, and
// the parts are then deleted.
const (
	collBlobParts = "blob_parts"
	blobBucket    = "blobs"
	blobPartSize  = 1 << 20
)

// blobPartDoc is one part of a partial upload. Every part repeats the upload's total, type
// and start; the part at offset 0 is the one read.
type blobPartDoc struct {
	ID          string    `bson:"_id"`
	SHA         string    `bson:"sha"`
	Offset      int64     `bson:"offset"`
	Len         int64     `bson:"len"`
	Total       int64     `bson:"total"`
	ContentType string    `bson:"content_type"`
	CreatedAt   time.Time `bson:"created_at"`
	Data        []byte    `bson:"data,omitempty"`
}

// blobFileDoc is a GridFS files document, with our metadata.
type blobFileDoc struct {
	ID         bson.ObjectID `bson:"_id"`
	Length     int64         `bson:"length"`
	UploadDate time.Time     `bson:"uploadDate"`
	Metadata   struct {
		ContentType string    `bson:"content_type"`
		CreatedAt   time.Time `bson:"created_at"`
	} `bson:"metadata"`
}

type gridBlobs struct {
	db     *mongo.Database
	logger *slog.Logger
	now    func() time.Time
}

// newGridBlobs creates the index of blob_parts (idempotently).
func newGridBlobs(ctx context.Context, db *mongo.Database, logger *slog.Logger) (*gridBlobs, error) {
	m := mongo.IndexModel{Keys: bson.D{{Key: "sha", Value: 1}, {Key: "offset", Value: 1}},
		Options: options.Index().SetName("sha_offset")}
	if _, err := db.Collection(collBlobParts).Indexes().CreateOne(ctx, m); err != nil {
		return nil, fmt.Errorf("store: index of %s: %w", collBlobParts, err)
	}
	return &gridBlobs{db: db, logger: logger, now: time.Now}, nil
}

// bucket returns the GridFS bucket; a new value each time, as one is not safe for
// concurrent first writes.
func (s *gridBlobs) bucket() *mongo.GridFSBucket {
	return s.db.GridFSBucket(options.GridFSBucket().SetName(blobBucket))
}

func (s *gridBlobs) parts() *mongo.Collection { return s.db.Collection(collBlobParts) }

func partID(sha string, offset int64) string { return fmt.Sprintf("%s/%09d", sha, offset) }

func (s *gridBlobs) BlobInfo(ctx context.Context, sha string) (*beatgrid.BlobInfo, error) {
	if err := beatgrid.CheckSHA(sha); err != nil {
		return nil, err
	}
	if info, _, err := s.complete(ctx, sha); info != nil || err != nil {
		return info, err
	}
	info, err := s.partial(ctx, sha)
	if err == nil && info == nil {
		err = errNoBlob()
	}
	return info, err
}

// complete returns the info and file id of a complete blob; nil if it is not complete.
func (s *gridBlobs) complete(ctx context.Context, sha string) (*beatgrid.BlobInfo, bson.ObjectID, error) {
	var f blobFileDoc
	err := s.bucket().GetFilesCollection().FindOne(ctx, bson.D{{Key: "filename", Value: sha}}).Decode(&f)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, bson.ObjectID{}, nil
	} else if err != nil {
		return nil, bson.ObjectID{}, fmt.Errorf("store: blob %s: %w", sha, err)
	}
	return &beatgrid.BlobInfo{SHA256: sha, Size: f.Length, Received: f.Length, Complete: true,
		ContentType: f.Metadata.ContentType, CreatedAt: f.Metadata.CreatedAt.UTC()}, f.ID, nil
}

// partial returns the info of a partial upload (the chain of parts from offset 0); nil if
// none began.
func (s *gridBlobs) partial(ctx context.Context, sha string) (*beatgrid.BlobInfo, error) {
	var info *beatgrid.BlobInfo
	err := s.chain(ctx, sha, false, func(d *blobPartDoc) error {
		if info == nil {
			info = &beatgrid.BlobInfo{SHA256: sha, Size: d.Total, ContentType: d.ContentType, CreatedAt: d.CreatedAt.UTC()}
		}
		info.Received = d.Offset + d.Len
		return nil
	})
	return info, err
}

// chain calls fn with each part of the chain from offset 0, in order, with its data if
// withData. Parts off the chain (overlaps left by racing writers) are skipped.
func (s *gridBlobs) chain(ctx context.Context, sha string, withData bool, fn func(*blobPartDoc) error) error {
	opts := options.Find().SetSort(bson.D{{Key: "offset", Value: 1}})
	if !withData {
		opts.SetProjection(bson.D{{Key: "data", Value: 0}})
	}
	cur, err := s.parts().Find(ctx, bson.D{{Key: "sha", Value: sha}}, opts)
	if err != nil {
		return fmt.Errorf("store: blob parts %s: %w", sha, err)
	}
	defer cur.Close(ctx)
	var pos int64
	for cur.Next(ctx) {
		var d blobPartDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("store: blob parts %s: %w", sha, err)
		}
		if d.Offset < pos || d.Len <= 0 {
			continue
		} else if d.Offset > pos {
			break
		}
		if err := fn(&d); err != nil {
			return err
		}
		pos += d.Len
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("store: blob parts %s: %w", sha, err)
	}
	return nil
}

func (s *gridBlobs) WriteBlob(ctx context.Context, sha string, offset, total int64, contentType string, r io.Reader) (*beatgrid.BlobInfo, error) {
	if err := beatgrid.CheckBlobWrite(sha, offset, total, contentType); err != nil {
		return nil, err
	}
	if info, _, err := s.complete(ctx, sha); err != nil {
		return nil, err
	} else if info != nil {
		return repeatOfComplete(info, total)
	}
	info, err := s.partial(ctx, sha)
	switch {
	case err != nil:
		return nil, err
	case info == nil:
		info = &beatgrid.BlobInfo{SHA256: sha, Size: total, ContentType: contentType, CreatedAt: s.now().UTC()}
	case info.Size != total:
		return nil, errTotal(info.Size)
	}
	if info.Received < info.Size { // else a server stopped between the last part and GridFS
		if offset != info.Received {
			return nil, errOffset(info.Received)
		}
		if err := s.insertParts(ctx, info, r); err != nil {
			return nil, err
		}
		if info, err = s.partial(ctx, sha); err != nil { // another server may have raced us
			return nil, err
		} else if info == nil { // another server completed or discarded the upload meanwhile
			return s.afterRace(ctx, sha, total)
		} else if info.Received < info.Size {
			return info, nil
		}
	}
	return s.assemble(ctx, info)
}

// insertParts reads the chunk whole (refusing one past the total before storing anything)
// and inserts it as parts at info.Received. A part stored before under the same id is left
// as it was.
func (s *gridBlobs) insertParts(ctx context.Context, info *beatgrid.BlobInfo, r io.Reader) error {
	max := info.Size - info.Received
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return fmt.Errorf("store: blob %s: read chunk: %w", info.SHA256, err)
	} else if int64(len(data)) > max {
		return errPastTotal(info.Size)
	}
	var docs []any
	for off := 0; off < len(data); off += blobPartSize {
		part := data[off:min(off+blobPartSize, len(data))]
		at := info.Received + int64(off)
		docs = append(docs, &blobPartDoc{ID: partID(info.SHA256, at), SHA: info.SHA256, Offset: at,
			Len: int64(len(part)), Total: info.Size, ContentType: info.ContentType, CreatedAt: info.CreatedAt, Data: part})
	}
	if len(docs) == 0 {
		return nil
	}
	_, err = s.parts().InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if err != nil && errors.As(err, &bwe) && bwe.WriteConcernError == nil {
		err = nil
		for _, we := range bwe.WriteErrors {
			if we.Code != codeDuplicateKey {
				err = bwe
			}
		}
	}
	if err != nil {
		return fmt.Errorf("store: blob %s: insert parts: %w", info.SHA256, err)
	}
	return nil
}

// assemble streams the parts of a fully received upload into GridFS through sha256, and
// commits the file only if the hash matches; either way the parts are then deleted.
func (s *gridBlobs) assemble(ctx context.Context, info *beatgrid.BlobInfo) (*beatgrid.BlobInfo, error) {
	meta := bson.D{{Key: "content_type", Value: info.ContentType}, {Key: "created_at", Value: info.CreatedAt}}
	us, err := s.bucket().OpenUploadStream(ctx, info.SHA256, options.GridFSUpload().SetMetadata(meta))
	if err != nil {
		return nil, fmt.Errorf("store: blob %s: %w", info.SHA256, err)
	}
	h := sha256.New()
	var n int64
	err = s.chain(ctx, info.SHA256, true, func(d *blobPartDoc) error {
		data := d.Data[:min(int64(len(d.Data)), info.Size-n)]
		h.Write(data)
		n += int64(len(data))
		_, err := us.Write(data)
		return err
	})
	if err == nil && n != info.Size {
		err = fmt.Errorf("%d of %d bytes in the parts", n, info.Size)
	}
	if err != nil {
		_ = us.Abort()
		if done, rerr := s.afterRace(ctx, info.SHA256, info.Size); rerr == nil {
			return done, nil
		} else if beatgrid.ErrorCode(rerr) == beatgrid.ECONFLICT {
			return nil, rerr
		}
		return nil, fmt.Errorf("store: blob %s: assemble: %w", info.SHA256, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != info.SHA256 {
		_ = us.Abort()
		if err := s.dropParts(ctx, info.SHA256); err != nil {
			return nil, err
		}
		return nil, errHashMismatch(info.SHA256)
	}
	if err := us.Close(); err != nil {
		return nil, fmt.Errorf("store: blob %s: commit: %w", info.SHA256, err)
	}
	if err := s.dropParts(ctx, info.SHA256); err != nil { // leftovers waste space, nothing else
		s.logger.Warn("blob parts left behind", "sha256", info.SHA256, "err", err)
	}
	info.Received, info.Complete = info.Size, true
	return info, nil
}

// afterRace answers a write whose parts vanished: another server assembled the blob (a
// repeat, then) or discarded it (start again from 0).
func (s *gridBlobs) afterRace(ctx context.Context, sha string, total int64) (*beatgrid.BlobInfo, error) {
	done, _, err := s.complete(ctx, sha)
	switch {
	case err != nil:
		return nil, err
	case done != nil:
		return repeatOfComplete(done, total)
	}
	return nil, errOffset(0)
}

func (s *gridBlobs) dropParts(ctx context.Context, sha string) error {
	if _, err := s.parts().DeleteMany(ctx, bson.D{{Key: "sha", Value: sha}}); err != nil {
		return fmt.Errorf("store: blob %s: delete parts: %w", sha, err)
	}
	return nil
}

// OpenBlob returns a reader of the GridFS file; ctx must last while it is read.
func (s *gridBlobs) OpenBlob(ctx context.Context, sha string) (io.ReadSeekCloser, *beatgrid.BlobInfo, error) {
	if err := beatgrid.CheckSHA(sha); err != nil {
		return nil, nil, err
	}
	info, id, err := s.complete(ctx, sha)
	if err != nil {
		return nil, nil, err
	} else if info == nil {
		return nil, nil, errNoBlob()
	}
	return &gridReader{ctx: ctx, bucket: s.bucket(), id: id, size: info.Size}, info, nil
}

func (s *gridBlobs) ListBlobs(ctx context.Context, fn func(sha string) error) error {
	opts := options.Find().SetSort(bson.D{{Key: "filename", Value: 1}}).
		SetProjection(bson.D{{Key: "filename", Value: 1}}).SetBatchSize(1000)
	cur, err := s.bucket().GetFilesCollection().Find(ctx, bson.D{}, opts)
	if err != nil {
		return fmt.Errorf("store: list blobs: %w", err)
	}
	defer cur.Close(ctx)
	last := ""
	for cur.Next(ctx) {
		var f struct {
			Name string `bson:"filename"`
		}
		if err := cur.Decode(&f); err != nil {
			return fmt.Errorf("store: list blobs: %w", err)
		}
		if f.Name == last || !beatgrid.ValidBlobSHA(f.Name) {
			continue // a second copy from racing servers
		}
		last = f.Name
		if err := fn(f.Name); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("store: list blobs: %w", err)
	}
	return nil
}

// gridReader reads a GridFS file. A download stream only reads forward, so a seek drops it
// and the next read opens another that skips to the position.
type gridReader struct {
	ctx       context.Context
	bucket    *mongo.GridFSBucket
	id        bson.ObjectID
	size, pos int64
	ds        *mongo.GridFSDownloadStream
}

func (g *gridReader) Read(p []byte) (int, error) {
	if g.pos >= g.size {
		return 0, io.EOF
	}
	if g.ds == nil {
		ds, err := g.bucket.OpenDownloadStream(g.ctx, g.id)
		if err != nil {
			return 0, fmt.Errorf("store: read blob: %w", err)
		}
		if _, err := ds.Skip(g.pos); err != nil {
			_ = ds.Close()
			return 0, fmt.Errorf("store: read blob: %w", err)
		}
		g.ds = ds
	}
	n, err := g.ds.Read(p)
	g.pos += int64(n)
	return n, err
}

func (g *gridReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += g.pos
	case io.SeekEnd:
		offset += g.size
	}
	if offset < 0 {
		return g.pos, errors.New("store: seek before the start of a blob")
	}
	if offset != g.pos {
		_ = g.Close()
		g.pos = offset
	}
	return g.pos, nil
}

func (g *gridReader) Close() error {
	if g.ds == nil {
		return nil
	}
	err := g.ds.Close()
	g.ds = nil
	return err
}
