package handlers_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/docs"
	"github.com/beatgrid/beatgrid/handlers"
)

// Limits of the server, as the API promises them.
const (
	limitSmall   = 64 << 10 // JSON bodies of ordinary routes
	limitOrgUnit = 2 << 20  // org unit bodies (boundaries can be large)
	limitServer  = 8 << 20  // any body, compressed or inflated
)

// jsonRoute is a route that takes a JSON body, and what it takes to call it well.
type jsonRoute struct {
	name   string // method and pattern
	path   string // with the id filled in
	token  string // the first admin's, for protected routes
	limit  int    // the route's own body limit
	fields []string
	elems  []string // array members: bad values go into element 0
	status int      // the answer to a valid body
	valid  func() map[string]any
}

func (rt jsonRoute) method() string { m, _, _ := strings.Cut(rt.name, " "); return m }

// jsonRoutes sets up what the routes need (a tree, an officer and his terminal, PATCH
// targets) and returns every JSON-taking route.
func jsonRoutes(e *env) []jsonRoute {
	e.t.Helper()
	tr := e.tree()
	e.user("bi.officer", tr.StationA1, "officer")
	term := e.device("T-BI", tr.StationA1)
	patchUser := e.user("bi.target", tr.StationA1, "officer")
	n := 0
	next := func() int { n++; return n }
	return []jsonRoute{
		{name: "POST /v1/auth/login", path: "/v1/auth/login", limit: limitSmall, status: 200,
			fields: []string{"username", "password"},
			valid:  func() map[string]any { return map[string]any{"username": "admin", "password": adminPassword} }},
		{name: "POST /v1/auth/device-login", path: "/v1/auth/device-login", limit: limitSmall, status: 200,
			fields: []string{"device_id", "device_secret", "username", "password"},
			valid: func() map[string]any {
				return map[string]any{"device_id": term.ID, "device_secret": term.Secret, "username": "bi.officer", "password": "bi.officer-password"}
			}},
		{name: "POST /v1/auth/refresh", path: "/v1/auth/refresh", limit: limitSmall, status: 200,
			fields: []string{"refresh_token"},
			valid: func() map[string]any {
				return map[string]any{"refresh_token": e.login("admin", adminPassword).RefreshToken}
			}},
		{name: "POST /v1/auth/logout", path: "/v1/auth/logout", limit: limitSmall, status: 204,
			fields: []string{"refresh_token"},
			valid: func() map[string]any {
				return map[string]any{"refresh_token": e.login("admin", adminPassword).RefreshToken}
			}},
		{name: "POST /v1/devices/enroll", path: "/v1/devices/enroll", limit: limitSmall, status: 201,
			fields: []string{"enrollment_code", "hardware_id"},
			valid: func() map[string]any {
				var d struct {
					Code string `json:"enrollment_code"`
				}
				e.must(201, "POST", "/v1/devices", map[string]string{"name": fmt.Sprintf("T-enroll-%d", next()), "org_unit_id": tr.StationA1}, e.admin, &d)
				return map[string]any{"enrollment_code": d.Code, "hardware_id": fmt.Sprintf("hw-%d", next())}
			}},
		{name: "POST /v1/org-units", path: "/v1/org-units", token: e.admin, limit: limitOrgUnit, status: 201,
			fields: []string{"name", "kind", "parent_id", "boundary"},
			valid: func() map[string]any {
				return map[string]any{"kind": "beat", "name": fmt.Sprintf("Beat %d", next()), "parent_id": tr.StationA1}
			}},
		{name: "PATCH /v1/org-units/:id", path: "/v1/org-units/" + tr.BeatA1, token: e.admin, limit: limitOrgUnit, status: 200,
			fields: []string{"name", "parent_id", "boundary"},
			valid: func() map[string]any {
				return map[string]any{"name": fmt.Sprintf("Beat A1-1 #%d", next()), "parent_id": tr.StationA1}
			}},
		{name: "POST /v1/users", path: "/v1/users", token: e.admin, limit: limitSmall, status: 201,
			fields: []string{"username", "display_name", "password", "org_unit_id"}, elems: []string{"roles"},
			valid: func() map[string]any {
				i := next()
				return map[string]any{"username": fmt.Sprintf("bi.user%d", i), "display_name": fmt.Sprintf("User %d", i),
					"password": "bi-user-password", "roles": []string{"officer"}, "org_unit_id": tr.StationA1}
			}},
		{name: "PATCH /v1/users/:id", path: "/v1/users/" + patchUser, token: e.admin, limit: limitSmall, status: 200,
			fields: []string{"display_name", "password", "org_unit_id", "disabled"}, elems: []string{"roles"},
			valid: func() map[string]any {
				return map[string]any{"display_name": fmt.Sprintf("Target %d", next()), "password": "bi-target-password",
					"roles": []string{"officer"}, "org_unit_id": tr.StationA1, "disabled": false}
			}},
		{name: "POST /v1/devices", path: "/v1/devices", token: e.admin, limit: limitSmall, status: 201,
			fields: []string{"name", "org_unit_id"},
			valid: func() map[string]any {
				return map[string]any{"name": fmt.Sprintf("T-new-%d", next()), "org_unit_id": tr.StationA1}
			}},
	}
}

// badCase is one bad request body.
type badCase struct {
	name   string
	body   []byte
	header []string // name, value pairs; a Content-Type given "" is left out
	status int
	field  string // errors[0].field, where it matters
}

// badCases derives the bad bodies of a route from one valid body.
func badCases(rt jsonRoute, valid map[string]any) []badCase {
	enc := jsonOf(valid)
	f0 := rt.fields[0]
	gz := []string{"Content-Encoding", "gzip"}
	cases := []badCase{
		{name: "oversized body", body: withRawMember(valid, f0, longJSONString(rt.limit)), status: 413},
		{name: "gzip bomb", body: gzipBombBody(), header: gz, status: 413},
		{name: "gzip inflating over the route limit", body: gzipBody(withRawMember(valid, f0, longJSONString(rt.limit))), header: gz, status: 413},
		{name: "corrupt gzip", body: gzipBody(enc)[:20], header: gz, status: 400},
		{name: "brotli", body: brotliBody(enc), header: []string{"Content-Encoding", "br"}, status: 415},
		{name: "deflate", body: zlibBody(enc), header: []string{"Content-Encoding", "deflate"}, status: 415},
		{name: "JSON cut short", body: enc[:len(enc)-1], status: 400},
		{name: "JSON without a colon", body: bytes.Replace(enc, []byte(":"), []byte(" "), 1), status: 400},
		{name: "trailing garbage", body: append(slices.Clone(enc), " garbage"...), status: 400},
		{name: "two JSON values", body: append(slices.Clone(enc), enc...), status: 400},
		{name: "unknown field", body: withRawMember(valid, "is_admin", []byte("true")), status: 400, field: "/is_admin"},
		{name: "invalid UTF-8 in /" + f0, body: withRawMember(valid, f0, []byte("\"a\xff\xfeb\"")), status: 400},
		{name: "text/plain", body: enc, header: []string{"Content-Type", "text/plain"}, status: 415},
		{name: "no Content-Type", body: enc, header: []string{"Content-Type", ""}, status: 415},
		{name: "empty body", body: nil, status: 400},
		{name: "null", body: []byte("null"), status: 400},
		{name: "array of the object", body: []byte("[" + string(enc) + "]"), status: 400},
		{name: "string", body: []byte(`"x"`), status: 400},
		{name: "number", body: []byte(`42`), status: 400},
		{name: "10k nested arrays", body: nestedArrays(10000), status: 400},
		{name: "10k nested arrays in /" + f0, body: withRawMember(valid, f0, nestedArrays(10000)), status: 400},
	}
	bad := []struct{ name, raw string }{
		{"$gt", `{"$gt":""}`}, {"1e400", `1e400`}, {"99999999999999999999", `99999999999999999999`},
	}
	for _, v := range bad {
		for _, f := range rt.fields {
			cases = append(cases, badCase{name: v.name + " in /" + f, body: withRawMember(valid, f, []byte(v.raw)),
				status: 400, field: "/" + f})
		}
		for _, f := range rt.elems {
			cases = append(cases, badCase{name: v.name + " in /" + f + "/0", body: withRawMember(valid, f, []byte("["+v.raw+"]")),
				status: 400, field: "/" + f + "/0"})
		}
	}
	return cases
}

// TestBadInput sends bad bodies to every JSON-taking route: each gets its 4xx as
// problem+json, never a 500, and nothing is stored. Valid bodies, plain or gzip, pass.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	for _, rt := range jsonRoutes(e) {
		t.Run(rt.name, func(t *testing.T) {
			t.Run("valid", func(t *testing.T) { checkValidBodies(e.under(t), rt) })
			template := rt.valid()
			for _, c := range badCases(rt, template) {
				t.Run(c.name, func(t *testing.T) {
					e := e.under(t)
					before := e.recordsSnapshot()
					r := e.sendRaw(rt.method(), rt.path, c.body, rt.token, c.header...)
					if err := problemMismatch(r, c.status, c.field); err != nil {
						t.Error(err)
					}
					if e.recordsSnapshot() != before {
						t.Error("the stored records changed: a bad request must store nothing")
					}
					e.me(e.admin) // the admin's token still works
				})
			}
			// The body the bad ones were made from still works: none of them spent its refresh
			// token or enrollment code, took its username or locked its user.
			t.Run("template still valid", func(t *testing.T) {
				if r := e.under(t).sendRaw(rt.method(), rt.path, jsonOf(template), rt.token); r.Status != rt.status {
					t.Errorf("status %d, want %d: %s", r.Status, rt.status, r.Body)
				}
			})
		})
	}
}

// checkValidBodies: a valid body is accepted, and the same gzip-compressed, with Content-Encoding
// identity or with a charset parameter is accepted exactly as if plain.
func checkValidBodies(e *env, rt jsonRoute) {
	e.t.Helper()
	plain := e.sendRaw(rt.method(), rt.path, jsonOf(rt.valid()), rt.token)
	if plain.Status != rt.status {
		e.t.Fatalf("plain valid body: status %d, want %d; %s", plain.Status, rt.status, plain.Body)
	}
	variants := []struct {
		name   string
		encode func([]byte) []byte
		header []string
	}{
		{"gzip", gzipBody, []string{"Content-Encoding", "gzip"}},
		{"identity", nil, []string{"Content-Encoding", "identity"}},
		{"charset", nil, []string{"Content-Type", "application/json; charset=utf-8"}},
	}
	for _, v := range variants {
		body := jsonOf(rt.valid())
		if v.encode != nil {
			body = v.encode(body)
		}
		r := e.sendRaw(rt.method(), rt.path, body, rt.token, v.header...)
		if r.Status != plain.Status || r.Header.Get("Content-Type") != plain.Header.Get("Content-Type") ||
			!slices.Equal(memberNames(r.Body), memberNames(plain.Body)) {
			e.t.Errorf("%s: %d %s %s; plain gave %d %s %s", v.name, r.Status, r.Header.Get("Content-Type"), r.Body,
				plain.Status, plain.Header.Get("Content-Type"), plain.Body)
		}
	}
}

// TestListQueryParams: bad limit and cursor parameters are 400 naming the parameter.
func TestListQueryParams(t *testing.T) {
	e := newEnv(t)
	bad := []struct{ query, field string }{
		{"limit=0", "limit"}, {"limit=1001", "limit"}, {"limit=abc", "limit"}, {"limit=-1", "limit"},
		{"limit=1.5", "limit"}, {"limit=99999999999999999999", "limit"},
		{"cursor=!!!", "cursor"}, {"cursor=%00", "cursor"},
	}
	for _, list := range []string{"/v1/org-units", "/v1/users", "/v1/devices"} {
		for _, c := range bad {
			t.Run(list+"?"+c.query, func(t *testing.T) {
				if err := problemMismatch(e.under(t).do("GET", list+"?"+c.query, nil, e.admin), 400, c.field); err != nil {
					t.Error(err)
				}
			})
		}
		for _, q := range []string{"limit=1", "limit=1000", "limit=", "cursor="} {
			e.under(t).must(200, "GET", list+"?"+q, nil, e.admin, nil)
		}
	}
}

// TestListPagination follows next_cursor with limit=2 through each list: every item comes
// exactly once, in the order of the whole list.
func TestListPagination(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	for i := range 5 {
		e.user(fmt.Sprintf("page.user%d", i), tr.StationA1, "officer")
	}
	for i := range 3 {
		e.device(fmt.Sprintf("T-page-%d", i), tr.StationA2)
	}
	for _, c := range []struct {
		list string
		min  int
	}{{"/v1/users", 6}, {"/v1/org-units", 7}, {"/v1/devices", 3}} {
		t.Run(c.list, func(t *testing.T) {
			e := e.under(t)
			all := itemIDs(e, e.must(200, "GET", c.list+"?limit=1000", nil, e.admin, nil))
			if len(all) < c.min {
				t.Fatalf("the whole list has %d items, want at least %d", len(all), c.min)
			}
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > len(all) {
					t.Fatalf("no end after %d pages; got %v", pages, got)
				}
				var p struct {
					Items      []idJSON `json:"items"`
					NextCursor *string  `json:"next_cursor"`
				}
				e.must(200, "GET", c.list+"?limit=2&cursor="+cursor, nil, e.admin, &p)
				if len(p.Items) == 0 || len(p.Items) > 2 {
					t.Fatalf("page %d has %d items", pages, len(p.Items))
				}
				for _, it := range p.Items {
					got = append(got, it.ID)
				}
				if p.NextCursor == nil {
					break
				}
				cursor = *p.NextCursor
			}
			if !slices.Equal(got, all) {
				t.Errorf("pages gave %v, the whole list is %v", got, all)
			}
		})
	}
}

// TestOrgUnitBoundaryValidation: a bad boundary is 400 with a field pointing into /boundary,
// on create and on update, and nothing is stored.
func TestOrgUnitBoundaryValidation(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	// field is the pointer of the fault; below says any pointer under /boundary will do (the
	// value does not decode, and how deep the pointer goes is the server's choice).
	cases := []struct {
		name, boundary, field string
		below                 bool
	}{
		{"unclosed ring", polygonJSON("[0,0],[1,0],[1,1],[0,1]"), "/boundary/coordinates/0", false},
		{"three positions", polygonJSON("[0,0],[1,0],[0,0]"), "/boundary/coordinates/0", false},
		{"longitude 200", polygonJSON("[0,0],[200,0],[1,1],[0,0]"), "/boundary/coordinates/0/1", false},
		{"latitude 91", polygonJSON("[0,0],[1,0],[1,91],[0,0]"), "/boundary/coordinates/0/2", false},
		{"hole of three positions", `{"type":"Polygon","coordinates":[[[0,0],[2,0],[2,2],[0,0]],[[0.5,0.5],[1,0.5],[1,1]]]}`, "/boundary/coordinates/1", false},
		{"multipolygon, second unclosed", `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,2],[3,2],[3,3],[2,3]]]]}`, "/boundary/coordinates/1/0", false},
		{"no rings", `{"type":"Polygon","coordinates":[]}`, "/boundary/coordinates", false},
		{"point", `{"type":"Point","coordinates":[120,30]}`, "/boundary/type", false},
		{"line", `{"type":"LineString","coordinates":[[0,0],[1,1]]}`, "/boundary/type", false},
		{"20001 vertices", circlePolygonJSON(20001), "/boundary/coordinates/0", false},
		{"number overflow (1e999)", polygonJSON("[0,0],[1e999,0],[1,1],[0,0]"), "/boundary", true},
		{"no coordinates", `{"type":"Polygon"}`, "/boundary", true},
		{"coordinates a string", `{"type":"Polygon","coordinates":"0,0 1,0 1,1 0,0"}`, "/boundary", true},
		{"a string", `"somewhere"`, "/boundary", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.under(t)
			before := e.recordsSnapshot()
			create := map[string]any{"kind": "beat", "name": "Bad beat", "parent_id": tr.StationA1, "boundary": json.RawMessage(c.boundary)}
			update := map[string]any{"boundary": json.RawMessage(c.boundary)}
			for what, r := range map[string]*response{
				"create": e.do("POST", "/v1/org-units", create, e.admin),
				"update": e.do("PATCH", "/v1/org-units/"+tr.BeatA1, update, e.admin),
			} {
				if err := problemMismatch(r, 400, ""); err != nil {
					t.Errorf("%s: %v", what, err)
				} else if f := firstField(r); f != c.field && !(c.below && strings.HasPrefix(f, c.field+"/")) {
					t.Errorf("%s: errors[0].field %q, want %q%s", what, f, c.field, map[bool]string{true: " or below"}[c.below])
				}
			}
			if e.recordsSnapshot() != before {
				t.Error("the stored records changed: a bad request must store nothing")
			}
		})
	}
}

// TestOrgUnitBoundaryRoundTrip: valid boundaries come back as sent, through GET and after a
// restart on the same database; one of 20000 vertices (a body far over 64 KiB) is accepted.
func TestOrgUnitBoundaryRoundTrip(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	cases := []struct{ name, boundary string }{
		{"beat polygon", `{"type":"Polygon","coordinates":[[[120.15,30.25],[120.17,30.25],[120.17,30.27],[120.15,30.27],[120.15,30.25]]]}`},
		{"polygon with a hole", `{"type":"Polygon","coordinates":[[[0,0],[2,0],[2,2],[0,2],[0,0]],[[0.5,0.5],[1,0.5],[1,1],[0.5,0.5]]]}`},
		{"multipolygon", `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,2],[3,2],[3,3],[2,2]]]]}`},
		{"polygon with a bbox (RFC 7946 §5)", `{"type":"Polygon","bbox":[0,0,1,1],"coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`},
		{"20000 vertices", circlePolygonJSON(20000)},
	}
	ids := map[string]string{}
	for _, c := range cases {
		t.Run("create "+c.name, func(t *testing.T) {
			var u struct {
				ID       string          `json:"id"`
				Boundary json.RawMessage `json:"boundary"`
			}
			// Stations: these areas are far too big for a beat's cells.
			e.under(t).must(201, "POST", "/v1/org-units", map[string]any{"kind": "station", "name": c.name,
				"parent_id": tr.ZoneA, "boundary": json.RawMessage(c.boundary)}, e.admin, &u)
			ids[c.name] = u.ID
			checkSameGeometry(t, "created", u.Boundary, c.boundary)
		})
	}
	restarted := e.restartOnSameDB()
	for _, c := range cases {
		id, ok := ids[c.name]
		if !ok {
			continue
		}
		t.Run("read "+c.name, func(t *testing.T) {
			for _, srv := range []struct {
				name string
				e    *env
			}{{"GET", e}, {"GET after a restart", restarted}} {
				var u struct {
					Boundary json.RawMessage `json:"boundary"`
				}
				srv.e.under(t).must(200, "GET", "/v1/org-units/"+id, nil, e.admin, &u)
				checkSameGeometry(t, srv.name, u.Boundary, c.boundary)
			}
		})
	}
	t.Run("cleared with null", func(t *testing.T) {
		var u struct {
			Boundary json.RawMessage `json:"boundary"`
		}
		e.under(t).must(200, "PATCH", "/v1/org-units/"+tr.BeatA1, `{"boundary":`+cases[0].boundary+`}`, e.admin, nil)
		e.under(t).must(200, "PATCH", "/v1/org-units/"+tr.BeatA1, `{"boundary":null}`, e.admin, &u)
		if string(u.Boundary) != "null" {
			t.Errorf("after clearing, boundary = %s", u.Boundary)
		}
	})
}

// TestBodyOverServerLimit: a body beyond the server's limit is refused with 413 problem+json
// before it is read, announced by Content-Length or streamed chunked. app.Test cannot show
// this (fasthttp refuses such a request before any handler), so it goes over a socket.
func TestBodyOverServerLimit(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.app.Listener(ln) }()
	t.Cleanup(func() { _ = e.app.Shutdown() })

	routes := []string{"POST /v1/auth/login", "POST /v1/auth/device-login", "POST /v1/auth/refresh",
		"POST /v1/auth/logout", "POST /v1/devices/enroll", "POST /v1/org-units", "PATCH /v1/org-units/x",
		"POST /v1/users", "PATCH /v1/users/x", "POST /v1/devices"}
	for _, route := range routes {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s chunked=%v", route, chunked), func(t *testing.T) {
				e := e.under(t)
				before := e.recordsSnapshot()
				method, path, _ := strings.Cut(route, " ")
				r := postOverLimit(t, ln.Addr().String(), method, path, e.admin, chunked)
				if err := problemMismatch(r, 413, ""); err != nil {
					t.Error(err)
				}
				if e.recordsSnapshot() != before {
					t.Error("the stored records changed: a bad request must store nothing")
				}
			})
		}
	}
}

// postOverLimit sends a request whose body is one MiB over the server's limit and reads the
// answer. The server may answer and close before the body is through; that is fine.
func postOverLimit(t *testing.T, addr, method, path, token string, chunked bool) *response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	size := limitServer + 1<<20
	framing := fmt.Sprintf("Content-Length: %d", size)
	if chunked {
		framing = "Transfer-Encoding: chunked"
	}
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: beatgrid\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\n%s\r\n\r\n", method, path, token, framing)
	go func() { // the body, until the server stops reading
		chunk := bytes.Repeat([]byte(" "), 1<<20)
		for sent := 0; sent < size; sent += len(chunk) {
			if chunked {
				fmt.Fprintf(conn, "%x\r\n", len(chunk))
			}
			if _, err := conn.Write(chunk); err != nil {
				return
			}
			if chunked {
				conn.Write([]byte("\r\n"))
			}
		}
		if chunked {
			conn.Write([]byte("0\r\n\r\n"))
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// --- helpers ---

// sendRaw sends body as is. header holds name, value pairs; Content-Type is application/json
// unless they set it, and one set to "" is left out.
func (e *env) sendRaw(method, path string, body []byte, token string, header ...string) *response {
	e.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.request(req)
}

// problemMismatch says what is wrong with r as a problem answer of status want whose first
// field error names field (either "" for no check); nil if nothing is.
func problemMismatch(r *response, want int, field string) error {
	switch {
	case r.Status >= 500:
		return fmt.Errorf("server error %d: %.300s", r.Status, r.Body)
	case r.Status != want:
		return fmt.Errorf("status %d, want %d: %.300s", r.Status, want, r.Body)
	case r.Header.Get("Content-Type") != "application/problem+json":
		return fmt.Errorf("Content-Type %q, want application/problem+json: %.300s", r.Header.Get("Content-Type"), r.Body)
	}
	var p handlers.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		return fmt.Errorf("problem body %.300s: %v", r.Body, err)
	}
	if p.Status != r.Status || p.Title == "" || p.Detail == "" || p.Type == "" {
		return fmt.Errorf("incomplete problem (status, title, detail, type): %s", r.Body)
	}
	if field != "" && (len(p.Errors) == 0 || !fieldNames(p.Errors[0].Field, field)) {
		return fmt.Errorf("errors[0].field should be %q: %s", field, r.Body)
	}
	return nil
}

// fieldNames accepts the field named exactly, or for an array element ("/roles/0") the
// array itself.
func fieldNames(got, want string) bool {
	if got == want {
		return true
	}
	parent, last, ok := cutLast(want, "/")
	return ok && parent != "" && got == parent && strings.Trim(last, "0123456789") == ""
}

// firstField is errors[0].field of a problem answer ("" if none).
func firstField(r *response) string {
	var p handlers.Problem
	if json.Unmarshal(r.Body, &p) != nil || len(p.Errors) == 0 {
		return ""
	}
	return p.Errors[0].Field
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func jsonOf(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// withRawMember encodes body with member field set to the raw bytes, valid JSON or not.
func withRawMember(body map[string]any, field string, raw []byte) []byte {
	const mark = "\x00raw\x00"
	m := make(map[string]any, len(body)+1)
	for k, v := range body {
		m[k] = v
	}
	m[field] = mark
	return bytes.Replace(jsonOf(m), jsonOf(mark), raw, 1)
}

// longJSONString is a JSON string longer than n bytes.
func longJSONString(n int) []byte { return []byte(`"` + strings.Repeat("a", n+1) + `"`) }

func nestedArrays(depth int) []byte {
	return []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
}

func encodeBody(b []byte, newWriter func(io.Writer) io.WriteCloser) []byte {
	var buf bytes.Buffer
	w := newWriter(&buf)
	if _, err := w.Write(b); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func gzipBody(b []byte) []byte {
	return encodeBody(b, func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) })
}

func zlibBody(b []byte) []byte {
	return encodeBody(b, func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) })
}

func brotliBody(b []byte) []byte {
	return encodeBody(b, func(w io.Writer) io.WriteCloser { return brotli.NewWriter(w) })
}

// gzipBombBody is a small gzip body of a JSON object that inflates beyond the server's limit.
var gzipBombBody = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write([]byte(`{"username":"`))
	w.Write(bytes.Repeat([]byte("a"), limitServer+1))
	w.Write([]byte(`"}`))
	w.Close()
	if buf.Len() > 64<<10 {
		panic("the gzip bomb is not small")
	}
	return buf.Bytes()
})

// memberNames returns the sorted member names of a JSON object body (nil for anything else).
func memberNames(b []byte) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// polygonJSON is a Polygon of one ring of the given positions.
func polygonJSON(positions string) string {
	return `{"type":"Polygon","coordinates":[[` + positions + `]]}`
}

// circlePolygonJSON is a closed Polygon ring of n positions on a small circle.
func circlePolygonJSON(n int) string {
	pos := make([][2]float64, n)
	for i := range n - 1 {
		a := 2 * math.Pi * float64(i) / float64(n-1)
		pos[i] = [2]float64{120 + 0.01*math.Cos(a), 30 + 0.01*math.Sin(a)}
	}
	pos[n-1] = pos[0]
	return fmt.Sprintf(`{"type":"Polygon","coordinates":[%s]}`, jsonOf(pos))
}

// checkSameGeometry fails unless got is the GeoJSON geometry want (same type and coordinates).
func checkSameGeometry(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	type geometry struct {
		Type        string `json:"type"`
		Coordinates any    `json:"coordinates"`
	}
	var g, w geometry
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: boundary %.200s: %v", what, got, err)
		return
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: boundary %.300s, want %.300s", what, got, want)
	}
}

// restartOnSameDB starts a second service and app on e's database, as a restarted server would (the
// same master key, so e's tokens still verify).
func (e *env) restartOnSameDB() *env {
	e.t.Helper()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := auth.New(context.Background(), e.db, auth.Config{MasterKey: bytes.Repeat([]byte{7}, 32),
		Now: e.clock.Now, Logger: discard, IPBurst: 10000, UserBurst: 10000})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(svc.Close)
	c := *e
	c.svc = svc
	c.app = handlers.New(handlers.Config{Logger: discard}, handlers.Deps{Auth: svc, DB: e.db, OpenAPI: docs.OpenAPI})
	return &c
}
