package sync_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/beatgrid/beatgrid"
	bgsync "github.com/beatgrid/beatgrid/sync"
)

func rec(v int64, id, unit string, past ...string) *beatgrid.FeedRecord {
	return &beatgrid.FeedRecord{Collection: "routes", ID: id, Unit: unit, PastUnits: past, Value: fmt.Sprint(id, "@", v), Version: v}
}

func scope(units ...string) func(string) bool {
	return func(u string) bool { return slices.Contains(units, u) }
}

// pullAll pulls from after in pages of limit until no more, and returns what came.
func pullAll(f *bgsync.Feed, in func(string) bool, after int64, limit int) ([]string, int64) {
	var got []string
	for {
		cs, cursor, more := f.Pull(in, after, limit)
		for _, c := range cs {
			got = append(got, fmt.Sprintf("%s %s v%d", c.Op, c.ID, c.Version))
		}
		after = cursor
		if !more {
			return got, after
		}
	}
}

// TestFeedLateCommit: a writer that reserved version 1 but commits after version 2 is not
// skipped: pulls stop below it until it commits (or aborts).
func TestFeedLateCommit(t *testing.T) {
	f := bgsync.NewFeed()
	v1, v2 := f.Reserve(), f.Reserve()
	f.Commit(rec(v2, "b", "s1"))
	got, cursor := pullAll(f, scope("s1"), 0, 10)
	if len(got) != 0 || cursor != 0 {
		t.Fatalf("pulled %v to %d past a pending version", got, cursor)
	}
	f.Commit(rec(v1, "a", "s1"))
	got, cursor = pullAll(f, scope("s1"), 0, 10)
	if want := []string{"upsert a v1", "upsert b v2"}; !slices.Equal(got, want) || cursor != 2 {
		t.Fatalf("pulled %v to %d, want %v to 2", got, cursor, want)
	}
	v3, v4 := f.Reserve(), f.Reserve()
	f.Commit(rec(v4, "c", "s1"))
	f.Abort(v3) // the write of v3 failed: it must not hold pulls back for ever
	got, cursor = pullAll(f, scope("s1"), cursor, 10)
	if want := []string{"upsert c v4"}; !slices.Equal(got, want) || cursor != 4 {
		t.Fatalf("after abort: %v to %d", got, cursor)
	}
	// A version aborted last is not stored: after a restart its number comes again, and the
	// cursor must not have passed it.
	f.Abort(f.Reserve()) // v5
	if _, cursor = pullAll(f, scope("s1"), cursor, 10); cursor != 4 {
		t.Fatalf("cursor %d passed an aborted version", cursor)
	}
	restarted := bgsync.NewFeed()
	for _, r := range []*beatgrid.FeedRecord{rec(1, "a", "s1"), rec(2, "b", "s1"), rec(4, "c", "s1")} {
		restarted.Load(r)
	}
	restarted.Commit(rec(restarted.Reserve(), "d", "s1")) // v5 again
	if got, _ := pullAll(restarted, scope("s1"), cursor, 10); !slices.Equal(got, []string{"upsert d v5"}) {
		t.Fatalf("after a restart: %v", got)
	}
}

// TestFeedScope: a record is seen only within its scope; one that moves out of a scope
// reaches that scope's terminals as a delete; a fresh terminal gets no deletes.
func TestFeedScope(t *testing.T) {
	f := bgsync.NewFeed()
	f.Commit(rec(f.Reserve(), "r1", "s1"))
	f.Commit(rec(f.Reserve(), "r2", "s2"))
	s1, _ := pullAll(f, scope("s1"), 0, 10)
	if want := []string{"upsert r1 v1"}; !slices.Equal(s1, want) {
		t.Fatalf("s1 pulled %v", s1)
	}
	f.Commit(rec(f.Reserve(), "r1", "s2", "s1")) // r1 moves from s1 to s2
	gone := &beatgrid.FeedRecord{Collection: "routes", ID: "r2", Unit: "s2", Deleted: true, Version: f.Reserve()}
	f.Commit(gone)
	s1, _ = pullAll(f, scope("s1"), 2, 10)
	s2, _ := pullAll(f, scope("s2"), 2, 10)
	fresh, _ := pullAll(f, scope("s2"), 0, 10)
	if want := []string{"delete r1 v3"}; !slices.Equal(s1, want) {
		t.Errorf("s1 after the move: %v, want %v", s1, want)
	}
	if want := []string{"upsert r1 v3", "delete r2 v4"}; !slices.Equal(s2, want) {
		t.Errorf("s2 after the move: %v, want %v", s2, want)
	}
	if want := []string{"upsert r1 v3"}; !slices.Equal(fresh, want) {
		t.Errorf("a fresh s2 terminal: %v, want %v", fresh, want)
	}
}

// TestFeedPaging: pages follow each other without loss or repeat, superseded changes are
// not sent, and the feed survives compaction.
func TestFeedPaging(t *testing.T) {
	f := bgsync.NewFeed()
	for round := 0; round < 5; round++ {
		for i := 0; i < 1000; i++ {
			f.Commit(rec(f.Reserve(), fmt.Sprint("r", i), "s1"))
		}
	}
	got, cursor := pullAll(f, scope("s1"), 0, 7)
	if len(got) != 1000 || cursor != 5000 {
		t.Fatalf("pulled %d changes to %d, want 1000 to 5000", len(got), cursor)
	}
	for i, g := range got {
		if want := fmt.Sprintf("upsert r%d v%d", i, 4001+i); g != want {
			t.Fatalf("change %d = %q, want %q", i, g, want)
		}
	}
	// Load (at start) keeps the order and the next version.
	g := bgsync.NewFeed()
	g.Load(rec(7, "x", "s1"))
	g.Load(rec(3, "y", "s1"))
	if v := g.Reserve(); v != 8 {
		t.Fatalf("reserve after load = %d, want 8", v)
	}
}
