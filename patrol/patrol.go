// Package patrol folds the facts terminals record about patrols (patrol.start, patrol.end,
// track.points) into patrol sessions with their stats. The fold is order-free: a session is
// a set of facts, and every figure is computed from the set, so the same facts give the same
// session whatever their order or repetition of arrival (ARCHITECTURE.md §3.4).
package patrol

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	gosync "sync"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/geo"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/paulmach/orb"
)

// Service holds the patrol sessions in memory, folded from the mutation log.
type Service struct {
	places *Places // checkpoints and routes that punches are verified against; may be nil

	mu      gosync.RWMutex
	viewMu  gosync.Mutex // guards session.track, which readers fill in
	patrols map[string]*session
	chains  map[string]map[string]bool // device → the chain hashes of its punches

	changed func(id string) // told the id of each patrol whose facts changed; may be nil
}

// OnChange sets f to be told the id of every patrol whose facts change (coverage follows
// them). Set it before the log loads; f runs under the service's lock, so keep it short.
func (s *Service) OnChange(f func(id string)) { s.changed = f }

// touch marks a session's derived views stale. Callers hold s.mu.
func (s *Service) touch(p *session) {
	p.track = nil
	if s.changed != nil {
		s.changed(p.id)
	}
}

// New returns an empty service that verifies punches against places (nil: none verify);
// Register its folds before the sync engine loads the log.
func New(places *Places) *Service {
	return &Service{places: places, patrols: map[string]*session{}, chains: map[string]map[string]bool{}}
}

// Register adds the service's folds to the sync registry.
func (s *Service) Register(reg *bgsync.Registry) {
	reg.Fold("patrol.start", s.foldStart)
	reg.Fold("patrol.end", s.foldEnd)
	reg.Fold("track.points", s.foldPoints)
	reg.Fold("checkpoint.punch", s.foldPunch)
}

// session is what the facts of one patrol say. Starts and ends are kept as sets too: a
// terminal may (wrongly) send two; the earliest start and the latest end count.
type session struct {
	id                       string
	deviceID, userID, unitID string
	starts                   map[startFact]bool
	ends                     map[time.Time]bool
	// points holds the fixes of each track.points mutation (device/id): slices, not a set
	// per fix, to keep memory near 24 bytes a fix; the view merges them as a set.
	points map[string][]pointKey

	punches map[string]punch // by mutation (device/id)

	track *trackView // what the fixes say, computed on demand; nil when facts arrived since
	last  pointKey   // the latest fix (by time, then position): where the unit is now
}

type startFact struct {
	t       time.Time
	mode    string
	routeID string
}

// pointKey is a fix as kept: 24 bytes. Positions arrive rounded to 1e-7° (sync), so
// integers of 1e-7° hold them exactly.
type pointKey struct {
	t        int64 // unix nanoseconds
	lon, lat int32 // 1e-7 degrees
	acc      float32
}

func e7(v float64) int32            { return int32(math.Round(v * 1e7)) }
func (k pointKey) point() orb.Point { return orb.Point{float64(k.lon) / 1e7, float64(k.lat) / 1e7} }

func (k pointKey) fix() geo.Fix {
	return geo.Fix{Point: k.point(), T: time.Unix(0, k.t).UTC(), Acc: float64(k.acc)}
}

func (s *Service) session(id string, m *beatgrid.Mutation) *session {
	p := s.patrols[id]
	if p == nil {
		p = &session{id: id, deviceID: m.DeviceID, userID: m.UserID, unitID: m.OrgUnitID,
			starts: map[startFact]bool{}, ends: map[time.Time]bool{}, points: map[string][]pointKey{},
			punches: map[string]punch{}}
		s.patrols[id] = p
	}
	return p
}

func (s *Service) foldStart(m *beatgrid.Mutation) {
	var f bgsync.PatrolStart
	if json.Unmarshal(m.Fact, &f) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ses := s.session(f.PatrolID, m)
	ses.starts[startFact{f.T, f.Mode, f.RouteID}] = true
	s.touch(ses)
}

func (s *Service) foldEnd(m *beatgrid.Mutation) {
	var f bgsync.PatrolEnd
	if json.Unmarshal(m.Fact, &f) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ses := s.session(f.PatrolID, m)
	ses.ends[f.T] = true
	s.touch(ses)
}

func (s *Service) foldPoints(m *beatgrid.Mutation) {
	var f bgsync.TrackPoints
	if json.Unmarshal(m.Fact, &f) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pts := make([]pointKey, len(f.Points))
	for i, pt := range f.Points {
		pts[i] = pointKey{t: pt.T.UnixNano(), lon: e7(pt.Lon), lat: e7(pt.Lat)}
		if pt.Acc != nil {
			pts[i].acc = float32(*pt.Acc)
		}
	}
	ses := s.session(f.PatrolID, m)
	ses.points[m.DeviceID+"/"+m.ID] = pts // a repeat replaces itself
	for _, pt := range pts {
		if cmp.Or(cmp.Compare(pt.t, ses.last.t), cmp.Compare(pt.lon, ses.last.lon), cmp.Compare(pt.lat, ses.last.lat)) > 0 {
			ses.last = pt
		}
	}
	s.touch(ses)
}

// Patrol is a patrol session as the API shows it.
type Patrol struct {
	ID        string
	DeviceID  string
	UserID    string
	OrgUnitID string
	Mode      string
	RouteID   string
	StartedAt time.Time // zero until a start arrives
	EndedAt   time.Time // zero while open
	Points    int       // fixes received, each once
	Distance  float64   // metres, along the fixes the filter kept, in time order
	FirstFix  time.Time
	LastFix   time.Time
	Punches   Punches
	Filter    geo.FilterStats // what the filter of the patrol's mode kept and dropped, by reason
	Track     geo.TrackStats  // of the fixes kept
	// Adherence compares the kept track with the route's line; nil without a route.
	Adherence *geo.Adherence
}

// view is what the session's facts say. Call with s.mu held.
func (s *Service) view(p *session) Patrol {
	v := Patrol{ID: p.id, DeviceID: p.deviceID, UserID: p.userID, OrgUnitID: p.unitID}
	if first, ok := p.start(); ok {
		v.StartedAt, v.Mode, v.RouteID = first.t, first.mode, first.routeID
	}
	if len(p.ends) > 0 {
		v.EndedAt = slices.MaxFunc(keys(p.ends), time.Time.Compare)
	}
	tv := s.trackOf(p, v.Mode, v.RouteID)
	v.Points, v.FirstFix, v.LastFix = tv.points, tv.first, tv.last
	v.Filter, v.Track, v.Distance, v.Adherence = tv.filter, tv.stats, tv.stats.Distance, tv.adherence
	v.Punches = s.punchStats(p, v.RouteID)
	return v
}

// trackView is what a session's fixes say, kept until facts or its route change.
type trackView struct {
	points      int
	first, last time.Time
	filter      geo.FilterStats
	stats       geo.TrackStats
	adherence   *geo.Adherence
	route       *beatgrid.Route // the route version adherence was measured against
}

// Corridors of route adherence: how far from the route's line a track still follows it.
const (
	footCorridor  = 30.0 // metres
	otherCorridor = 50.0
	movingSpeed   = 0.5 // m/s: slower steps count as stopped
)

// filterFor returns the fix filter of a patrol mode: a video patrol's camera rides a vehicle;
// a patrol whose start has not arrived is judged leniently, as a vehicle.
func filterFor(mode string) geo.FilterConfig {
	c, err := geo.FilterFor(geo.Mode(mode))
	if err != nil {
		c, _ = geo.FilterFor(geo.Vehicle)
	}
	return c
}

// trackOf returns the session's track view, computing it if facts or the route changed.
// Call with s.mu held (a read lock is enough: the view is a pure function of the facts, and
// two readers computing it at once store equal values under viewMu).
func (s *Service) trackOf(p *session, mode, routeID string) *trackView {
	var route *beatgrid.Route
	if s.places != nil && routeID != "" {
		route = s.places.routeByID(routeID)
	}
	s.viewMu.Lock()
	tv := p.track
	s.viewMu.Unlock()
	if tv != nil && tv.route == route {
		return tv
	}
	pts := p.fixes()
	tv = &trackView{points: len(pts), route: route}
	if len(pts) > 0 {
		tv.first, tv.last = time.Unix(0, pts[0].t).UTC(), time.Unix(0, pts[len(pts)-1].t).UTC()
	}
	fixes := make([]geo.Fix, len(pts))
	for i, pt := range pts {
		fixes[i] = pt.fix()
	}
	kept, fs := geo.Filter(fixes, filterFor(mode))
	tv.filter, tv.stats = fs, geo.Stats(kept, movingSpeed)
	if route != nil && len(route.Line) > 1 {
		corridor := otherCorridor
		if mode == string(geo.Foot) {
			corridor = footCorridor
		}
		a := geo.RouteAdherence(route.Line, geo.Points(kept), corridor)
		tv.adherence = &a
	}
	s.viewMu.Lock()
	p.track = tv
	s.viewMu.Unlock()
	return tv
}

// start is the start that counts: the earliest (ties broken by mode, then route).
func (p *session) start() (startFact, bool) {
	if len(p.starts) == 0 {
		return startFact{}, false
	}
	return slices.MinFunc(keys(p.starts), func(a, b startFact) int {
		return cmp.Or(a.t.Compare(b.t), cmp.Compare(a.mode, b.mode), cmp.Compare(a.routeID, b.routeID))
	}), true
}

// fixes are the session's fixes in time order, each once: the same fix sent in two
// mutations counts once.
func (p *session) fixes() []pointKey {
	var pts []pointKey
	for _, batch := range p.points {
		pts = append(pts, batch...)
	}
	slices.SortFunc(pts, func(a, b pointKey) int {
		return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.lon, b.lon), cmp.Compare(a.lat, b.lat))
	})
	return slices.Compact(pts)
}

func keys[K comparable](m map[K]bool) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// List returns the patrols p may see, by id: commanders and admins those of their scope
// (in reports whether a unit is in it); officers and inspectors their own.
func (s *Service) List(p *beatgrid.Principal, in func(unit string) bool) []Patrol {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Patrol
	for _, ses := range s.patrols {
		if visible(p, ses, in) {
			out = append(out, s.view(ses))
		}
	}
	slices.SortFunc(out, func(a, b Patrol) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Get returns one patrol if p may see it; ENOTFOUND otherwise.
func (s *Service) Get(p *beatgrid.Principal, in func(unit string) bool, id string) (Patrol, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ses := s.patrols[id]
	if ses == nil || !visible(p, ses, in) {
		return Patrol{}, beatgrid.Errorf(beatgrid.ENOTFOUND, "No such patrol in your scope.")
	}
	return s.view(ses), nil
}

func visible(p *beatgrid.Principal, s *session, in func(string) bool) bool {
	if p.HasRole(beatgrid.RoleCommander, beatgrid.RoleAdmin) && in(s.unitID) {
		return true
	}
	return s.userID == p.UserID
}

// Track returns a patrol's fixes in time order if p may see the patrol; ENOTFOUND otherwise.
func (s *Service) Track(p *beatgrid.Principal, in func(unit string) bool, id string) ([]geo.Fix, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ses := s.patrols[id]
	if ses == nil || !visible(p, ses, in) {
		return nil, beatgrid.Errorf(beatgrid.ENOTFOUND, "No such patrol in your scope.")
	}
	pts := ses.fixes()
	out := make([]geo.Fix, len(pts))
	for i, pt := range pts {
		out[i] = pt.fix()
	}
	return out, nil
}

// Ground is what a patrol covered, as coverage needs it: the fixes its mode's filter kept,
// in time order, and the places of its verified punches.
type Ground struct {
	ID, UnitID, Mode string
	Kept             []geo.Fix
	Punches          []geo.Fix // verified punches: the checkpoint's position, the punch's time
}

// Ground returns what patrol id covered; false if there is no such patrol.
func (s *Service) Ground(id string) (Ground, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.patrols[id]
	if p == nil {
		return Ground{}, false
	}
	v := Ground{ID: id, UnitID: p.unitID}
	if first, ok := p.start(); ok {
		v.Mode = first.mode
	}
	pts := p.fixes()
	fixes := make([]geo.Fix, len(pts))
	for i, pt := range pts {
		fixes[i] = pt.fix()
	}
	v.Kept, _ = geo.Filter(fixes, filterFor(v.Mode))
	for _, pu := range p.punches {
		if s.places != nil && s.verify(pu) {
			v.Punches = append(v.Punches, geo.Fix{Point: s.places.checkpointByID(pu.checkpointID).Point, T: pu.t})
		}
	}
	slices.SortFunc(v.Punches, func(a, b geo.Fix) int {
		return cmp.Or(a.T.Compare(b.T), cmp.Compare(a.Point[0], b.Point[0]), cmp.Compare(a.Point[1], b.Point[1]))
	})
	return v, true
}

// Unit is where a patrolling unit is now.
type Unit struct {
	PatrolID, DeviceID, UserID, OrgUnitID, Mode string
	At                                          geo.Fix // the latest fix
}

// Live returns the units of the patrols in scope (in) that have not ended and whose latest
// fix is at or after since, by patrol id. Only commanders and admins see others' units.
func (s *Service) Live(p *beatgrid.Principal, in func(unit string) bool, since time.Time) []Unit {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Unit
	for _, ses := range s.patrols {
		if len(ses.ends) > 0 || ses.last.t == 0 || ses.last.t < since.UnixNano() || !visible(p, ses, in) {
			continue
		}
		u := Unit{PatrolID: ses.id, DeviceID: ses.deviceID, UserID: ses.userID, OrgUnitID: ses.unitID, At: ses.last.fix()}
		if first, ok := ses.start(); ok {
			u.Mode = first.mode
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b Unit) int { return cmp.Compare(a.PatrolID, b.PatrolID) })
	return out
}

// IDs returns the ids of every patrol, sorted.
func (s *Service) IDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.patrols))
	for id := range s.patrols {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
