package beatgrid

import (
	"context"
	"io"
	"slices"
	"time"
)

// Blob limits. Photos arrive from terminals on bad mobile networks, so a blob is sent in
// chunks, one request each, and an upload that broke off resumes where it stopped.
const (
	MaxBlobSize  = 16 << 20 // bytes of one blob
	MaxBlobChunk = 4 << 20  // bytes of one chunk (one request)
)

// BlobTypes are the media types a blob may have: photos only.
var BlobTypes = []string{"image/jpeg", "image/png", "image/webp"}

// BlobInfo describes a blob, complete or still arriving. A blob is named by the sha256 of its
// bytes, so its content never changes.
type BlobInfo struct {
	SHA256      string // 64 lower-case hex digits
	Size        int64  // the total, as the client declared it with the first chunk
	Received    int64  // bytes stored so far, from the start; Size once complete
	Complete    bool   // all bytes are stored and hash to SHA256
	ContentType string // as declared with the first chunk
	CreatedAt   time.Time
}

// BlobStore keeps blobs (photos), content-addressed. Uploads are resumable: the bytes arrive
// in order, in chunks, and survive a restart of the server once acknowledged.
//
// Every method returns EINVALID for a sha that is not 64 lower-case hex digits.
type BlobStore interface {
	// BlobInfo returns what is stored of the blob, complete or partial. It returns ENOTFOUND
	// if no byte of it arrived.
	BlobInfo(ctx context.Context, sha string) (*BlobInfo, error)

	// WriteBlob appends the bytes of r, up to EOF, to the blob at offset; total is the size of
	// the whole blob and contentType its media type (both fixed by the first chunk).
	//
	// It returns ECONFLICT if offset is not the number of bytes received so far (the message
	// names it: the client resumes from there); EINVALID if total differs from the one the
	// upload began with or r holds more than total-offset bytes (nothing of this chunk is
	// kept) or, once every byte is in, if they do not hash to sha: the whole upload is then
	// discarded, and may start again from offset 0. It returns ETOOLARGE for a total over
	// MaxBlobSize and EUNSUPPORTED for a type not in BlobTypes (see CheckBlobWrite). Writing
	// to a complete blob is a no-op that returns its info, whatever the offset: an upload
	// repeated is idempotent. The answer comes only once the bytes are durable.
	WriteBlob(ctx context.Context, sha string, offset, total int64, contentType string, r io.Reader) (*BlobInfo, error)

	// OpenBlob opens a complete blob for reading; the caller closes it. It returns ENOTFOUND
	// if the blob is not complete (absent, or partly uploaded).
	OpenBlob(ctx context.Context, sha string) (io.ReadSeekCloser, *BlobInfo, error)

	// ListBlobs calls fn with the sha of every complete blob, in no particular order, for
	// loading an index at start. An error from fn stops the walk and is returned.
	ListBlobs(ctx context.Context, fn func(sha string) error) error
}

// ValidBlobSHA reports whether s can name a blob: 64 lower-case hex digits.
func ValidBlobSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CheckSHA returns EINVALID, about the field "sha256", unless ValidBlobSHA(sha).
func CheckSHA(sha string) error {
	if !ValidBlobSHA(sha) {
		return FieldErrorf("sha256", "a blob is named by the sha256 of its bytes: 64 lower-case hex digits")
	}
	return nil
}

// CheckBlobWrite checks the arguments of a WriteBlob that do not depend on what is stored: the
// sha, the range (EINVALID), the total (ETOOLARGE over MaxBlobSize) and the type
// (EUNSUPPORTED unless in BlobTypes).
func CheckBlobWrite(sha string, offset, total int64, contentType string) error {
	if err := CheckSHA(sha); err != nil {
		return err
	}
	switch {
	case total > MaxBlobSize:
		return Errorf(ETOOLARGE, "The blob has %d bytes; the limit is %d.", total, MaxBlobSize)
	case total < 1:
		return FieldErrorf("Content-Range", "a blob has at least one byte")
	case offset < 0 || offset >= total:
		return FieldErrorf("Content-Range", "the chunk starts at %d, outside the blob's %d bytes", offset, total)
	case !slices.Contains(BlobTypes, contentType):
		return Errorf(EUNSUPPORTED, "Blobs are photos: send Content-Type image/jpeg, image/png or image/webp.")
	}
	return nil
}
