package sync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/google/uuid"
)

// Config tunes the engine; zero fields take defaults.
type Config struct {
	MaxMutations int           // per push (default 500)
	MaxSkew      time.Duration // device clock off by more is flagged (default 2 min)
	DedupeWindow time.Duration // mutation ids kept in memory (default 72 h); older repeats are found in the store
	Now          func() time.Time
	Logger       *slog.Logger

	// AfterWrite, if set, runs after each write of the log, before any push is answered:
	// crash tests kill the process there.
	AfterWrite func()

	// Blobs, if set, tracks the photos that applied facts name and that have not arrived.
	Blobs *BlobIndex
}

func (c *Config) fill() {
	if c.MaxMutations == 0 {
		c.MaxMutations = 500
	}
	if c.MaxSkew == 0 {
		c.MaxSkew = 2 * time.Minute
	}
	if c.DedupeWindow == 0 {
		c.DedupeWindow = 72 * time.Hour
	}
	if c.Now == nil {
		c.Now = func() time.Time { return time.Now().UTC() }
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Engine takes pushes: each mutation stored once, answered the same way on every repeat,
// and folded into derived state once durable.
type Engine struct {
	cfg   Config
	store beatgrid.MutationStore
	reg   *Registry

	mu      gosync.Mutex
	devices map[string]*deviceLog

	writes     chan *writeReq // to the one writer of the log (writer.go)
	writerDone chan struct{}
	closeOnce  gosync.Once

	stats Stats
}

// Stats are the engine's counters, for metrics.
type Stats struct {
	Pushes, Applied, Duplicates, Rejected, SeqGaps, ClockSkewed, GroupWrites atomic.Int64
}

// New returns an engine; call Load before the first push, and Close when done.
func New(st beatgrid.MutationStore, reg *Registry, cfg Config) *Engine {
	cfg.fill()
	e := &Engine{cfg: cfg, store: st, reg: reg, devices: map[string]*deviceLog{}}
	e.startWriter()
	return e
}

// count adds the answers of one push, once it is answered.
func (s *Stats) count(results []Result) {
	s.Pushes.Add(1)
	for _, r := range results {
		switch r.Status {
		case beatgrid.StatusApplied:
			s.Applied.Add(1)
		case beatgrid.StatusDuplicate:
			s.Duplicates.Add(1)
		default:
			s.Rejected.Add(1)
		}
	}
}

// BlobArrived tells the engine a photo is complete (facts waiting for it are pending no more).
func (e *Engine) BlobArrived(sha string) {
	if e.cfg.Blobs != nil {
		e.cfg.Blobs.Arrived(sha)
	}
}

// PendingBlobs returns how many photos are awaited, and by how many facts.
func (e *Engine) PendingBlobs() (photos, facts int) {
	if e.cfg.Blobs == nil {
		return 0, 0
	}
	return e.cfg.Blobs.Pending()
}

// Stats returns the engine's counters.
func (e *Engine) Stats() *Stats { return &e.stats }

// Load reads the mutation log in one pass: it remembers recent ids for fast repeats, every
// device's sequence numbers, and folds every applied mutation.
func (e *Engine) Load(ctx context.Context) error {
	horizon := e.cfg.Now().Add(-e.cfg.DedupeWindow)
	n := 0
	err := e.store.ScanMutations(ctx, func(m *beatgrid.Mutation) error {
		d := e.device(m.DeviceID)
		d.record(m, m.ReceivedAt.After(horizon))
		e.reg.Apply(m)
		e.cfg.Blobs.track(m)
		n++
		return nil
	})
	if err != nil {
		return fmt.Errorf("sync: load mutation log: %w", err)
	}
	e.cfg.Logger.Info("mutation log loaded", "mutations", n, "devices", len(e.devices))
	return nil
}

func (e *Engine) device(id string) *deviceLog {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.devices[id]
	if d == nil {
		d = newDeviceLog()
		e.devices[id] = d
	}
	return d
}

// PushRequest is a terminal's batch.
type PushRequest struct {
	DeviceTime time.Time  `json:"device_time"`
	Mutations  []Incoming `json:"mutations"`

	// Unsequenced lets the mutations carry seq 0: they come from a source with no queue to
	// number them (a tracking app sending one fix a request, handlers/ingest.go), so they
	// count in no sequence and report no gap. Set in process only, never from a body.
	Unsequenced bool `json:"-"`
}

// Incoming is one mutation as sent.
type Incoming struct {
	ID         string          `json:"id"`
	Seq        int64           `json:"seq"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurred_at"`
	Payload    json.RawMessage `json:"payload"`
}

// PushResponse answers a batch, one result per mutation in order.
type PushResponse struct {
	ServerTime       time.Time `json:"server_time"`
	ClockSkewSeconds *float64  `json:"clock_skew_seconds"`
	Results          []Result  `json:"results"`
	SeqGaps          []Gap     `json:"seq_gaps"`
}

// Result is the answer for one mutation.
type Result struct {
	ID     string   `json:"id"`
	Status string   `json:"status"`
	Code   string   `json:"code,omitempty"`
	Detail string   `json:"detail,omitempty"`
	Field  string   `json:"field,omitempty"`
	Flags  []string `json:"flags,omitempty"`
	// OriginalStatus is, for a duplicate, what the mutation got the first time.
	OriginalStatus string `json:"original_status,omitempty"`
	// PendingBlobs are the photos an applied fact names that have not arrived yet: the fact
	// is pending until they are uploaded.
	PendingBlobs []string `json:"pending_blobs,omitempty"`
}

// LimitError refuses a batch whole: it is over a limit, named with its value.
type LimitError struct {
	Limit string
	Max   int
	Got   int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s is %d, over the limit of %d", e.Limit, e.Got, e.Max)
}

// Limits returns the limits a push must keep, by name.
func (e *Engine) Limits() map[string]int {
	return map[string]int{"max_mutations": e.cfg.MaxMutations, "max_track_points": MaxTrackPoints}
}

// Push applies a batch from the device of p. Every mutation gets a result; the answer is
// sent only after every new mutation is durable. An error means nothing was acknowledged:
// the terminal retries the batch, and repeats are answered as duplicates.
func (e *Engine) Push(ctx context.Context, p *beatgrid.Principal, req *PushRequest) (*PushResponse, error) {
	if p.DeviceID == "" {
		return nil, beatgrid.Errorf(beatgrid.EFORBIDDEN, "Push needs a terminal session (device-login).")
	}
	if n := len(req.Mutations); n > e.cfg.MaxMutations {
		return nil, &LimitError{Limit: "max_mutations", Max: e.cfg.MaxMutations, Got: n}
	}
	now := e.cfg.Now()
	b := &batch{e: e, p: p, now: now, deviceTime: req.DeviceTime, unsequenced: req.Unsequenced}
	if !req.DeviceTime.IsZero() {
		skew := req.DeviceTime.Sub(now)
		b.skewed = skew > e.cfg.MaxSkew || -skew > e.cfg.MaxSkew
		s := skew.Seconds()
		b.skew = &s
	}
	d := e.device(p.DeviceID)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.prune(now, now.Add(-e.cfg.DedupeWindow))
	results, err := b.run(ctx, d, req.Mutations)
	if err != nil {
		return nil, err
	}
	e.stats.count(results)
	if b.skewed {
		e.stats.ClockSkewed.Add(1)
	}
	gaps := d.seqs.gaps(20)
	if len(gaps) > 0 {
		e.stats.SeqGaps.Add(1)
	}
	return &PushResponse{ServerTime: now, ClockSkewSeconds: b.skew, Results: results, SeqGaps: gaps}, nil
}

// batch is one push in progress, under its device's lock.
type batch struct {
	e           *Engine
	p           *beatgrid.Principal
	now         time.Time
	deviceTime  time.Time
	skewed      bool
	skew        *float64
	unsequenced bool // seq 0 allowed (PushRequest.Unsequenced)
}

// run decides each mutation, stores the new ones in one write, then answers.
func (b *batch) run(ctx context.Context, d *deviceLog, in []Incoming) ([]Result, error) {
	results := make([]Result, len(in))
	var fresh, repeats []*beatgrid.Mutation
	var freshAt, repeatAt []int
	inBatch := map[string]bool{}
	for i := range in {
		m, res, err := b.decide(d, &in[i])
		switch {
		case err != nil:
			return nil, err // over a limit: refused whole, nothing stored
		case m == nil:
			results[i] = res
		case inBatch[m.ID]:
			// A repeat within the batch is answered after the store has decided which
			// record holds the id (this server's, or one stored before by another).
			repeats, repeatAt = append(repeats, m), append(repeatAt, i)
		default:
			fresh, freshAt = append(fresh, m), append(freshAt, i)
			inBatch[m.ID] = true
		}
	}
	if err := b.store(ctx, d, fresh, freshAt, results); err != nil {
		return nil, err
	}
	for k, m := range repeats {
		results[repeatAt[k]] = b.repeat(d.seen[m.ID], m)
	}
	return results, nil
}

// decide answers one mutation from memory, or builds the record to store.
func (b *batch) decide(d *deviceLog, in *Incoming) (*beatgrid.Mutation, Result, error) {
	if _, err := uuid.Parse(in.ID); err != nil || len(in.ID) != 36 {
		return nil, Result{ID: in.ID, Status: beatgrid.StatusRejected, Code: CodeInvalidPayload, Field: "/id",
			Detail: "id must be a UUID (it is not stored)"}, nil
	}
	m, err := b.build(in)
	if err != nil {
		return nil, Result{}, err
	}
	if prev := d.seen[m.ID]; prev != nil {
		return nil, b.repeat(prev, m), nil
	}
	return m, Result{}, nil
}

// build makes the mutation record: decoded, or rejected with its reason. A payload over a
// limit is an error: the batch is refused whole.
func (b *batch) build(in *Incoming) (*beatgrid.Mutation, error) {
	m := &beatgrid.Mutation{DeviceID: b.p.DeviceID, ID: in.ID, Seq: in.Seq, Type: in.Type, OccurredAt: in.OccurredAt.UTC(),
		DeviceTime: b.deviceTime.UTC(), ReceivedAt: b.now, UserID: b.p.UserID, OrgUnitID: b.p.OrgUnitID,
		Status: beatgrid.StatusApplied}
	if b.skewed {
		m.Flags = append(m.Flags, "clock_skew")
	}
	t := b.e.reg.types[in.Type]
	var rej *Rejection
	switch {
	case in.Seq < 1 && !(b.unsequenced && in.Seq == 0):
		rej = reject(CodeInvalidSeq, "/seq", "seq counts from 1 per device")
	case t == nil:
		rej = reject(CodeUnknownType, "/type", "unknown mutation type %q", in.Type)
	default:
		fact, occurred, err := t.decode(Input{Principal: b.p, Payload: in.Payload, ReceivedAt: b.now})
		var limit *LimitError
		if errors.As(err, &limit) {
			return nil, limit
		} else if err != nil {
			rej = asRejection(err)
		} else {
			m.Fact = fact
			if m.OccurredAt.IsZero() {
				m.OccurredAt = occurred
			}
		}
	}
	m.SentHash = hashOf(in.Type, compact(in.Payload))
	if rej != nil {
		m.Status, m.Code, m.Field, m.Detail = beatgrid.StatusRejected, rej.Code, rej.Field, rej.Detail
		m.Fact = nil
		m.Hash = m.SentHash
	} else {
		m.Hash = hashOf(in.Type, m.Fact)
	}
	return m, nil
}

func asRejection(err error) *Rejection {
	if r, ok := err.(*Rejection); ok {
		return r
	}
	return reject(CodeInvalidPayload, "/payload", "%s", err.Error())
}

// repeat answers a mutation whose id was seen: the same fact is a duplicate, another fact
// under the same id is refused.
func (b *batch) repeat(prev, m *beatgrid.Mutation) Result {
	same := prev.Hash == m.Hash
	if prev.Status == beatgrid.StatusRejected {
		same = prev.Hash == m.SentHash // a rejection is stored under the payload as sent
	}
	if !same {
		return Result{ID: m.ID, Status: beatgrid.StatusRejected, Code: CodeIDReused,
			Detail: "this id was used before for another mutation; make a new id"}
	}
	return Result{ID: m.ID, Status: beatgrid.StatusDuplicate, Code: prev.Code, Field: prev.Field, Detail: prev.Detail,
		Flags: prev.Flags, OriginalStatus: prev.Status}
}

// store writes the fresh mutations in one durable write, then records them, folds the
// applied ones and fills their results. Mutations the store already had (stored by another
// server, or before a crash the memory forgot) are answered from the store.
func (b *batch) store(ctx context.Context, d *deviceLog, fresh []*beatgrid.Mutation, at []int, results []Result) error {
	dups, err := b.e.write(fresh)
	if err != nil {
		return fmt.Errorf("sync: store mutations: %w", err)
	}
	isDup := make(map[int]bool, len(dups))
	for _, i := range dups {
		isDup[i] = true
	}
	for i, m := range fresh {
		if isDup[i] {
			stored, err := b.e.store.Mutation(ctx, m.DeviceID, m.ID)
			if err != nil {
				return fmt.Errorf("sync: read stored mutation: %w", err)
			}
			d.record(stored, true)
			results[at[i]] = b.repeat(stored, m)
			continue
		}
		d.record(m, true)
		b.e.reg.Apply(m)
		results[at[i]] = b.answer(m)
		results[at[i]].PendingBlobs = b.e.cfg.Blobs.track(m)
	}
	return nil
}

func (b *batch) answer(m *beatgrid.Mutation) Result {
	return Result{ID: m.ID, Status: m.Status, Code: m.Code, Field: m.Field, Detail: m.Detail, Flags: m.Flags}
}

func hashOf(typ string, fact []byte) string {
	h := sha256.New()
	h.Write([]byte(typ))
	h.Write([]byte{0})
	h.Write(fact)
	return hex.EncodeToString(h.Sum(nil))
}

// compact is the payload without insignificant white space, or as sent if it is not JSON.
func compact(raw json.RawMessage) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}
