package handlers_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid/auth"
)

// newDevice creates a device of unit as the first admin and returns its id and enrollment code.
func (e *env) newDevice(name, unit string) (id, code string) {
	e.t.Helper()
	var created struct {
		ID             string `json:"id"`
		EnrollmentCode string `json:"enrollment_code"`
	}
	e.must(201, "POST", "/v1/devices", map[string]string{"name": name, "org_unit_id": unit}, e.admin, &created)
	return created.ID, created.EnrollmentCode
}

func (e *env) enroll(code string) *response {
	e.t.Helper()
	return e.do("POST", "/v1/devices/enroll", map[string]string{"enrollment_code": code, "hardware_id": "hw-1"}, "")
}

func TestEnrollmentCode(t *testing.T) {
	same := func(c string) string { return c }
	cases := []struct {
		name   string
		typed  func(code string) string
		before func(e *env, deviceID string)
		want   int
	}{
		{"as shown", same, nil, 201},
		{"lower case", strings.ToLower, nil, 201},
		{"no dashes", func(c string) string { return strings.ReplaceAll(c, "-", "") }, nil, 201},
		{"lower case with spaces", func(c string) string { return strings.ToLower(strings.ReplaceAll(c, "-", " ")) }, nil, 201},
		{"just before expiry", same, func(e *env, _ string) { e.clock.Advance(14 * time.Minute) }, 201},
		{"expired", same, func(e *env, _ string) { e.clock.Advance(16 * time.Minute) }, 401},
		{"device revoked before enrolling", same, func(e *env, id string) {
			e.must(200, "POST", "/v1/devices/"+id+"/revoke", nil, e.admin, nil)
		}, 401},
		{"another code", func(string) string { return "0000-0000-0000" }, nil, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			id, code := e.newDevice("T-001", e.root)
			if c.before != nil {
				c.before(e, id)
			}
			r := e.enroll(c.typed(code))
			if r.Status != c.want {
				t.Fatalf("enroll %q (code %q): status %d, want %d; body %s", c.typed(code), code, r.Status, c.want, r.Body)
			}
			if c.want == 401 {
				r.problem(t)
			}
		})
	}
}

func TestEnrollmentCodeSingleUse(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	e.user("li.wei", tr.StationA1, "officer")
	id, code := e.newDevice("T-001", tr.StationA1)
	var first struct {
		DeviceID     string `json:"device_id"`
		DeviceSecret string `json:"device_secret"`
	}
	e.must(201, "POST", "/v1/devices/enroll", map[string]string{"enrollment_code": code, "hardware_id": "hw-1"}, "", &first)
	if first.DeviceID != id || first.DeviceSecret == "" {
		t.Fatalf("enrolled %+v, want device %s", first, id)
	}
	unauthorized(t, e.enroll(code))
	// The first enrollment stands.
	e.me(e.deviceLogin(terminal{first.DeviceID, first.DeviceSecret}, "li.wei").AccessToken)
}

// signIn is a sign-in request: a console login, or a device-login when device is set.
type signIn struct {
	device             *terminal
	username, password string
}

func (e *env) signIn(s signIn) *response {
	e.t.Helper()
	if s.device == nil {
		return e.do("POST", "/v1/auth/login", map[string]string{"username": s.username, "password": s.password}, "")
	}
	return e.do("POST", "/v1/auth/device-login", map[string]string{"device_id": s.device.ID,
		"device_secret": s.device.Secret, "username": s.username, "password": s.password}, "")
}

// TestSignInFailuresLookAlike: every failed sign-in gets the same answer, so that it tells
// nothing about which usernames exist, which are disabled, or which part was wrong.
func TestSignInFailuresLookAlike(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	e.user("li.wei", tr.StationA1, "officer")
	e.user("cmdr", tr.ZoneA, "commander")
	gone := e.user("gone", tr.StationA1, "officer", "commander")
	e.must(200, "PATCH", "/v1/users/"+gone, map[string]any{"disabled": true}, e.admin, nil)
	d := e.device("T-001", tr.StationA1)
	wrongSecret := terminal{ID: d.ID, Secret: d.Secret + "x"}
	unknownDevice := terminal{ID: "no-such-device", Secret: d.Secret}
	revoked := e.device("T-002", tr.StationA1)
	e.must(200, "POST", "/v1/devices/"+revoked.ID+"/revoke", nil, e.admin, nil)

	cases := []struct {
		name string
		req  signIn
	}{
		{"login: unknown user", signIn{nil, "nobody", "whatever-password"}},
		{"login: wrong password", signIn{nil, "cmdr", "wrong-password"}},
		{"login: disabled user", signIn{nil, "gone", "gone-password"}},
		{"device-login: unknown user", signIn{&d, "nobody", "whatever-password"}},
		{"device-login: wrong password", signIn{&d, "li.wei", "wrong-password"}},
		{"device-login: disabled user", signIn{&d, "gone", "gone-password"}},
		{"device-login: wrong device secret", signIn{&wrongSecret, "li.wei", "li.wei-password"}},
		{"device-login: unknown device", signIn{&unknownDevice, "li.wei", "li.wei-password"}},
		{"device-login: revoked device", signIn{&revoked, "li.wei", "li.wei-password"}},
	}
	var want string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.in(t).signIn(c.req)
			unauthorized(t, r)
			p := r.problem(t)
			if want == "" {
				want = p.Type + " " + p.Title + ": " + p.Detail
			}
			if got := p.Type + " " + p.Title + ": " + p.Detail; got != want {
				t.Fatalf("problem %q, want the same as every failure: %q", got, want)
			}
		})
	}
}

// TestDeviceLoginScope: an officer signs in on a terminal of his own line of the org tree
// only, and a plain admin not at all; admin is dropped from a terminal session.
func TestDeviceLoginScope(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	d := e.device("T-001", tr.StationA1)
	cases := []struct {
		name, unit string
		roles      []string
		want       int
	}{
		{"officer of the station", tr.StationA1, []string{"officer"}, 200},
		{"officer of a beat below", tr.BeatA1, []string{"officer"}, 200},
		{"officer of the zone above", tr.ZoneA, []string{"officer"}, 200},
		{"officer of a sibling station", tr.StationA2, []string{"officer"}, 403},
		{"officer of Zone B", tr.ZoneB, []string{"officer"}, 403},
		{"inspector of Station B1", tr.StationB1, []string{"inspector"}, 403},
		{"admin", tr.ZoneA, []string{"admin"}, 403},
		{"admin and commander", tr.ZoneA, []string{"admin", "commander"}, 200},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.in(t)
			username := "user" + strconv.Itoa(i)
			e.user(username, c.unit, c.roles...)
			r := e.signIn(signIn{&d, username, username + "-password"})
			if r.Status != c.want {
				t.Fatalf("device-login: status %d, want %d; body %s", r.Status, c.want, r.Body)
			}
			if r.Status != 200 {
				r.problem(t)
				return
			}
			var p tokenPair
			r.decode(t, &p)
			me := e.me(p.AccessToken)
			if me.Device == nil || me.Device.ID != d.ID {
				t.Fatalf("session not bound to the device: %+v", me)
			}
			for _, role := range me.Roles {
				if role == "admin" {
					t.Fatalf("terminal session has roles %v", me.Roles)
				}
			}
		})
	}
}

func TestLockout(t *testing.T) {
	const maxFailures = 3
	e := newEnv(t, func(c *auth.Config) { c.MaxFailures = maxFailures })
	lockFor := auth.DefaultConfig().LockFor
	id := e.user("cmdr", e.root, "commander")
	right := signIn{nil, "cmdr", "cmdr-password"}
	wrong := signIn{nil, "cmdr", "wrong-password"}

	for range maxFailures {
		unauthorized(t, e.signIn(wrong))
	}
	unauthorized(t, e.signIn(right)) // locked: even the right password fails
	var u struct{ Locked bool }
	e.must(200, "GET", "/v1/users/"+id, nil, e.admin, &u)
	if !u.Locked {
		t.Error("the locked user is not shown locked")
	}

	e.clock.Advance(lockFor - time.Second)
	unauthorized(t, e.signIn(right))
	e.clock.Advance(2 * time.Second)
	if r := e.signIn(right); r.Status != 200 {
		t.Fatalf("after the lock: status %d; body %s", r.Status, r.Body)
	}
}

// rateLimited fails unless r is a 429 problem with a Retry-After in seconds; it returns that.
func rateLimited(t testing.TB, r *response) time.Duration {
	t.Helper()
	if r.Status != 429 {
		t.Fatalf("status %d, want 429; body %s", r.Status, r.Body)
	}
	r.problem(t)
	s, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || s < 1 {
		t.Fatalf("Retry-After %q, want whole seconds ≥ 1", r.Header.Get("Retry-After"))
	}
	return time.Duration(s) * time.Second
}

func TestRateLimitPerIP(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.IPBurst, c.UserBurst = 3, 100 })
	e.clock.Advance(time.Minute) // the bucket refills after the environment's own sign-in
	for i := range 3 {
		unauthorized(t, e.signIn(signIn{nil, "nobody-" + strconv.Itoa(i), "whatever-password"}))
	}
	right := signIn{nil, "admin", adminPassword}
	wait := rateLimited(t, e.signIn(right)) // the 4th attempt, though right, is not even checked
	e.clock.Advance(wait)
	if r := e.signIn(right); r.Status != 200 {
		t.Fatalf("after Retry-After: status %d; body %s", r.Status, r.Body)
	}
}

func TestRateLimitPerUsername(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.UserBurst = 2 })
	e.user("cmdr", e.root, "commander")
	e.clock.Advance(time.Minute)
	for _, name := range []string{"admin", " Admin "} { // one bucket, however typed
		if r := e.signIn(signIn{nil, name, adminPassword}); r.Status != 200 {
			t.Fatalf("sign-in as %q: status %d; body %s", name, r.Status, r.Body)
		}
	}
	wait := rateLimited(t, e.signIn(signIn{nil, "ADMIN", adminPassword}))
	if r := e.signIn(signIn{nil, "cmdr", "cmdr-password"}); r.Status != 200 {
		t.Fatalf("another username is limited too: status %d; body %s", r.Status, r.Body)
	}
	e.clock.Advance(wait)
	if r := e.signIn(signIn{nil, "admin", adminPassword}); r.Status != 200 {
		t.Fatalf("after Retry-After: status %d; body %s", r.Status, r.Body)
	}
}
