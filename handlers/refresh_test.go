package handlers_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid/auth"
)

func refreshBody(token string) map[string]string { return map[string]string{"refresh_token": token} }

// refresh sends POST /v1/auth/refresh.
func (e *env) refresh(token string) *response {
	e.t.Helper()
	return e.do("POST", "/v1/auth/refresh", refreshBody(token), "")
}

// mustRefresh refreshes and fails unless a new pair comes back.
func (e *env) mustRefresh(token string) tokenPair {
	e.t.Helper()
	var p tokenPair
	e.must(200, "POST", "/v1/auth/refresh", refreshBody(token), "", &p)
	if p.AccessToken == "" || p.RefreshToken == "" || p.RefreshToken == token {
		e.t.Fatalf("refresh gave %+v", p)
	}
	return p
}

// refused fails unless refreshing token is a 401 problem.
func (e *env) refused(token string) {
	e.t.Helper()
	unauthorized(e.t, e.refresh(token))
}

func TestRefreshRotates(t *testing.T) {
	e := newEnv(t)
	first := e.login("admin", adminPassword)
	second := e.mustRefresh(first.RefreshToken)
	if second.AccessToken == first.AccessToken {
		t.Fatal("refresh returned the same access token")
	}
	if me := e.me(second.AccessToken); me.User.Username != "admin" {
		t.Fatalf("refreshed token speaks for %+v", me.User)
	}
	third := e.mustRefresh(second.RefreshToken)
	e.me(third.AccessToken)
}

// TestRefreshReuseRevokesFamily: a spent refresh token used again means theft; the whole
// family dies, the newest token included, and other sign-ins live on.
func TestRefreshReuseRevokesFamily(t *testing.T) {
	e := newEnv(t)
	stolen := e.login("admin", adminPassword)
	other := e.login("admin", adminPassword)
	legit := e.mustRefresh(stolen.RefreshToken)

	e.refused(stolen.RefreshToken) // replay
	e.refused(legit.RefreshToken)  // the family is revoked
	e.refused(stolen.RefreshToken) // and stays so

	next := e.mustRefresh(other.RefreshToken)
	e.me(next.AccessToken)
}

func TestLogout(t *testing.T) {
	logout := func(e *env, token string) {
		e.t.Helper()
		e.must(204, "POST", "/v1/auth/logout", refreshBody(token), "", nil)
	}
	cases := []struct {
		name string
		run  func(e *env)
	}{
		{"revokes the family", func(e *env) {
			p := e.login("admin", adminPassword)
			logout(e, p.RefreshToken)
			e.refused(p.RefreshToken)
		}},
		{"after a rotation", func(e *env) {
			p := e.login("admin", adminPassword)
			q := e.mustRefresh(p.RefreshToken)
			logout(e, q.RefreshToken)
			e.refused(q.RefreshToken)
		}},
		{"leaves other sign-ins alone", func(e *env) {
			p, other := e.login("admin", adminPassword), e.login("admin", adminPassword)
			logout(e, p.RefreshToken)
			e.mustRefresh(other.RefreshToken)
		}},
		{"twice", func(e *env) {
			p := e.login("admin", adminPassword)
			logout(e, p.RefreshToken)
			logout(e, p.RefreshToken)
		}},
		{"unknown token", func(e *env) { logout(e, "no-such-refresh-token") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(newEnv(t)) })
	}
}

// TestRefreshTokenExpiry: a refresh token works until its TTL, console and terminal alike.
func TestRefreshTokenExpiry(t *testing.T) {
	d := auth.DefaultConfig()
	cases := []struct {
		name  string
		ttl   time.Duration
		setup func(e *env) (signIn func() tokenPair)
	}{
		{"console", d.ConsoleRefreshTTL, func(e *env) func() tokenPair {
			return func() tokenPair { return e.login("admin", adminPassword) }
		}},
		{"terminal", d.DeviceRefreshTTL, func(e *env) func() tokenPair {
			tr := e.tree()
			e.user("li.wei", tr.StationA1, "officer")
			dev := e.device("T-001", tr.StationA1)
			return func() tokenPair { return e.deviceLogin(dev, "li.wei") }
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			signIn := c.setup(e)
			early, late := signIn(), signIn()
			e.clock.Advance(c.ttl - time.Minute)
			e.me(e.mustRefresh(early.RefreshToken).AccessToken)
			e.clock.Advance(2 * time.Minute)
			e.refused(late.RefreshToken)
		})
	}
}

func TestDeviceRefreshAfterRevoke(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	e.user("li.wei", tr.StationA1, "officer")
	d := e.device("T-001", tr.StationA1)
	pair := e.deviceLogin(d, "li.wei")
	pair = e.mustRefresh(pair.RefreshToken)
	e.must(200, "POST", "/v1/devices/"+d.ID+"/revoke", nil, e.admin, nil)
	e.refused(pair.RefreshToken)
}

// TestConcurrentRefresh: of eight refreshes of one token at once exactly one wins (the store
// arbitrates), the others count as reuse, and the family ends revoked.
func TestConcurrentRefresh(t *testing.T) {
	const n = 8
	e := newEnv(t)
	pair := e.login("admin", adminPassword)
	body, err := json.Marshal(refreshBody(pair.RefreshToken))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		status int
		body   []byte
		err    error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req := httptest.NewRequest("POST", "/v1/auth/refresh", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			<-start
			resp, err := e.app.Test(req, -1)
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			results[i].status = resp.StatusCode
			results[i].body, results[i].err = io.ReadAll(resp.Body)
		})
	}
	close(start)
	wg.Wait()

	var won []tokenPair
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Fatalf("refresh %d: %v", i, r.err)
		case r.status == 200:
			var p tokenPair
			if err := json.Unmarshal(r.body, &p); err != nil {
				t.Fatal(err)
			}
			won = append(won, p)
		case r.status != 401:
			t.Errorf("refresh %d: status %d, want 200 or 401; body %s", i, r.status, r.body)
		}
	}
	if len(won) != 1 {
		t.Fatalf("%d refreshes succeeded, want exactly 1", len(won))
	}
	e.refused(won[0].RefreshToken)
	e.refused(pair.RefreshToken)
}
