package handlers_test

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid/auth"
)

// The ingest route is public: the device's credential is a parameter. Without one it is 400.
func init() {
	scopeTable["GET /v1/ingest/osmand"] = publicRoute(400)
	scopeTable["POST /v1/ingest/osmand"] = publicRoute(400)
}

// osmand sends a fix the way OsmAnd and Traccar Client do: GET with a query, or POST with a
// url-encoded body.
func (e *env) osmand(method string, q url.Values) *response {
	e.t.Helper()
	if method == "GET" {
		return e.request(httptest.NewRequest("GET", "/v1/ingest/osmand?"+q.Encode(), nil))
	}
	req := httptest.NewRequest("POST", "/v1/ingest/osmand", strings.NewReader(q.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.request(req)
}

// fixParams is one OsmAnd fix of d.
func fixParams(d terminal, lat, lon float64, ts string) url.Values {
	return url.Values{"id": {d.ID + "." + d.Secret}, "lat": {strconv.FormatFloat(lat, 'f', -1, 64)},
		"lon": {strconv.FormatFloat(lon, 'f', -1, 64)}, "timestamp": {ts}, "speed": {"2.5"}, "bearing": {"90"},
		"altitude": {"12"}, "accuracy": {"8"}, "batt": {"77"}}
}

type ingestedPatrol struct {
	ID        string     `json:"id"`
	DeviceID  string     `json:"device_id"`
	OfficerID string     `json:"officer_id"`
	OrgUnitID string     `json:"org_unit_id"`
	Mode      string     `json:"mode"`
	StartedAt *time.Time `json:"started_at"`
	Stats     struct {
		Points   int        `json:"points"`
		FirstFix *time.Time `json:"first_fix"`
		LastFix  *time.Time `json:"last_fix"`
	} `json:"stats"`
}

// devicePatrols lists the patrols of device as token sees them.
func (e *env) devicePatrols(token, device string) []ingestedPatrol {
	e.t.Helper()
	var list struct {
		Items []ingestedPatrol `json:"items"`
	}
	e.must(200, "GET", "/v1/patrols?limit=1000", nil, token, &list)
	var out []ingestedPatrol
	for _, p := range list.Items {
		if p.DeviceID == device {
			out = append(out, p)
		}
	}
	return out
}

// TestIngestOsmAnd: fixes of a tracking app sent as GET and POST form, out of order and
// repeated, form one patrol session of the device for the day; bad input is 400 naming the
// parameter, bad credentials 401, and neither stores anything.
func TestIngestOsmAnd(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	dev := e.device("T-osmand", tr.StationA1)
	day := e.clock.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour) // yesterday, UTC
	at := func(d time.Duration) time.Time { return day.Add(8*time.Hour + d) }

	// Three fixes, the earliest sent last; seconds, milliseconds and RFC 3339.
	sends := []struct {
		method string
		q      url.Values
	}{
		{"GET", fixParams(dev, 29.4500, 121.9000, strconv.FormatInt(at(time.Minute).Unix(), 10))},
		{"POST", fixParams(dev, 29.4505, 121.9005, strconv.FormatInt(at(2*time.Minute).UnixMilli(), 10))},
		{"GET", fixParams(dev, 29.4495, 121.8995, at(0).Format(time.RFC3339))},
	}
	for _, s := range sends {
		s.q.Set("mode", "foot")
		r := e.osmand(s.method, s.q)
		if r.Status != 200 || len(r.Body) != 0 {
			t.Fatalf("%s %v: %d %q", s.method, s.q, r.Status, r.Body)
		}
	}
	check := func(who string, want int) ingestedPatrol {
		t.Helper()
		ps := e.devicePatrols(e.admin, dev.ID)
		if len(ps) != 1 {
			t.Fatalf("%s: the device has %d patrols, want 1: %+v", who, len(ps), ps)
		}
		p := ps[0]
		if p.Stats.Points != want || p.Mode != "foot" || p.OrgUnitID != tr.StationA1 || p.OfficerID != "" ||
			p.StartedAt == nil || !p.StartedAt.Equal(at(0)) || !p.Stats.FirstFix.Equal(at(0)) || !p.Stats.LastFix.Equal(at(2*time.Minute)) {
			t.Fatalf("%s: %+v (started %v, first %v, last %v); want %d points from %v in foot at %s", who, p,
				p.StartedAt, p.Stats.FirstFix, p.Stats.LastFix, want, at(0), tr.StationA1)
		}
		return p
	}
	first := check("after three fixes", 3)

	// A repeat, as GET, POST or many at once, changes nothing.
	before := e.sync.Stats().Applied.Load()
	var wg sync.WaitGroup
	statuses := make([]int, 6)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			method := []string{"GET", "POST"}[i%2]
			statuses[i] = e.osmand(method, sends[i%3].q).Status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Errorf("repeat %d: status %d", i, s)
		}
	}
	if n := e.sync.Stats().Applied.Load(); n != before {
		t.Errorf("repeats applied %d new mutations", n-before)
	}
	if again := check("after repeats", 3); again.ID != first.ID {
		t.Fatalf("the patrol changed id: %s, then %s", first.ID, again.ID)
	}
	// The same fix with other readings is the same fix: the first stands.
	other := fixParams(dev, 29.4500, 121.9000, strconv.FormatInt(at(time.Minute).Unix(), 10))
	other.Set("speed", "9")
	if r := e.osmand("GET", other); r.Status != 200 {
		t.Fatalf("the fix with another speed: %d %s", r.Status, r.Body)
	}
	check("after the fix with another speed", 3)
	if n := e.sync.Stats().SeqGaps.Load(); n != 0 {
		t.Errorf("ingested fixes reported %d sequence gaps", n)
	}

	// Bad input: 400 naming the parameter, nothing stored.
	good := func() url.Values { return fixParams(dev, 29.46, 121.91, strconv.FormatInt(at(time.Hour).Unix(), 10)) }
	bad := []struct {
		name, field string
		edit        func(url.Values)
	}{
		{"lat over 90", "lat", func(q url.Values) { q.Set("lat", "95") }},
		{"lat not a number", "lat", func(q url.Values) { q.Set("lat", "north") }},
		{"lat NaN", "lat", func(q url.Values) { q.Set("lat", "NaN") }},
		{"lon missing", "lon", func(q url.Values) { q.Del("lon") }},
		{"lon -181", "lon", func(q url.Values) { q.Set("lon", "-181") }},
		{"id missing", "id", func(q url.Values) { q.Del("id") }},
		{"id too long", "id", func(q url.Values) { q.Set("id", strings.Repeat("x", 300)) }},
		{"timestamp missing", "timestamp", func(q url.Values) { q.Del("timestamp") }},
		{"timestamp words", "timestamp", func(q url.Values) { q.Set("timestamp", "yesterday") }},
		{"timestamp 1970", "timestamp", func(q url.Values) { q.Set("timestamp", "86400") }},
		{"timestamp next week", "timestamp", func(q url.Values) {
			q.Set("timestamp", e.clock.Now().Add(7*24*time.Hour).Format(time.RFC3339))
		}},
		{"speed not a number", "speed", func(q url.Values) { q.Set("speed", "fast") }},
		{"bearing 400", "bearing", func(q url.Values) { q.Set("bearing", "400") }},
		{"accuracy too long", "accuracy", func(q url.Values) { q.Set("accuracy", strings.Repeat("1", 50)) }},
		{"mode bike", "mode", func(q url.Values) { q.Set("mode", "bike") }},
	}
	for _, c := range bad {
		for _, method := range []string{"GET", "POST"} {
			q := good()
			c.edit(q)
			if err := problemMismatch(e.osmand(method, q), 400, c.field); err != nil {
				t.Errorf("%s (%s): %v", c.name, method, err)
			}
		}
	}

	// Bad credentials: 401, nothing stored.
	ghost := e.device("T-ghost", tr.StationA1)
	e.must(200, "POST", "/v1/devices/"+ghost.ID+"/revoke", nil, e.admin, nil)
	creds := map[string]string{
		"wrong secret":   dev.ID + ".not-the-secret",
		"no secret":      dev.ID,
		"empty secret":   dev.ID + ".",
		"unknown device": "0193a7c0-0000-7000-8000-00000000dead." + dev.Secret,
		"revoked device": ghost.ID + "." + ghost.Secret,
		"secret swapped": dev.Secret + "." + dev.ID,
	}
	for name, cred := range creds {
		q := good()
		q.Set("id", cred)
		r := e.osmand("GET", q)
		if err := problemMismatch(r, 401, ""); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	check("after bad requests", 3)
	if ps := e.devicePatrols(e.admin, ghost.ID); len(ps) != 0 {
		t.Errorf("the revoked device has patrols: %+v", ps)
	}

	// Scope: the station's commander sees the patrol, a sibling station's does not.
	e.user("cmd.a1", tr.StationA1, "commander")
	e.user("cmd.a2", tr.StationA2, "commander")
	a1 := e.login("cmd.a1", "cmd.a1-password").AccessToken
	a2 := e.login("cmd.a2", "cmd.a2-password").AccessToken
	if ps := e.devicePatrols(a1, dev.ID); len(ps) != 1 {
		t.Errorf("the station's commander sees %d patrols of the device", len(ps))
	}
	if ps := e.devicePatrols(a2, dev.ID); len(ps) != 0 {
		t.Errorf("a sibling station's commander sees %+v", ps)
	}
	e.must(404, "GET", "/v1/patrols/"+first.ID, nil, a2, nil)
	e.must(200, "GET", "/v1/patrols/"+first.ID, nil, a1, nil)

	// Another day is another session; no mode means vehicle.
	next := fixParams(dev, 29.46, 121.91, day.Add(32*time.Hour).Format(time.RFC3339))
	if r := e.osmand("GET", next); r.Status != 200 {
		t.Fatalf("next day: %d %s", r.Status, r.Body)
	}
	ps := e.devicePatrols(e.admin, dev.ID)
	if len(ps) != 2 {
		t.Fatalf("two days give %d patrols: %+v", len(ps), ps)
	}
	for _, p := range ps {
		if p.ID != first.ID && (p.Mode != "vehicle" || p.Stats.Points != 1) {
			t.Errorf("the next day's patrol: %+v", p)
		}
	}
}

// TestIngestTraccarJSON: Traccar Client's JSON form, one location or several, lands in the
// same session as the form; its errors name JSON pointers.
func TestIngestTraccarJSON(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	dev := e.device("T-traccar", tr.StationA1)
	day := e.clock.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	loc := func(d time.Duration, lat float64) map[string]any {
		return map[string]any{"timestamp": day.Add(9*time.Hour + d).Format("2006-01-02T15:04:05.000Z"), "is_moving": true,
			"coords":  map[string]any{"latitude": lat, "longitude": 121.9, "accuracy": 5, "speed": -1, "heading": -1, "altitude": 3.5},
			"battery": map[string]any{"level": 0.66, "is_charging": false}, "activity": map[string]any{"type": "walking"}}
	}
	cred := dev.ID + "." + dev.Secret
	e.must(200, "POST", "/v1/ingest/osmand?mode=foot", map[string]any{"device_id": cred, "location": loc(time.Minute, 29.45)}, "", nil)
	e.must(200, "POST", "/v1/ingest/osmand?mode=foot", map[string]any{"device_id": cred,
		"location": []any{loc(0, 29.4495), loc(2*time.Minute, 29.4505), loc(time.Minute, 29.45)}}, "", nil)
	ps := e.devicePatrols(e.admin, dev.ID)
	if len(ps) != 1 || ps[0].Stats.Points != 3 || ps[0].Mode != "foot" || !ps[0].StartedAt.Equal(day.Add(9*time.Hour)) {
		t.Fatalf("patrols %+v", ps)
	}

	bad := []struct {
		name  string
		body  any
		code  int
		field string
	}{
		{"latitude 91", map[string]any{"device_id": cred, "location": func() any {
			l := loc(0, 91)
			return l
		}()}, 400, "/location/coords/latitude"},
		{"latitude a string", `{"device_id":"` + cred + `","location":{"timestamp":"2026-01-01T00:00:00Z","coords":{"latitude":"x","longitude":1}}}`,
			400, "/location/coords/latitude"},
		{"second of two bad", map[string]any{"device_id": cred, "location": []any{loc(0, 29), loc(0, -95)}}, 400, "/location/1/coords/latitude"},
		{"no coords", map[string]any{"device_id": cred, "location": map[string]any{"timestamp": day.Format(time.RFC3339)}}, 400, "/location/coords"},
		{"bad timestamp", map[string]any{"device_id": cred, "location": map[string]any{"timestamp": "soon",
			"coords": map[string]any{"latitude": 1, "longitude": 1}}}, 400, "/location/timestamp"},
		{"no device_id", map[string]any{"location": loc(0, 29)}, 400, "/device_id"},
		{"no location", map[string]any{"device_id": cred}, 400, "/location"},
		{"too many locations", map[string]any{"device_id": cred, "location": func() []any {
			out := make([]any, 101)
			for i := range out {
				out[i] = loc(time.Duration(i)*time.Second, 29)
			}
			return out
		}()}, 400, "/location"},
		{"wrong secret", map[string]any{"device_id": dev.ID + ".nope", "location": loc(0, 29)}, 401, ""},
		{"body over 64 KiB", `{"device_id":"` + cred + `","pad":"` + strings.Repeat("x", 70<<10) + `"}`, 413, ""},
	}
	for _, c := range bad {
		if err := problemMismatch(e.do("POST", "/v1/ingest/osmand", c.body, ""), c.code, c.field); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if ps := e.devicePatrols(e.admin, dev.ID); len(ps) != 1 || ps[0].Stats.Points != 3 {
		t.Fatalf("bad requests changed the patrols: %+v", ps)
	}
}

// TestIngestRateLimit: failed credentials count against the caller's address; past the limit
// it gets 429 with Retry-After, good credentials included, until the bucket refills.
func TestIngestRateLimit(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.IPBurst, c.IPEvery = 4, 10*time.Second })
	tr := e.tree()
	dev := e.device("T-limit", tr.StationA1)
	ts := strconv.FormatInt(e.clock.Now().Add(-time.Hour).Unix(), 10)
	wrong := fixParams(dev, 29.45, 121.9, ts)
	wrong.Set("id", dev.ID+".wrong")
	// The first admin's sign-in took one of the four.
	for i := range 3 {
		if err := problemMismatch(e.osmand("GET", wrong), 401, ""); err != nil {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	for _, q := range []url.Values{wrong, fixParams(dev, 29.45, 121.9, ts)} {
		r := e.osmand("GET", q)
		if err := problemMismatch(r, 429, ""); err != nil || r.Header.Get("Retry-After") == "" {
			t.Fatalf("over the limit: %v (Retry-After %q)", err, r.Header.Get("Retry-After"))
		}
	}
	e.clock.Advance(time.Minute)
	if r := e.osmand("GET", fixParams(dev, 29.45, 121.9, ts)); r.Status != 200 {
		t.Fatalf("after the wait: %d %s", r.Status, r.Body)
	}
	// Successes take no token: a station's devices behind one address are never slowed.
	for i := range 10 {
		q := fixParams(dev, 29.45+float64(i)/1e4, 121.9, ts)
		if r := e.osmand("POST", q); r.Status != 200 {
			t.Fatalf("fix %d: %d %s", i, r.Status, fmt.Sprint(string(r.Body)))
		}
	}
}

// TestIngestSeqStaysInProcess: seq 0 is for in-process pushes only (PushRequest.Unsequenced);
// a terminal's push still counts from 1 and cannot ask for it.
func TestIngestSeqStaysInProcess(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	officer := e.officerOnTerminal("seq.officer", tr.StationA1)
	var ans pushAnswer
	e.must(200, "POST", "/v1/sync/push", map[string]any{"mutations": []any{trackMutation(0, 29.45)}}, officer.AccessToken, &ans)
	if len(ans.Results) != 1 || ans.Results[0].Status != "rejected" || ans.Results[0].Code != "invalid_seq" {
		t.Fatalf("seq 0 from a terminal: %+v", ans.Results)
	}
	r := e.do("POST", "/v1/sync/push", map[string]any{"Unsequenced": true, "mutations": []any{trackMutation(0, 29.46)}}, officer.AccessToken)
	if err := problemMismatch(r, 400, "/Unsequenced"); err != nil {
		t.Fatal(err)
	}
}
