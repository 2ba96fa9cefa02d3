package handlers_test

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/beatgrid/beatgrid/store/storetest"
	"github.com/gofiber/fiber/v2"
)

// The scope matrix: every route the app registers × every kind of caller × a target in the
// caller's own unit, in a sibling station and in the parent zone. The expected outcomes live
// in scopeTable; a route the app registers without an entry there fails the test, so a new
// route cannot ship without its row.

// Principals, the rows of the matrix. All but the root admin have their home at StationA1.
const (
	rootAdmin   = "root admin"        // the first admin (admin+commander) at the root bureau
	a1Admin     = "A1 admin"          // admin+commander, at the console
	a1AdminTerm = "A1 admin@terminal" // the same user on a terminal: the admin role is dropped
	a1Commander = "A1 commander"      // at the console
	a1Officer   = "A1 officer"        // on a StationA1 terminal
	a1Inspector = "A1 inspector"      // on a StationA1 terminal
	anonymous   = "anonymous"         // no token
)

var principalOrder = []string{rootAdmin, a1Admin, a1AdminTerm, a1Commander, a1Officer, a1Inspector, anonymous}

// Targets, the columns of the matrix. For units: the caller's home unit, StationA1,
// StationA2, ZoneA. For users: the caller, a StationA1 user, a StationA2 user, a ZoneA user.
// For devices: the caller's terminal, a StationA1, a StationA2 and a ZoneA device.
const (
	tSelf = iota
	tOwn
	tSibling
	tParent
	nTargets
)

var targetNames = [nTargets]string{"self", "own", "sibling", "parent"}

// scopeExpect is one route's row group. cells gives, per principal, the outcome for the four
// targets (self own sibling parent): a status ("404"); for a list, "in" or "out" (it answers
// 200 and does or does not hold the target); "-" where the target does not apply. A public
// route instead gives the status an anonymous caller gets (GET with no body, POST with {}).
type scopeExpect struct {
	public int
	cells  map[string]string
}

func publicRoute(status int) scopeExpect { return scopeExpect{public: status} }

var scopeTable = map[string]scopeExpect{
	"GET /healthz":               publicRoute(200),
	"GET /readyz":                publicRoute(200),
	"GET /metrics":               publicRoute(200),
	"GET /v1/openapi.yaml":       publicRoute(200),
	"GET /.well-known/jwks.json": publicRoute(200),
	"POST /v1/auth/login":        publicRoute(400),
	"POST /v1/auth/device-login": publicRoute(400),
	"POST /v1/auth/refresh":      publicRoute(400),
	"POST /v1/auth/logout":       publicRoute(400),
	"POST /v1/devices/enroll":    publicRoute(400),

	"GET /v1/me": {cells: map[string]string{
		rootAdmin:   "200 - - -",
		a1Admin:     "200 - - -",
		a1AdminTerm: "200 - - -",
		a1Commander: "200 - - -",
		a1Officer:   "200 - - -",
		a1Inspector: "200 - - -",
		anonymous:   "401 - - -",
	}},

	"GET /v1/org-units": {cells: map[string]string{
		rootAdmin:   "in in in  in",
		a1Admin:     "in in out out",
		a1AdminTerm: "in in out out",
		a1Commander: "in in out out",
		a1Officer:   "in in out out",
		a1Inspector: "in in out out",
		anonymous:   "-  401 401 401",
	}},
	"GET /v1/org-units/:id": {cells: map[string]string{
		rootAdmin:   "200 200 200 200",
		a1Admin:     "200 200 404 404",
		a1AdminTerm: "200 200 404 404",
		a1Commander: "200 200 404 404",
		a1Officer:   "200 200 404 404",
		a1Inspector: "200 200 404 404",
		anonymous:   "-   401 401 401",
	}},
	"POST /v1/org-units": {cells: map[string]string{ // a beat below the target unit
		rootAdmin:   "201 201 201 201",
		a1Admin:     "201 201 400 400",
		a1AdminTerm: "403 403 403 403",
		a1Commander: "403 403 403 403",
		a1Officer:   "403 403 403 403",
		a1Inspector: "403 403 403 403",
		anonymous:   "-   401 401 401",
	}},
	"PATCH /v1/org-units/:id": {cells: map[string]string{ // a new name
		rootAdmin:   "200 200 200 200",
		a1Admin:     "200 200 404 404",
		a1AdminTerm: "403 403 403 403",
		a1Commander: "403 403 403 403",
		a1Officer:   "403 403 403 403",
		a1Inspector: "403 403 403 403",
		anonymous:   "-   401 401 401",
	}},

	"GET /v1/users": {cells: map[string]string{
		rootAdmin:   "in  in  in  in",
		a1Admin:     "in  in  out out",
		a1AdminTerm: "in  in  out out",
		a1Commander: "in  in  out out",
		a1Officer:   "403 403 403 403",
		a1Inspector: "403 403 403 403",
		anonymous:   "-   401 401 401",
	}},
	"GET /v1/users/:id": {cells: map[string]string{
		rootAdmin:   "200 200 200 200",
		a1Admin:     "200 200 404 404",
		a1AdminTerm: "200 200 404 404",
		a1Commander: "200 200 404 404",
		a1Officer:   "200 404 404 404",
		a1Inspector: "200 404 404 404",
		anonymous:   "-   401 401 401",
	}},
	"POST /v1/users": {cells: map[string]string{ // an officer with the target as home unit
		rootAdmin:   "201 201 201 201",
		a1Admin:     "201 201 400 400",
		a1AdminTerm: "403 403 403 403",
		a1Commander: "403 403 403 403",
		a1Officer:   "403 403 403 403",
		a1Inspector: "403 403 403 403",
		anonymous:   "-   401 401 401",
	}},
	"PATCH /v1/users/:id": {cells: map[string]string{ // a new display name
		rootAdmin:   "200 200 200 200",
		a1Admin:     "200 200 404 404",
		a1AdminTerm: "403 403 403 403",
		a1Commander: "403 403 403 403",
		a1Officer:   "403 403 403 403",
		a1Inspector: "403 403 403 403",
		anonymous:   "-   401 401 401",
	}},

	"GET /v1/devices": {cells: map[string]string{
		rootAdmin:   "-   in  in  in",
		a1Admin:     "-   in  out out",
		a1AdminTerm: "403 403 403 403",
		a1Commander: "-   403 403 403",
		a1Officer:   "403 403 403 403",
		a1Inspector: "403 403 403 403",
		anonymous:   "-   401 401 401",
	}},
	"GET /v1/devices/:id": {cells: map[string]string{
		rootAdmin:   "-   200 200 200",
		a1Admin:     "-   200 404 404",
		a1AdminTerm: "200 404 404 404",
		a1Commander: "-   404 404 404",
		a1Officer:   "200 404 404 404",
		a1Inspector: "200 404 404 404",
		anonymous:   "-   401 401 401",
	}},
	"POST /v1/devices": {cells: map[string]string{ // a device of the target unit
		rootAdmin:   "201 201 201 201",
		a1Admin:     "201 201 400 400",
		a1AdminTerm: "403 403 403 403",
		a1Commander: "403 403 403 403",
		a1Officer:   "403 403 403 403",
		a1Inspector: "403 403 403 403",
		anonymous:   "-   401 401 401",
	}},
	"GET /v1/patrols": {cells: map[string]string{ // who sees which patrol: TestPatrolScope
		rootAdmin:   "200 - - -",
		a1Admin:     "200 - - -",
		a1AdminTerm: "200 - - -",
		a1Commander: "200 - - -",
		a1Officer:   "200 - - -",
		a1Inspector: "200 - - -",
		anonymous:   "401 - - -",
	}},
	"GET /v1/patrols/:id": {cells: map[string]string{ // user ids are no patrols; TestPatrolScope for real ones
		rootAdmin:   "404 404 404 404",
		a1Admin:     "404 404 404 404",
		a1AdminTerm: "404 404 404 404",
		a1Commander: "404 404 404 404",
		a1Officer:   "404 404 404 404",
		a1Inspector: "404 404 404 404",
		anonymous:   "-   401 401 401",
	}},
	"GET /v1/patrols/:id/track": {cells: map[string]string{ // user ids are no patrols; TestPatrolTrackExport for real ones
		rootAdmin:   "404 404 404 404",
		a1Admin:     "404 404 404 404",
		a1AdminTerm: "404 404 404 404",
		a1Commander: "404 404 404 404",
		a1Officer:   "404 404 404 404",
		a1Inspector: "404 404 404 404",
		anonymous:   "-   401 401 401",
	}},
	"GET /v1/sync/pull": {cells: map[string]string{ // what a scope pulls: TestPullScope
		rootAdmin:   "200 - - -",
		a1Admin:     "200 - - -",
		a1AdminTerm: "200 - - -",
		a1Commander: "200 - - -",
		a1Officer:   "200 - - -",
		a1Inspector: "200 - - -",
		anonymous:   "401 - - -",
	}},
	"PUT /v1/blobs/:sha256": {cells: map[string]string{ // a stored photo again: terminal sessions only
		rootAdmin:   "403 - - -",
		a1Admin:     "403 - - -",
		a1AdminTerm: "200 - - -",
		a1Commander: "403 - - -",
		a1Officer:   "200 - - -",
		a1Inspector: "200 - - -",
		anonymous:   "401 - - -",
	}},
	"HEAD /v1/blobs/:sha256": {cells: map[string]string{ // any signed-in user: the hash is the capability
		rootAdmin:   "200 - - -",
		a1Admin:     "200 - - -",
		a1AdminTerm: "200 - - -",
		a1Commander: "200 - - -",
		a1Officer:   "200 - - -",
		a1Inspector: "200 - - -",
		anonymous:   "401 - - -",
	}},
	"GET /v1/blobs/:sha256": {cells: map[string]string{ // any signed-in user: the hash is the capability
		rootAdmin:   "200 - - -",
		a1Admin:     "200 - - -",
		a1AdminTerm: "200 - - -",
		a1Commander: "200 - - -",
		a1Officer:   "200 - - -",
		a1Inspector: "200 - - -",
		anonymous:   "401 - - -",
	}},
	"POST /v1/sync/push": {cells: map[string]string{ // an empty batch: terminal sessions only
		rootAdmin:   "403 - - -",
		a1Admin:     "403 - - -",
		a1AdminTerm: "200 - - -",
		a1Commander: "403 - - -",
		a1Officer:   "200 - - -",
		a1Inspector: "200 - - -",
		anonymous:   "401 - - -",
	}},

	"POST /v1/devices/:id/revoke": {cells: map[string]string{ // self: the caller's terminal; else a new device
		rootAdmin:   "-   200 200 200",
		a1Admin:     "-   200 404 404",
		a1AdminTerm: "403 403 403 403",
		a1Commander: "-   403 403 403",
		a1Officer:   "403 403 403 403",
		a1Inspector: "403 403 403 403",
		anonymous:   "-   401 401 401",
	}},
}

// targetKind says what a route's target is.
type targetKind int

const (
	noTarget          targetKind = iota // the route names no record
	unitTarget                          // an org unit (in the path, or the parent/home unit in the body)
	userTarget                          // a user
	deviceTarget                        // a device
	freshDeviceTarget                   // the caller's terminal, or a device made for the one cell in the target unit
)

// scopeRoute says how to call a protected route on a target.
type scopeRoute struct {
	target targetKind
	list   bool   // a collection GET: the outcome is whether the target is listed
	write  bool   // refusals must leave every record alone; successes must change one
	field  string // errors[0].field of a 400
	body   func(id string, n int) any
	path   string // the path to call, for a route whose parameter is not :id
}

// scopeBlob is the photo the fixture stores; the matrix reads it and uploads it again.
var (
	scopeBlob     = []byte("\xff\xd8\xff scope matrix photo")
	scopeBlobPath = "/v1/blobs/" + storetest.SHA256(scopeBlob)
)

func scopeBlobBody() *mediaBody {
	return &mediaBody{data: scopeBlob, header: map[string]string{"Content-Type": "image/jpeg"}}
}

var scopeRoutes = map[string]scopeRoute{
	"GET /v1/me":            {},
	"GET /v1/org-units":     {target: unitTarget, list: true},
	"GET /v1/org-units/:id": {target: unitTarget},
	"POST /v1/org-units": {target: unitTarget, write: true, field: "/parent_id", body: func(id string, n int) any {
		return map[string]string{"kind": "beat", "name": fmt.Sprintf("Scope beat %d", n), "parent_id": id}
	}},
	"PATCH /v1/org-units/:id": {target: unitTarget, write: true, body: func(_ string, n int) any {
		return map[string]string{"name": fmt.Sprintf("Renamed unit %d", n)}
	}},
	"GET /v1/users":     {target: userTarget, list: true},
	"GET /v1/users/:id": {target: userTarget},
	"POST /v1/users": {target: unitTarget, write: true, field: "/org_unit_id", body: func(id string, n int) any {
		return map[string]any{"username": fmt.Sprintf("scope.user%d", n), "password": fmt.Sprintf("scope-password-%d", n),
			"roles": []string{"officer"}, "org_unit_id": id}
	}},
	"PATCH /v1/users/:id": {target: userTarget, write: true, body: func(_ string, n int) any {
		return map[string]string{"display_name": fmt.Sprintf("Renamed user %d", n)}
	}},
	"GET /v1/devices":     {target: deviceTarget, list: true},
	"GET /v1/devices/:id": {target: deviceTarget},
	"POST /v1/devices": {target: unitTarget, write: true, field: "/org_unit_id", body: func(id string, n int) any {
		return map[string]string{"name": fmt.Sprintf("T-scope-%d", n), "org_unit_id": id}
	}},
	"POST /v1/devices/:id/revoke": {target: freshDeviceTarget, write: true},
	"GET /v1/sync/pull":           {},
	"GET /v1/patrols":             {},
	"GET /v1/patrols/:id":         {target: userTarget},
	"GET /v1/patrols/:id/track":   {target: userTarget},
	"POST /v1/sync/push": {body: func(string, int) any {
		return map[string]any{"mutations": []any{}}
	}},
	"PUT /v1/blobs/:sha256":  {path: scopeBlobPath, body: func(string, int) any { return scopeBlobBody() }},
	"HEAD /v1/blobs/:sha256": {path: scopeBlobPath},
	"GET /v1/blobs/:sha256":  {path: scopeBlobPath},
}

// scopeCaller is one principal of the matrix.
type scopeCaller struct {
	token  string
	userID string
	home   string // the home unit
	device string // the terminal of a terminal session
}

// scopeFixture is the tree, the callers and the targets.
type scopeFixture struct {
	e       *env
	tr      tree
	who     map[string]*scopeCaller
	users   [nTargets]string // target users (tSelf unused)
	devices [nTargets]string // target devices (tSelf unused)
	n       int              // makes names unique
}

func newScopeFixture(e *env) *scopeFixture {
	e.t.Helper()
	tr := e.tree()
	fx := &scopeFixture{e: e, tr: tr, who: map[string]*scopeCaller{}}
	fx.who[rootAdmin] = &scopeCaller{token: e.admin, userID: e.me(e.admin).User.ID, home: tr.Root}
	fx.who[anonymous] = &scopeCaller{}

	console := func(username string, roles ...string) *scopeCaller {
		id := e.user(username, tr.StationA1, roles...)
		return &scopeCaller{token: e.login(username, username+"-password").AccessToken, userID: id, home: tr.StationA1}
	}
	terminal := func(p *scopeCaller, username, deviceName string) *scopeCaller {
		d := e.device(deviceName, tr.StationA1)
		return &scopeCaller{token: e.deviceLogin(d, username).AccessToken, userID: p.userID, home: p.home, device: d.ID}
	}
	fx.who[a1Admin] = console("a1.admin", "admin", "commander")
	fx.who[a1AdminTerm] = terminal(fx.who[a1Admin], "a1.admin", "T-A1-admin")
	fx.who[a1Commander] = console("a1.commander", "commander")
	officer := &scopeCaller{userID: e.user("a1.officer", tr.StationA1, "officer"), home: tr.StationA1}
	fx.who[a1Officer] = terminal(officer, "a1.officer", "T-A1-officer")
	inspector := &scopeCaller{userID: e.user("a1.inspector", tr.StationA1, "inspector"), home: tr.StationA1}
	fx.who[a1Inspector] = terminal(inspector, "a1.inspector", "T-A1-inspector")
	e.must(200, "PUT", scopeBlobPath, scopeBlobBody(), fx.who[a1Officer].token, nil)

	fx.users[tOwn] = e.user("a1.target", tr.StationA1, "officer")
	fx.users[tSibling] = e.user("a2.target", tr.StationA2, "officer")
	fx.users[tParent] = e.user("za.target", tr.ZoneA, "officer")
	fx.devices[tOwn] = e.device("T-A1-spare", tr.StationA1).ID
	fx.devices[tSibling] = e.device("T-A2", tr.StationA2).ID
	fx.devices[tParent] = e.device("T-ZA", tr.ZoneA).ID
	return fx
}

// target resolves a cell's target to an id ("" where there is none).
func (fx *scopeFixture) target(kind targetKind, p *scopeCaller, t int) string {
	switch kind {
	case unitTarget:
		return [nTargets]string{p.home, fx.tr.StationA1, fx.tr.StationA2, fx.tr.ZoneA}[t]
	case userTarget:
		if t == tSelf {
			return p.userID
		}
		return fx.users[t]
	case deviceTarget:
		if t == tSelf {
			return p.device
		}
		return fx.devices[t]
	case freshDeviceTarget:
		if t == tSelf {
			return p.device
		}
		fx.n++
		var d idJSON
		fx.e.must(201, "POST", "/v1/devices", map[string]string{"name": fmt.Sprintf("T-revoke-%d", fx.n),
			"org_unit_id": fx.target(unitTarget, p, t)}, fx.e.admin, &d)
		return d.ID
	}
	return ""
}

// run calls one cell and returns its outcome and anything else wrong with the answer.
func (fx *scopeFixture) run(key string, rt scopeRoute, p *scopeCaller, t int) (string, []string) {
	e := fx.e
	id := fx.target(rt.target, p, t)
	if rt.target != noTarget && id == "" {
		e.t.Fatalf("%s: target %s has no id: mark the cell \"-\"", key, targetNames[t])
	}
	method, pattern, _ := strings.Cut(key, " ")
	path := strings.Replace(pattern, ":id", id, 1)
	if rt.path != "" {
		path = rt.path
	}
	if rt.list {
		path += "?limit=1000"
	}
	var body any
	if rt.body != nil {
		fx.n++
		body = rt.body(id, fx.n)
	}
	var before string
	if rt.write {
		before = e.recordsSnapshot()
	}
	r := e.do(method, path, body, p.token)

	var issues []string
	outcome := strconv.Itoa(r.Status)
	if rt.list && r.Status == 200 {
		outcome = "out"
		if slices.Contains(itemIDs(e, r), id) {
			outcome = "in"
		}
	}
	if r.Status >= 400 && method != "HEAD" { // a HEAD answer has no body
		field := ""
		if r.Status == 400 {
			field = rt.field
		}
		if err := problemMismatch(r, r.Status, field); err != nil {
			issues = append(issues, err.Error())
		}
	}
	if rt.write {
		switch changed := e.recordsSnapshot() != before; {
		case r.Status >= 400 && changed:
			issues = append(issues, "refused, yet the stored records changed")
		case r.Status < 300 && !changed:
			issues = append(issues, "succeeded, yet no stored record changed")
		}
	}
	if method == "GET" {
		if h := e.do("HEAD", path, nil, p.token); h.Status != r.Status {
			issues = append(issues, fmt.Sprintf("HEAD answers %d, GET %d", h.Status, r.Status))
		}
	}
	return outcome, issues
}

// listIDs returns the ids of a list answer's items.
func itemIDs(e *env, r *response) []string {
	e.t.Helper()
	var p struct {
		Items []idJSON `json:"items"`
	}
	r.decode(e.t, &p)
	ids := make([]string, len(p.Items))
	for i, it := range p.Items {
		ids[i] = it.ID
	}
	return ids
}

// recordsSnapshot is every record the root admin can list: org units, users, devices and patrol
// places. Any stored change shows in it (versions and update times move).
func (e *env) recordsSnapshot() string {
	e.t.Helper()
	var b strings.Builder
	for _, list := range []string{"/v1/org-units", "/v1/users", "/v1/devices", "/v1/routes", "/v1/checkpoints", "/v1/kiosks"} {
		b.Write(e.must(200, "GET", list+"?limit=1000", nil, e.admin, nil).Body)
		b.WriteByte('\n')
	}
	return b.String()
}

// scopeRouteKeys returns the table's routes in order.
func scopeRouteKeys(m map[string]scopeExpect) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestScopeTableCoversEveryRoute fails for a registered route without a row in scopeTable, a
// row for a route that is gone, and a row that is incomplete.
func TestScopeTableCoversEveryRoute(t *testing.T) {
	e := newEnv(t)
	registered := map[string]bool{}
	routes := e.app.GetRoutes(true)
	for _, r := range routes {
		key := r.Method + " " + r.Path
		if r.Method == "HEAD" && autoHead(routes, r) { // Fiber adds HEAD to every GET; the GET row covers it
			key = "GET " + r.Path
		}
		registered[key] = true
		if _, ok := scopeTable[key]; !ok {
			t.Errorf("route %s %s has no row in scopeTable: add one (public, or an outcome per principal and target)", r.Method, r.Path)
		}
	}
	for _, key := range scopeRouteKeys(scopeTable) {
		x := scopeTable[key]
		if !registered[key] {
			t.Errorf("scopeTable has a row for %s, which the app does not register", key)
		}
		if x.public != 0 {
			continue
		}
		if _, ok := scopeRoutes[key]; !ok {
			t.Errorf("%s: no entry in scopeRoutes says how to call it", key)
		}
		for _, who := range principalOrder {
			if cells := strings.Fields(x.cells[who]); len(cells) != nTargets {
				t.Errorf("%s: %s has %d outcomes, want %d (%s)", key, who, len(cells), nTargets, strings.Join(targetNames[:], " "))
			}
		}
	}
}

// autoHead reports whether r is the HEAD route Fiber adds for a GET: the GET's handlers and
// no others. (A HEAD registered for itself just before its GET is merged with the added one.)
func autoHead(routes []fiber.Route, r fiber.Route) bool {
	ptrs := func(r fiber.Route) []uintptr {
		p := make([]uintptr, len(r.Handlers))
		for i, h := range r.Handlers {
			p[i] = reflect.ValueOf(h).Pointer()
		}
		return p
	}
	for _, g := range routes {
		if g.Method == "GET" && g.Path == r.Path && slices.Equal(ptrs(g), ptrs(r)) {
			return true
		}
	}
	return false
}

// TestScopeMatrix calls every protected route as every principal on every target and
// compares with scopeTable; public routes must answer an anonymous caller.
func TestScopeMatrix(t *testing.T) {
	e := newEnv(t)
	fx := newScopeFixture(e)
	checkScopeCallers(t, fx)

	got := map[string]map[string][nTargets]string{} // route → principal → outcomes, "!"-marked when wrong
	for _, key := range scopeRouteKeys(scopeTable) {
		x := scopeTable[key]
		if x.public != 0 {
			if err := checkPublicRoute(e, key, x.public); err != nil {
				t.Errorf("%s (public): %v", key, err)
			}
			continue
		}
		rt, ok := scopeRoutes[key]
		if !ok {
			continue // TestScopeTableCoversEveryRoute reports it
		}
		got[key] = map[string][nTargets]string{}
		for _, who := range principalOrder {
			want := strings.Fields(x.cells[who])
			var row [nTargets]string
			for col := 0; col < nTargets && col < len(want); col++ {
				row[col] = "-"
				if want[col] == "-" {
					continue
				}
				outcome, issues := fx.run(key, rt, fx.who[who], col)
				row[col] = outcome
				if outcome != want[col] {
					t.Errorf("%s as %s on %s: got %s, want %s", key, who, targetNames[col], outcome, want[col])
				}
				for _, is := range issues {
					t.Errorf("%s as %s on %s: %s", key, who, targetNames[col], is)
				}
				if outcome != want[col] || len(issues) > 0 {
					row[col] += "!"
				}
			}
			got[key][who] = row
		}
	}
	if t.Failed() {
		t.Log("scope matrix, want → got where they differ (! marks a wrong cell):\n" + renderScopeMatrix(got))
	}
	checkMetricsLabels(t, e)
}

// checkMetricsLabels: after requests of every method on every route, /metrics still answers
// and labels each request with a real method (label values must not alias request memory
// that a later request reuses).
func checkMetricsLabels(t *testing.T, e *env) {
	t.Helper()
	r := e.do("GET", "/metrics", nil, "")
	if r.Status != 200 {
		t.Fatalf("GET /metrics after the matrix: status %d: %.600s", r.Status, r.Body)
	}
	methods := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true}
	for _, line := range strings.Split(string(r.Body), "\n") {
		if !strings.HasPrefix(line, "beatgrid_http_requests_total{") {
			continue
		}
		_, rest, _ := strings.Cut(line, `method="`)
		if m, _, _ := strings.Cut(rest, `"`); !methods[m] {
			t.Errorf("metrics label method=%q: %s", m, line)
		}
	}
}

// checkScopeCallers checks the principals are who the matrix says: roles and sign-in places.
func checkScopeCallers(t *testing.T, fx *scopeFixture) {
	t.Helper()
	e := fx.e
	wantRoles := map[string][]string{rootAdmin: {"admin", "commander"}, a1Admin: {"admin", "commander"},
		a1AdminTerm: {"commander"}, a1Commander: {"commander"}, a1Officer: {"officer"}, a1Inspector: {"inspector"}}
	for who, roles := range wantRoles {
		p := fx.who[who]
		me := e.me(p.token)
		got := slices.Sorted(slices.Values(me.Roles))
		if !slices.Equal(got, roles) || me.Scope.ID != p.home || (me.Device == nil) != (p.device == "") {
			t.Errorf("%s: /v1/me = %+v; want roles %v, scope %s, device %q", who, me, roles, p.home, p.device)
		}
	}
	for _, username := range []string{"a1.officer", "a1.inspector"} {
		r := e.do("POST", "/v1/auth/login", map[string]string{"username": username, "password": username + "-password"}, "")
		if err := problemMismatch(r, 403, ""); err != nil {
			t.Errorf("%s at the console: %v", username, err)
		}
	}
}

// checkPublicRoute calls a public route with no token: GET bare, POST with {}.
func checkPublicRoute(e *env, key string, want int) error {
	method, path, _ := strings.Cut(key, " ")
	var body any
	if method == "POST" {
		body = "{}"
	}
	r := e.do(method, path, body, "")
	if r.Status >= 400 {
		if err := problemMismatch(r, want, ""); err != nil {
			return err
		}
	} else if r.Status != want {
		return fmt.Errorf("status %d, want %d; body %.200s", r.Status, want, r.Body)
	}
	if method == "GET" {
		if h := e.do("HEAD", path, nil, ""); h.Status != r.Status {
			return fmt.Errorf("HEAD answers %d, GET %d", h.Status, r.Status)
		}
	}
	return nil
}

// renderScopeMatrix prints the table: per route and principal, want for a right cell, want→got
// for a wrong one.
func renderScopeMatrix(got map[string]map[string][nTargets]string) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "route\tprincipal\t%s\n", strings.Join(targetNames[:], "\t"))
	for _, key := range scopeRouteKeys(scopeTable) {
		x := scopeTable[key]
		if x.public != 0 {
			fmt.Fprintf(w, "%s\tpublic (no token)\t%d\t-\t-\t-\n", key, x.public)
			continue
		}
		for _, who := range principalOrder {
			want := strings.Fields(x.cells[who])
			cells := make([]string, nTargets)
			for i := range cells {
				g := got[key][who][i]
				switch {
				case i >= len(want):
					cells[i] = "?"
				case strings.HasSuffix(g, "!"):
					cells[i] = want[i] + "→" + g
				default:
					cells[i] = want[i]
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", key, who, strings.Join(cells, "\t"))
		}
	}
	w.Flush()
	return b.String()
}

// TestScopeMoves: an admin moves units and users only within his scope, and what moves out
// of it is gone from his view.
func TestScopeMoves(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	e.user("a1.admin", tr.StationA1, "admin", "commander")
	a1 := e.login("a1.admin", "a1.admin-password").AccessToken
	officer := e.user("a1.target", tr.StationA1, "officer")

	refused := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"beat to a sibling station", "PATCH", "/v1/org-units/" + tr.BeatA1, map[string]string{"parent_id": tr.StationA2}, 400, "/parent_id"},
		{"beat to an unknown unit", "PATCH", "/v1/org-units/" + tr.BeatA1, map[string]string{"parent_id": "no-such-unit"}, 400, "/parent_id"},
		{"own scope unit moved", "PATCH", "/v1/org-units/" + tr.StationA1, map[string]string{"parent_id": tr.ZoneB}, 400, "/parent_id"},
		{"station below its beat", "PATCH", "/v1/org-units/" + tr.StationA1, map[string]string{"parent_id": tr.BeatA1}, 400, "/parent_id"},
		{"user to a sibling station", "PATCH", "/v1/users/" + officer, map[string]string{"org_unit_id": tr.StationA2}, 400, "/org_unit_id"},
		{"user to the parent zone", "PATCH", "/v1/users/" + officer, map[string]string{"org_unit_id": tr.ZoneA}, 400, "/org_unit_id"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			e := e.under(t)
			before := e.recordsSnapshot()
			if err := problemMismatch(e.do(c.method, c.path, c.body, a1), c.status, c.field); err != nil {
				t.Error(err)
			}
			if e.recordsSnapshot() != before {
				t.Error("refused, yet the stored records changed")
			}
		})
	}

	t.Run("root admin moves the beat out of A1's scope", func(t *testing.T) {
		e := e.under(t)
		e.must(200, "PATCH", "/v1/org-units/"+tr.BeatA1, map[string]string{"parent_id": tr.StationA2}, e.admin, nil)
		e.must(404, "GET", "/v1/org-units/"+tr.BeatA1, nil, a1, nil)
		if slices.Contains(itemIDs(e, e.must(200, "GET", "/v1/org-units?limit=1000", nil, a1, nil)), tr.BeatA1) {
			t.Error("the moved beat is still in A1's list")
		}
		if err := problemMismatch(e.do("PATCH", "/v1/org-units/"+tr.BeatA1, map[string]string{"name": "x"}, a1), 404, ""); err != nil {
			t.Error(err)
		}
	})
}

// under returns e reporting to t (for subtests).
func (e *env) under(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}
