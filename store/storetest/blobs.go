package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/beatgrid/beatgrid"
)

// TestBlobStore runs the conformance suite of beatgrid.BlobStore on s, which must be empty.
func TestBlobStore(t *testing.T, s beatgrid.BlobStore) {
	ctx := context.Background()
	const jpeg = "image/jpeg"
	photo := RandomBytes(2<<20 + 500<<10 + 17) // parts of 1 MiB do not line up with the chunks
	sha := SHA256(photo)
	cut := []int64{0, 1<<20 + 300<<10, 2 << 20, int64(len(photo))}
	chunk := func(i int) (int64, io.Reader) { return cut[i], bytes.NewReader(photo[cut[i]:cut[i+1]]) }
	write := func(sha string, i int) (*beatgrid.BlobInfo, error) {
		off, r := chunk(i)
		return s.WriteBlob(ctx, sha, off, int64(len(photo)), jpeg, r)
	}

	t.Run("BadInput", func(t *testing.T) {
		for _, bad := range []string{"", "abc", strings.ToUpper(sha), sha[:63] + "g", "../" + sha[3:], sha + "0"} {
			_, err := s.BlobInfo(ctx, bad)
			mustCode(t, err, beatgrid.EINVALID)
			_, _, err = s.OpenBlob(ctx, bad)
			mustCode(t, err, beatgrid.EINVALID)
			_, err = s.WriteBlob(ctx, bad, 0, 3, jpeg, strings.NewReader("abc"))
			mustCode(t, err, beatgrid.EINVALID)
		}
		_, err := s.WriteBlob(ctx, sha, 0, beatgrid.MaxBlobSize+1, jpeg, strings.NewReader("abc"))
		mustCode(t, err, beatgrid.ETOOLARGE)
		_, err = s.WriteBlob(ctx, sha, 0, 3, "text/html", strings.NewReader("abc"))
		mustCode(t, err, beatgrid.EUNSUPPORTED)
		_, err = s.WriteBlob(ctx, sha, 3, 3, jpeg, strings.NewReader(""))
		mustCode(t, err, beatgrid.EINVALID)
		_, err = s.WriteBlob(ctx, sha, 0, 3, jpeg, strings.NewReader("abcd")) // past the total
		mustCode(t, err, beatgrid.EINVALID)
		_, err = s.WriteBlob(ctx, sha, 10, int64(len(photo)), jpeg, bytes.NewReader(photo[10:20]))
		mustCode(t, err, beatgrid.ECONFLICT) // a first chunk must start at 0
		_, err = s.BlobInfo(ctx, sha)
		mustCode(t, err, beatgrid.ENOTFOUND) // nothing of the refused writes is kept
		_, _, err = s.OpenBlob(ctx, sha)
		mustCode(t, err, beatgrid.ENOTFOUND)
	})

	t.Run("ChunksWithALostOne", func(t *testing.T) {
		info, err := write(sha, 0)
		mustOK(t, err)
		wantInfo(t, info, sha, int64(len(photo)), cut[1], false)
		if info.ContentType != jpeg || info.CreatedAt.IsZero() {
			t.Fatalf("info %+v", info)
		}
		_, err = write(sha, 2) // chunk 1 was lost on the way
		mustCode(t, err, beatgrid.ECONFLICT)
		if !strings.Contains(beatgrid.ErrorMessage(err), strconv.FormatInt(cut[1], 10)) {
			t.Fatalf("the conflict does not name the bytes received (%d): %v", cut[1], err)
		}
		_, err = write(sha, 0) // a repeat of a stored chunk: also behind
		mustCode(t, err, beatgrid.ECONFLICT)
		_, err = s.WriteBlob(ctx, sha, cut[1], int64(len(photo))+1, jpeg, bytes.NewReader(photo[cut[1]:cut[2]]))
		mustCode(t, err, beatgrid.EINVALID) // another total than the upload began with
		info, err = s.BlobInfo(ctx, sha)    // where to resume
		mustOK(t, err)
		wantInfo(t, info, sha, int64(len(photo)), cut[1], false)
		info, err = write(sha, 1)
		mustOK(t, err)
		wantInfo(t, info, sha, int64(len(photo)), cut[2], false)
		info, err = write(sha, 2)
		mustOK(t, err)
		wantInfo(t, info, sha, int64(len(photo)), int64(len(photo)), true)

		content, info := readBlob(t, s, sha)
		if !bytes.Equal(content, photo) {
			t.Fatalf("read back %d bytes that differ from the %d written", len(content), len(photo))
		}
		wantInfo(t, info, sha, int64(len(photo)), int64(len(photo)), true)
	})

	other := RandomBytes(3<<20 + 5)
	otherSHA := SHA256(other)
	t.Run("TwoChunks", func(t *testing.T) {
		total := int64(len(other))
		_, err := s.WriteBlob(ctx, otherSHA, 0, total, "image/png", bytes.NewReader(other[:1000]))
		mustOK(t, err)
		_, err = s.WriteBlob(ctx, otherSHA, 1000, total, "image/png", bytes.NewReader(other[1000:]))
		mustOK(t, err)
		info, err := s.BlobInfo(ctx, otherSHA)
		mustOK(t, err)
		wantInfo(t, info, otherSHA, total, total, true)
		if info.ContentType != "image/png" {
			t.Fatalf("content type %q", info.ContentType)
		}
	})

	t.Run("PastTheTotal", func(t *testing.T) {
		b := RandomBytes(3000)
		h := SHA256(b)
		_, err := s.WriteBlob(ctx, h, 0, 3000, jpeg, bytes.NewReader(b[:1000]))
		mustOK(t, err)
		_, err = s.WriteBlob(ctx, h, 1000, 3000, jpeg, io.MultiReader(bytes.NewReader(b[1000:]), strings.NewReader("x")))
		mustCode(t, err, beatgrid.EINVALID)
		info, err := s.BlobInfo(ctx, h)
		mustOK(t, err)
		wantInfo(t, info, h, 3000, 1000, false) // nothing of the refused chunk is kept
		info, err = s.WriteBlob(ctx, h, 1000, 3000, jpeg, bytes.NewReader(b[1000:]))
		mustOK(t, err)
		wantInfo(t, info, h, 3000, 3000, true)
	})

	t.Run("HashMismatch", func(t *testing.T) {
		b := RandomBytes(5000)
		liar := SHA256(RandomBytes(5000))
		_, err := s.WriteBlob(ctx, liar, 0, 5000, jpeg, bytes.NewReader(b[:2500]))
		mustOK(t, err)
		_, err = s.WriteBlob(ctx, liar, 2500, 5000, jpeg, bytes.NewReader(b[2500:]))
		mustCode(t, err, beatgrid.EINVALID)
		_, err = s.BlobInfo(ctx, liar)
		mustCode(t, err, beatgrid.ENOTFOUND) // discarded whole
		_, _, err = s.OpenBlob(ctx, liar)
		mustCode(t, err, beatgrid.ENOTFOUND)
		_, err = s.WriteBlob(ctx, liar, 2500, 5000, jpeg, bytes.NewReader(b[2500:]))
		mustCode(t, err, beatgrid.ECONFLICT) // starts again from 0
	})

	t.Run("RepeatOfComplete", func(t *testing.T) {
		for i := range 3 {
			info, err := write(sha, i) // any chunk, even out of order: a no-op
			mustOK(t, err)
			wantInfo(t, info, sha, int64(len(photo)), int64(len(photo)), true)
		}
		_, err := s.WriteBlob(ctx, sha, 0, 5, jpeg, strings.NewReader("hello"))
		mustCode(t, err, beatgrid.EINVALID) // not this blob's size
	})

	t.Run("ConcurrentUploads", func(t *testing.T) {
		b := RandomBytes(1<<20 + 3)
		h := SHA256(b)
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = s.WriteBlob(ctx, h, 0, int64(len(b)), jpeg, bytes.NewReader(b))
			})
		}
		wg.Wait()
		// Each whole upload completes the blob, repeats it or, while another server writes
		// the same bytes, hears where that one got to; the client then tries again.
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				mustCode(t, err, beatgrid.ECONFLICT)
			}
		}
		if ok == 0 {
			t.Fatal("no concurrent upload succeeded")
		}
		info, err := s.WriteBlob(ctx, h, 0, int64(len(b)), jpeg, bytes.NewReader(b))
		mustOK(t, err)
		wantInfo(t, info, h, int64(len(b)), int64(len(b)), true)
		if content, _ := readBlob(t, s, h); !bytes.Equal(content, b) {
			t.Fatal("concurrent uploads stored other bytes")
		}
	})

	t.Run("Seek", func(t *testing.T) {
		rc, _, err := s.OpenBlob(ctx, sha)
		mustOK(t, err)
		defer rc.Close()
		head := make([]byte, 10)
		_, err = io.ReadFull(rc, head)
		mustOK(t, err)
		pos, err := rc.Seek(-100, io.SeekEnd)
		mustOK(t, err)
		if pos != int64(len(photo))-100 {
			t.Fatalf("seek to %d", pos)
		}
		tail, err := io.ReadAll(rc)
		mustOK(t, err)
		_, err = rc.Seek(1<<20+5, io.SeekStart)
		mustOK(t, err)
		mid := make([]byte, 10)
		_, err = io.ReadFull(rc, mid)
		mustOK(t, err)
		if !bytes.Equal(head, photo[:10]) || !bytes.Equal(tail, photo[len(photo)-100:]) || !bytes.Equal(mid, photo[1<<20+5:1<<20+15]) {
			t.Fatal("bytes read after seeks differ")
		}
	})

	t.Run("ListBlobs", func(t *testing.T) {
		partial := RandomBytes(100)
		_, err := s.WriteBlob(ctx, SHA256(partial), 0, 100, jpeg, bytes.NewReader(partial[:50]))
		mustOK(t, err)
		var got []string
		mustOK(t, s.ListBlobs(ctx, func(sha string) error { got = append(got, sha); return nil }))
		slices.Sort(got)
		var want []string
		for _, b := range [][]byte{photo, other} {
			want = append(want, SHA256(b))
		}
		// and the two of PastTheTotal and ConcurrentUploads, unknown here: count them
		if len(got) != 4 || !slices.Contains(got, want[0]) || !slices.Contains(got, want[1]) {
			t.Fatalf("listed %v; want 4 complete blobs with %v", got, want)
		}
		stop := errors.New("stop")
		n := 0
		if err := s.ListBlobs(ctx, func(string) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
			t.Fatalf("ListBlobs returned %v after %d calls; want fn's error after 1", err, n)
		}
	})
}

// RandomBytes returns n random bytes.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// SHA256 returns the hex sha256 of b: its name as a blob.
func SHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func wantInfo(t *testing.T, info *beatgrid.BlobInfo, sha string, size, received int64, complete bool) {
	t.Helper()
	if info == nil || info.SHA256 != sha || info.Size != size || info.Received != received || info.Complete != complete {
		t.Fatalf("info %+v; want sha %.8s…, size %d, received %d, complete %v", info, sha, size, received, complete)
	}
}

func readBlob(t *testing.T, s beatgrid.BlobStore, sha string) ([]byte, *beatgrid.BlobInfo) {
	t.Helper()
	rc, info, err := s.OpenBlob(context.Background(), sha)
	mustOK(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	mustOK(t, err)
	return b, info
}
