// Package inspect runs venue inspections: venues and their checklists (records the console
// edits, one writer, compare-and-set), inspections folded from the mutation log, hazards and
// tasks. A hazard or a task is a deterministic fold of immutable events — terminal facts from
// the mutation log and console actions stored insert-only — ordered by (event time, id); an
// event not valid in the state it meets stays in the history, superseded, with the reason. So
// the same events give the same hazard whatever their arrival order (ARCHITECTURE.md §3.4).
package inspect

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/beatgrid/beatgrid"
	bgsync "github.com/beatgrid/beatgrid/sync"
)

// Feed collections.
const (
	CollVenues     = "venues"
	CollChecklists = "checklists"
	CollHazards    = "hazards"
	CollTasks      = "tasks"
)

// Config is what the service needs.
type Config struct {
	Store  beatgrid.InspectStore
	Tree   func() *beatgrid.OrgTree // the current org tree, against which every call checks scope
	Feed   beatgrid.ChangeFeed
	Logger *slog.Logger
	Now    func() time.Time // stamps console actions; time.Now when nil
}

// Service holds venues, checklists, inspections, hazards and tasks in memory.
type Service struct {
	cfg Config

	wmu gosync.Mutex   // the writer lock: one stored change at a time
	mu  gosync.RWMutex // guards the maps below
	// Records are never changed in place, only replaced, so readers may keep what they got.
	venues      map[string]*beatgrid.Venue
	checklists  map[string][]*beatgrid.Checklist // by id, every version, oldest first
	inspections map[string]map[string]*beatgrid.Inspection
	hazards     map[string]map[string]*hazardEvent // hazard id → event id → event
	tasks       map[string]map[string]*taskEvent
	console     map[string]int // target → console actions stored on it
	notices     map[string]int // "<unit short>-<yyyy>" → the highest notice number given

	pubs map[string]*beatgrid.Publication // "<collection>/<id>" → as last stored

	// dirty holds the hazards and tasks a fold changed, "<collection>/<id>": the
	// publisher (Run) stores their pulled form off the push path.
	dmu   gosync.Mutex
	dirty map[string]bool
	wake  chan struct{}
}

// New loads venues, checklists, console actions and publications from the store and adds
// the records to the feed. Register its folds, load the sync engine, then Start it.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	s := &Service{cfg: cfg, venues: map[string]*beatgrid.Venue{}, checklists: map[string][]*beatgrid.Checklist{},
		inspections: map[string]map[string]*beatgrid.Inspection{}, hazards: map[string]map[string]*hazardEvent{},
		tasks: map[string]map[string]*taskEvent{}, console: map[string]int{}, notices: map[string]int{},
		pubs: map[string]*beatgrid.Publication{}, dirty: map[string]bool{}, wake: make(chan struct{}, 1)}
	st, err := cfg.Store.LoadInspect(ctx)
	if err != nil {
		return nil, fmt.Errorf("inspect: load: %w", err)
	}
	for _, v := range st.Venues {
		s.venues[v.ID] = v
		cfg.Feed.Load(venueRecord(v))
	}
	for _, c := range st.Checklists {
		s.checklists[c.ID] = append(s.checklists[c.ID], c)
	}
	for id, vs := range s.checklists {
		slices.SortFunc(vs, func(a, b *beatgrid.Checklist) int { return cmp.Compare(a.Version, b.Version) })
		s.checklists[id] = vs
		cfg.Feed.Load(checklistRecord(vs[len(vs)-1]))
	}
	for _, e := range st.Events {
		s.foldConsole(e)
	}
	for _, p := range st.Publications {
		s.pubs[p.Collection+"/"+p.ID] = p
		cfg.Feed.Load(pubRecord(p))
	}
	return s, nil
}

// SetClock replaces the clock that stamps console actions (tests).
func (s *Service) SetClock(now func() time.Time) { s.cfg.Now = now }

// Register adds the service's folds to the sync registry.
func (s *Service) Register(reg *bgsync.Registry) {
	reg.Fold("inspection.submit", s.foldInspection)
	reg.Fold("hazard.report", s.foldReport)
	reg.Fold("hazard.rectify", s.foldRectify)
	reg.Fold("task.feedback", s.foldFeedback)
}

// Start publishes the hazards and tasks whose folded state differs from what was published
// before the restart. Call it once the sync engine has loaded the log, then Run.
func (s *Service) Start(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.dmu.Lock()
	clear(s.dirty) // all of them are published now
	s.dmu.Unlock()
	s.mu.RLock()
	hs, ts := keysOf(s.hazards), keysOf(s.tasks)
	s.mu.RUnlock()
	for _, id := range hs {
		if err := s.publish(ctx, CollHazards, id); err != nil {
			return err
		}
	}
	for _, id := range ts {
		if err := s.publish(ctx, CollTasks, id); err != nil {
			return err
		}
	}
	return nil
}

// changed marks a hazard or task a fold changed, for the publisher. A fold runs on the
// push path: it stores nothing itself.
func (s *Service) changed(coll, id string) {
	s.dmu.Lock()
	s.dirty[coll+"/"+id] = true
	s.dmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run publishes what folds changed as it comes, until ctx ends; pause is the least time
// between two rounds.
func (s *Service) Run(ctx context.Context, pause time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		if err := s.Publish(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("inspect: publish", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}

// Publish stores and commits the pulled form of every hazard and task folds changed since
// the last round; what fails stays for the next.
func (s *Service) Publish(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.dmu.Lock()
	keys := make([]string, 0, len(s.dirty))
	for k := range s.dirty {
		keys = append(keys, k)
	}
	clear(s.dirty)
	s.dmu.Unlock()
	slices.Sort(keys)
	var errs []error
	for _, k := range keys {
		coll, id, _ := strings.Cut(k, "/")
		if err := s.publish(ctx, coll, id); err != nil {
			errs = append(errs, err)
			s.changed(coll, id)
		}
	}
	return errors.Join(errs...)
}

// publish stores and commits the pulled form of a hazard or task if it differs from the one
// published last. Callers hold the writer lock.
func (s *Service) publish(ctx context.Context, coll, id string) error {
	s.mu.RLock()
	var unit string
	var deleted, ok bool
	var doc any
	switch coll {
	case CollHazards:
		var h beatgrid.Hazard
		if h, ok = s.hazardView(id); ok {
			unit, deleted, doc = h.OrgUnitID, h.Status == beatgrid.HazardClosed, &h
		}
	case CollTasks:
		var t beatgrid.Task
		if t, ok = s.taskView(id); ok {
			unit, deleted, doc = t.OrgUnitID, t.Status == beatgrid.TaskVerified, &t
		}
	}
	old := s.pubs[coll+"/"+id]
	s.mu.RUnlock()
	if !ok {
		return nil // no valid report or dispatch yet: nothing to pull
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("inspect: encode %s %s: %w", coll, id, err)
	}
	p := &beatgrid.Publication{Collection: coll, ID: id, Unit: unit, Deleted: deleted, Doc: b, Version: 1}
	if old != nil {
		if old.Unit == unit && old.Deleted == deleted && bytes.Equal(old.Doc, b) {
			return nil
		}
		p.Version, p.PastUnits = old.Version+1, old.PastUnits
		if old.Unit != unit && !slices.Contains(p.PastUnits, old.Unit) {
			p.PastUnits = append(slices.Clone(p.PastUnits), old.Unit)
		}
	}
	p.Rev = s.cfg.Feed.Reserve()
	if err := s.cfg.Store.PutPublication(ctx, p); err != nil {
		s.cfg.Feed.Abort(p.Rev)
		return fmt.Errorf("inspect: publish %s %s: %w", coll, id, err)
	}
	s.mu.Lock()
	s.pubs[coll+"/"+id] = p
	s.mu.Unlock()
	s.cfg.Feed.Commit(pubRecord(p))
	return nil
}

func pubRecord(p *beatgrid.Publication) *beatgrid.FeedRecord {
	r := &beatgrid.FeedRecord{Collection: p.Collection, ID: p.ID, Unit: p.Unit, PastUnits: p.PastUnits,
		Deleted: p.Deleted, Version: p.Rev}
	if !p.Deleted {
		r.Value = json.RawMessage(p.Doc)
	}
	return r
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// within reports whether unit lies in p's scope.
func within(tree *beatgrid.OrgTree, p *beatgrid.Principal, unit string) bool {
	return tree.Within(p.OrgUnitID, unit)
}

func commanderOnly(p *beatgrid.Principal) error {
	if !p.HasRole(beatgrid.RoleCommander, beatgrid.RoleAdmin) {
		return beatgrid.Errorf(beatgrid.EFORBIDDEN, "This needs the role commander or admin.")
	}
	return nil
}

// storeConsole stores a console action on target as its next event, then folds it. Callers
// hold the writer lock.
func (s *Service) storeConsole(ctx context.Context, e *beatgrid.InspectEvent) error {
	if e.ID == "" {
		e.ID = s.nextConsoleID(e.Target)
	}
	if err := s.cfg.Store.InsertInspectEvent(ctx, e); err != nil {
		return fmt.Errorf("inspect: store %s on %s: %w", e.Kind, e.Target, err)
	}
	s.mu.Lock()
	s.foldConsole(e)
	s.mu.Unlock()
	return nil
}

// nextConsoleID is the id of the next console action on target: "<target>/<n>", n padded
// so that ids sort in the order they were given. Callers hold the writer lock.
func (s *Service) nextConsoleID(target string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fmt.Sprintf("%s/%06d", target, s.console[target]+1)
}

// foldConsole folds a stored console action. Callers hold s.mu (or own s, at load).
func (s *Service) foldConsole(e *beatgrid.InspectEvent) {
	s.console[e.Target]++
	switch e.Kind {
	case "task.dispatch", "task.verify":
		s.taskEvents(e.Target)[e.ID] = consoleTaskEvent(e)
	default:
		s.hazardEvents(e.Target)[e.ID] = consoleHazardEvent(e)
		if e.NoticeNo != "" {
			s.noteNotice(e.NoticeNo)
		}
	}
}
