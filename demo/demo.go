// Package demo seeds a demo county into an empty beatgrid so the console shows a living
// picture on a fresh machine: an org tree (bureau → 3 zones → 6 stations → beats of 2 km
// squares inside the real boundary of Lucheng District, Wenzhou), routes with checkpoints,
// kiosks with guarded road segments, officers with enrolled terminals, and a day of foot and
// vehicle patrols pushed through the real sync engine with each terminal's own principal:
// route patrols punch their checkpoints (a few missed, one from a mock location), kiosk
// officers check in and out in shifts. With the inspect service it adds venues of the nine
// kinds and graded rental housing, checklists, a day of inspections by three inspectors, the
// hazards they found through notices, rectification, re-inspection and closing (some
// overdue, one offline conflict), and dispatched tasks. One officer's terminal falls silent
// an hour ago; Live keeps the last patrol of every other terminal walking.
//
// It calls the services as the handlers do (no Fiber, no database driver): whatever the demo
// makes passes the same checks as data sent over the API.
package demo

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/inspect"
	"github.com/beatgrid/beatgrid/patrol"
	"github.com/beatgrid/beatgrid/report"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"
)

// countyJSON is 鹿城区 Lucheng District (adcode 330302) converted to WGS84: a copy of
// testdata/boundaries/330302-lucheng.wgs84.geojson, from zhChuXiao/ChinaGeoJson (MIT, see
// lucheng.LICENSE; the upstream names Aliyun DataV.GeoAtlas as the data's origin).
//
//go:embed lucheng.wgs84.geojson
var countyJSON []byte

// County is the name the demo gives its bureau.
const County = "鹿城区公安分局 Lucheng Bureau (demo)"

// Services are what the demo writes through.
type Services struct {
	Auth   *auth.Service
	Sync   *bgsync.Engine
	Places *patrol.Places
	// Inspect, if set, gets venues, checklists, inspections, hazards and tasks. Its folds must
	// be registered with Sync.
	Inspect *inspect.Service
	// Clock is the clock Inspect was made with (inspect.Config.Now = Clock.Now): the demo
	// back-dates its console actions (notices, re-inspections, dispatches) into the day it
	// makes. Nil: Seed sets one with Inspect.SetClock, which is only safe before serving.
	Clock *Clock
	// Reports, if set, sums up the seeded day in the progress output.
	Reports *report.Service
}

// Clock is a clock that the demo may hold at a time of its choosing while it seeds; otherwise
// it is time.Now in UTC. The zero value is ready.
type Clock struct{ at atomic.Pointer[time.Time] }

// Now returns the held time, or the time now. A nil Clock is time.Now in UTC.
func (c *Clock) Now() time.Time {
	if c != nil {
		if t := c.at.Load(); t != nil {
			return *t
		}
	}
	return time.Now().UTC()
}

// Func returns c.Now, or nil for a nil Clock (for inspect.Config.Now).
func (c *Clock) Func() func() time.Time {
	if c == nil {
		return nil
	}
	return c.Now
}

// hold sets the time Now returns; the zero time lets go.
func (c *Clock) hold(t time.Time) {
	switch {
	case c == nil:
		return
	case t.IsZero():
		c.at.Store(nil)
		return
	}
	t = t.UTC()
	c.at.Store(&t)
}

// Options tune a seeding.
type Options struct {
	AdminPassword string           // the first admin's password (the demo signs in as admin)
	Now           func() time.Time // default time.Now
	Seed          uint64           // random seed; 0 picks 1
	BeatSize      float64          // beat square side in metres; default 2000
	Out           io.Writer        // progress; nil for none
}

// Summary counts what was seeded.
type Summary struct {
	Zones, Stations, Beats, Routes, Checkpoints, Kiosks, Officers, Devices int
	Patrols, Fixes, Mutations, Rejected                                    int
	RoutePatrols, Punches, MissedPatrols, KioskDuties                      int
	Venues, Checklists, Inspections, Hazards, Notices, Closed, Tasks       int
	Took                                                                   time.Duration
}

func (s Summary) String() string {
	return fmt.Sprintf("%d zones, %d stations, %d beats, %d routes, %d checkpoints, %d kiosks, %d officers with %d terminals, "+
		"%d patrols (%d on routes: %d punches, %d with a checkpoint missed) with %d fixes and %d kiosk duties over the last 24 h, "+
		"%d venues, %d checklists, %d inspections, %d hazards (%d notices, %d closed), %d tasks "+
		"(%d mutations pushed, %d rejected) in %s",
		s.Zones, s.Stations, s.Beats, s.Routes, s.Checkpoints, s.Kiosks, s.Officers, s.Devices,
		s.Patrols, s.RoutePatrols, s.Punches, s.MissedPatrols, s.Fixes, s.KioskDuties,
		s.Venues, s.Checklists, s.Inspections, s.Hazards, s.Notices, s.Closed, s.Tasks,
		s.Mutations, s.Rejected, s.Took.Round(time.Millisecond))
}

// Demo is a seeded county whose ongoing patrols Live keeps moving.
type Demo struct {
	Summary Summary
	svc     Services
	now     func() time.Time
	clock   *Clock
	output  io.Writer
	units   []*unit     // officers' terminals: foot and vehicle of each station, in order
	posts   []*terminal // kiosk officers' terminals, one per kiosk
	insps   []*terminal // inspectors' terminals, one per zone
	routes  [][]*route  // per station
	kiosks  []kiosk
	stop    context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// station is a station of the demo and the beats below it.
type station struct {
	id, zone, name string
	beats          []orb.Polygon
}

// terminal is an enrolled terminal signed in by its user: the principal it pushes with, its
// mutation sequence and its chain of punches.
type terminal struct {
	p        *beatgrid.Principal
	seq      int64
	lastHash string // ChainHash of its last punch
}

// unit is an officer's terminal and its walker.
type unit struct {
	terminal
	station int
	mode    string
	walk    *walker
	patrol  string // the ongoing patrol that Live moves on, "" if none
}

// route is a route and its checkpoints, in the order of its line.
type route struct {
	id   string
	line orb.LineString
	cps  []*beatgrid.Checkpoint
}

type kiosk struct {
	id      string
	station int
}

// Seed fills an empty database with the demo county. Call it only right after the first
// admin was created: it signs in as that admin.
func Seed(ctx context.Context, svc Services, o Options) (*Demo, error) {
	start := time.Now()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.BeatSize == 0 {
		o.BeatSize = 2000
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	rng := mrand.New(mrand.NewPCG(o.Seed, 0x6265617467726964))
	d := &Demo{svc: svc, now: o.Now, clock: svc.Clock}
	s := &d.Summary
	if svc.Inspect != nil && d.clock == nil {
		d.clock = &Clock{}
		svc.Inspect.SetClock(d.clock.Now)
	}
	defer d.clock.hold(time.Time{})

	tp, err := svc.Auth.Login(ctx, "demo-seed", "admin", o.AdminPassword)
	if err != nil {
		return nil, fmt.Errorf("demo: sign in as admin: %w", err)
	}
	admin, err := svc.Auth.Authenticate(ctx, tp.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("demo: admin principal: %w", err)
	}
	d.output = out
	name := County
	if _, err := svc.Auth.UpdateOrgUnit(ctx, admin, admin.OrgUnitID, auth.OrgUnitPatch{Name: &name}); err != nil {
		return nil, fmt.Errorf("demo: name the bureau: %w", err)
	}

	county, err := countyPolygon()
	if err != nil {
		return nil, err
	}
	squares := beatSquares(county, o.BeatSize)
	if len(squares) < 6 {
		return nil, fmt.Errorf("demo: only %d beats fit the county", len(squares))
	}
	// Three zones west to east, each of two stations south and north.
	sort.Slice(squares, func(i, j int) bool { return squares[i].Bound().Center()[0] < squares[j].Bound().Center()[0] })
	zoneNames := []string{"西片区 West Zone", "中片区 Central Zone", "东片区 East Zone"}
	stationNames := [][2]string{{"双屿派出所 Shuangyu Station", "藤桥派出所 Tengqiao Station"},
		{"南汇派出所 Nanhui Station", "五马派出所 Wuma Station"}, {"七都派出所 Qidu Station", "滨江派出所 Binjiang Station"}}
	var stations []*station
	for z, zs := range split(squares, 3) {
		zone, err := svc.Auth.CreateOrgUnit(ctx, admin, auth.OrgUnitInput{Kind: beatgrid.KindZone, Name: zoneNames[z], ParentID: admin.OrgUnitID})
		if err != nil {
			return nil, fmt.Errorf("demo: zone: %w", err)
		}
		s.Zones++
		sort.Slice(zs, func(i, j int) bool { return zs[i].Bound().Center()[1] < zs[j].Bound().Center()[1] })
		for k, ss := range split(zs, 2) {
			st, err := svc.Auth.CreateOrgUnit(ctx, admin, auth.OrgUnitInput{Kind: beatgrid.KindStation, Name: stationNames[z][k], ParentID: zone.ID})
			if err != nil {
				return nil, fmt.Errorf("demo: station: %w", err)
			}
			s.Stations++
			stations = append(stations, &station{id: st.ID, zone: zone.ID, name: stationNames[z][k], beats: ss})
			for i, sq := range ss {
				name := fmt.Sprintf("警格 Beat %c%d-%02d", "WCE"[z], k+1, i+1)
				if _, err := svc.Auth.CreateOrgUnit(ctx, admin, auth.OrgUnitInput{Kind: beatgrid.KindBeat, Name: name, ParentID: st.ID, Boundary: sq}); err != nil {
					return nil, fmt.Errorf("demo: beat %s: %w", name, err)
				}
				s.Beats++
			}
		}
	}
	fmt.Fprintf(out, "demo: %d beats of %.0f m in %d stations of %d zones\n", s.Beats, o.BeatSize, s.Stations, s.Zones)

	if err := d.places(ctx, admin, stations, rng); err != nil {
		return nil, err
	}
	if err := d.officers(ctx, admin, stations, rng); err != nil {
		return nil, err
	}
	if err := d.patrols(ctx, rng); err != nil {
		return nil, err
	}
	if err := d.kioskDuty(ctx, admin, stations, rng); err != nil {
		return nil, err
	}
	if svc.Inspect != nil {
		if err := d.inspections(ctx, admin, stations, rng); err != nil {
			return nil, err
		}
	}
	d.clock.hold(time.Time{})
	s.Took = time.Since(start)
	fmt.Fprintf(out, "demo: seeded %s\n", s)
	if svc.Reports != nil {
		d.sumUp(out, admin)
	}
	return d, nil
}

// places adds, per station, two routes round a beat with a checkpoint at each corner, and
// two kiosks guarding the crossing roads at a beat's centre.
func (d *Demo) places(ctx context.Context, admin *beatgrid.Principal, stations []*station, rng *mrand.Rand) error {
	s := &d.Summary
	d.routes = make([][]*route, len(stations))
	for si, st := range stations {
		for r := 0; r < 2 && r < len(st.beats); r++ {
			b := st.beats[(r*len(st.beats))/2].Bound()
			in := inset(b, 0.2)
			corners := []orb.Point{in.Min, {in.Max[0], in.Min[1]}, in.Max, {in.Min[0], in.Max[1]}}
			rt := &route{line: orb.LineString{corners[0], corners[1], corners[2], corners[3], corners[0]}}
			var ids []string
			for i, c := range corners {
				name := fmt.Sprintf("打卡点 Checkpoint %d-%d-%d", si+1, r+1, i+1)
				tag := fmt.Sprintf("NFC-%d%d%d", si+1, r+1, i+1)
				radius := 30.0
				cp, err := d.svc.Places.CreateCheckpoint(ctx, admin, patrol.CheckpointChange{
					PlaceChange: patrol.PlaceChange{OrgUnitID: &st.id, Name: &name}, Point: &c, RadiusM: &radius, Tag: &tag})
				if err != nil {
					return fmt.Errorf("demo: checkpoint: %w", err)
				}
				ids = append(ids, cp.ID)
				rt.cps = append(rt.cps, cp)
				s.Checkpoints++
			}
			name := fmt.Sprintf("巡逻线 Route %d-%d", si+1, r+1)
			r, err := d.svc.Places.CreateRoute(ctx, admin, patrol.RouteChange{
				PlaceChange: patrol.PlaceChange{OrgUnitID: &st.id, Name: &name}, Line: rt.line, CheckpointIDs: &ids})
			if err != nil {
				return fmt.Errorf("demo: route: %w", err)
			}
			rt.id = r.ID
			d.routes[si] = append(d.routes[si], rt)
			s.Routes++
		}
		for k := 0; k < 2 && k < len(st.beats); k++ {
			c := st.beats[len(st.beats)-1-k*len(st.beats)/2].Bound().Center()
			dx, dy := metresToDeg(350, c[1])
			segs := orb.MultiLineString{
				{{c[0] - dx, c[1]}, {c[0] + dx, c[1]}},
				{{c[0], c[1] - dy}, {c[0] + dx*0.3, c[1] + dy}},
			}
			name := fmt.Sprintf("警保联控岗亭 Kiosk %d-%d", si+1, k+1)
			k, err := d.svc.Places.CreateKiosk(ctx, admin, patrol.KioskChange{
				PlaceChange: patrol.PlaceChange{OrgUnitID: &st.id, Name: &name}, Point: &c, Segments: segs})
			if err != nil {
				return fmt.Errorf("demo: kiosk: %w", err)
			}
			d.kiosks = append(d.kiosks, kiosk{id: k.ID, station: si})
			s.Kiosks++
		}
	}
	return nil
}

// officers adds, per station, a foot and a vehicle officer, each with an enrolled terminal
// signed in (device-login), and keeps their principals.
func (d *Demo) officers(ctx context.Context, admin *beatgrid.Principal, stations []*station, rng *mrand.Rand) error {
	for si, st := range stations {
		for k, mode := range []string{"foot", "vehicle"} {
			t, err := d.terminal(ctx, admin, fmt.Sprintf("demo.%s.%d", mode, si+1),
				fmt.Sprintf("%s %d-%d", map[string]string{"foot": "步巡 Foot", "vehicle": "车巡 Car"}[mode], si+1, k+1),
				beatgrid.RoleOfficer, st.id, fmt.Sprintf("T-%d%d", si+1, k+1))
			if err != nil {
				return err
			}
			d.units = append(d.units, &unit{terminal: *t, station: si, mode: mode, walk: newWalker(st.beats, mode, rng)})
		}
	}
	return nil
}

// terminal adds a user and an enrolled terminal of unit and signs the user in on it.
func (d *Demo) terminal(ctx context.Context, admin *beatgrid.Principal, username, display, role, unit, device string) (*terminal, error) {
	password := secret()
	u, err := d.svc.Auth.CreateUser(ctx, admin, auth.UserInput{Username: username, DisplayName: display,
		Password: password, Roles: []string{role}, OrgUnitID: unit})
	if err != nil {
		return nil, fmt.Errorf("demo: user %s: %w", username, err)
	}
	d.Summary.Officers++
	nd, err := d.svc.Auth.CreateDevice(ctx, admin, device, unit)
	if err != nil {
		return nil, fmt.Errorf("demo: device: %w", err)
	}
	en, err := d.svc.Auth.Enroll(ctx, "demo-seed", nd.EnrollmentCode, "demo-imei-"+u.ID)
	if err != nil {
		return nil, fmt.Errorf("demo: enroll: %w", err)
	}
	d.Summary.Devices++
	tp, err := d.svc.Auth.DeviceLogin(ctx, "demo-seed", en.DeviceID, en.DeviceSecret, username, password)
	if err != nil {
		return nil, fmt.Errorf("demo: device login: %w", err)
	}
	p, err := d.svc.Auth.Authenticate(ctx, tp.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("demo: device principal: %w", err)
	}
	return &terminal{p: p}, nil
}

// Which route patrols leave a checkpoint unpunched, and the one punch from a mock location:
// by unit index and patrol slot.
var (
	missedAt = map[[2]int]bool{{1, 1}: true, {4, 3}: true, {7, 1}: true, {10, 3}: true, {3, 3}: true}
	mockAt   = [2]int{2, 3}
)

// patrols records, per terminal, four finished patrols spread over the last 24 hours and one
// still going (its last fix now), and pushes them. The second and fourth go round one of the
// station's routes (foot once, vehicles three times) and punch its checkpoints on the first
// round. The last unit's terminal falls silent: its open patrol's last fix is an hour old.
func (d *Demo) patrols(ctx context.Context, rng *mrand.Rand) error {
	s := &d.Summary
	now := d.now().UTC().Truncate(time.Second)
	for ui, u := range d.units {
		var ms []bgsync.Incoming
		silent := ui == len(d.units)-1
		// Slots of the day, oldest first: 4 finished patrols and the ongoing one.
		for i := 0; i < 5; i++ {
			startAt := now.Add(-time.Duration(22-5*i)*time.Hour + time.Duration(rng.IntN(40))*time.Minute)
			length := time.Duration(50+rng.IntN(40)) * time.Minute
			ongoing := i == 4
			if ongoing {
				startAt, length = now.Add(-45*time.Minute), 45*time.Minute
				if silent {
					startAt, length = now.Add(-2*time.Hour), 55*time.Minute
				}
			}
			id := uuid.NewString()
			var rt *route
			if i%2 == 1 && len(d.routes[u.station]) > 0 {
				rt = d.routes[u.station][min(len(d.routes[u.station])-1, map[string]int{"foot": 0, "vehicle": 1}[u.mode])]
			}
			start := map[string]any{"patrol_id": id, "mode": u.mode, "t": startAt}
			var fixes []fix
			var passes []time.Time
			if rt != nil {
				start["route_id"] = rt.id
				rounds := map[string]int{"foot": 1, "vehicle": 3}[u.mode]
				fixes, passes = u.walk.loop(rt.line, startAt, rounds)
				length = fixes[len(fixes)-1].t.Sub(startAt) + time.Duration(1+rng.IntN(3))*time.Minute
				s.RoutePatrols++
			} else {
				fixes = u.walk.run(startAt, startAt.Add(length))
			}
			ms = append(ms, u.mutation("patrol.start", startAt, start))
			for len(fixes) > 0 {
				n := min(len(fixes), 300)
				ms = append(ms, u.mutation("track.points", fixes[0].t, map[string]any{"patrol_id": id, "points": pointsJSON(fixes[:n])}))
				s.Fixes += n
				fixes = fixes[n:]
			}
			if rt != nil {
				skip := -1
				if missedAt[[2]int{ui, i}] {
					skip = 1 + rng.IntN(len(rt.cps)-1)
					s.MissedPatrols++
				}
				for j, cp := range rt.cps {
					if j == skip || j >= len(passes) {
						continue
					}
					ms = append(ms, u.punch(id, cp, passes[j].Add(time.Duration(5+rng.IntN(40))*time.Second), rng,
						[2]int{ui, i} == mockAt && j == 2))
					s.Punches++
				}
			}
			s.Patrols++
			if ongoing {
				if !silent {
					u.patrol = id
				}
				continue
			}
			end := startAt.Add(length)
			ms = append(ms, u.mutation("patrol.end", end, map[string]any{"patrol_id": id, "t": end}))
		}
		if err := d.push(ctx, &u.terminal, ms); err != nil {
			return err
		}
	}
	return nil
}

// punch reads checkpoint cp's tag a few metres from it at t, chained to the terminal's last punch.
func (t *terminal) punch(patrolID string, cp *beatgrid.Checkpoint, at time.Time, rng *mrand.Rand, mock bool) bgsync.Incoming {
	dx, dy := metresToDeg(1, cp.Point[1])
	acc := 5.0
	p := bgsync.CheckpointPunch{PatrolID: patrolID, CheckpointID: cp.ID, Tag: cp.Tag,
		Lon: round7(cp.Point[0] + rng.NormFloat64()*3*dx), Lat: round7(cp.Point[1] + rng.NormFloat64()*3*dy),
		Acc: &acc, T: at.UTC(), PrevHash: t.lastHash, MockLocation: mock}
	t.lastHash = p.ChainHash()
	return t.mutation("checkpoint.punch", at, p)
}

// kioskDuty staffs every kiosk round the clock in the last day: its officer checks in and out
// for the 8-hour shifts starting at 0, 8 and 16 h China time, and is on the current one.
func (d *Demo) kioskDuty(ctx context.Context, admin *beatgrid.Principal, stations []*station, rng *mrand.Rand) error {
	_ = rng
	for i, k := range d.kiosks {
		t, err := d.terminal(ctx, admin, fmt.Sprintf("demo.kiosk.%d", i+1), fmt.Sprintf("岗亭 Kiosk officer %d-%d", k.station+1, i%2+1),
			beatgrid.RoleOfficer, stations[k.station].id, fmt.Sprintf("K-%02d", i+1))
		if err != nil {
			return err
		}
		d.posts = append(d.posts, t)
	}
	now := d.now().UTC().Truncate(time.Second)
	local := now.In(chinaTime)
	boundary := time.Date(local.Year(), local.Month(), local.Day(), local.Hour()/8*8, 0, 0, 0, chinaTime).UTC()
	for i, k := range d.kiosks {
		t := d.posts[i]
		var ms []bgsync.Incoming
		for sh := 2; sh >= 0; sh-- {
			in := boundary.Add(-time.Duration(sh*8)*time.Hour - time.Duration(rng.IntN(10))*time.Minute)
			if in.After(now) {
				in = now
			}
			ms = append(ms, t.mutation("kiosk.checkin", in, bgsync.KioskDuty{KioskID: k.id, T: in}))
			d.Summary.KioskDuties++
			if sh == 0 {
				break // on duty now
			}
			out := boundary.Add(-time.Duration((sh-1)*8)*time.Hour + time.Duration(rng.IntN(10))*time.Minute)
			ms = append(ms, t.mutation("kiosk.checkout", out, bgsync.KioskDuty{KioskID: k.id, T: out}))
		}
		if err := d.push(ctx, t, ms); err != nil {
			return err
		}
	}
	return nil
}

// chinaTime is China Standard Time, which keeps no summer time.
var chinaTime = time.FixedZone("CST", 8*3600)

func (d *Demo) push(ctx context.Context, u *terminal, ms []bgsync.Incoming) error {
	for len(ms) > 0 {
		n := min(len(ms), 200)
		res, err := d.svc.Sync.Push(ctx, u.p, &bgsync.PushRequest{DeviceTime: d.now(), Mutations: ms[:n]})
		if err != nil {
			return fmt.Errorf("demo: push: %w", err)
		}
		d.Summary.Mutations += n
		for _, r := range res.Results {
			if r.Status == "rejected" {
				d.Summary.Rejected++
			}
		}
		ms = ms[n:]
	}
	return nil
}

func (u *terminal) mutation(typ string, at time.Time, payload any) bgsync.Incoming {
	b, _ := json.Marshal(payload)
	u.seq++
	return bgsync.Incoming{ID: uuid.NewString(), Seq: u.seq, Type: typ, OccurredAt: at, Payload: b}
}

func (d *Demo) out() io.Writer {
	if d.output == nil {
		return io.Discard
	}
	return d.output
}

// Live moves every ongoing patrol on by one fix every interval until ctx ends or Stop.
func (d *Demo) Live(ctx context.Context, every time.Duration) {
	ctx, d.stop = context.WithCancel(ctx)
	d.done = make(chan struct{})
	for _, u := range d.units {
		u.walk.every = every // a fix each round
	}
	go func() {
		defer close(d.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := d.now().UTC()
			for _, u := range d.units {
				if u.patrol == "" || ctx.Err() != nil {
					continue
				}
				fixes := u.walk.run(u.walk.at, now)
				if len(fixes) == 0 {
					continue
				}
				m := u.mutation("track.points", fixes[0].t, map[string]any{"patrol_id": u.patrol, "points": pointsJSON(fixes)})
				_ = d.push(ctx, &u.terminal, []bgsync.Incoming{m}) // a failed step is retried by the next one's fixes
			}
		}
	}()
}

// Stop ends Live and waits for it.
func (d *Demo) Stop() {
	d.once.Do(func() {
		if d.stop != nil {
			d.stop()
			<-d.done
		}
	})
}

// countyPolygon reads the embedded boundary.
func countyPolygon() (orb.MultiPolygon, error) {
	fc, err := geojson.UnmarshalFeatureCollection(countyJSON)
	if err != nil || len(fc.Features) == 0 {
		return nil, fmt.Errorf("demo: county boundary: %v", err)
	}
	switch g := fc.Features[0].Geometry.(type) {
	case orb.MultiPolygon:
		return g, nil
	case orb.Polygon:
		return orb.MultiPolygon{g}, nil
	}
	return nil, fmt.Errorf("demo: county boundary is a %s", fc.Features[0].Geometry.GeoJSONType())
}

// beatSquares returns squares of side metres tiling the county's bounding box whose centre
// lies inside the county.
func beatSquares(county orb.MultiPolygon, side float64) []orb.Polygon {
	b := county.Bound()
	dx, dy := metresToDeg(side, b.Center()[1])
	var out []orb.Polygon
	for y := b.Min[1]; y+dy/2 < b.Max[1]; y += dy {
		for x := b.Min[0]; x+dx/2 < b.Max[0]; x += dx {
			c := orb.Point{x + dx/2, y + dy/2}
			if !planar.MultiPolygonContains(county, c) {
				continue
			}
			out = append(out, orb.Polygon{{{x, y}, {x + dx, y}, {x + dx, y + dy}, {x, y + dy}, {x, y}}})
		}
	}
	return out
}

// split cuts s into n runs of nearly equal length, in order.
func split[T any](s []T, n int) [][]T {
	out := make([][]T, n)
	for i := range n {
		out[i] = s[i*len(s)/n : (i+1)*len(s)/n]
	}
	return out
}

func inset(b orb.Bound, f float64) orb.Bound {
	w, h := (b.Max[0]-b.Min[0])*f, (b.Max[1]-b.Min[1])*f
	return orb.Bound{Min: orb.Point{b.Min[0] + w, b.Min[1] + h}, Max: orb.Point{b.Max[0] - w, b.Max[1] - h}}
}

// metresToDeg returns how many degrees of longitude and latitude m metres are at lat.
func metresToDeg(m, lat float64) (float64, float64) {
	const perDeg = 111320.0
	return m / (perDeg * math.Cos(lat*math.Pi/180)), m / perDeg
}

func secret() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
