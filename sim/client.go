package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// client speaks JSON to a beatgrid server, as a terminal would.
type client struct {
	base string
	http *http.Client
}

// newClient returns a client of base; fresh opens a connection per request (so that the
// chaos proxy's faults, drawn per connection, hit requests and not just a few long-lived
// connections).
func newClient(base string, timeout time.Duration, fresh bool) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second, DisableKeepAlives: fresh}
	return &client{base: base, http: &http.Client{Timeout: timeout, Transport: tr}}
}

// statusError is an answer other than 2xx.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("status %d: %s", e.status, e.body) }

// retryable reports whether a failed call may succeed if sent again: network errors,
// timeouts, 429 and 5xx. A 4xx is a bug of the caller.
func retryable(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.status == http.StatusTooManyRequests || se.status >= 500 || se.status == http.StatusUnauthorized
	}
	return err != nil
}

// call sends body as JSON (nil for none) and decodes a 2xx answer into out.
func (c *client) call(ctx context.Context, method, path, token string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s: %w", path, err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return &statusError{status: resp.StatusCode, body: string(b)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// retry calls f until it succeeds, fails for good, or ctx ends, backing off from 20 ms to 1 s.
func retry(ctx context.Context, retries *atomic.Int64, f func() error) error {
	wait := 20 * time.Millisecond
	for {
		err := f()
		if err == nil || !retryable(err) {
			return err
		}
		retries.Add(1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}
