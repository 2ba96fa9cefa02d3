package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// client sends the generator's requests: one shared transport, a bound on each request.
type client struct {
	base    string
	http    *http.Client
	timeout time.Duration
}

func newClient(base string, conns int, timeout time.Duration) *client {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 30 * time.Second,
		DisableCompression: true} // tiles ask for gzip themselves, and the body is measured as sent
	return &client{base: base, http: &http.Client{Transport: tr}, timeout: timeout}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// do sends a request and reads the whole answer. It returns the status (0 if there was no
// answer), the body, and how long it took from sending to the last byte read.
func (c *client) do(ctx context.Context, method, path, token string, hdr map[string]string, body []byte) (int, []byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, nil, 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	d := time.Since(start)
	if err != nil {
		return 0, nil, d, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return resp.StatusCode, b, d, nil
}

var jsonHeader = map[string]string{"Content-Type": "application/json"}

// call sends body as JSON and decodes a 2xx answer into out; any other answer is an error.
// For setup, not measured.
func (c *client) call(ctx context.Context, method, path, token string, body, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	status, ans, _, err := c.do(ctx, method, path, token, jsonHeader, b)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status/100 != 2 {
		return &statusError{method: method, path: path, status: status, body: string(ans)}
	}
	if out != nil {
		if err := json.Unmarshal(ans, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

type statusError struct {
	method, path string
	status       int
	body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %.300s", e.method, e.path, e.status, e.body)
}

// retry calls f until it succeeds, ctx ends, or it fails with a 4xx other than 429,
// backing off from 50 ms to 2 s.
func retry(ctx context.Context, f func() error) error {
	wait := 50 * time.Millisecond
	for {
		err := f()
		se, ok := err.(*statusError)
		if err == nil || ok && se.status/100 == 4 && se.status != http.StatusTooManyRequests {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}
