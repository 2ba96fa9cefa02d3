package handlers_test

import (
	"testing"
)

// TestDeviceFlow walks admin → org tree → officer → device → enroll → device-login → /v1/me.
func TestDeviceFlow(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	e.user("li.wei", tr.StationA1, "officer")
	d := e.device("T-001", tr.StationA1)
	pair := e.deviceLogin(d, "li.wei")
	if pair.TokenType != "Bearer" || pair.ExpiresIn <= 0 || pair.ExpiresIn > 900 || pair.RefreshToken == "" {
		t.Fatalf("token pair %+v", pair)
	}
	me := e.me(pair.AccessToken)
	if me.User.Username != "li.wei" || me.Scope.ID != tr.StationA1 || me.Device == nil || me.Device.ID != d.ID ||
		me.Device.Status != "active" {
		t.Fatalf("me = %+v", me)
	}
	// An officer does not sign in at the console, and gets told why only with the right password.
	if r := e.do("POST", "/v1/auth/login", map[string]string{"username": "li.wei", "password": "li.wei-password"}, ""); r.Status != 403 {
		t.Fatalf("officer console login: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/v1/auth/login", map[string]string{"username": "li.wei", "password": "wrong-password"}, ""); r.Status != 401 {
		t.Fatalf("wrong password: %d", r.Status)
	}
}
