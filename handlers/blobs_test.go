package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/docs"
	"github.com/beatgrid/beatgrid/handlers"
	"github.com/beatgrid/beatgrid/store/storetest"
)

type blobAnswer struct {
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Received int64  `json:"received"`
	Complete bool   `json:"complete"`
}

// putBlob sends data to PUT /v1/blobs/sha as token, as the bytes [start, start+len(data)) of
// a blob of total bytes; total 0 sends it whole, without Content-Range.
func (e *env) putBlob(sha string, data []byte, start, total int, contentType, token string) *response {
	e.t.Helper()
	h := map[string]string{"Content-Type": contentType}
	if total > 0 {
		h["Content-Range"] = fmt.Sprintf("bytes %d-%d/%d", start, start+len(data)-1, total)
	}
	return e.do("PUT", "/v1/blobs/"+sha, &mediaBody{data: data, header: h}, token)
}

// wantBlob checks a PUT answer: its status and where the upload stands.
func wantBlob(t *testing.T, r *response, status int, sha string, size, received int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %.300s", r.Status, status, r.Body)
	}
	var a blobAnswer
	r.decode(t, &a)
	want := blobAnswer{SHA256: sha, Size: int64(size), Received: int64(received), Complete: received == size}
	if a != want {
		t.Fatalf("answer %+v, want %+v", a, want)
	}
	if got := r.Header.Get("Upload-Offset"); got != strconv.Itoa(received) {
		t.Fatalf("Upload-Offset %q, want %d", got, received)
	}
}

// wantResume checks a 409: the problem and Upload-Offset say where to resume.
func wantResume(t *testing.T, r *response, received int) {
	t.Helper()
	if r.Status != 409 {
		t.Fatalf("status %d, want 409: %.300s", r.Status, r.Body)
	}
	p := r.problem(t)
	if p.Received == nil || *p.Received != int64(received) || r.Header.Get("Upload-Offset") != strconv.Itoa(received) {
		t.Fatalf("409 says received %v, Upload-Offset %q; want %d", p.Received, r.Header.Get("Upload-Offset"), received)
	}
}

// wantHead checks HEAD /v1/blobs/sha.
func wantHead(t *testing.T, e *env, sha, token string, size, received int) {
	t.Helper()
	r := e.do("HEAD", "/v1/blobs/"+sha, nil, token)
	complete := "?0"
	if received == size {
		complete = "?1"
	}
	if r.Status != 200 || r.Header.Get("Upload-Offset") != strconv.Itoa(received) ||
		r.Header.Get("Upload-Complete") != complete || r.Header.Get("X-Blob-Size") != strconv.Itoa(size) {
		t.Fatalf("HEAD: %d %v; want offset %d of %d", r.Status, r.Header, received, size)
	}
	if complete == "?1" && (r.Header.Get("Content-Length") != strconv.Itoa(size) || r.Header.Get("ETag") != `"`+sha+`"`) {
		t.Fatalf("HEAD of a complete blob: %v", r.Header)
	}
	if complete == "?0" && r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("HEAD of a partial upload is cacheable: %v", r.Header)
	}
}

// wantBytes checks GET /v1/blobs/sha answers data.
func wantBytes(t *testing.T, e *env, sha, token string, data []byte, contentType string) {
	t.Helper()
	r := e.do("GET", "/v1/blobs/"+sha, nil, token)
	if r.Status != 200 || !bytes.Equal(r.Body, data) {
		t.Fatalf("GET: status %d, %d bytes; want 200 and the %d bytes sent", r.Status, len(r.Body), len(data))
	}
	for k, v := range map[string]string{"Content-Type": contentType, "ETag": `"` + sha + `"`,
		"Cache-Control": "private, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff",
		"Content-Length": strconv.Itoa(len(data))} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("GET: %s %q, want %q", k, got, v)
		}
	}
}

func wantStatus(t *testing.T, r *response, status int, what string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d: %.300s", what, r.Status, status, r.Body)
	}
}

// TestBlobWholeUpload: a photo in one request, read back, cached, repeated.
func TestBlobWholeUpload(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	officer := e.officerOnTerminal("blob.officer", tr.StationA1).AccessToken
	photo := storetest.RandomBytes(300 << 10)
	sha := storetest.SHA256(photo)

	wantStatus(t, e.do("HEAD", "/v1/blobs/"+sha, nil, officer), 404, "HEAD before any byte")
	wantStatus(t, e.do("GET", "/v1/blobs/"+sha, nil, officer), 404, "GET before any byte")
	wantBlob(t, e.putBlob(sha, photo, 0, 0, "image/jpeg", officer), 200, sha, len(photo), len(photo))
	wantBlob(t, e.putBlob(sha, photo, 0, 0, "image/jpeg", officer), 200, sha, len(photo), len(photo)) // a repeat
	wantHead(t, e, sha, officer, len(photo), len(photo))
	wantBytes(t, e, sha, officer, photo, "image/jpeg")
	wantBytes(t, e, sha, e.admin, photo, "image/jpeg") // a console user reads it too

	for _, inm := range []string{`"` + sha + `"`, `W/"` + sha + `"`, `"other", "` + sha + `"`, "*"} {
		req := e.get304(sha, inm, officer)
		if req.Status != 304 || len(req.Body) != 0 || req.Header.Get("ETag") != `"`+sha+`"` {
			t.Fatalf("If-None-Match %s: %d, %d bytes, ETag %q", inm, req.Status, len(req.Body), req.Header.Get("ETag"))
		}
	}
	if r := e.get304(sha, `"`+strings.Repeat("0", 64)+`"`, officer); r.Status != 200 {
		t.Fatalf("If-None-Match of another blob: %d", r.Status)
	}

	for _, m := range []string{"GET", "HEAD"} {
		if r := e.do(m, "/v1/blobs/"+sha, nil, ""); r.Status != 401 {
			t.Fatalf("anonymous %s: %d", m, r.Status)
		}
	}
	if err := problemMismatch(e.putBlob(sha, photo, 0, 0, "image/jpeg", ""), 401, ""); err != nil {
		t.Fatalf("anonymous PUT: %v", err)
	}
	if err := problemMismatch(e.putBlob(sha, photo, 0, 0, "image/jpeg", e.admin), 403, ""); err != nil {
		t.Fatalf("console PUT: %v", err)
	}
}

func (e *env) get304(sha, ifNoneMatch, token string) *response {
	e.t.Helper()
	return e.do("GET", "/v1/blobs/"+sha, &mediaBody{header: map[string]string{"If-None-Match": ifNoneMatch}}, token)
}

// TestBlobChunkedResume: a photo in three chunks; the middle one is lost on the way, and the
// terminal resumes from what HEAD and the 409 say.
func TestBlobChunkedResume(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	officer := e.officerOnTerminal("chunk.officer", tr.StationA1).AccessToken
	photo := storetest.RandomBytes(5<<20 + 123) // a large JPEG
	sha, n := storetest.SHA256(photo), len(photo)
	cut := []int{0, 2 << 20, 4 << 20, n}
	chunk := func(i int) *response { return e.putBlob(sha, photo[cut[i]:cut[i+1]], cut[i], n, "image/webp", officer) }

	wantBlob(t, chunk(0), 202, sha, n, cut[1])
	wantResume(t, chunk(2), cut[1]) // chunk 1 was lost
	wantHead(t, e, sha, officer, n, cut[1])
	wantStatus(t, e.do("GET", "/v1/blobs/"+sha, nil, officer), 404, "GET of a partial upload")
	wantBlob(t, chunk(1), 202, sha, n, cut[2])
	wantResume(t, chunk(1), cut[2]) // a duplicate chunk: the answer to the first was lost
	wantResume(t, chunk(0), cut[2])
	wantBlob(t, chunk(2), 200, sha, n, n)
	wantBytes(t, e, sha, officer, photo, "image/webp")
	wantHead(t, e, sha, officer, n, n)
	for i := range 3 { // any chunk again, once complete: a no-op
		wantBlob(t, chunk(i), 200, sha, n, n)
	}
}

// TestBlobBadUploads: each bad PUT gets its problem, and nothing of it is kept.
func TestBlobBadUploads(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	officer := e.officerOnTerminal("bad.officer", tr.StationA1).AccessToken
	photo := storetest.RandomBytes(10 << 10)
	sha, n := storetest.SHA256(photo), len(photo)
	big := storetest.RandomBytes(beatgrid.MaxBlobChunk + 1)
	raw := func(rng string, body []byte) *response {
		return e.do("PUT", "/v1/blobs/"+sha, &mediaBody{data: body, header: map[string]string{
			"Content-Type": "image/png", "Content-Range": rng}}, officer)
	}
	cases := []struct {
		name   string
		r      func() *response
		status int
		field  string
	}{
		{"text/plain", func() *response { return e.putBlob(sha, photo, 0, 0, "text/plain", officer) }, 415, ""},
		{"image/gif", func() *response { return e.putBlob(sha, photo, 0, 0, "image/gif", officer) }, 415, ""},
		{"application/octet-stream", func() *response { return e.putBlob(sha, photo, 0, 0, "application/octet-stream", officer) }, 415, ""},
		{"no Content-Type", func() *response { return e.putBlob(sha, photo, 0, 0, "", officer) }, 415, ""},
		{"upper-case sha", func() *response { return e.putBlob(strings.ToUpper(sha), photo, 0, 0, "image/png", officer) }, 400, "sha256"},
		{"short sha", func() *response { return e.putBlob(sha[:63], photo, 0, 0, "image/png", officer) }, 400, "sha256"},
		{"not hex", func() *response { return e.putBlob(sha[:63]+"z", photo, 0, 0, "image/png", officer) }, 400, "sha256"},
		{"empty body", func() *response { return e.putBlob(sha, nil, 0, 0, "image/png", officer) }, 400, "/"},
		{"total over 16 MiB", func() *response { return e.putBlob(sha, photo, 0, beatgrid.MaxBlobSize+1, "image/png", officer) }, 413, ""},
		{"chunk over 4 MiB", func() *response { return e.putBlob(storetest.SHA256(big), big, 0, 0, "image/png", officer) }, 413, ""},
		{"range past the total", func() *response { return raw(fmt.Sprintf("bytes 0-%d/%d", n-1, n-1), photo) }, 400, "Content-Range"},
		{"range backwards", func() *response { return raw("bytes 9-2/20", photo[:8]) }, 400, "Content-Range"},
		{"range shorter than the body", func() *response { return raw(fmt.Sprintf("bytes 0-9/%d", n), photo) }, 400, "Content-Range"},
		{"unknown total", func() *response { return raw("bytes 0-9/*", photo[:10]) }, 400, "Content-Range"},
		{"unsatisfied range", func() *response { return raw(fmt.Sprintf("bytes */%d", n), photo[:10]) }, 400, "Content-Range"},
		{"other unit", func() *response { return raw(fmt.Sprintf("items 0-9/%d", n), photo[:10]) }, 400, "Content-Range"},
		{"signed number", func() *response { return raw(fmt.Sprintf("bytes +0-9/%d", n), photo[:10]) }, 400, "Content-Range"},
		{"chunk not at 0", func() *response { return e.putBlob(sha, photo[10:20], 10, n, "image/png", officer) }, 409, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := problemMismatch(c.r(), c.status, c.field); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, e.do("HEAD", "/v1/blobs/"+sha, nil, officer), 404, "HEAD after a refused PUT")
		})
	}

	t.Run("hash mismatch, whole", func(t *testing.T) {
		liar := storetest.SHA256(storetest.RandomBytes(n))
		if err := problemMismatch(e.putBlob(liar, photo, 0, 0, "image/png", officer), 400, "sha256"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, e.do("HEAD", "/v1/blobs/"+liar, nil, officer), 404, "HEAD after a mismatch")
	})
	t.Run("hash mismatch, chunked", func(t *testing.T) {
		liar := storetest.SHA256(storetest.RandomBytes(n))
		wantBlob(t, e.putBlob(liar, photo[:n/2], 0, n, "image/png", officer), 202, liar, n, n/2)
		if err := problemMismatch(e.putBlob(liar, photo[n/2:], n/2, n, "image/png", officer), 400, "sha256"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, e.do("HEAD", "/v1/blobs/"+liar, nil, officer), 404, "HEAD after a mismatch")
		wantStatus(t, e.do("GET", "/v1/blobs/"+liar, nil, officer), 404, "GET after a mismatch")
	})
	t.Run("another total mid-upload", func(t *testing.T) {
		wantBlob(t, e.putBlob(sha, photo[:100], 0, n, "image/png", officer), 202, sha, n, 100)
		if err := problemMismatch(e.putBlob(sha, photo[100:200], 100, n+1, "image/png", officer), 400, "Content-Range"); err != nil {
			t.Fatal(err)
		}
		wantHead(t, e, sha, officer, n, 100)
	})
	t.Run("bad sha on GET and HEAD", func(t *testing.T) {
		if err := problemMismatch(e.do("GET", "/v1/blobs/"+sha[:10], nil, officer), 400, "sha256"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, e.do("HEAD", "/v1/blobs/../../etc/passwd", nil, officer), 404, "HEAD of a path") // no route
		wantStatus(t, e.do("HEAD", "/v1/blobs/"+strings.Repeat("..", 32), nil, officer), 400, "HEAD of dots")
	})
}

// withBlobs returns e with an app whose blobs live in s (the same sign-in).
func (e *env) withBlobs(s beatgrid.BlobStore) *env {
	c := *e
	c.app = handlers.New(handlers.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		handlers.Deps{Auth: e.svc, Sync: e.sync, Blobs: s, DB: e.db, OpenAPI: docs.OpenAPI})
	return &c
}

// TestBlobRestartAndCrash: complete blobs and partial uploads survive a restart; an upload
// cut off after two of three chunks has no file under the final name; one whose last chunk
// was written when the server died before giving it its name is completed at the restart.
func TestBlobRestartAndCrash(t *testing.T) {
	base := newEnv(t)
	tr := base.tree()
	officer := base.officerOnTerminal("restart.officer", tr.StationA1).AccessToken
	dir := t.TempDir()
	backend := storetest.Backends()[0]
	db := storetest.OpenDir(t, backend, dir)
	e := base.withBlobs(db)
	final := func(sha string) string { return filepath.Join(dir, "blobs", sha[:2], sha) }
	partial := func(sha string) string { return filepath.Join(dir, "blobs", "partial", sha) }
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	done := storetest.RandomBytes(700 << 10)
	doneSHA := storetest.SHA256(done)
	wantBlob(t, e.putBlob(doneSHA, done, 0, 0, "image/jpeg", officer), 200, doneSHA, len(done), len(done))

	cutOff := storetest.RandomBytes(3 << 20)
	cutSHA, n := storetest.SHA256(cutOff), len(cutOff)
	third := n / 3
	wantBlob(t, e.putBlob(cutSHA, cutOff[:third], 0, n, "image/png", officer), 202, cutSHA, n, third)
	wantBlob(t, e.putBlob(cutSHA, cutOff[third:2*third], third, n, "image/png", officer), 202, cutSHA, n, 2*third)
	if exists(final(cutSHA)) || !exists(partial(cutSHA)) {
		t.Fatal("after 2 of 3 chunks: a file under the final name, or no partial file")
	}

	// The server dies after writing the last chunk of a third upload, before verifying it and
	// giving it its name: its partial file holds every byte.
	dying := storetest.RandomBytes(1 << 20)
	dyingSHA := storetest.SHA256(dying)
	wantBlob(t, e.putBlob(dyingSHA, dying[:1000], 0, len(dying), "image/jpeg", officer), 202, dyingSHA, len(dying), 1000)
	f, err := os.OpenFile(partial(dyingSHA), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(dying[1000:]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := db.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	db = storetest.OpenDir(t, backend, dir)
	e = base.withBlobs(db)
	wantBytes(t, e, doneSHA, officer, done, "image/jpeg")
	wantHead(t, e, cutSHA, officer, n, 2*third)
	wantBlob(t, e.putBlob(cutSHA, cutOff[2*third:], 2*third, n, "image/png", officer), 200, cutSHA, n, n)
	wantBytes(t, e, cutSHA, officer, cutOff, "image/png")
	if !exists(final(cutSHA)) || exists(partial(cutSHA)) || exists(partial(cutSHA)+".json") {
		t.Fatal("a complete upload is not under its final name alone")
	}

	r := e.do("HEAD", "/v1/blobs/"+dyingSHA, nil, officer)
	if r.Header.Get("Upload-Offset") != strconv.Itoa(len(dying)) || r.Header.Get("Upload-Complete") != "?1" {
		t.Fatalf("HEAD of the upload cut off before its rename, after the restart: %v", r.Header)
	}
	wantBytes(t, e, dyingSHA, officer, dying, "image/jpeg")
	wantBlob(t, e.putBlob(dyingSHA, dying[1000:], 1000, len(dying), "image/jpeg", officer), 200, dyingSHA, len(dying), len(dying))

	// A mismatch never reaches the final name, and leaves nothing behind.
	liar := storetest.SHA256(storetest.RandomBytes(10))
	wantBlob(t, e.putBlob(liar, done[:5], 0, 10, "image/jpeg", officer), 202, liar, 10, 5)
	wantStatus(t, e.putBlob(liar, done[5:10], 5, 10, "image/jpeg", officer), 400, "the last chunk of a mismatch")
	if exists(final(liar)) || exists(partial(liar)) || exists(partial(liar)+".json") {
		t.Fatal("a mismatched upload left files")
	}

	var listed []string
	if err := db.ListBlobs(context.Background(), func(sha string) error { listed = append(listed, sha); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 3 {
		t.Fatalf("listed %v; want the 3 complete blobs", listed)
	}
}
