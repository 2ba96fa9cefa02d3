// Package patrol folds the facts terminals record about patrols (patrol.start, patrol.end,
// track.points) into patrol sessions with their stats. The fold is order-free: a session is
// a set of facts, and every figure is computed from the set, so the same facts give the same
// session whatever their order or repetition of arrival (ARCHITECTURE.md §3.4).
package patrol

import (
	"cmp"
	"encoding/json"
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
	patrols map[string]*session
	chains  map[string]map[string]bool // device → the chain hashes of its punches
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
}

type startFact struct {
	t       time.Time
	mode    string
	routeID string
}

type pointKey struct {
	t        int64 // unix nanoseconds
	lon, lat float64
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
	s.session(f.PatrolID, m).starts[startFact{f.T, f.Mode, f.RouteID}] = true
}

func (s *Service) foldEnd(m *beatgrid.Mutation) {
	var f bgsync.PatrolEnd
	if json.Unmarshal(m.Fact, &f) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.session(f.PatrolID, m).ends[f.T] = true
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
		pts[i] = pointKey{pt.T.UnixNano(), pt.Lon, pt.Lat}
	}
	s.session(f.PatrolID, m).points[m.DeviceID+"/"+m.ID] = pts // a repeat replaces itself
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
	Points    int
	Distance  float64 // metres, along the fixes in time order
	FirstFix  time.Time
	LastFix   time.Time
	Punches   Punches
}

// view is what the session's facts say. Call with s.mu held.
func (s *Service) view(p *session) Patrol {
	v := Patrol{ID: p.id, DeviceID: p.deviceID, UserID: p.userID, OrgUnitID: p.unitID}
	if len(p.starts) > 0 {
		first := slices.MinFunc(keys(p.starts), func(a, b startFact) int {
			return cmp.Or(a.t.Compare(b.t), cmp.Compare(a.mode, b.mode), cmp.Compare(a.routeID, b.routeID))
		})
		v.StartedAt, v.Mode, v.RouteID = first.t, first.mode, first.routeID
	}
	if len(p.ends) > 0 {
		v.EndedAt = slices.MaxFunc(keys(p.ends), time.Time.Compare)
	}
	pts := p.fixes()
	v.Points = len(pts)
	for i, pt := range pts {
		if i > 0 {
			v.Distance += geo.Distance(orb.Point{pts[i-1].lon, pts[i-1].lat}, orb.Point{pt.lon, pt.lat})
		}
	}
	if len(pts) > 0 {
		v.FirstFix, v.LastFix = time.Unix(0, pts[0].t).UTC(), time.Unix(0, pts[len(pts)-1].t).UTC()
	}
	v.Punches = s.punchStats(p, v.RouteID)
	return v
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
		out[i] = geo.Fix{Point: orb.Point{pt.lon, pt.lat}, T: time.Unix(0, pt.t).UTC()}
	}
	return out, nil
}
