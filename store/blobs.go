package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/beatgrid/beatgrid"
)

// Blobs live in files beside the embedded store (a chunk lookup there would scan every chunk
// of every photo, ARCHITECTURE.md §5) and in GridFS on MongoDB (blobs_gridfs.go); DB passes
// each call to the one it opened.
var _ beatgrid.BlobStore = (*DB)(nil)

// BlobInfo returns what is stored of a blob (see beatgrid.BlobStore).
func (db *DB) BlobInfo(ctx context.Context, sha string) (*beatgrid.BlobInfo, error) {
	return db.blobs.BlobInfo(ctx, sha)
}

// WriteBlob appends a chunk of a blob (see beatgrid.BlobStore).
func (db *DB) WriteBlob(ctx context.Context, sha string, offset, total int64, contentType string, r io.Reader) (*beatgrid.BlobInfo, error) {
	return db.blobs.WriteBlob(ctx, sha, offset, total, contentType, r)
}

// OpenBlob opens a complete blob (see beatgrid.BlobStore).
func (db *DB) OpenBlob(ctx context.Context, sha string) (io.ReadSeekCloser, *beatgrid.BlobInfo, error) {
	return db.blobs.OpenBlob(ctx, sha)
}

// ListBlobs calls fn with every complete blob (see beatgrid.BlobStore).
func (db *DB) ListBlobs(ctx context.Context, fn func(sha string) error) error {
	return db.blobs.ListBlobs(ctx, fn)
}

func errNoBlob() error { return beatgrid.Errorf(beatgrid.ENOTFOUND, "No such blob.") }

func errHashMismatch(sha string) error {
	return beatgrid.FieldErrorf("sha256", "the bytes do not hash to %s; the upload is discarded, send it again from the start", sha)
}

func errOffset(received int64) error {
	return beatgrid.Errorf(beatgrid.ECONFLICT, "The blob has %d bytes so far; send the chunk that starts at %d.", received, received)
}

func errTotal(total int64) error {
	return beatgrid.FieldErrorf("Content-Range", "this upload began with a total of %d bytes", total)
}

func errPastTotal(total int64) error {
	return beatgrid.FieldErrorf("Content-Range", "the chunk runs past the blob's %d bytes", total)
}

// repeatOfComplete answers a write to a complete blob: a no-op, if it claims the same size.
func repeatOfComplete(info *beatgrid.BlobInfo, total int64) (*beatgrid.BlobInfo, error) {
	if total != info.Size {
		return nil, errTotal(info.Size)
	}
	return info, nil
}

// fileBlobs keeps blobs as files under root (DATA/blobs):
//
//	partial/<sha>        the bytes received so far, fsynced before each answer
//	partial/<sha>.json   total, content type and start of the upload (written first)
//	<sha[0:2]>/<sha>     a complete blob, verified: it only ever gets this name by a rename
//	<sha[0:2]>/<sha>.json  its metadata, in place before the rename
//
// A complete blob is verified, then renamed from partial/ and its directory fsynced, so a
// crash never leaves a half blob under its final name. One process owns the directory; a lock
// per sha orders the writers of one blob.
type fileBlobs struct {
	root  string
	locks keyedLocks
	now   func() time.Time
}

// blobMeta is a blob's sidecar.
type blobMeta struct {
	Total       int64     `json:"total"`
	ContentType string    `json:"content_type"`
	CreatedAt   time.Time `json:"created_at"`
}

func newFileBlobs(root string) (*fileBlobs, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("store: blob dir: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(abs, "partial"), 0o700); err != nil {
		return nil, fmt.Errorf("store: blob dir: %w", err)
	}
	s := &fileBlobs{root: abs, now: time.Now}
	if err := s.recover(); err != nil {
		return nil, err
	}
	return s, nil
}

// recover finishes the uploads that were fully received when the last process died, before
// it gave them their final name: the photo is the terminal's, and it may never ask again.
func (s *fileBlobs) recover() error {
	metas, err := filepath.Glob(filepath.Join(s.root, "partial", "*.json"))
	if err != nil {
		return fmt.Errorf("store: blob recovery: %w", err)
	}
	for _, m := range metas {
		sha := strings.TrimSuffix(filepath.Base(m), ".json")
		if !beatgrid.ValidBlobSHA(sha) {
			continue
		}
		info, err := s.partial(sha)
		if err != nil {
			return err
		}
		if info != nil && info.Received == info.Size {
			if _, err := s.finish(sha, info); err != nil && beatgrid.ErrorCode(err) != beatgrid.EINVALID {
				return err
			}
		}
	}
	return nil
}

func (s *fileBlobs) finalPath(sha string) string { return filepath.Join(s.root, sha[:2], sha) }
func (s *fileBlobs) partPath(sha string) string  { return filepath.Join(s.root, "partial", sha) }

func (s *fileBlobs) BlobInfo(_ context.Context, sha string) (*beatgrid.BlobInfo, error) {
	if err := beatgrid.CheckSHA(sha); err != nil {
		return nil, err
	}
	if info, err := s.complete(sha); info != nil || err != nil {
		return info, err
	}
	info, err := s.partial(sha)
	if err == nil && info == nil {
		err = errNoBlob()
	}
	return info, err
}

// complete returns the info of a complete blob; nil, nil if it is not complete.
func (s *fileBlobs) complete(sha string) (*beatgrid.BlobInfo, error) {
	path := s.finalPath(sha)
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("store: blob %s: %w", sha, err)
	}
	m, err := readBlobMeta(path + ".json")
	if errors.Is(err, fs.ErrNotExist) { // copied in by hand: the bytes are still the blob
		m, err = &blobMeta{Total: st.Size(), ContentType: "application/octet-stream", CreatedAt: st.ModTime()}, nil
	}
	if err != nil {
		return nil, err
	}
	return &beatgrid.BlobInfo{SHA256: sha, Size: st.Size(), Received: st.Size(), Complete: true,
		ContentType: m.ContentType, CreatedAt: m.CreatedAt.UTC()}, nil
}

// partial returns the info of a partial upload; nil, nil if none began.
func (s *fileBlobs) partial(sha string) (*beatgrid.BlobInfo, error) {
	path := s.partPath(sha)
	m, err := readBlobMeta(path + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var received int64
	if st, err := os.Stat(path); err == nil {
		received = st.Size()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: blob %s: %w", sha, err)
	}
	return &beatgrid.BlobInfo{SHA256: sha, Size: m.Total, Received: received, ContentType: m.ContentType,
		CreatedAt: m.CreatedAt.UTC()}, nil
}

func (s *fileBlobs) WriteBlob(_ context.Context, sha string, offset, total int64, contentType string, r io.Reader) (*beatgrid.BlobInfo, error) {
	if err := beatgrid.CheckBlobWrite(sha, offset, total, contentType); err != nil {
		return nil, err
	}
	defer s.locks.lock(sha)()
	if info, err := s.complete(sha); err != nil {
		return nil, err
	} else if info != nil {
		return repeatOfComplete(info, total)
	}
	info, err := s.partial(sha)
	switch {
	case err != nil:
		return nil, err
	case info == nil && offset != 0:
		return nil, errOffset(0)
	case info == nil:
		if info, err = s.begin(sha, total, contentType); err != nil {
			return nil, err
		}
	case info.Size != total:
		return nil, errTotal(info.Size)
	}
	if info.Received < info.Size { // else a crash came between the last chunk and the rename
		if offset != info.Received {
			return nil, errOffset(info.Received)
		}
		received, err := s.appendChunk(sha, info.Received, total, r)
		if err != nil {
			if info.Received == 0 { // a first chunk refused: no trace of the upload
				_ = s.discard(sha)
			}
			return nil, err
		}
		info.Received = received
		if info.Received < info.Size {
			return info, nil
		}
	}
	return s.finish(sha, info)
}

// begin starts the upload of sha: its sidecar.
func (s *fileBlobs) begin(sha string, total int64, contentType string) (*beatgrid.BlobInfo, error) {
	m := &blobMeta{Total: total, ContentType: contentType, CreatedAt: s.now().UTC()}
	if err := writeBlobMeta(s.partPath(sha)+".json", m); err != nil {
		return nil, err
	}
	return &beatgrid.BlobInfo{SHA256: sha, Size: total, ContentType: contentType, CreatedAt: m.CreatedAt}, nil
}

// appendChunk writes r at offset of the partial file and fsyncs it; on any error it cuts the
// file back to offset. It returns the bytes received in all.
func (s *fileBlobs) appendChunk(sha string, offset, total int64, r io.Reader) (int64, error) {
	f, err := os.OpenFile(s.partPath(sha), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return 0, fmt.Errorf("store: blob %s: %w", sha, err)
	}
	defer f.Close()
	max := total - offset
	n, err := f.Seek(offset, io.SeekStart)
	if err == nil {
		n, err = io.Copy(f, io.LimitReader(r, max+1))
	}
	if err == nil && n > max {
		err = errPastTotal(total)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil && offset == 0 { // the file and its sidecar are new: make their names last
		err = syncDir(filepath.Dir(f.Name()))
	}
	if err != nil {
		_ = f.Truncate(offset)
		if beatgrid.ErrorCode(err) == beatgrid.EINTERNAL {
			err = fmt.Errorf("store: blob %s: %w", sha, err)
		}
		return 0, err
	}
	return offset + n, nil
}

// finish verifies a fully received upload and gives it its final name; a mismatch discards it.
func (s *fileBlobs) finish(sha string, info *beatgrid.BlobInfo) (*beatgrid.BlobInfo, error) {
	part := s.partPath(sha)
	ok, err := fileHashes(part, sha)
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := s.discard(sha); err != nil {
			return nil, err
		}
		return nil, errHashMismatch(sha)
	}
	final := s.finalPath(sha)
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: blob %s: %w", sha, err)
	}
	if err := syncDir(s.root); err != nil {
		return nil, err
	}
	m := &blobMeta{Total: info.Size, ContentType: info.ContentType, CreatedAt: info.CreatedAt}
	if err := writeBlobMeta(final+".json", m); err != nil {
		return nil, err
	}
	if err := os.Rename(part, final); err != nil {
		return nil, fmt.Errorf("store: blob %s: %w", sha, err)
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	_ = os.Remove(part + ".json") // a stale sidecar is harmless: the complete blob wins
	info.Received, info.Complete = info.Size, true
	return info, nil
}

// discard deletes a partial upload.
func (s *fileBlobs) discard(sha string) error {
	part := s.partPath(sha)
	for _, p := range []string{part, part + ".json"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: discard blob %s: %w", sha, err)
		}
	}
	return syncDir(filepath.Dir(part))
}

func (s *fileBlobs) OpenBlob(_ context.Context, sha string) (io.ReadSeekCloser, *beatgrid.BlobInfo, error) {
	if err := beatgrid.CheckSHA(sha); err != nil {
		return nil, nil, err
	}
	info, err := s.complete(sha)
	if err != nil {
		return nil, nil, err
	} else if info == nil {
		return nil, nil, errNoBlob()
	}
	f, err := os.Open(s.finalPath(sha))
	if err != nil {
		return nil, nil, fmt.Errorf("store: open blob %s: %w", sha, err)
	}
	return f, info, nil
}

func (s *fileBlobs) ListBlobs(ctx context.Context, fn func(sha string) error) error {
	dirs, err := os.ReadDir(s.root)
	if err != nil {
		return fmt.Errorf("store: list blobs: %w", err)
	}
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue // partial/, and anything else
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		files, err := os.ReadDir(filepath.Join(s.root, d.Name()))
		if err != nil {
			return fmt.Errorf("store: list blobs: %w", err)
		}
		for _, f := range files {
			if name := f.Name(); f.Type().IsRegular() && beatgrid.ValidBlobSHA(name) && name[:2] == d.Name() {
				if err := fn(name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fileHashes reports whether the file's bytes hash to sha.
func fileHashes(path, sha string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("store: verify blob: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, fmt.Errorf("store: verify blob: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)) == sha, nil
}

func readBlobMeta(path string) (*blobMeta, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("store: blob metadata: %w", err)
	}
	var m blobMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("store: blob metadata %s: %w", path, err)
	}
	return &m, nil
}

// writeBlobMeta writes a sidecar atomically: a temporary file, fsynced, renamed. The caller
// fsyncs the directory when the name must last (before the blob's own rename, its directory
// fsync covers both).
func writeBlobMeta(path string, m *blobMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: blob metadata: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("store: blob metadata: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("store: blob metadata: %w", err)
	}
	return nil
}

// syncDir fsyncs a directory, so the names created or renamed in it last.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", dir, err)
	}
	return nil
}

// keyedLocks is a mutex per key, kept only while someone holds or waits for it.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	refs int
}

// lock locks key and returns its unlock.
func (k *keyedLocks) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyedLock{}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
