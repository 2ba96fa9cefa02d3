package sync

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beatgrid/beatgrid"
	gojson "github.com/goccy/go-json"
)

// Rejection is a mutation refused for a reason the terminal can act on: a machine code, a
// detail, and the field at fault (a JSON pointer below the mutation).
type Rejection struct {
	Code   string
	Field  string
	Detail string

	Limit *LimitError // set when the payload is over a limit: the batch is refused whole
}

func (r *Rejection) Error() string { return r.Code + " at " + r.Field + ": " + r.Detail }

func reject(code, field, format string, args ...any) *Rejection {
	return &Rejection{Code: code, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// Rejection codes.
const (
	CodeInvalidPayload = "invalid_payload"
	CodeUnknownType    = "unknown_type"
	CodeInvalidSeq     = "invalid_seq"
	CodeIDReused       = "id_reused"
)

// Input is what a type's decoder gets.
type Input struct {
	Principal  *beatgrid.Principal
	Payload    json.RawMessage
	ReceivedAt time.Time
}

// DecodeFunc validates a payload and turns it into the immutable fact to store, in a
// canonical encoding (equal facts give equal bytes), with the time it happened by the device's
// clock. It returns a *Rejection for bad input.
type DecodeFunc func(in Input) (fact []byte, occurredAt time.Time, err error)

// FoldFunc folds a stored, applied mutation into derived state. It must give the same state
// whatever the order in which mutations arrive, and a repeat must change nothing.
type FoldFunc func(m *beatgrid.Mutation)

type mutationType struct {
	decode DecodeFunc
	folds  []FoldFunc
}

// Registry holds the mutation types: how each is decoded and what folds it feeds. It is set
// up before the engine starts and not changed after.
type Registry struct {
	types map[string]*mutationType
}

// NewRegistry returns a registry with every type of the sync API (API.md) registered, and no
// folds yet: domain packages add theirs with Fold.
func NewRegistry() *Registry {
	r := &Registry{types: map[string]*mutationType{}}
	for name, d := range builtinTypes() {
		r.Register(name, d)
	}
	return r
}

// Register adds (or replaces) the decoder of a type.
func (r *Registry) Register(name string, d DecodeFunc) {
	if t := r.types[name]; t != nil {
		t.decode = d
		return
	}
	r.types[name] = &mutationType{decode: d}
}

// Fold adds a fold to a registered type.
func (r *Registry) Fold(name string, f FoldFunc) {
	t := r.types[name]
	if t == nil {
		panic("sync: Fold on unregistered type " + name)
	}
	t.folds = append(t.folds, f)
}

// Apply folds an applied mutation into every fold of its type, as the engine does once it is
// durable (and for the whole log at start).
func (r *Registry) Apply(m *beatgrid.Mutation) {
	if t := r.types[m.Type]; t != nil && m.Status == beatgrid.StatusApplied {
		for _, f := range t.folds {
			f(m)
		}
	}
}

// decodeStrict decodes a payload into v: one JSON object, no unknown fields. It uses
// goccy/go-json, 4× faster than encoding/json on track.points (bench/codecs, 30% of a push's
// CPU with encoding/json; docs/PERFORMANCE.md) with the same strictness (unknown fields
// refused, duplicate keys last-wins, keys matched case-insensitively: bench/codecs TestStrict,
// FuzzStrictSame). A panic in the codec (it has had some on malformed input) is a rejection,
// not a failed push. Facts are still encoded by encoding/json: their bytes are canonical.
func decodeStrict(raw json.RawMessage, v any) (err error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return reject(CodeInvalidPayload, "/payload", "the payload must be a JSON object")
	}
	defer func() {
		if p := recover(); p != nil {
			err = reject(CodeInvalidPayload, "/payload", "the payload could not be decoded")
		}
	}()
	dec := gojson.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typ *gojson.UnmarshalTypeError
		if errors.As(err, &typ) {
			return reject(CodeInvalidPayload, "/payload/"+strings.ReplaceAll(typ.Field, ".", "/"), "expected %s, got JSON %s", typ.Type, typ.Value)
		}
		return reject(CodeInvalidPayload, "/payload", "%s", err.Error())
	}
	if dec.More() {
		return reject(CodeInvalidPayload, "/payload", "more than one JSON value")
	}
	return nil
}
