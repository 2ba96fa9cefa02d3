package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// runMain starts the real server on :0 with its data in dir, as `beatgrid serve` would.
func runMain(t *testing.T, dir, adminPassword string) (*Main, *bytes.Buffer) {
	t.Helper()
	m := NewMain()
	var out bytes.Buffer
	m.Stdout = &out
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Config.MongoURI = ""
	m.Config.MasterKey, m.Config.MasterKeyFile = "", ""
	m.Config.AdminPassword = adminPassword
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--data", dir}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, &out
}

// client speaks JSON to a running server.
type client struct {
	t    *testing.T
	base string
}

func (c client) call(method, path, token string, body, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func (c client) must(want int, method, path, token string, body, out any) {
	c.t.Helper()
	if got := c.call(method, path, token, body, out); got != want {
		c.t.Fatalf("%s %s: status %d, want %d", method, path, got, want)
	}
}

type tokens struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
}

// TestEndToEnd: first admin (random password, printed) → org tree → officer → device →
// enroll → device-login → /v1/me, on a real listener; then a restart on the same data keeps
// everyone and every key.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	m, out := runMain(t, dir, "")
	match := regexp.MustCompile(`created user "admin" with password "([^"]+)"`).FindStringSubmatch(out.String())
	if match == nil || !strings.Contains(out.String(), m.URL+"/v1/auth/login") {
		t.Fatalf("start-up did not print how to sign in:\n%s", out)
	}
	c := client{t, m.URL}
	c.must(200, "GET", "/healthz", "", nil, nil)
	c.must(200, "GET", "/readyz", "", nil, nil)

	var admin tokens
	c.must(200, "POST", "/v1/auth/login", "", map[string]string{"username": "admin", "password": match[1]}, &admin)
	var me struct {
		Scope  struct{ ID string } `json:"scope"`
		User   struct{ Username string }
		Device *struct{ ID string } `json:"device"`
	}
	c.must(200, "GET", "/v1/me", admin.Access, nil, &me)
	var zone, station struct{ ID string }
	c.must(201, "POST", "/v1/org-units", admin.Access, map[string]string{"kind": "zone", "name": "East", "parent_id": me.Scope.ID}, &zone)
	c.must(201, "POST", "/v1/org-units", admin.Access, map[string]string{"kind": "station", "name": "Harbour", "parent_id": zone.ID}, &station)
	c.must(201, "POST", "/v1/users", admin.Access, map[string]any{"username": "wang.fang", "password": "patrol-password-1",
		"roles": []string{"officer"}, "org_unit_id": station.ID}, nil)
	var dev struct {
		ID   string `json:"id"`
		Code string `json:"enrollment_code"`
	}
	c.must(201, "POST", "/v1/devices", admin.Access, map[string]string{"name": "T-7", "org_unit_id": station.ID}, &dev)
	var cred struct {
		DeviceID string `json:"device_id"`
		Secret   string `json:"device_secret"`
	}
	c.must(201, "POST", "/v1/devices/enroll", "", map[string]string{"enrollment_code": dev.Code, "hardware_id": "imei-1"}, &cred)
	var officer tokens
	login := map[string]string{"device_id": cred.DeviceID, "device_secret": cred.Secret, "username": "wang.fang", "password": "patrol-password-1"}
	c.must(200, "POST", "/v1/auth/device-login", "", login, &officer)
	c.must(200, "GET", "/v1/me", officer.Access, nil, &me)
	if me.User.Username != "wang.fang" || me.Scope.ID != station.ID || me.Device == nil || me.Device.ID != dev.ID {
		t.Fatalf("officer's /v1/me: %+v", me)
	}

	// Restart on the same files: no new admin, the same keys verify old tokens, the device
	// still signs in.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2, out2 := runMain(t, dir, "")
	if strings.Contains(out2.String(), "created user") {
		t.Fatalf("second start created another admin:\n%s", out2)
	}
	c2 := client{t, m2.URL}
	c2.must(200, "GET", "/v1/me", officer.Access, nil, nil)
	c2.must(200, "POST", "/v1/auth/device-login", "", login, &officer)
	var fresh tokens
	c2.must(200, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": officer.Refresh}, &fresh)
	c2.must(401, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": officer.Refresh}, nil)
}

// TestCloseStopsServing checks that Close shuts the listener.
func TestCloseStopsServing(t *testing.T) {
	m, _ := runMain(t, t.TempDir(), "close-test-password")
	c := client{t, m.URL}
	c.must(200, "GET", "/healthz", "", nil, nil)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(m.URL + "/healthz"); err == nil {
		t.Fatal("server still answers after Close")
	}
}
