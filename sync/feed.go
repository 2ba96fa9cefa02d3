package sync

import (
	"slices"
	gosync "sync"

	"github.com/beatgrid/beatgrid"
)

// Feed is the pull side: the latest change of every pulled record, ordered by version, and
// the high-water mark below which every version is settled (committed or aborted). It lives
// in memory, rebuilt at start from the records' stored versions.
type Feed struct {
	mu       gosync.Mutex
	next     int64                           // the next version to reserve
	pending  map[int64]bool                  // reserved, not yet settled
	entries  []*beatgrid.FeedRecord          // committed, by version; superseded ones stay until compacted
	latest   map[string]*beatgrid.FeedRecord // collection/id → its latest entry
	inactive int                             // superseded entries in entries
}

var _ beatgrid.ChangeFeed = (*Feed)(nil)

// NewFeed returns an empty feed.
func NewFeed() *Feed {
	return &Feed{next: 1, pending: map[int64]bool{}, latest: map[string]*beatgrid.FeedRecord{}}
}

func key(r *beatgrid.FeedRecord) string { return r.Collection + "/" + r.ID }

// Load adds a record read from the store at start, with the version it was stored with.
func (f *Feed) Load(r *beatgrid.FeedRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = max(f.next, r.Version+1)
	f.insert(r)
}

// Reserve takes the next version for a change about to be stored.
func (f *Feed) Reserve() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.next
	f.next++
	f.pending[v] = true
	return v
}

// Commit publishes a stored change; r.Version must have been reserved.
func (f *Feed) Commit(r *beatgrid.FeedRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.pending, r.Version)
	f.insert(r)
}

// Abort settles a reserved version whose write failed.
func (f *Feed) Abort(v int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.pending, v)
}

// insert places r by version (commits may come out of order) and supersedes the record's
// previous entry. An older version than the one held is ignored.
func (f *Feed) insert(r *beatgrid.FeedRecord) {
	k := key(r)
	if old := f.latest[k]; old != nil {
		if old.Version >= r.Version {
			return
		}
		f.inactive++
	}
	f.latest[k] = r
	i, _ := slices.BinarySearchFunc(f.entries, r.Version, func(e *beatgrid.FeedRecord, v int64) int {
		return cmpInt(e.Version, v)
	})
	f.entries = slices.Insert(f.entries, i, r)
	if f.inactive > 1024 && f.inactive > len(f.entries)/2 {
		f.compact()
	}
}

func (f *Feed) compact() {
	f.entries = slices.DeleteFunc(f.entries, func(e *beatgrid.FeedRecord) bool { return f.latest[key(e)] != e })
	f.inactive = 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// highWater is the highest version below which none is pending. Call with mu held.
func (f *Feed) highWater() int64 {
	hw := f.next - 1
	for v := range f.pending {
		hw = min(hw, v-1)
	}
	return hw
}

// Change is one record as a terminal pulls it.
type Change struct {
	Collection string
	ID         string
	Op         string // "upsert" or "delete"
	Value      any    // the record, for an upsert
	Version    int64
}

// Pull returns up to limit changes after version `after`, as seen from a scope: in(unit)
// reports whether the puller's scope covers an org unit. A record of the scope comes as an
// upsert (or a delete once deleted); one that left the scope comes as a delete; a fresh
// terminal (after 0) gets no deletes. It returns the cursor to pull from next and whether
// more changes wait. It never passes a version still pending, nor one never committed.
func (f *Feed) Pull(in func(unit string) bool, after int64, limit int) ([]Change, int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hw := f.highWater()
	if after >= hw {
		return nil, max(after, 0), false
	}
	i, _ := slices.BinarySearchFunc(f.entries, after+1, func(e *beatgrid.FeedRecord, v int64) int {
		return cmpInt(e.Version, v)
	})
	var out []Change
	cursor := after
	for ; i < len(f.entries) && f.entries[i].Version <= hw; i++ {
		r := f.entries[i]
		if len(out) == limit {
			return out, cursor, true
		}
		cursor = r.Version
		if f.latest[key(r)] != r {
			continue // superseded by a later change
		}
		if c, ok := changeFor(r, in, after); ok {
			out = append(out, c)
		}
	}
	// The cursor stops at the last committed version seen, not at the mark: versions above it
	// that were reserved and aborted are not stored anywhere, and after a restart the feed
	// hands their numbers out again; a cursor past them would skip those new changes.
	return out, cursor, false
}

func changeFor(r *beatgrid.FeedRecord, in func(string) bool, after int64) (Change, bool) {
	c := Change{Collection: r.Collection, ID: r.ID, Version: r.Version, Op: "upsert", Value: r.Value}
	switch {
	case in(r.Unit) && !r.Deleted:
		return c, true
	case after == 0:
		return c, false // a fresh terminal has nothing to delete
	case in(r.Unit) || slices.ContainsFunc(r.PastUnits, in):
		c.Op, c.Value = "delete", nil
		return c, true
	}
	return c, false
}
