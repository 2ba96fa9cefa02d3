package handlers_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

type pushResult struct {
	ID             string   `json:"id"`
	Status         string   `json:"status"`
	Code           string   `json:"code"`
	OriginalStatus string   `json:"original_status"`
	Flags          []string `json:"flags"`
}

type pushAnswer struct {
	ServerTime time.Time    `json:"server_time"`
	Results    []pushResult `json:"results"`
}

// officerOnTerminal signs an officer of unit in on a new terminal and returns the session.
func (e *env) officerOnTerminal(name, unit string) tokenPair {
	e.t.Helper()
	e.user(name, unit, "officer")
	return e.deviceLogin(e.device("T-"+name, unit), name)
}

func trackMutation(seq int, lat float64) map[string]any {
	return map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "seq": seq, "type": "track.points",
		"payload": map[string]any{"patrol_id": "0193a7c0-0000-7000-8000-000000000001",
			"points": []map[string]any{{"lon": 121.9, "lat": lat, "t": "2026-11-25T08:00:00Z"}}}}
}

// TestPushHTTP: a terminal pushes, repeats, sends bad items and batches over the limits.
func TestPushHTTP(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	officer := e.officerOnTerminal("push.officer", tr.StationA1)
	batch := map[string]any{"device_time": e.clock.Now(), "mutations": []any{trackMutation(1, 29.45), trackMutation(2, 95)}}
	var first, again pushAnswer
	e.must(200, "POST", "/v1/sync/push", batch, officer.AccessToken, &first)
	if first.Results[0].Status != "applied" || first.Results[1].Status != "rejected" || first.Results[1].Code != "invalid_payload" {
		t.Fatalf("first push: %+v", first.Results)
	}
	e.must(200, "POST", "/v1/sync/push", batch, officer.AccessToken, &again)
	if again.Results[0].Status != "duplicate" || again.Results[0].OriginalStatus != "applied" ||
		again.Results[1].OriginalStatus != "rejected" {
		t.Fatalf("repeat: %+v", again.Results)
	}

	// The same batch gzipped is the same batch.
	var zipped pushAnswer
	plain, _ := json.Marshal(batch)
	e.must(200, "POST", "/v1/sync/push", &rawBody{data: gzipBody(plain), encoding: "gzip"}, officer.AccessToken, &zipped)
	if zipped.Results[0].Status != "duplicate" {
		t.Fatalf("gzipped repeat: %+v", zipped.Results)
	}

	// The counters reach /metrics: one applied, one rejected, then three duplicates.
	metrics := string(e.must(200, "GET", "/metrics", nil, "", nil).Body)
	for _, line := range []string{"beatgrid_sync_mutations_applied_total 1", "beatgrid_sync_mutations_rejected_total 1",
		"beatgrid_sync_mutations_duplicate_total 4", "beatgrid_sync_pushes_total 3"} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}

	// The console cannot push: pushes come from terminals.
	if r := e.do("POST", "/v1/sync/push", batch, e.admin); r.Status != 403 {
		t.Fatalf("console push: %d", r.Status)
	}

	many := make([]any, 501)
	for i := range many {
		many[i] = trackMutation(i+3, 29.45)
	}
	big := strings.Repeat(" ", 4<<20) + `{"mutations":[]}`
	for name, c := range map[string]struct {
		body   any
		status int
		limit  string
	}{
		"501 mutations": {map[string]any{"mutations": many}, 422, "/max_mutations"},
		"4 MiB body":    {big, 413, "/max_body_bytes"},
	} {
		r := e.do("POST", "/v1/sync/push", c.body, officer.AccessToken)
		p := r.problem(t)
		var limits struct {
			Limits map[string]int `json:"limits"`
		}
		r.decode(t, &limits)
		if r.Status != c.status || len(p.Errors) == 0 || p.Errors[0].Field != c.limit ||
			limits.Limits["max_mutations"] != 500 || limits.Limits["max_body_bytes"] != 4<<20 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
}

// rawBody is a body sent as is, with a Content-Encoding.
type rawBody struct {
	data     []byte
	encoding string
}

type pulled struct {
	Changes []struct {
		Collection string `json:"collection"`
		ID         string `json:"id"`
		Op         string `json:"op"`
		Doc        *struct {
			Name string `json:"name"`
		} `json:"doc"`
		Version int64 `json:"version"`
	} `json:"changes"`
	Cursor  string `json:"cursor"`
	HasMore bool   `json:"has_more"`
	Reset   bool   `json:"reset"`
}

// pullAll pulls in pages of limit from cursor and returns "op id" lines and the last cursor.
func (e *env) pullAll(token, cursor string, limit int) ([]string, string) {
	e.t.Helper()
	e.flush() // what the server's background writers would have done by now
	var got []string
	for {
		var p pulled
		e.must(200, "GET", fmt.Sprintf("/v1/sync/pull?limit=%d&cursor=%s", limit, cursor), nil, token, &p)
		for _, c := range p.Changes {
			got = append(got, c.Op+" "+c.ID)
		}
		cursor = p.Cursor
		if !p.HasMore {
			return got, cursor
		}
	}
}

// TestPullScope: a terminal pulls the org units of its scope only, then only what changed;
// a unit moved out of its scope comes as a delete; a cursor of another scope resets.
func TestPullScope(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	a1 := e.officerOnTerminal("pull.a1", tr.StationA1)
	a2 := e.officerOnTerminal("pull.a2", tr.StationA2)

	got, cursor := e.pullAll(a1.AccessToken, "", 1)
	if want := []string{"upsert " + tr.StationA1, "upsert " + tr.BeatA1}; !slices.Equal(got, want) {
		t.Fatalf("A1's first pull %v, want %v", got, want)
	}
	if got, _ := e.pullAll(a1.AccessToken, cursor, 10); len(got) != 0 {
		t.Fatalf("nothing changed, yet pulled %v", got)
	}

	newBeat := e.unit("beat", "Beat A1-2", tr.StationA1)
	e.unit("beat", "Beat A2-1", tr.StationA2) // not A1's business
	got, cursor = e.pullAll(a1.AccessToken, cursor, 10)
	if want := []string{"upsert " + newBeat}; !slices.Equal(got, want) {
		t.Fatalf("A1 after a new beat: %v, want %v", got, want)
	}

	_, a2cursor := e.pullAll(a2.AccessToken, "", 10)
	e.must(200, "PATCH", "/v1/org-units/"+tr.BeatA1, map[string]string{"parent_id": tr.StationA2}, e.admin, nil)
	got, _ = e.pullAll(a1.AccessToken, cursor, 10)
	if want := []string{"delete " + tr.BeatA1}; !slices.Equal(got, want) {
		t.Fatalf("A1 after its beat moved away: %v, want %v", got, want)
	}
	got, _ = e.pullAll(a2.AccessToken, a2cursor, 10)
	if want := []string{"upsert " + tr.BeatA1}; !slices.Equal(got, want) {
		t.Fatalf("A2 after the beat moved in: %v, want %v", got, want)
	}

	var p pulled
	e.must(200, "GET", "/v1/sync/pull?cursor="+cursor, nil, a2.AccessToken, &p)
	if !p.Reset || len(p.Changes) == 0 {
		t.Fatalf("A1's cursor used by A2: reset %v, %d changes", p.Reset, len(p.Changes))
	}
	for _, bad := range []string{"cursor=!!", "cursor=djE6eDp5", "limit=0"} {
		if r := e.do("GET", "/v1/sync/pull?"+bad, nil, a1.AccessToken); r.Status != 400 {
			t.Errorf("?%s: %d", bad, r.Status)
		}
	}
}

// TestPatrolScope: a patrol pushed by an officer is seen by him and by the commanders of his
// scope, not by another station's commander; its stats come from the facts, repeats or not.
func TestPatrolScope(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	officer := e.officerOnTerminal("patrol.a1", tr.StationA1)
	e.user("cmd.a1", tr.StationA1, "commander")
	e.user("cmd.a2", tr.StationA2, "commander")
	id := "0193a7c0-0000-7000-8000-000000000001"
	start := map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "seq": 1, "type": "patrol.start",
		"payload": map[string]any{"patrol_id": id, "mode": "foot", "t": "2026-11-25T07:59:00Z"}}
	batch := map[string]any{"mutations": []any{start, trackMutation(2, 29.45), trackMutation(3, 29.46)}}
	e.must(200, "POST", "/v1/sync/push", batch, officer.AccessToken, nil)
	e.must(200, "POST", "/v1/sync/push", batch, officer.AccessToken, nil) // a repeat changes nothing

	var p struct {
		ID    string `json:"id"`
		Mode  string `json:"mode"`
		Stats struct {
			Points    int     `json:"points"`
			DistanceM float64 `json:"distance_m"`
			Filter    struct {
				Kept    int `json:"kept"`
				DupTime int `json:"dup_time"`
			} `json:"filter"`
		} `json:"stats"`
	}
	for _, who := range []string{"officer", "cmd.a1"} {
		token := officer.AccessToken
		if who != "officer" {
			token = e.login(who, who+"-password").AccessToken
		}
		e.must(200, "GET", "/v1/patrols/"+id, nil, token, &p)
		// Both fixes share one time: the fold keeps both positions (distinct facts); the
		// foot filter keeps the first and drops the second, so there is no distance.
		if p.Mode != "foot" || p.Stats.Points != 2 || p.Stats.Filter.Kept != 1 || p.Stats.Filter.DupTime != 1 || p.Stats.DistanceM != 0 {
			t.Fatalf("%s sees %+v", who, p)
		}
	}
	other := e.login("cmd.a2", "cmd.a2-password").AccessToken
	if r := e.do("GET", "/v1/patrols/"+id, nil, other); r.Status != 404 {
		t.Fatalf("another station's commander: %d", r.Status)
	}
	var list struct {
		Items []struct{ ID string } `json:"items"`
	}
	e.must(200, "GET", "/v1/patrols", nil, other, &list)
	if len(list.Items) != 0 {
		t.Fatalf("another station's commander lists %v", list.Items)
	}
}

// TestPendingBlobs: an inspection pushed before its photo is applied and pending; the
// upload of the photo ends the wait.
func TestPendingBlobs(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	officer := e.officerOnTerminal("photo.officer", tr.StationA1)
	photo := bytes.Repeat([]byte("not really a jpeg "), 100)
	sum := sha256.Sum256(photo)
	sha := hex.EncodeToString(sum[:])
	inspection := map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "seq": 1, "type": "inspection.submit",
		"payload": map[string]any{"inspection_id": uuid.Must(uuid.NewV7()).String(), "venue_id": "venue-1",
			"checklist_id": "small-shop", "checklist_version": 1, "answers": []map[string]any{{"item": "extinguisher", "value": true}},
			"photos": []string{sha}, "lon": 121.9, "lat": 29.45, "t": "2026-11-25T08:00:00Z"}}
	var ans struct {
		Results []struct {
			Status       string   `json:"status"`
			PendingBlobs []string `json:"pending_blobs"`
		} `json:"results"`
	}
	e.must(200, "POST", "/v1/sync/push", map[string]any{"mutations": []any{inspection}}, officer.AccessToken, &ans)
	if ans.Results[0].Status != "applied" || !slices.Equal(ans.Results[0].PendingBlobs, []string{sha}) {
		t.Fatalf("inspection before its photo: %+v", ans.Results)
	}
	pending := func() string {
		for _, line := range strings.Split(string(e.must(200, "GET", "/metrics", nil, "", nil).Body), "\n") {
			if strings.HasPrefix(line, "beatgrid_sync_facts_pending_blobs ") {
				return line
			}
		}
		return ""
	}
	if got := pending(); got != "beatgrid_sync_facts_pending_blobs 1" {
		t.Fatalf("before the upload: %q", got)
	}
	e.must(200, "PUT", "/v1/blobs/"+sha, &mediaBody{data: photo, header: map[string]string{"Content-Type": "image/jpeg"}},
		officer.AccessToken, nil)
	if got := pending(); got != "beatgrid_sync_facts_pending_blobs 0" {
		t.Fatalf("after the upload: %q", got)
	}
}
