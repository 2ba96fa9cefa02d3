// Package demo seeds a demo county into an empty beatgrid so the console shows a living
// picture on a fresh machine: an org tree (bureau → 3 zones → 6 stations → beats of 2 km
// squares inside the real boundary of Lucheng District, Wenzhou), routes with checkpoints,
// kiosks with guarded road segments, officers with enrolled terminals, and a day of foot and
// vehicle patrols pushed through the real sync engine with each terminal's own principal.
// Live keeps the last patrol of every terminal walking, so live units stay live.
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
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/patrol"
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
	Took                                                                   time.Duration
}

func (s Summary) String() string {
	return fmt.Sprintf("%d zones, %d stations, %d beats, %d routes, %d checkpoints, %d kiosks, %d officers with %d terminals, "+
		"%d patrols with %d fixes over the last 24 h (%d mutations pushed, %d rejected) in %s",
		s.Zones, s.Stations, s.Beats, s.Routes, s.Checkpoints, s.Kiosks, s.Officers, s.Devices,
		s.Patrols, s.Fixes, s.Mutations, s.Rejected, s.Took.Round(time.Millisecond))
}

// Demo is a seeded county whose ongoing patrols Live keeps moving.
type Demo struct {
	Summary Summary
	svc     Services
	now     func() time.Time
	units   []*unit
	stop    context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// station is a station of the demo and the beats below it.
type station struct {
	id    string
	beats []orb.Polygon
}

// unit is one terminal, its officer's principal and its walker.
type unit struct {
	p      *beatgrid.Principal
	mode   string
	seq    int64
	walk   *walker
	patrol string // the ongoing patrol, "" if none
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
	d := &Demo{svc: svc, now: o.Now}
	s := &d.Summary

	tp, err := svc.Auth.Login(ctx, "demo-seed", "admin", o.AdminPassword)
	if err != nil {
		return nil, fmt.Errorf("demo: sign in as admin: %w", err)
	}
	admin, err := svc.Auth.Authenticate(ctx, tp.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("demo: admin principal: %w", err)
	}
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
			stations = append(stations, &station{id: st.ID, beats: ss})
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
	if err := d.terminals(ctx, admin, stations, rng); err != nil {
		return nil, err
	}
	if err := d.patrols(ctx, rng); err != nil {
		return nil, err
	}
	s.Took = time.Since(start)
	fmt.Fprintf(out, "demo: seeded %s\n", s)
	return d, nil
}

// places adds, per station, two routes round a beat with a checkpoint at each corner, and
// two kiosks guarding the crossing roads at a beat's centre.
func (d *Demo) places(ctx context.Context, admin *beatgrid.Principal, stations []*station, rng *mrand.Rand) error {
	s := &d.Summary
	for si, st := range stations {
		for r := 0; r < 2 && r < len(st.beats); r++ {
			b := st.beats[(r*len(st.beats))/2].Bound()
			in := inset(b, 0.2)
			corners := []orb.Point{in.Min, {in.Max[0], in.Min[1]}, in.Max, {in.Min[0], in.Max[1]}}
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
				s.Checkpoints++
			}
			name := fmt.Sprintf("巡逻线 Route %d-%d", si+1, r+1)
			line := orb.LineString{corners[0], corners[1], corners[2], corners[3], corners[0]}
			if _, err := d.svc.Places.CreateRoute(ctx, admin, patrol.RouteChange{
				PlaceChange: patrol.PlaceChange{OrgUnitID: &st.id, Name: &name}, Line: line, CheckpointIDs: &ids}); err != nil {
				return fmt.Errorf("demo: route: %w", err)
			}
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
			if _, err := d.svc.Places.CreateKiosk(ctx, admin, patrol.KioskChange{
				PlaceChange: patrol.PlaceChange{OrgUnitID: &st.id, Name: &name}, Point: &c, Segments: segs}); err != nil {
				return fmt.Errorf("demo: kiosk: %w", err)
			}
			s.Kiosks++
		}
	}
	_ = rng
	return nil
}

// terminals adds, per station, a foot and a vehicle officer, each with an enrolled terminal
// signed in (device-login), and keeps their principals.
func (d *Demo) terminals(ctx context.Context, admin *beatgrid.Principal, stations []*station, rng *mrand.Rand) error {
	s := &d.Summary
	for si, st := range stations {
		for k, mode := range []string{"foot", "vehicle"} {
			username := fmt.Sprintf("demo.%s.%d", mode, si+1)
			password := secret()
			u, err := d.svc.Auth.CreateUser(ctx, admin, auth.UserInput{Username: username,
				DisplayName: fmt.Sprintf("%s %d-%d", map[string]string{"foot": "步巡 Foot", "vehicle": "车巡 Car"}[mode], si+1, k+1),
				Password:    password, Roles: []string{beatgrid.RoleOfficer}, OrgUnitID: st.id})
			if err != nil {
				return fmt.Errorf("demo: officer: %w", err)
			}
			s.Officers++
			nd, err := d.svc.Auth.CreateDevice(ctx, admin, fmt.Sprintf("T-%d%d", si+1, k+1), st.id)
			if err != nil {
				return fmt.Errorf("demo: device: %w", err)
			}
			en, err := d.svc.Auth.Enroll(ctx, "demo-seed", nd.EnrollmentCode, "demo-imei-"+u.ID)
			if err != nil {
				return fmt.Errorf("demo: enroll: %w", err)
			}
			s.Devices++
			tp, err := d.svc.Auth.DeviceLogin(ctx, "demo-seed", en.DeviceID, en.DeviceSecret, username, password)
			if err != nil {
				return fmt.Errorf("demo: device login: %w", err)
			}
			p, err := d.svc.Auth.Authenticate(ctx, tp.AccessToken)
			if err != nil {
				return fmt.Errorf("demo: device principal: %w", err)
			}
			d.units = append(d.units, &unit{p: p, mode: mode, walk: newWalker(st.beats, mode, rng)})
		}
	}
	return nil
}

// patrols records, per terminal, four finished patrols spread over the last 24 hours and one
// still going (its last fix now), plus a kiosk duty for foot officers, and pushes them.
func (d *Demo) patrols(ctx context.Context, rng *mrand.Rand) error {
	s := &d.Summary
	now := d.now().UTC().Truncate(time.Second)
	for _, u := range d.units {
		var ms []bgsync.Incoming
		// Slots of the day, oldest first: 4 finished patrols and the ongoing one.
		for i := 0; i < 5; i++ {
			startAt := now.Add(-time.Duration(22-5*i)*time.Hour + time.Duration(rng.IntN(40))*time.Minute)
			length := time.Duration(50+rng.IntN(40)) * time.Minute
			ongoing := i == 4
			if ongoing {
				startAt, length = now.Add(-45*time.Minute), 45*time.Minute
			}
			id := uuid.NewString()
			ms = append(ms, u.mutation("patrol.start", startAt, map[string]any{"patrol_id": id, "mode": u.mode, "t": startAt}))
			fixes := u.walk.run(startAt, startAt.Add(length))
			for len(fixes) > 0 {
				n := min(len(fixes), 300)
				ms = append(ms, u.mutation("track.points", fixes[0].t, map[string]any{"patrol_id": id, "points": pointsJSON(fixes[:n])}))
				s.Fixes += n
				fixes = fixes[n:]
			}
			s.Patrols++
			if ongoing {
				u.patrol = id
				continue
			}
			end := startAt.Add(length)
			ms = append(ms, u.mutation("patrol.end", end, map[string]any{"patrol_id": id, "t": end}))
		}
		if err := d.push(ctx, u, ms); err != nil {
			return err
		}
	}
	return nil
}

func (d *Demo) push(ctx context.Context, u *unit, ms []bgsync.Incoming) error {
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

func (u *unit) mutation(typ string, at time.Time, payload any) bgsync.Incoming {
	b, _ := json.Marshal(payload)
	u.seq++
	return bgsync.Incoming{ID: uuid.NewString(), Seq: u.seq, Type: typ, OccurredAt: at, Payload: b}
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
				_ = d.push(ctx, u, []bgsync.Incoming{m}) // a failed step is retried by the next one's fixes
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
