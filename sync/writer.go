package sync

import (
	"context"
	"time"

	"github.com/beatgrid/beatgrid"
)

// The mutation log has one writer: pushes hand their new mutations to it, and it writes what
// several pushes handed in at once in one insertMany (a group commit). The embedded store
// serialises writes anyway and loses most of its speed to concurrent writers (8 writers:
// over 100× slower than one), and every commit pays a sync to disk, so one write for many
// pushes is both the fast path and the simple one.

// maxGroup bounds the mutations of one group write.
const maxGroup = 2000

type writeReq struct {
	ms   []*beatgrid.Mutation
	done chan writeRes
}

type writeRes struct {
	dups []int
	err  error
}

func (e *Engine) startWriter() {
	e.writes = make(chan *writeReq)
	e.writerDone = make(chan struct{})
	go e.writeLoop()
}

// Close stops the writer once the writes handed to it are done.
func (e *Engine) Close() {
	e.closeOnce.Do(func() {
		close(e.writes)
		<-e.writerDone
	})
}

// write hands ms to the writer and waits until they are durable (or failed). It waits even
// if ctx ends meanwhile: the caller must know what was stored.
func (e *Engine) write(ms []*beatgrid.Mutation) ([]int, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	req := &writeReq{ms: ms, done: make(chan writeRes, 1)}
	e.writes <- req
	res := <-req.done
	return res.dups, res.err
}

func (e *Engine) writeLoop() {
	defer close(e.writerDone)
	for req := range e.writes {
		group, n := []*writeReq{req}, len(req.ms)
	more:
		for n < maxGroup {
			select {
			case r, ok := <-e.writes:
				if !ok {
					break more
				}
				group, n = append(group, r), n+len(r.ms)
			default:
				break more
			}
		}
		e.writeGroup(group, n)
	}
}

// writeGroup writes the mutations of a group in one call and gives each request its part of
// the answer.
func (e *Engine) writeGroup(group []*writeReq, n int) {
	all := make([]*beatgrid.Mutation, 0, n)
	for _, r := range group {
		all = append(all, r.ms...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	dups, err := e.store.InsertMutations(ctx, all)
	cancel()
	e.stats.GroupWrites.Add(1)
	if e.cfg.AfterWrite != nil {
		e.cfg.AfterWrite()
	}
	start := 0
	for _, r := range group {
		var mine []int
		for _, d := range dups {
			if d >= start && d < start+len(r.ms) {
				mine = append(mine, d-start)
			}
		}
		r.done <- writeRes{dups: mine, err: err}
		start += len(r.ms)
	}
}
