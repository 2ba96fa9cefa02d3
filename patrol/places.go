package patrol

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/geo"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
)

// Limits of patrol places.
const (
	maxNameLen          = 200
	maxRouteVertices    = 10000
	maxRouteCheckpoints = 200
	maxKioskSegments    = 50
	maxKioskVertices    = 5000
	minRadiusM          = 5
	maxRadiusM          = 500
)

// Feed collections of patrol places.
const (
	CollRoutes      = "routes"
	CollCheckpoints = "checkpoints"
	CollKiosks      = "kiosks"
)

// Places keeps the patrol places (routes, checkpoints, kiosks) in memory, loaded from the
// store at start; one writer at a time changes them, storing each change before showing it.
type Places struct {
	store beatgrid.PlaceStore
	tree  func() *beatgrid.OrgTree
	feed  beatgrid.ChangeFeed
	now   func() time.Time

	wmu gosync.Mutex   // the writer lock: one change at a time
	mu  gosync.RWMutex // guards the maps below
	// The records by id, tombstones included; a record is never changed in place, only
	// replaced by a changed copy, so readers may keep what they got.
	routes      kind[beatgrid.Route, *beatgrid.Route]
	checkpoints kind[beatgrid.Checkpoint, *beatgrid.Checkpoint]
	kiosks      kind[beatgrid.Kiosk, *beatgrid.Kiosk]
}

// placeRec is a pointer to a place record (Route, Checkpoint, Kiosk).
type placeRec[R any] interface {
	*R
	Meta() *beatgrid.Place
}

// kind is one collection of places.
type kind[R any, T placeRec[R]] struct {
	coll string // the feed collection
	what string // the record's name in messages
	recs map[string]T
	put  func(context.Context, T) error
}

// NewPlaces loads every place from st and adds each to feed. tree returns the current org
// tree, against which every call checks scope.
func NewPlaces(ctx context.Context, st beatgrid.PlaceStore, tree func() *beatgrid.OrgTree, feed beatgrid.ChangeFeed) (*Places, error) {
	s := &Places{store: st, tree: tree, feed: feed, now: func() time.Time { return time.Now().UTC() },
		routes:      kind[beatgrid.Route, *beatgrid.Route]{coll: CollRoutes, what: "route", put: st.PutRoute},
		checkpoints: kind[beatgrid.Checkpoint, *beatgrid.Checkpoint]{coll: CollCheckpoints, what: "checkpoint", put: st.PutCheckpoint},
		kiosks:      kind[beatgrid.Kiosk, *beatgrid.Kiosk]{coll: CollKiosks, what: "kiosk", put: st.PutKiosk},
	}
	loaded, err := st.LoadPlaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("patrol: load places: %w", err)
	}
	s.routes.load(loaded.Routes, feed)
	s.checkpoints.load(loaded.Checkpoints, feed)
	s.kiosks.load(loaded.Kiosks, feed)
	return s, nil
}

// SetClock replaces the clock that stamps changes (tests).
func (s *Places) SetClock(now func() time.Time) { s.now = now }

func (k *kind[R, T]) load(recs []T, feed beatgrid.ChangeFeed) {
	k.recs = make(map[string]T, len(recs))
	for _, r := range recs {
		k.recs[r.Meta().ID] = r
		feed.Load(k.record(r))
	}
}

// record is r as terminals pull it: seen within its unit's subtree.
func (k *kind[R, T]) record(r T) *beatgrid.FeedRecord {
	m := r.Meta()
	fr := &beatgrid.FeedRecord{Collection: k.coll, ID: m.ID, Unit: m.OrgUnitID, PastUnits: m.PastUnits,
		Deleted: m.Deleted, Version: m.Rev}
	if !m.Deleted {
		fr.Value = r
	}
	return fr
}

// get returns the live record id if it lies in p's scope; ENOTFOUND otherwise. Callers hold
// s.mu or the writer lock.
func (k *kind[R, T]) get(tree *beatgrid.OrgTree, p *beatgrid.Principal, id string) (T, error) {
	r := k.recs[id]
	if r == nil || r.Meta().Deleted || !tree.Within(p.OrgUnitID, r.Meta().OrgUnitID) {
		return nil, beatgrid.Errorf(beatgrid.ENOTFOUND, "No such %s in your scope.", k.what)
	}
	return r, nil
}

// list returns the live records in p's scope, by id. Callers hold s.mu.
func (k *kind[R, T]) list(tree *beatgrid.OrgTree, p *beatgrid.Principal) []T {
	var out []T
	for _, r := range k.recs {
		if m := r.Meta(); !m.Deleted && tree.Within(p.OrgUnitID, m.OrgUnitID) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(a.Meta().ID, b.Meta().ID) })
	return out
}

// listOf and getOf read a kind under the read lock.
func listOf[R any, T placeRec[R]](s *Places, k *kind[R, T], p *beatgrid.Principal) []T {
	tree := s.tree()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return k.list(tree, p)
}

func getOf[R any, T placeRec[R]](s *Places, k *kind[R, T], p *beatgrid.Principal, id string) (T, error) {
	tree := s.tree()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return k.get(tree, p, id)
}

// write changes record id (a new record when id is "") with apply, on a copy, and stores the
// copy under the next feed version. Only commanders and admins write, within their scope.
func write[R any, T placeRec[R]](ctx context.Context, s *Places, k *kind[R, T], p *beatgrid.Principal, id string,
	apply func(tree *beatgrid.OrgTree, rec T) error) (T, error) {
	if !p.HasRole(beatgrid.RoleCommander, beatgrid.RoleAdmin) {
		return nil, beatgrid.Errorf(beatgrid.EFORBIDDEN, "This needs the role commander or admin.")
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tree := s.tree()
	rec := T(new(R))
	var before beatgrid.Place
	if id != "" {
		old, err := k.get(tree, p, id)
		if err != nil {
			return nil, err
		}
		*rec = *old
		before = *old.Meta()
	}
	if err := apply(tree, rec); err != nil {
		return nil, err
	}
	if id != "" && reflect.DeepEqual(rec, k.recs[id]) {
		return k.recs[id], nil // nothing changed: nothing to store, no new version
	}
	stamp(rec.Meta(), &before, s.now())
	if err := storePlace(ctx, s, k, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// stamp sets the bookkeeping of a changed place m that was before (zero for a new one).
func stamp(m, before *beatgrid.Place, now time.Time) {
	if before.ID == "" {
		m.ID, m.CreatedAt = uuid.Must(uuid.NewV7()).String(), now
	} else if m.OrgUnitID != before.OrgUnitID && !slices.Contains(m.PastUnits, before.OrgUnitID) {
		m.PastUnits = append(slices.Clone(m.PastUnits), before.OrgUnitID)
	}
	m.Version = before.Version + 1
	m.UpdatedAt = now
}

// storePlace writes rec under the next feed version, then publishes it to memory and to
// pulls; on a failed write the version is aborted. Callers hold the writer lock.
func storePlace[R any, T placeRec[R]](ctx context.Context, s *Places, k *kind[R, T], rec T) error {
	m := rec.Meta()
	m.Rev = s.feed.Reserve()
	if err := k.put(ctx, rec); err != nil {
		s.feed.Abort(m.Rev)
		return fmt.Errorf("patrol: store %s %s: %w", k.what, m.ID, err)
	}
	s.mu.Lock()
	k.recs[m.ID] = rec
	s.mu.Unlock()
	s.feed.Commit(k.record(rec))
	return nil
}

// remove writes a tombstone of record id: terminals pull it as a delete.
func remove[R any, T placeRec[R]](ctx context.Context, s *Places, k *kind[R, T], p *beatgrid.Principal, id string) error {
	_, err := write(ctx, s, k, p, id, func(_ *beatgrid.OrgTree, rec T) error {
		rec.Meta().Deleted = true
		return nil
	})
	return err
}

// PlaceChange is what every place change may set; nil fields stay (on create, a missing
// unit is the caller's own).
type PlaceChange struct {
	OrgUnitID *string
	Name      *string
}

// apply sets the common fields on m, checking the unit lies in p's scope.
func (c PlaceChange) apply(tree *beatgrid.OrgTree, p *beatgrid.Principal, m *beatgrid.Place) error {
	if c.Name != nil {
		if err := beatgrid.CheckName("/name", *c.Name, maxNameLen); err != nil {
			return err
		}
		m.Name = strings.TrimSpace(*c.Name)
	} else if m.ID == "" {
		return beatgrid.FieldErrorf("/name", "required")
	}
	unit := p.OrgUnitID
	if c.OrgUnitID != nil {
		unit = *c.OrgUnitID
	} else if m.ID != "" {
		return nil
	}
	if !tree.Within(p.OrgUnitID, unit) {
		return beatgrid.FieldErrorf("/org_unit_id", "no such org unit in your scope")
	}
	m.OrgUnitID = unit
	return nil
}

// geoField turns a geometry error into a field error below field.
func geoField(field string, err error) error {
	if ge, ok := err.(*geo.Error); ok {
		return beatgrid.FieldErrorf(field+ge.Path, "%s", ge.Reason)
	}
	return beatgrid.FieldErrorf(field, "%s", err.Error())
}

// RouteChange creates or changes a route; nil fields stay.
type RouteChange struct {
	PlaceChange
	Line          orb.LineString
	CheckpointIDs *[]string
}

// Routes returns the routes in p's scope, by id.
func (s *Places) Routes(p *beatgrid.Principal) []*beatgrid.Route { return listOf(s, &s.routes, p) }

// Route returns route id if it lies in p's scope; ENOTFOUND otherwise.
func (s *Places) Route(p *beatgrid.Principal, id string) (*beatgrid.Route, error) {
	return getOf(s, &s.routes, p, id)
}

// CreateRoute adds a route in p's scope.
func (s *Places) CreateRoute(ctx context.Context, p *beatgrid.Principal, c RouteChange) (*beatgrid.Route, error) {
	return write(ctx, s, &s.routes, p, "", s.applyRoute(p, c))
}

// UpdateRoute changes route id in p's scope.
func (s *Places) UpdateRoute(ctx context.Context, p *beatgrid.Principal, id string, c RouteChange) (*beatgrid.Route, error) {
	return write(ctx, s, &s.routes, p, id, s.applyRoute(p, c))
}

// DeleteRoute deletes route id in p's scope.
func (s *Places) DeleteRoute(ctx context.Context, p *beatgrid.Principal, id string) error {
	return remove(ctx, s, &s.routes, p, id)
}

func (s *Places) applyRoute(p *beatgrid.Principal, c RouteChange) func(*beatgrid.OrgTree, *beatgrid.Route) error {
	return func(tree *beatgrid.OrgTree, r *beatgrid.Route) error {
		isNew := r.ID == ""
		if err := c.PlaceChange.apply(tree, p, &r.Place); err != nil {
			return err
		}
		if c.Line != nil {
			if err := geo.ValidateLine(c.Line, maxRouteVertices); err != nil {
				return geoField("/geometry", err)
			}
			r.Line = c.Line
		} else if isNew {
			return beatgrid.FieldErrorf("/geometry", "required: a LineString")
		}
		if c.CheckpointIDs != nil {
			if err := s.checkCheckpoints(tree, p, *c.CheckpointIDs); err != nil {
				return err
			}
			r.CheckpointIDs = slices.Clone(*c.CheckpointIDs)
		}
		return nil
	}
}

// checkCheckpoints checks a route's checkpoints exist in p's scope. Callers hold the writer
// lock (so the maps do not change).
func (s *Places) checkCheckpoints(tree *beatgrid.OrgTree, p *beatgrid.Principal, ids []string) error {
	if len(ids) > maxRouteCheckpoints {
		return beatgrid.FieldErrorf("/checkpoint_ids", "more than %d checkpoints", maxRouteCheckpoints)
	}
	for i, id := range ids {
		if _, err := s.checkpoints.get(tree, p, id); err != nil {
			return beatgrid.FieldErrorf(fmt.Sprintf("/checkpoint_ids/%d", i), "no such checkpoint in your scope")
		}
	}
	return nil
}

// CheckpointChange creates or changes a checkpoint; nil fields stay.
type CheckpointChange struct {
	PlaceChange
	Point   *orb.Point
	RadiusM *float64
	Tag     *string
}

// Checkpoints returns the checkpoints in p's scope, by id.
func (s *Places) Checkpoints(p *beatgrid.Principal) []*beatgrid.Checkpoint {
	return listOf(s, &s.checkpoints, p)
}

// Checkpoint returns checkpoint id if it lies in p's scope; ENOTFOUND otherwise.
func (s *Places) Checkpoint(p *beatgrid.Principal, id string) (*beatgrid.Checkpoint, error) {
	return getOf(s, &s.checkpoints, p, id)
}

// CreateCheckpoint adds a checkpoint in p's scope.
func (s *Places) CreateCheckpoint(ctx context.Context, p *beatgrid.Principal, c CheckpointChange) (*beatgrid.Checkpoint, error) {
	return write(ctx, s, &s.checkpoints, p, "", applyCheckpoint(p, c))
}

// UpdateCheckpoint changes checkpoint id in p's scope.
func (s *Places) UpdateCheckpoint(ctx context.Context, p *beatgrid.Principal, id string, c CheckpointChange) (*beatgrid.Checkpoint, error) {
	return write(ctx, s, &s.checkpoints, p, id, applyCheckpoint(p, c))
}

// DeleteCheckpoint deletes checkpoint id in p's scope. Routes that name it keep its id.
func (s *Places) DeleteCheckpoint(ctx context.Context, p *beatgrid.Principal, id string) error {
	return remove(ctx, s, &s.checkpoints, p, id)
}

func applyCheckpoint(p *beatgrid.Principal, c CheckpointChange) func(*beatgrid.OrgTree, *beatgrid.Checkpoint) error {
	return func(tree *beatgrid.OrgTree, cp *beatgrid.Checkpoint) error {
		isNew := cp.ID == ""
		if err := c.PlaceChange.apply(tree, p, &cp.Place); err != nil {
			return err
		}
		if err := applyPoint(c.Point, &cp.Point, isNew); err != nil {
			return err
		}
		if c.RadiusM != nil {
			if r := *c.RadiusM; !(r >= minRadiusM && r <= maxRadiusM) {
				return beatgrid.FieldErrorf("/radius_m", "must be %d to %d metres", minRadiusM, maxRadiusM)
			}
			cp.RadiusM = *c.RadiusM
		} else if isNew {
			return beatgrid.FieldErrorf("/radius_m", "required")
		}
		if c.Tag != nil {
			if err := beatgrid.CheckName("/tag", *c.Tag, maxNameLen); err != nil {
				return err
			}
			cp.Tag = *c.Tag
		} else if isNew {
			return beatgrid.FieldErrorf("/tag", "required")
		}
		return nil
	}
}

// applyPoint sets *dst to pt when given (required for a new record).
func applyPoint(pt *orb.Point, dst *orb.Point, isNew bool) error {
	if pt == nil {
		if isNew {
			return beatgrid.FieldErrorf("/geometry", "required: a Point")
		}
		return nil
	}
	if err := geo.ValidPoint(*pt, "/coordinates"); err != nil {
		return geoField("/geometry", err)
	}
	*dst = *pt
	return nil
}

// KioskChange creates or changes a kiosk; nil fields stay.
type KioskChange struct {
	PlaceChange
	Point    *orb.Point
	Segments orb.MultiLineString
}

// Kiosks returns the kiosks in p's scope, by id.
func (s *Places) Kiosks(p *beatgrid.Principal) []*beatgrid.Kiosk { return listOf(s, &s.kiosks, p) }

// Kiosk returns kiosk id if it lies in p's scope; ENOTFOUND otherwise.
func (s *Places) Kiosk(p *beatgrid.Principal, id string) (*beatgrid.Kiosk, error) {
	return getOf(s, &s.kiosks, p, id)
}

// CreateKiosk adds a kiosk in p's scope.
func (s *Places) CreateKiosk(ctx context.Context, p *beatgrid.Principal, c KioskChange) (*beatgrid.Kiosk, error) {
	return write(ctx, s, &s.kiosks, p, "", applyKiosk(p, c))
}

// UpdateKiosk changes kiosk id in p's scope.
func (s *Places) UpdateKiosk(ctx context.Context, p *beatgrid.Principal, id string, c KioskChange) (*beatgrid.Kiosk, error) {
	return write(ctx, s, &s.kiosks, p, id, applyKiosk(p, c))
}

// DeleteKiosk deletes kiosk id in p's scope.
func (s *Places) DeleteKiosk(ctx context.Context, p *beatgrid.Principal, id string) error {
	return remove(ctx, s, &s.kiosks, p, id)
}

func applyKiosk(p *beatgrid.Principal, c KioskChange) func(*beatgrid.OrgTree, *beatgrid.Kiosk) error {
	return func(tree *beatgrid.OrgTree, k *beatgrid.Kiosk) error {
		isNew := k.ID == ""
		if err := c.PlaceChange.apply(tree, p, &k.Place); err != nil {
			return err
		}
		if err := applyPoint(c.Point, &k.Point, isNew); err != nil {
			return err
		}
		switch {
		case c.Segments == nil && isNew:
			return beatgrid.FieldErrorf("/segments", "required: a MultiLineString")
		case c.Segments == nil:
			return nil
		case len(c.Segments) > maxKioskSegments:
			return beatgrid.FieldErrorf("/segments/coordinates", "more than %d segments", maxKioskSegments)
		}
		if err := geo.ValidateLine(c.Segments, maxKioskVertices); err != nil {
			return geoField("/segments", err)
		}
		k.Segments = c.Segments
		return nil
	}
}

// checkpointByID returns a live checkpoint whatever the scope, for the patrol folds.
func (s *Places) checkpointByID(id string) *beatgrid.Checkpoint {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c := s.checkpoints.recs[id]; c != nil && !c.Deleted {
		return c
	}
	return nil
}

// routeByID returns a live route whatever the scope, for the patrol folds.
func (s *Places) routeByID(id string) *beatgrid.Route {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r := s.routes.recs[id]; r != nil && !r.Deleted {
		return r
	}
	return nil
}

// InUnit reports whether a live route, checkpoint or kiosk belongs to unit (a beat cannot be
// deleted while it holds any).
func (s *Places) InUnit(unit string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return inUnit(s.routes.recs, unit) || inUnit(s.checkpoints.recs, unit) || inUnit(s.kiosks.recs, unit)
}

func inUnit[R any, T placeRec[R]](recs map[string]T, unit string) bool {
	for _, r := range recs {
		if m := r.Meta(); !m.Deleted && m.OrgUnitID == unit {
			return true
		}
	}
	return false
}

// KioskByID returns a live kiosk whatever the scope (coverage of kiosk duty); nil if none.
func (s *Places) KioskByID(id string) *beatgrid.Kiosk {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if k := s.kiosks.recs[id]; k != nil && !k.Deleted {
		return k
	}
	return nil
}
