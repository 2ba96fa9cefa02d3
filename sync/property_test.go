package sync_test

// Property tests of the push engine and the feed, as state machines checked against simple
// models (pgregory.net/rapid). On failure rapid prints the shortest sequence of actions it
// found and saves it under testdata/rapid; rerun it with -rapid.failfile.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/store"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"pgregory.net/rapid"
)

// ---------------------------------------------------------------------------------------
// Push engine
// ---------------------------------------------------------------------------------------

// TestEngineStateMachine pushes random batches of a few devices' mutations — repeated,
// reordered, re-encoded, some invalid, some reusing an id for another payload — through
// engines that restart, run concurrently, or never loaded the log, and checks every answer,
// the stored log and the folded state against a model that keeps the first answer of every
// (device, id).
func TestEngineStateMachine(t *testing.T) {
	root := t.TempDir()
	rapid.Check(t, func(rt *rapid.T) {
		m := newEngineMachine(rt, openRunStore(rt, root))
		rt.Repeat(rapid.StateMachineActions(m))
	})
}

// openRunStore opens a fresh embedded store for one rapid run and closes it when the run
// ends (storetest.OpenEmbedded would keep every run's store open until the test ends).
func openRunStore(rt *rapid.T, root string) *store.DB {
	dir, err := os.MkdirTemp(root, "run")
	if err != nil {
		rt.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, store.Config{DataDir: dir, Logger: quietLog})
	if err != nil {
		rt.Fatalf("open store: %v", err)
	}
	rt.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = db.Close(ctx)
		_ = os.RemoveAll(dir)
	})
	return db
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// The universe: devices, each with a pool of mutations to push.

// kind is a kind of mutation content: four valid ones, then ways to be rejected.
type kind int

const (
	patrolStart kind = iota
	patrolEnd
	trackPoints
	kioskCheckin
	badMode       // patrol.start in a mode that does not exist
	latOutOfRange // track.points at latitude 95
	unknownField  // patrol.end with a field the API does not have
	ahead         // patrol.end 35 h on: implausible (over 24 h ahead) until the servers' clock moves on
	unknownType   // a type nobody registered
)

var (
	validKinds   = []kind{patrolStart, patrolEnd, trackPoints, kioskCheckin}
	invalidKinds = []kind{badMode, latOutOfRange, unknownField, ahead, unknownType}
	foldedTypes  = []string{"patrol.start", "patrol.end", "track.points", "kiosk.checkin"}
	patrolIDs    = []string{"0193a7c0-0000-7000-8000-00000000000a", "0193a7c0-0000-7000-8000-00000000000b"}
	modes        = []string{"foot", "vehicle", "video", "drone"}
	beijing      = time.FixedZone("UTC+8", 8*3600)
)

// content is what a mutation says: a kind, when it happened and a small number that varies
// it. Every payload carries at, so contents with another at are other payloads.
type content struct {
	kind kind
	at   time.Time
	n    int
}

var kindNames = []string{"patrolStart", "patrolEnd", "trackPoints", "kioskCheckin", "badMode", "latOutOfRange",
	"unknownField", "ahead", "unknownType"}

func (c content) GoString() string {
	return fmt.Sprintf("%s(n=%d t=%s)", kindNames[c.kind], c.n, c.at.Format("15:04:05"))
}

func (c content) typ() string {
	switch c.kind {
	case patrolStart, badMode:
		return "patrol.start"
	case patrolEnd, unknownField, ahead:
		return "patrol.end"
	case trackPoints, latOutOfRange:
		return "track.points"
	case kioskCheckin:
		return "kiosk.checkin"
	}
	return "patrol.teleport"
}

// aheadBy is how far after at an ahead patrol.end says it ended.
const aheadBy = 35 * time.Hour

// occurred is when c happened by the device's clock.
func (c content) occurred() time.Time {
	if c.kind == ahead {
		return c.at.Add(aheadBy)
	}
	return c.at
}

// rejection is the code a first push of c at now gets; "" when it applies.
func (c content) rejection(now time.Time) string {
	switch {
	case slices.Contains(validKinds, c.kind):
		return ""
	case c.kind == ahead && !c.occurred().After(now.Add(24*time.Hour)):
		return "" // plausible now
	case c.kind == unknownType:
		return bgsync.CodeUnknownType
	}
	return bgsync.CodeInvalidPayload
}

// body is the payload, its times written in loc.
func (c content) body(loc *time.Location) map[string]any {
	at, pid := c.at.In(loc), patrolIDs[c.n%len(patrolIDs)]
	switch c.kind {
	case patrolStart:
		return map[string]any{"patrol_id": pid, "mode": modes[c.n%len(modes)], "t": at}
	case badMode:
		return map[string]any{"patrol_id": pid, "mode": "boat", "t": at}
	case patrolEnd:
		return map[string]any{"patrol_id": pid, "t": at}
	case unknownField:
		return map[string]any{"patrol_id": pid, "t": at, "x": c.n}
	case ahead:
		return map[string]any{"patrol_id": pid, "t": at.Add(aheadBy)}
	case trackPoints, latOutOfRange:
		lat := 29.45
		if c.kind == latOutOfRange {
			lat = 95
		}
		pts := make([]map[string]any, 1+c.n%3)
		for i := range pts {
			pts[i] = map[string]any{"lon": 121.9 + float64(i)*1e-4, "lat": lat, "t": at.Add(time.Duration(i) * 5 * time.Second)}
		}
		return map[string]any{"patrol_id": pid, "points": pts}
	case kioskCheckin:
		return map[string]any{"kiosk_id": fmt.Sprintf("kiosk-%d", c.n), "t": at}
	}
	return map[string]any{"n": c.n, "t": at}
}

// form is how a payload is written: the same content in other bytes.
type form int

const (
	plain  form = iota
	spaced      // indented: the same bytes once white space is dropped
	zoned       // times in UTC+8: the same fact once decoded, other bytes
)

func (c content) payload(f form) json.RawMessage {
	loc := time.UTC
	if f == zoned {
		loc = beijing
	}
	b, err := json.Marshal(c.body(loc))
	if err != nil {
		panic(err)
	}
	if f == spaced {
		var buf bytes.Buffer
		_ = json.Indent(&buf, b, "", "  ")
		b = buf.Bytes()
	}
	return b
}

// entry is one mutation id of a device's pool: its seq and two contents, the mutation and
// another one later sent under the same id (an id reused).
type entry struct {
	name     string // for the logs: m<n> for the n-th UUID of mutationIDs, bad<seq> for an id that is not one
	id       string
	validID  bool // a UUID; other ids are rejected and never stored
	seq      int64
	contents [2]content
}

func (e *entry) GoString() string {
	return fmt.Sprintf("%s{seq %d: %#v, reused: %#v}", e.name, e.seq, e.contents[0], e.contents[1])
}

// item is one mutation as pushed: an entry's content in a form.
type item struct {
	e     *entry
	class int // 0: the mutation, 1: another payload under its id
	form  form
}

func (it item) GoString() string {
	return fmt.Sprintf("%s#%d(seq %d %#v %s)", it.e.name, it.class, it.e.seq, it.content(), []string{"plain", "spaced", "zoned"}[it.form])
}

func (it item) content() content { return it.e.contents[it.class] }

func (it item) incoming() bgsync.Incoming {
	c := it.content()
	return bgsync.Incoming{ID: it.e.id, Seq: it.e.seq, Type: c.typ(), Payload: c.payload(it.form)}
}

// device is a terminal and the mutations it may push.
type device struct {
	p    *beatgrid.Principal
	pool []*entry
}

func (d *device) GoString() string { return fmt.Sprintf("%s%#v", d.p.DeviceID, d.pool) }

// mutationIDs are few, so that devices share some ids: (device, id) is the key, not id.
var mutationIDs = func() []string {
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = fmt.Sprintf("0193a7c0-1111-7000-8000-%012d", i)
	}
	return ids
}()

var clockStart = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC) // the engines' clock at the start of a run

// Generators. Shrinking goes to the first choice, so the ordinary one comes first.

func contentGen() *rapid.Generator[content] {
	return rapid.Custom(func(t *rapid.T) content {
		k := rapid.OneOf(rapid.SampledFrom(validKinds), rapid.SampledFrom(validKinds), rapid.SampledFrom(invalidKinds)).Draw(t, "kind")
		ago := time.Duration(rapid.IntRange(0, 600).Draw(t, "minutes_ago")) * time.Minute
		return content{kind: k, at: clockStart.Add(-ago), n: rapid.IntRange(0, 3).Draw(t, "n")}
	})
}

func entryGen(seq int64) *rapid.Generator[*entry] {
	return rapid.Custom(func(t *rapid.T) *entry {
		n := rapid.IntRange(0, len(mutationIDs)-1).Draw(t, "id")
		e := &entry{name: fmt.Sprint("m", n), id: mutationIDs[n], validID: true, seq: seq}
		if rapid.IntRange(0, 9).Draw(t, "seq_zero") == 9 {
			e.seq = 0
		}
		if rapid.IntRange(0, 14).Draw(t, "bad_id") == 14 {
			e.name, e.id, e.validID = fmt.Sprint("bad", seq), fmt.Sprintf("not-a-uuid-%04d", seq), false
		}
		e.contents[0] = contentGen().Draw(t, "content")
		e.contents[1] = contentGen().Draw(t, "reused_content")
		e.contents[1].at = e.contents[0].at.Add(time.Duration(rapid.IntRange(1, 59).Draw(t, "later_s")) * time.Second)
		return e
	})
}

func deviceGen(i int) *rapid.Generator[*device] {
	return rapid.Custom(func(t *rapid.T) *device {
		n := rapid.IntRange(1, 6).Draw(t, "pool_size")
		d := &device{p: &beatgrid.Principal{UserID: fmt.Sprint("u-", i), Username: fmt.Sprint("officer", i),
			Roles: []string{"officer"}, OrgUnitID: fmt.Sprint("st-", i%2), DeviceID: fmt.Sprint("dev-", i)}}
		ids := map[string]bool{}
		for j := range n {
			e := entryGen(int64(j+1)).Draw(t, "entry")
			if !ids[e.id] { // ids are distinct within a device
				ids[e.id] = true
				d.pool = append(d.pool, e)
			}
		}
		return d
	})
}

// batchGen draws a batch: entries of the pool in any order, with repeats, sometimes under
// the other content, in any form.
func batchGen(d *device) *rapid.Generator[[]item] {
	return rapid.SliceOfN(rapid.Custom(func(t *rapid.T) item {
		it := item{e: rapid.SampledFrom(d.pool).Draw(t, "entry")}
		if rapid.IntRange(0, 4).Draw(t, "reuse_id") == 4 {
			it.class = 1
		}
		it.form = rapid.SampledFrom([]form{plain, spaced, zoned}).Draw(t, "form")
		return it
	}), 1, 8)
}

// skewGen draws the device clock's offset: within MaxSkew (2 min) or beyond.
func skewGen() *rapid.Generator[time.Duration] {
	return rapid.SampledFrom([]time.Duration{0, 90 * time.Second, -10 * time.Minute, 3 * time.Minute})
}

// The model.

// decision is the first answer a (device, id) got; every later push of the id is answered
// from it.
type decision struct {
	device string
	item   item
	seq    int64
	status string
	code   string
	flags  []string
}

// pushModel is what the log must hold: the decision of every (device, id).
type pushModel struct {
	decided map[string]*decision // "device/id" →
}

func decisionKey(d *device, it item) string { return d.p.DeviceID + "/" + it.e.id }

// firstAnswer is the answer a mutation gets the first time its id is pushed, at now.
func firstAnswer(it item, skewed bool, now time.Time) bgsync.Result {
	c := it.content()
	r := bgsync.Result{ID: it.e.id, Status: beatgrid.StatusApplied}
	switch {
	case !it.e.validID:
		return bgsync.Result{ID: it.e.id, Status: beatgrid.StatusRejected, Code: bgsync.CodeInvalidPayload}
	case it.e.seq < 1:
		r.Status, r.Code = beatgrid.StatusRejected, bgsync.CodeInvalidSeq
	case c.rejection(now) != "":
		r.Status, r.Code = beatgrid.StatusRejected, c.rejection(now)
	}
	if skewed {
		r.Flags = []string{"clock_skew"}
	}
	return r
}

// decide records the first answer of it.
func (m *pushModel) decide(d *device, it item, r bgsync.Result) *decision {
	dec := &decision{device: d.p.DeviceID, item: it, seq: it.e.seq, status: r.Status, code: r.Code, flags: r.Flags}
	m.decided[decisionKey(d, it)] = dec
	return dec
}

// sameBytes reports whether it is the decided mutation's type and payload, up to white space.
func (dec *decision) sameBytes(it item) bool {
	a, b := dec.item.incoming(), it.incoming()
	return a.Type == b.Type && bytes.Equal(compactJSON(a.Payload), compactJSON(b.Payload))
}

func compactJSON(raw []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}

// repeat is the answer to a known id: a duplicate of the first answer for the same
// mutation, id_reused for another. An applied mutation is its fact, in any encoding; a
// rejected one is known by its bytes (up to white space) — the same content in other bytes
// (times in another zone) may get either answer.
func (dec *decision) repeat(it item) []bgsync.Result {
	dup := bgsync.Result{ID: it.e.id, Status: beatgrid.StatusDuplicate, Code: dec.code, Flags: dec.flags,
		OriginalStatus: dec.status}
	reused := bgsync.Result{ID: it.e.id, Status: beatgrid.StatusRejected, Code: bgsync.CodeIDReused}
	switch {
	case dec.item.class != it.class:
		return []bgsync.Result{reused}
	case dec.status == beatgrid.StatusApplied || dec.sameBytes(it):
		return []bgsync.Result{dup}
	}
	return []bgsync.Result{reused, dup}
}

// sameResult compares the parts of a result the model predicts (not the free-text detail).
func sameResult(want, got bgsync.Result) bool {
	return want.ID == got.ID && want.Status == got.Status && want.Code == got.Code &&
		want.OriginalStatus == got.OriginalStatus && slices.Equal(want.Flags, got.Flags)
}

func fmtResult(r bgsync.Result) string {
	return fmt.Sprintf("{%s code=%q original=%q flags=%v}", r.Status, r.Code, r.OriginalStatus, r.Flags)
}

// Servers.

// server is one engine, with its fold and what the model expects of it.
type server struct {
	name   string
	engine *bgsync.Engine
	folds  *foldCount
	want   map[string]bool           // the keys it must have folded, once each
	seqs   map[string]map[int64]bool // device → the seqs of the stored mutations it saw
	tally  struct{ pushes, applied, duplicates, rejected int64 }
}

func (s *server) GoString() string { return s.name }

// foldCount is the test's fold: how many times each mutation was folded, and its fact.
type foldCount struct {
	mu    gosync.Mutex
	times map[string]int
	facts map[string]string
}

func (f *foldCount) fold(m *beatgrid.Mutation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := m.DeviceID + "/" + m.ID
	f.times[k]++
	f.facts[k] = string(m.Fact)
}

// newServer starts an engine on db; a loaded one has read the log (a restart), another has
// not (a server that never saw it).
func newServer(t *rapid.T, name string, db *store.DB, now func() time.Time, model *pushModel, load bool) *server {
	reg := bgsync.NewRegistry()
	s := &server{name: name, folds: &foldCount{times: map[string]int{}, facts: map[string]string{}},
		want: map[string]bool{}, seqs: map[string]map[int64]bool{}}
	for _, typ := range foldedTypes {
		reg.Fold(typ, s.folds.fold)
	}
	s.engine = bgsync.New(db, reg, bgsync.Config{Now: now, Logger: quietLog})
	t.Cleanup(s.engine.Close)
	if load {
		if err := s.engine.Load(context.Background()); err != nil {
			t.Fatalf("load: %v", err)
		}
		for k, dec := range model.decided {
			s.want[k] = dec.status == beatgrid.StatusApplied
			s.saw(dec.device, dec.seq)
		}
	}
	return s
}

// saw notes that the engine knows the stored mutation of seq from device.
func (s *server) saw(device string, seq int64) {
	if s.seqs[device] == nil {
		s.seqs[device] = map[int64]bool{}
	}
	if seq >= 1 {
		s.seqs[device][seq] = true
	}
}

func (s *server) count(r bgsync.Result) {
	switch r.Status {
	case beatgrid.StatusApplied:
		s.tally.applied++
	case beatgrid.StatusDuplicate:
		s.tally.duplicates++
	case beatgrid.StatusRejected:
		s.tally.rejected++
	}
}

// gapsOf are the seq gaps of a device that sent seqs: the runs missing below the highest.
func gapsOf(seqs map[int64]bool) []bgsync.Gap {
	var upTo int64
	for seqs[upTo+1] {
		upTo++
	}
	var out []bgsync.Gap
	prev := upTo
	for _, n := range slices.Sorted(maps.Keys(seqs)) {
		if n > upTo {
			if n > prev+1 {
				out = append(out, bgsync.Gap{From: prev + 1, To: n - 1})
			}
			prev = n
		}
	}
	return out
}

// The state machine.

type engineMachine struct {
	db       *store.DB
	hours    atomic.Int64 // the engines' clock: clockStart plus this many hours
	devices  []*device
	model    *pushModel
	primary  *server // loaded the log at start, and at every restart
	stranger *server // another server that never loaded the log; nil until started
	servers  int
	stored   map[string]*beatgrid.Mutation // the log as last scanned
	pushed   bool                          // pushed since
}

func newEngineMachine(t *rapid.T, db *store.DB) *engineMachine {
	m := &engineMachine{db: db, model: &pushModel{decided: map[string]*decision{}}}
	for i := range rapid.IntRange(1, 3).Draw(t, "devices") {
		m.devices = append(m.devices, deviceGen(i+1).Draw(t, "device"))
	}
	m.primary = m.newServer(t, true)
	return m
}

func (m *engineMachine) now() time.Time {
	return clockStart.Add(time.Duration(m.hours.Load()) * time.Hour)
}

func (m *engineMachine) newServer(t *rapid.T, load bool) *server {
	m.servers++
	return newServer(t, fmt.Sprint("server ", m.servers), m.db, m.now, m.model, load)
}

// request is one push: a batch of a device through a server.
type request struct {
	srv   *server
	dev   *device
	items []item
	skew  time.Duration
	now   time.Time // the servers' clock when it ran
	res   *bgsync.PushResponse
	err   error
}

func (m *engineMachine) drawPush(t *rapid.T, srv *server) *request {
	m.pushed = true
	d := rapid.SampledFrom(m.devices).Draw(t, "device")
	return &request{srv: srv, dev: d, items: batchGen(d).Draw(t, "batch"), skew: skewGen().Draw(t, "skew")}
}

func (p *request) run(now time.Time) {
	p.now = now
	req := &bgsync.PushRequest{DeviceTime: now.Add(p.skew)}
	for _, it := range p.items {
		req.Mutations = append(req.Mutations, it.incoming())
	}
	p.res, p.err = p.srv.engine.Push(context.Background(), p.dev.p, req)
}

func (p *request) skewed() bool { return p.skew > 2*time.Minute || p.skew < -2*time.Minute }

// answered checks that a push succeeded with one result per mutation and its skew.
func (p *request) answered(t *rapid.T) {
	if p.err != nil {
		t.Fatalf("%s: push: %v", p.srv.name, p.err)
	}
	if len(p.res.Results) != len(p.items) {
		t.Fatalf("%s: %d results for %d mutations", p.srv.name, len(p.res.Results), len(p.items))
	}
	if s := p.res.ClockSkewSeconds; s == nil || *s != p.skew.Seconds() {
		t.Fatalf("%s: clock skew %v, want %v s", p.srv.name, s, p.skew.Seconds())
	}
	p.srv.tally.pushes++
	for _, r := range p.res.Results {
		p.srv.count(r)
	}
}

// expect checks the result of mutation i of p: one of want.
func (m *engineMachine) expect(t *rapid.T, p *request, i int, want ...bgsync.Result) {
	got := p.res.Results[i]
	if slices.ContainsFunc(want, func(w bgsync.Result) bool { return sameResult(w, got) }) {
		return
	}
	var ws []string
	for _, w := range want {
		ws = append(ws, fmtResult(w))
	}
	t.Fatalf("%s, %s, mutation %d (%#v): got %s, want %s", p.srv.name, p.dev.p.DeviceID, i, p.items[i], fmtResult(got),
		strings.Join(ws, " or "))
}

// check checks a push that ran alone against the model, in order, and updates the model.
func (m *engineMachine) check(t *rapid.T, p *request) {
	p.answered(t)
	for i, it := range p.items {
		if !it.e.validID {
			m.expect(t, p, i, firstAnswer(it, p.skewed(), p.now))
			continue
		}
		k := decisionKey(p.dev, it)
		dec := m.model.decided[k]
		if dec == nil {
			want := firstAnswer(it, p.skewed(), p.now)
			m.expect(t, p, i, want)
			dec = m.model.decide(p.dev, it, want)
			p.srv.want[k] = want.Status == beatgrid.StatusApplied
		} else {
			m.expect(t, p, i, dec.repeat(it)...)
		}
		p.srv.saw(p.dev.p.DeviceID, dec.seq)
	}
	if want := gapsOf(p.srv.seqs[p.dev.p.DeviceID]); !slices.Equal(p.res.SeqGaps, want) {
		t.Fatalf("%s: seq gaps %v, want %v", p.srv.name, p.res.SeqGaps, want)
	}
}

// checkConcurrent checks pushes that ran at the same time. A key known before is answered
// from its decision; a new key must have exactly one first answer among all the pushes,
// which decides it, and every other push of it is answered from that.
func (m *engineMachine) checkConcurrent(t *rapid.T, ps []*request) {
	type use struct {
		p *request
		i int
	}
	fresh := map[string][]use{}
	for _, p := range ps {
		p.answered(t)
		for i, it := range p.items {
			k := decisionKey(p.dev, it)
			switch dec := m.model.decided[k]; {
			case !it.e.validID:
				m.expect(t, p, i, firstAnswer(it, p.skewed(), p.now))
			case dec != nil:
				m.expect(t, p, i, dec.repeat(it)...)
			default:
				fresh[k] = append(fresh[k], use{p, i})
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(fresh)) {
		var firsts []use
		for _, u := range fresh[k] {
			if r := u.p.res.Results[u.i]; r.Status == beatgrid.StatusApplied ||
				r.Status == beatgrid.StatusRejected && r.Code != bgsync.CodeIDReused {
				firsts = append(firsts, u)
			}
		}
		if len(firsts) != 1 {
			var all []string
			for _, u := range fresh[k] {
				all = append(all, fmt.Sprintf("%s: %#v → %s", u.p.srv.name, u.p.items[u.i], fmtResult(u.p.res.Results[u.i])))
			}
			t.Fatalf("%s pushed concurrently got %d first answers, want 1:\n%s", k, len(firsts), joinLines(all))
		}
		f := firsts[0]
		want := firstAnswer(f.p.items[f.i], f.p.skewed(), f.p.now)
		m.expect(t, f.p, f.i, want)
		dec := m.model.decide(f.p.dev, f.p.items[f.i], want)
		f.p.srv.want[k] = want.Status == beatgrid.StatusApplied
		for _, u := range fresh[k] {
			if u != f {
				m.expect(t, u.p, u.i, dec.repeat(u.p.items[u.i])...)
			}
		}
	}
	for _, p := range ps {
		for _, it := range p.items {
			if dec := m.model.decided[decisionKey(p.dev, it)]; dec != nil {
				p.srv.saw(p.dev.p.DeviceID, dec.seq)
			}
		}
	}
}

func joinLines(s []string) string {
	var b bytes.Buffer
	for _, l := range s {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// Actions.

// Push pushes a batch of a device through the primary server.
func (m *engineMachine) Push(t *rapid.T) {
	p := m.drawPush(t, m.primary)
	p.run(m.now())
	m.check(t, p)
}

// PushViaStranger pushes through the server that never loaded the log.
func (m *engineMachine) PushViaStranger(t *rapid.T) {
	if m.stranger == nil {
		t.Skip("no second server")
	}
	p := m.drawPush(t, m.stranger)
	p.run(m.now())
	m.check(t, p)
}

// PushConcurrently runs 2–3 pushes at once, through either server, of any devices.
func (m *engineMachine) PushConcurrently(t *rapid.T) {
	servers := []*server{m.primary}
	if m.stranger != nil {
		servers = append(servers, m.stranger)
	}
	ps := make([]*request, rapid.IntRange(2, 3).Draw(t, "clients"))
	for i := range ps {
		ps[i] = m.drawPush(t, rapid.SampledFrom(servers).Draw(t, "server"))
	}
	now := m.now()
	var wg gosync.WaitGroup
	for _, p := range ps {
		wg.Go(func() { p.run(now) })
	}
	wg.Wait()
	m.checkConcurrent(t, ps)
}

// PushOverLimit pushes a batch over a limit: it is refused whole and changes nothing.
func (m *engineMachine) PushOverLimit(t *rapid.T) {
	p := m.drawPush(t, m.primary)
	var req bgsync.PushRequest
	for _, it := range p.items {
		req.Mutations = append(req.Mutations, it.incoming())
	}
	limit := rapid.SampledFrom([]string{"max_track_points", "max_mutations"}).Draw(t, "limit")
	if limit == "max_mutations" {
		for len(req.Mutations) <= 500 {
			req.Mutations = append(req.Mutations, req.Mutations...)
		}
	} else {
		at := rapid.IntRange(0, len(req.Mutations)).Draw(t, "at")
		req.Mutations = slices.Insert(req.Mutations, at, tooManyPoints())
	}
	_, err := p.srv.engine.Push(context.Background(), p.dev.p, &req)
	var le *bgsync.LimitError
	if !errors.As(err, &le) || le.Limit != limit {
		t.Fatalf("over %s: error %v, want a LimitError naming it", limit, err)
	}
}

// tooManyPoints is a track over MaxTrackPoints, made once.
var tooManyPoints = gosync.OnceValue(func() bgsync.Incoming {
	return mutation(1, "track.points", points(bgsync.MaxTrackPoints+1, clockStart.Add(-time.Hour)))
})

// Restart replaces the primary server by a new one that loads the log.
func (m *engineMachine) Restart(t *rapid.T) {
	m.primary = m.newServer(t, true)
}

// StartStranger starts a second server on the same store that never loads the log.
func (m *engineMachine) StartStranger(t *rapid.T) {
	m.stranger = m.newServer(t, false)
}

// AdvanceClock moves the servers' clock 25 hours on: after three, the ids pushed before
// have left the dedupe window (72 h) and repeats are caught by the store's key; after one,
// an ahead mutation rejected before has become plausible, and its repeats must still get
// the first answer.
func (m *engineMachine) AdvanceClock(t *rapid.T) {
	m.hours.Add(25)
}

// Check holds after every action: the log is the model's decisions, each server folded each
// applied mutation it loaded or applied exactly once, and counted its answers.
func (m *engineMachine) Check(t *rapid.T) {
	if m.stored == nil || m.pushed { // the log changes only by pushes; a scan of the embedded store is slow
		m.stored, m.pushed = map[string]*beatgrid.Mutation{}, false
		err := m.db.ScanMutations(context.Background(), func(mu *beatgrid.Mutation) error {
			m.stored[mu.DeviceID+"/"+mu.ID] = mu
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	stored := m.stored
	if len(stored) != len(m.model.decided) {
		t.Fatalf("stored %d mutations, the model decided %d", len(stored), len(m.model.decided))
	}
	for k, dec := range m.model.decided {
		s := stored[k]
		if s == nil {
			t.Fatalf("%s decided (%s) but not stored", k, dec.status)
		}
		c := dec.item.content()
		if s.Status != dec.status || s.Code != dec.code || s.Seq != dec.seq || s.Type != c.typ() || !slices.Equal(s.Flags, dec.flags) {
			t.Fatalf("%s stored as %s %q seq %d %s %v, decided %s %q seq %d %s %v", k, s.Status, s.Code, s.Seq, s.Type, s.Flags,
				dec.status, dec.code, dec.seq, c.typ(), dec.flags)
		}
		if s.Status == beatgrid.StatusApplied && !s.OccurredAt.Equal(c.occurred()) {
			t.Fatalf("%s stored as happened at %v, its first content at %v", k, s.OccurredAt, c.occurred())
		}
	}
	for _, srv := range []*server{m.primary, m.stranger} {
		if srv != nil {
			m.checkServer(t, srv, stored)
		}
	}
}

func (m *engineMachine) checkServer(t *rapid.T, srv *server, stored map[string]*beatgrid.Mutation) {
	srv.folds.mu.Lock()
	defer srv.folds.mu.Unlock()
	for k, want := range srv.want {
		n := srv.folds.times[k]
		if want && n != 1 || !want && n != 0 {
			t.Fatalf("%s folded %s %d times; want it folded %s", srv.name, k, n, map[bool]string{true: "once", false: "never"}[want])
		}
	}
	for k, n := range srv.folds.times {
		if !srv.want[k] {
			t.Fatalf("%s folded %s (%d times), which it never loaded nor applied", srv.name, k, n)
		}
		if s := stored[k]; srv.folds.facts[k] != string(s.Fact) {
			t.Fatalf("%s folded %s as %s, stored %s", srv.name, k, srv.folds.facts[k], s.Fact)
		}
	}
	st := srv.engine.Stats()
	got := [4]int64{st.Pushes.Load(), st.Applied.Load(), st.Duplicates.Load(), st.Rejected.Load()}
	want := [4]int64{srv.tally.pushes, srv.tally.applied, srv.tally.duplicates, srv.tally.rejected}
	if got != want {
		t.Fatalf("%s stats (pushes, applied, duplicates, rejected) = %v, its answers were %v", srv.name, got, want)
	}
}

// ---------------------------------------------------------------------------------------
// Feed
// ---------------------------------------------------------------------------------------

// TestFeedStateMachine drives a Feed with writers that reserve, commit in any order or
// abort, records that change unit or are deleted, restarts, and terminals of several scopes
// that pull pages from their cursors into local replicas. Pulls must never pass the high-
// water mark nor skip a change: at every moment, each record whose latest change is at or
// below a terminal's cursor is in its replica exactly as the model has it.
func TestFeedStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newFeedMachine(t)
		t.Repeat(rapid.StateMachineActions(m))
		m.settle(t)
	})
}

var (
	feedUnits   = []string{"s1", "s2", "s3"}
	feedRecords = []string{"r1", "r2", "r3", "r4"}
)

// recordState is a record as its latest committed change left it.
type recordState struct {
	version int64
	unit    string
	past    []string
	deleted bool
}

func (r recordState) value(id string) string { return fmt.Sprintf("%s@%d", id, r.version) }

// terminal is a puller: its scope, its cursor and what it holds.
type terminal struct {
	name    string
	scope   []string
	cursor  int64
	replica map[string]bgsync.Change // id → the last change it got
}

func (tm *terminal) GoString() string { return fmt.Sprintf("%s%v@%d", tm.name, tm.scope, tm.cursor) }

func (tm *terminal) in(unit string) bool { return slices.Contains(tm.scope, unit) }

// feedModel: the versions handed out and pending, and every record's latest change.
type feedMachine struct {
	feed      *bgsync.Feed
	next      int64          // the version after the last one reserved (or loaded)
	pending   map[int64]bool // reserved, not settled
	records   map[string]recordState
	terminals []*terminal
}

func newFeedMachine(t *rapid.T) *feedMachine {
	m := &feedMachine{feed: bgsync.NewFeed(), next: 1, pending: map[int64]bool{}, records: map[string]recordState{}}
	for i := range rapid.IntRange(1, 4).Draw(t, "terminals") {
		units := rapid.SliceOfNDistinct(rapid.SampledFrom(feedUnits), 1, 2, rapid.ID[string]).Draw(t, "scope")
		m.terminals = append(m.terminals, &terminal{name: fmt.Sprint("terminal ", i+1), scope: units, replica: map[string]bgsync.Change{}})
	}
	return m
}

// highWater is the version below which none is pending.
func (m *feedMachine) highWater() int64 {
	hw := m.next - 1
	for v := range m.pending {
		hw = min(hw, v-1)
	}
	return hw
}

func (m *feedMachine) drawPending(t *rapid.T) int64 {
	return rapid.SampledFrom(slices.Sorted(maps.Keys(m.pending))).Draw(t, "version")
}

// Reserve takes a version; it must be above every cursor given out, or a change stored
// under it would be skipped by that terminal.
func (m *feedMachine) Reserve(t *rapid.T) {
	v := m.feed.Reserve()
	for _, tm := range m.terminals {
		if v <= tm.cursor {
			t.Fatalf("reserved version %d, but %s already has cursor %d: a change under it would be skipped", v, tm.name, tm.cursor)
		}
	}
	if m.pending[v] {
		t.Fatalf("reserved version %d twice", v)
	}
	m.pending[v] = true
	m.next = max(m.next, v+1)
}

// Commit commits a pending version (any of them, in any order) as a change of a record:
// kept in its unit, moved to another (its past units growing) or deleted.
func (m *feedMachine) Commit(t *rapid.T) {
	if len(m.pending) == 0 {
		t.Skip("nothing pending")
	}
	v := m.drawPending(t)
	id := rapid.SampledFrom(feedRecords).Draw(t, "record")
	m.commit(t, v, id)
}

func (m *feedMachine) commit(t *rapid.T, v int64, id string) {
	r := m.change(t, v, id)
	m.feed.Commit(&beatgrid.FeedRecord{Collection: "routes", ID: id, Unit: r.unit, PastUnits: r.past,
		Deleted: r.deleted, Value: r.value(id), Version: v})
	m.stored(id, r)
}

// change draws the change a writer stores under v.
func (m *feedMachine) change(t *rapid.T, v int64, id string) recordState {
	r, known := m.records[id]
	op := rapid.SampledFrom([]string{"update", "move", "delete"}).Draw(t, "op")
	next := recordState{version: v, unit: r.unit, past: slices.Clone(r.past)}
	switch {
	case op == "delete":
		next.deleted = true
		if !known {
			next.unit = rapid.SampledFrom(feedUnits).Draw(t, "unit")
		}
	case op == "move" || !known:
		next.unit = rapid.SampledFrom(feedUnits).Draw(t, "unit")
		if known && next.unit != r.unit && !slices.Contains(next.past, r.unit) {
			next.past = append(next.past, r.unit)
		}
	}
	return next
}

// stored settles the version of a change that reached the store.
func (m *feedMachine) stored(id string, r recordState) {
	delete(m.pending, r.version)
	if r.version > m.records[id].version { // an older change committed late is superseded already
		m.records[id] = r
	}
}

// Abort settles a pending version whose write failed.
func (m *feedMachine) Abort(t *rapid.T) {
	if len(m.pending) == 0 {
		t.Skip("nothing pending")
	}
	v := m.drawPending(t)
	m.feed.Abort(v)
	delete(m.pending, v)
}

// Restart rebuilds the feed from the stored records, as at start. The writers still pending
// died with the server: some had stored their change (it is loaded), some had not.
func (m *feedMachine) Restart(t *rapid.T) {
	for _, v := range slices.Sorted(maps.Keys(m.pending)) {
		if rapid.Bool().Draw(t, "stored_before_crash") {
			id := rapid.SampledFrom(feedRecords).Draw(t, "record")
			m.stored(id, m.change(t, v, id))
		}
	}
	m.feed, m.pending, m.next = bgsync.NewFeed(), map[int64]bool{}, 1
	for _, id := range rapid.Permutation(slices.Sorted(maps.Keys(m.records))).Draw(t, "load_order") {
		r := m.records[id]
		m.feed.Load(&beatgrid.FeedRecord{Collection: "routes", ID: id, Unit: r.unit, PastUnits: r.past,
			Deleted: r.deleted, Value: r.value(id), Version: r.version})
		m.next = max(m.next, r.version+1)
	}
}

// Pull pulls one page for a terminal from its cursor.
func (m *feedMachine) Pull(t *rapid.T) {
	tm := rapid.SampledFrom(m.terminals).Draw(t, "terminal")
	m.pull(t, tm, rapid.IntRange(1, 4).Draw(t, "limit"))
}

// pull pulls a page and checks it: within the mark, in order, only latest changes, each
// right for the scope; the replica takes it.
func (m *feedMachine) pull(t *rapid.T, tm *terminal, limit int) (more bool) {
	after, hw := tm.cursor, m.highWater()
	changes, cursor, more := m.feed.Pull(tm.in, after, limit)
	if len(changes) > limit {
		t.Fatalf("%s: %d changes for limit %d", tm.name, len(changes), limit)
	}
	if cursor < after || cursor > max(after, hw) {
		t.Fatalf("%s: pulled after %d to cursor %d; the high-water mark is %d", tm.name, after, cursor, hw)
	}
	for id, r := range m.records {
		if !more && r.version <= hw && r.version > cursor {
			t.Fatalf("%s: pulled after %d to cursor %d with no more, but %s changed at v%d (mark %d)", tm.name, after, cursor, id, r.version, hw)
		}
	}
	prev := after
	for _, c := range changes {
		r, ok := m.records[c.ID]
		switch {
		case c.Version <= prev || c.Version > cursor:
			t.Fatalf("%s: pull after %d to %d gave version %d after %d", tm.name, after, cursor, c.Version, prev)
		case c.Version > hw:
			t.Fatalf("%s: pull gave version %d above the high-water mark %d", tm.name, c.Version, hw)
		case !ok || c.Version != r.version:
			t.Fatalf("%s: pull gave %s v%d, whose latest change is v%d", tm.name, c.ID, c.Version, r.version)
		case c.Op == "upsert" && (!tm.in(r.unit) || r.deleted || c.Value != r.value(c.ID)):
			t.Fatalf("%s (scope %v): upsert of %s v%d = %v, but it is %+v", tm.name, tm.scope, c.ID, c.Version, c.Value, r)
		case c.Op == "delete" && after == 0:
			t.Fatalf("%s: a fresh terminal (after 0) got a delete of %s v%d", tm.name, c.ID, c.Version)
		case c.Op == "delete" && tm.in(r.unit) && !r.deleted:
			t.Fatalf("%s (scope %v): delete of %s v%d, in its scope", tm.name, tm.scope, c.ID, c.Version)
		case c.Op != "upsert" && c.Op != "delete":
			t.Fatalf("%s: op %q", tm.name, c.Op)
		}
		prev = c.Version
		if c.Op == "upsert" {
			tm.replica[c.ID] = c
		} else {
			delete(tm.replica, c.ID)
		}
	}
	tm.cursor = cursor
	return more
}

// Check: no change is skipped. A record whose latest change is at or below a terminal's
// cursor is in its replica, at that version, if and only if it is in the scope and not
// deleted. (Changes above the cursor may or may not have arrived yet.)
func (m *feedMachine) Check(t *rapid.T) {
	for _, tm := range m.terminals {
		for _, id := range feedRecords {
			r, known := m.records[id]
			got, has := tm.replica[id]
			if !known {
				if has {
					t.Fatalf("%s holds %s, which was never committed", tm.name, id)
				}
				continue
			}
			if r.version > tm.cursor {
				continue
			}
			want := tm.in(r.unit) && !r.deleted
			switch {
			case want && !has:
				t.Fatalf("%s (scope %v, cursor %d) misses %s v%d %+v", tm.name, tm.scope, tm.cursor, id, r.version, r)
			case !want && has:
				t.Fatalf("%s (scope %v, cursor %d) holds %s v%d, which is %+v", tm.name, tm.scope, tm.cursor, id, got.Version, r)
			case has && (got.Version != r.version || got.Value != r.value(id)):
				t.Fatalf("%s (scope %v, cursor %d) holds %s v%d, latest v%d", tm.name, tm.scope, tm.cursor, id, got.Version, r.version)
			}
		}
	}
}

// settle ends a run: every pending version is committed or aborted, every terminal pulls
// until nothing more, and each replica must be exactly the records of its scope.
func (m *feedMachine) settle(t *rapid.T) {
	for _, v := range slices.Sorted(maps.Keys(m.pending)) {
		if rapid.Bool().Draw(t, "commit_at_end") {
			m.commit(t, v, rapid.SampledFrom(feedRecords).Draw(t, "record"))
		} else {
			m.feed.Abort(v)
			delete(m.pending, v)
		}
	}
	for _, tm := range m.terminals {
		limit := rapid.IntRange(1, 4).Draw(t, "final_limit")
		for pages := 0; m.pull(t, tm, limit); pages++ {
			if pages > 100 {
				t.Fatalf("%s: pulls never end", tm.name)
			}
		}
		want := map[string]int64{}
		for id, r := range m.records {
			if tm.in(r.unit) && !r.deleted {
				want[id] = r.version
			}
		}
		got := map[string]int64{}
		for id, c := range tm.replica {
			got[id] = c.Version
		}
		if !maps.Equal(got, want) {
			t.Fatalf("%s (scope %v) ends with %v, want %v", tm.name, tm.scope, got, want)
		}
	}
	m.Check(t)
}
