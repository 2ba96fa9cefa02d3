package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
)

// TestMutationStore runs the conformance suite of beatgrid.MutationStore on s, which must be
// empty.
func TestMutationStore(t *testing.T, s beatgrid.MutationStore) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	mk := func(dev string, seq int) *beatgrid.Mutation {
		return &beatgrid.Mutation{DeviceID: dev, ID: fmt.Sprintf("m-%03d", seq), Seq: int64(seq), Type: "track.points",
			OccurredAt: now.Add(-time.Hour), DeviceTime: now, ReceivedAt: now, UserID: "u", OrgUnitID: "ou",
			Hash: fmt.Sprint("h", seq), Fact: []byte(`{"x":1}`), Status: beatgrid.StatusApplied}
	}
	first := []*beatgrid.Mutation{mk("d1", 1), mk("d1", 2), mk("d2", 1)}
	first[1].Status, first[1].Code, first[1].Field, first[1].Detail, first[1].Fact = beatgrid.StatusRejected, "bad_payload", "/payload/t", "why", nil
	first[2].Flags = []string{"clock_skew"}
	dups, err := s.InsertMutations(ctx, first)
	mustOK(t, err)
	if len(dups) != 0 {
		t.Fatalf("dups in a fresh insert: %v", dups)
	}

	// A retry mixes old and new: only the old are reported, every new one is stored.
	changed := *first[0]
	changed.Hash = "other" // a duplicate never overwrites
	second := []*beatgrid.Mutation{mk("d1", 3), &changed, mk("d3", 1), first[2], mk("d1", 4)}
	dups, err = s.InsertMutations(ctx, second)
	mustOK(t, err)
	slices.Sort(dups)
	if !slices.Equal(dups, []int{1, 3}) {
		t.Fatalf("dups %v, want [1 3]", dups)
	}

	for _, want := range append(first, second[0], second[2], second[4]) {
		got, err := s.Mutation(ctx, want.DeviceID, want.ID)
		mustOK(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("read back %+v\nwant %+v", got, want)
		}
	}
	_, err = s.Mutation(ctx, "d9", "m-001")
	mustCode(t, err, beatgrid.ENOTFOUND)

	n := 0
	mustOK(t, s.ScanMutations(ctx, func(*beatgrid.Mutation) error { n++; return nil }))
	if n != 6 {
		t.Fatalf("scanned %d mutations, want 6", n)
	}
}
