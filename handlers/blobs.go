package handlers

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/beatgrid/beatgrid"
	"github.com/gofiber/fiber/v2"
)

// Headers of resumable uploads, after draft-ietf-httpbis-resumable-upload: how many bytes
// are stored (where to resume), whether the blob is complete (a structured-field boolean),
// and the total the upload declared.
const (
	headerUploadOffset   = "Upload-Offset"
	headerUploadComplete = "Upload-Complete"
	headerBlobSize       = "X-Blob-Size"
)

// blobHandlers serve photos by the sha256 of their bytes: PUT in chunks, HEAD to learn where
// an upload stands, GET the bytes.
//
// Who may: a PUT needs a terminal session, as photos come from terminals. HEAD and GET need
// any signed-in user: content addressing makes the hash the capability, since a blob's name
// cannot be guessed and only records that reference it carry it. Finer scope needs that
// referencing record (an inspection, later), not the blob.
type blobHandlers struct {
	store   beatgrid.BlobStore
	arrived func(sha string) // tells sync a photo is complete
}

// blobJSON is where an upload stands.
type blobJSON struct {
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Received int64  `json:"received"`
	Complete bool   `json:"complete"`
}

// put: PUT /v1/blobs/:sha256, the body one chunk of the blob's bytes (at most 4 MiB) with
// Content-Range: bytes START-END/TOTAL, or without it the whole blob. 200 once complete (and
// for any repeat after), 202 while partial; 409 with the bytes received when START is not
// where the upload stands; 400 when every byte is in and they do not hash to the name (the
// upload is discarded).
func (h *blobHandlers) put(c *fiber.Ctx) error {
	if principal(c).DeviceID == "" {
		return beatgrid.Errorf(beatgrid.EFORBIDDEN, "Photos are uploaded from a terminal session (device-login).")
	}
	sha, err := blobSHA(c)
	if err != nil {
		return err
	}
	ct := strings.Clone(mediaType(c.Get(fiber.HeaderContentType))) // the store may keep it
	body := c.Body()
	start, total, err := chunkRange(c.Get(fiber.HeaderContentRange), len(body))
	if err != nil {
		return err
	}
	if err := beatgrid.CheckBlobWrite(sha, start, total, ct); err != nil {
		return err
	}
	if len(body) > beatgrid.MaxBlobChunk { // Fiber's BodyLimit (8 MiB) lets more through
		return beatgrid.Errorf(beatgrid.ETOOLARGE, "A request carries at most %d bytes of a blob; send it in chunks with Content-Range.", beatgrid.MaxBlobChunk)
	}
	info, err := h.store.WriteBlob(c.UserContext(), sha, start, total, ct, bytes.NewReader(body))
	if beatgrid.ErrorCode(err) == beatgrid.ECONFLICT {
		return h.conflict(c, sha, err)
	} else if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	setUploadHeaders(c, info)
	status := fiber.StatusAccepted
	if info.Complete {
		status = fiber.StatusOK
		h.arrived(sha)
	}
	return c.Status(status).JSON(blobJSON{SHA256: info.SHA256, Size: info.Size, Received: info.Received, Complete: info.Complete})
}

// offsetError is a chunk refused for its offset; its problem says where to resume.
type offsetError struct {
	err      error
	received int64
}

func (e *offsetError) Error() string { return e.err.Error() }
func (e *offsetError) Unwrap() error { return e.err }

// conflict answers a chunk at the wrong offset with the bytes received: 409, and
// Upload-Offset and "received" say where to resume.
func (h *blobHandlers) conflict(c *fiber.Ctx, sha string, err error) error {
	var received int64
	if info, ierr := h.store.BlobInfo(c.UserContext(), sha); ierr == nil {
		received = info.Received
	}
	c.Set(headerUploadOffset, strconv.FormatInt(received, 10))
	return &offsetError{err: err, received: received}
}

// head: HEAD /v1/blobs/:sha256 → 200 with Upload-Offset, Upload-Complete and X-Blob-Size; a
// complete blob also has the headers of its GET. 404 if no byte arrived.
func (h *blobHandlers) head(c *fiber.Ctx) error {
	sha, err := blobSHA(c)
	if err != nil {
		return err
	}
	info, err := h.store.BlobInfo(c.UserContext(), sha)
	if err != nil {
		return err
	}
	setUploadHeaders(c, info)
	if info.Complete {
		setBlobHeaders(c, info)
		c.Response().Header.SetContentLength(int(info.Size))
	} else {
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	c.Status(fiber.StatusOK)
	return nil
}

// get: GET /v1/blobs/:sha256 → the bytes of a complete blob, cacheable for good (its name is
// its content); 304 for a matching If-None-Match; 404 while incomplete.
func (h *blobHandlers) get(c *fiber.Ctx) error {
	sha, err := blobSHA(c)
	if err != nil {
		return err
	}
	rc, info, err := h.store.OpenBlob(c.UserContext(), sha)
	if err != nil {
		return err
	}
	setBlobHeaders(c, info)
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), sha) {
		rc.Close()
		c.Status(fiber.StatusNotModified)
		return nil
	}
	return c.Status(fiber.StatusOK).SendStream(rc, int(info.Size)) // fasthttp closes rc
}

// blobSHA reads the path's sha256, copied out of Fiber's reused memory.
func blobSHA(c *fiber.Ctx) (string, error) {
	sha := strings.Clone(c.Params("sha256"))
	return sha, beatgrid.CheckSHA(sha)
}

func setUploadHeaders(c *fiber.Ctx, info *beatgrid.BlobInfo) {
	complete := "?0"
	if info.Complete {
		complete = "?1"
	}
	c.Set(headerUploadOffset, strconv.FormatInt(info.Received, 10))
	c.Set(headerUploadComplete, complete)
	c.Set(headerBlobSize, strconv.FormatInt(info.Size, 10))
}

// setBlobHeaders sets the headers of a complete blob's bytes. They never change, so caches may
// keep them for good; they are served as the declared image type only, never sniffed, and
// sandboxed should a browser open one.
func setBlobHeaders(c *fiber.Ctx, info *beatgrid.BlobInfo) {
	c.Set(fiber.HeaderContentType, info.ContentType)
	c.Set(fiber.HeaderETag, `"`+info.SHA256+`"`)
	c.Set(fiber.HeaderCacheControl, "private, max-age=31536000, immutable")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; sandbox")
}

// etagMatches reports whether an If-None-Match header names the blob (or is "*").
func etagMatches(header, sha string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == `"`+sha+`"` {
			return true
		}
	}
	return false
}

// mediaType is a Content-Type without its parameters, lower-cased.
func mediaType(ct string) string {
	return strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
}

// chunkRange reads Content-Range: bytes START-END/TOTAL (END inclusive) for a body of n
// bytes: the chunk's offset and the blob's total. Without the header the body is the whole
// blob.
func chunkRange(header string, n int) (start, total int64, err error) {
	if header == "" {
		if n == 0 {
			return 0, 0, beatgrid.FieldErrorf("/", "the body is empty: send the blob's bytes")
		}
		return 0, int64(n), nil
	}
	bad := beatgrid.FieldErrorf(fiber.HeaderContentRange, "expected bytes START-END/TOTAL, END inclusive, TOTAL known")
	spec, ok := strings.CutPrefix(header, "bytes ")
	rng, tot, ok2 := strings.Cut(spec, "/")
	first, last, ok3 := strings.Cut(rng, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, bad
	}
	start, ok = parseCount(first)
	end, ok2 := parseCount(last)
	total, ok3 = parseCount(tot)
	if !ok || !ok2 || !ok3 || end < start || end >= total {
		return 0, 0, bad
	}
	if total > beatgrid.MaxBlobSize {
		return 0, 0, beatgrid.Errorf(beatgrid.ETOOLARGE, "The blob has %d bytes; the limit is %d.", total, beatgrid.MaxBlobSize)
	}
	if end-start+1 != int64(n) {
		return 0, 0, beatgrid.FieldErrorf(fiber.HeaderContentRange, "the range holds %d bytes, the body %d", end-start+1, n)
	}
	return start, total, nil
}

// parseCount parses a non-negative decimal of at most 18 digits, nothing else.
func parseCount(s string) (int64, bool) {
	if s == "" || len(s) > 18 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}
