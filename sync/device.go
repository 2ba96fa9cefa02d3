package sync

import (
	"slices"
	gosync "sync"
	"time"

	"github.com/beatgrid/beatgrid"
)

// deviceLog is what the engine remembers of one device: recent mutations by id (to answer
// repeats without the store) and the sequence numbers seen. One push at a time holds mu.
type deviceLog struct {
	mu       gosync.Mutex
	seen     map[string]*beatgrid.Mutation // id → the stored mutation, fact dropped
	seqs     seqSet
	prunedAt time.Time
}

func newDeviceLog() *deviceLog { return &deviceLog{seen: map[string]*beatgrid.Mutation{}} }

// record notes a stored mutation; remember keeps its answer in memory for repeats.
func (d *deviceLog) record(m *beatgrid.Mutation, remember bool) {
	if remember {
		light := *m
		light.Fact = nil
		d.seen[m.ID] = &light
	}
	if m.Seq >= 1 {
		d.seqs.add(m.Seq)
	}
}

// prune forgets mutations received before horizon, once an hour at most: their repeats are
// still caught by the store's unique key, only slower.
func (d *deviceLog) prune(now, horizon time.Time) {
	if now.Sub(d.prunedAt) < time.Hour {
		return
	}
	d.prunedAt = now
	for id, m := range d.seen {
		if m.ReceivedAt.Before(horizon) {
			delete(d.seen, id)
		}
	}
}

// seqSet holds the sequence numbers a device has sent: all of 1..upTo, and some above.
type seqSet struct {
	upTo  int64
	above map[int64]bool
}

func (s *seqSet) add(n int64) {
	switch {
	case n <= s.upTo:
		return
	case n == s.upTo+1:
		s.upTo++
		for s.above[s.upTo+1] {
			delete(s.above, s.upTo+1)
			s.upTo++
		}
	default:
		if s.above == nil {
			s.above = map[int64]bool{}
		}
		s.above[n] = true
	}
}

// Gap is a run of sequence numbers never received, though later ones were: the terminal
// may have lost those mutations.
type Gap struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// gaps returns up to max gaps, lowest first.
func (s *seqSet) gaps(max int) []Gap {
	if len(s.above) == 0 {
		return nil
	}
	seen := make([]int64, 0, len(s.above))
	for n := range s.above {
		seen = append(seen, n)
	}
	slices.Sort(seen)
	var out []Gap
	prev := s.upTo
	for _, n := range seen {
		if n > prev+1 {
			out = append(out, Gap{From: prev + 1, To: n - 1})
			if len(out) == max {
				break
			}
		}
		prev = n
	}
	return out
}
