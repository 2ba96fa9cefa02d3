package beatgrid

import (
	"context"
	"time"
)

// Mutation results.
const (
	StatusApplied   = "applied"   // stored now, durably
	StatusDuplicate = "duplicate" // stored before; the stored result is repeated
	StatusRejected  = "rejected"  // refused, with a code; also stored, so repeats get the same answer
)

// Mutation is one change a terminal recorded offline, as stored: the immutable fact it
// carries and the answer it got. (DeviceID, ID) identifies it; the store keeps it once.
type Mutation struct {
	DeviceID string
	ID       string // client-made UUID
	Seq      int64  // per device, from 1
	Type     string

	OccurredAt time.Time // device clock: when it happened
	DeviceTime time.Time // device clock: when the batch was sent
	ReceivedAt time.Time // server clock
	UserID     string
	OrgUnitID  string // the signed-in user's unit: the fact's scope

	Hash string // sha256 of the canonical fact (of the payload as sent, for a rejection): tells a repeat from an id reused
	Fact []byte // canonical encoding of the payload, as the type's handler made it

	// SentHash is the sha256 of the payload as sent (white space aside). Not stored: a repeat
	// of a rejection is recognised by it, since whether a payload passes can change (a time
	// too far ahead passes a day later) and with it the canonical fact.
	SentHash string

	Status string
	Code   string // machine code of a rejection
	Field  string // the field at fault, a JSON pointer below the mutation ("/payload/points/3")
	Detail string
	Flags  []string // e.g. "clock_skew"
}

// MutationStore keeps the mutation log.
type MutationStore interface {
	// InsertMutations stores ms in one unordered write that returns only once durable. It
	// returns the indexes of the mutations whose (DeviceID, ID) was stored before (those are
	// left as they were); the rest are stored.
	InsertMutations(ctx context.Context, ms []*Mutation) (dups []int, err error)
	// Mutation returns the stored mutation; ENOTFOUND if there is none.
	Mutation(ctx context.Context, deviceID, id string) (*Mutation, error)
	// ScanMutations calls fn with every stored mutation, in no particular order.
	ScanMutations(ctx context.Context, fn func(*Mutation) error) error
}

// FeedRecord is a record that terminals pull (org units, routes, checkpoints, kiosks, venues,
// open hazards, tasks): its latest state, its scope, and the feed version of its last change.
type FeedRecord struct {
	Collection string
	ID         string
	Unit       string   // the org unit whose subtree may see it
	PastUnits  []string // units it belonged to before: their terminals get a tombstone
	Deleted    bool
	Value      any // the record (a *OrgUnit, …); nil when deleted
	Version    int64
}

// ChangeFeed numbers the changes of pulled records. A writer reserves a version, stores the
// record with it, then commits the record, or aborts the version if the write failed. Pulls
// never pass a reserved version until it is committed or aborted (sync/doc.go).
type ChangeFeed interface {
	// Load adds a record read from the store at start, with its stored version.
	Load(r *FeedRecord)
	Reserve() int64
	Commit(r *FeedRecord)
	Abort(version int64)
}
