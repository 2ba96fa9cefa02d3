package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	gosync "sync"

	"github.com/beatgrid/beatgrid"
)

// BlobIndex knows which photos have arrived and which facts still wait for one. A terminal
// pushes an inspection (or hazard, task feedback …) naming its photos by hash, and uploads
// the photos when the network allows, before or after: the fact is applied at once and is
// pending until every photo it names has arrived.
type BlobIndex struct {
	mu      gosync.Mutex
	have    map[string]bool
	waiting map[string]map[string]bool // photo hash → the facts (device/id) waiting for it
}

// NewBlobIndex returns an empty index.
func NewBlobIndex() *BlobIndex {
	return &BlobIndex{have: map[string]bool{}, waiting: map[string]map[string]bool{}}
}

// Load adds every complete blob of the store.
func (x *BlobIndex) Load(ctx context.Context, st beatgrid.BlobStore) error {
	err := st.ListBlobs(ctx, func(sha string) error {
		x.Arrived(sha)
		return nil
	})
	if err != nil {
		return fmt.Errorf("sync: load blob index: %w", err)
	}
	return nil
}

// Arrived records a complete blob: facts waiting only for it are pending no more.
func (x *BlobIndex) Arrived(sha string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.have[sha] = true
	delete(x.waiting, sha)
}

// Pending returns how many photos are awaited, and by how many facts.
func (x *BlobIndex) Pending() (photos, facts int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	waiting := map[string]bool{}
	for _, fs := range x.waiting {
		for f := range fs {
			waiting[f] = true
		}
	}
	return len(x.waiting), len(waiting)
}

// Missing returns the photos of the fact (device/id) that have not arrived, sorted.
func (x *BlobIndex) Missing(key string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for sha, fs := range x.waiting {
		if fs[key] {
			out = append(out, sha)
		}
	}
	slices.Sort(out)
	return out
}

// track notes the photos an applied mutation names and returns those still missing.
func (x *BlobIndex) track(m *beatgrid.Mutation) []string {
	var f struct {
		Photos []string `json:"photos"`
	}
	if x == nil || m.Status != beatgrid.StatusApplied || json.Unmarshal(m.Fact, &f) != nil || len(f.Photos) == 0 {
		return nil
	}
	key := m.DeviceID + "/" + m.ID
	x.mu.Lock()
	defer x.mu.Unlock()
	var missing []string
	for _, sha := range f.Photos {
		if !x.have[sha] {
			if x.waiting[sha] == nil {
				x.waiting[sha] = map[string]bool{}
			}
			x.waiting[sha][key] = true
			missing = append(missing, sha)
		}
	}
	return missing
}
