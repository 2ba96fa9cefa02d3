package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
)

// photoChunk is the size of one upload request: photos go up in pieces, resumed after a cut.
const photoChunk = 16 << 10

// photo is a picture a terminal took, to upload.
type photo struct {
	sha  string
	data []byte
}

// takePhoto makes a photo of 20–60 KB (random bytes behind a JPEG header).
func (t *terminal) takePhoto() photo { return makePhoto(t.rng) }

func makePhoto(rng *rand.Rand) photo {
	data := make([]byte, 20<<10+rng.IntN(40<<10))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	copy(data, []byte{0xff, 0xd8, 0xff, 0xe0})
	sum := sha256.Sum256(data)
	return photo{sha: hex.EncodeToString(sum[:]), data: data}
}

// uploadPhotos uploads the photos taken, each resumed from what the server has.
func (t *terminal) uploadPhotos(ctx context.Context) error {
	for len(t.photos) > 0 {
		p := t.photos[0]
		err := retry(ctx, &t.stats.retries, func() error { return t.upload(ctx, p) })
		if err != nil {
			return err
		}
		t.photos = t.photos[1:]
		t.stats.photos.Add(1)
	}
	return nil
}

// upload asks how much of p arrived (HEAD) and sends the rest in chunks. Every byte may have
// arrived without the blob being complete (the server died before it gave the blob its final
// name): sending the last chunk again finishes it.
func (t *terminal) upload(ctx context.Context, p photo) error {
	offset, complete, err := t.received(ctx, p.sha)
	if err != nil || complete {
		return err
	}
	if offset == len(p.data) {
		offset = max(0, len(p.data)-photoChunk)
	}
	for offset < len(p.data) {
		end := min(offset+photoChunk, len(p.data))
		rng := fmt.Sprintf("bytes %d-%d/%d", offset, end-1, len(p.data))
		if err := t.putChunk(ctx, p.sha, rng, p.data[offset:end]); err != nil {
			return err
		}
		offset = end
	}
	return nil
}

// received is how many bytes of the blob the server has (0 if none), and whether the blob
// is complete.
func (t *terminal) received(ctx context.Context, sha string) (int, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, t.c.base+"/v1/blobs/"+sha, nil)
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Authorization", "Bearer "+t.token)
	resp, err := t.c.http.Do(req)
	if err != nil {
		return 0, false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotFound:
		return 0, false, nil
	case http.StatusOK:
		n, err := strconv.Atoi(resp.Header.Get("Upload-Offset"))
		return n, resp.Header.Get("Upload-Complete") == "?1", err
	}
	return 0, false, &statusError{status: resp.StatusCode}
}

func (t *terminal) putChunk(ctx context.Context, sha, contentRange string, chunk []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, t.c.base+"/v1/blobs/"+sha, bytes.NewReader(chunk))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.token)
	req.Header.Set("Content-Type", "image/jpeg")
	req.Header.Set("Content-Range", contentRange)
	resp, err := t.c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		// 409: the offset moved (a cut chunk arrived after all): a plain error, so the retry
		// asks HEAD again.
		if resp.StatusCode == http.StatusConflict {
			return fmt.Errorf("resume upload of %s: %s", sha, body)
		}
		return &statusError{status: resp.StatusCode, body: string(body)}
	}
	return nil
}
