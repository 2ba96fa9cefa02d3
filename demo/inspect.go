package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/geo"
	"github.com/beatgrid/beatgrid/inspect"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
)

// kind is a venue type as the demo fills it: names to pick from and its checklist.
type kind struct {
	typ, label string
	names      []string
	items      []beatgrid.ChecklistItem // yes/no items are required; one photo item is not
}

func yes(id, text string) beatgrid.ChecklistItem {
	return beatgrid.ChecklistItem{ID: id, Text: text, Kind: beatgrid.ItemYesNo, Required: true}
}

func photo(text string) beatgrid.ChecklistItem {
	return beatgrid.ChecklistItem{ID: "photo", Text: text, Kind: beatgrid.ItemPhoto}
}

// kinds are the nine kinds of small venues (九小场所) and rental housing (出租屋).
var kinds = []kind{
	{beatgrid.VenueSmallShop, "小商店 small shop", []string{"便利店", "五金店", "烟酒店", "水果店", "小超市"}, []beatgrid.ChecklistItem{
		yes("extinguisher", "灭火器在有效期内 Fire extinguisher in date"), yes("exits", "安全出口畅通 Exits clear"),
		yes("wiring", "电气线路无私拉乱接 No makeshift wiring"), yes("knives", "无违规销售管制刀具 No controlled knives on sale"),
		photo("门店照片 Photo of the storefront")}},
	{beatgrid.VenueRestaurant, "小餐饮 restaurant", []string{"面馆", "快餐店", "小吃店", "烧烤店", "海鲜排档"}, []beatgrid.ChecklistItem{
		yes("gas", "燃气管道固定、报警器有效 Gas pipes fixed, leak alarm working"), yes("extinguisher", "灭火器在有效期内 Fire extinguisher in date"),
		yes("flue", "烟道定期清洗 Kitchen flue cleaned"), yes("exits", "安全出口畅通 Exits clear"), photo("后厨照片 Photo of the kitchen")}},
	{beatgrid.VenueHotel, "小旅馆 hotel", []string{"宾馆", "客栈", "旅社", "快捷酒店"}, []beatgrid.ChecklistItem{
		yes("register", "旅客实名登记上传 Guests registered by ID and uploaded"), yes("exits", "疏散通道及应急照明完好 Escape routes and emergency lights"),
		yes("cctv", "监控正常运行 CCTV working"), yes("extinguisher", "灭火器在有效期内 Fire extinguisher in date"), photo("前台照片 Photo of the front desk")}},
	{beatgrid.VenueInternetCafe, "网吧 internet cafe", []string{"网咖", "网吧", "电竞馆"}, []beatgrid.ChecklistItem{
		yes("realname", "上网人员实名登记 Users signed in by ID"), yes("minors", "未接纳未成年人 No minors admitted"),
		yes("exits", "安全出口畅通 Exits clear"), photo("大厅照片 Photo of the hall")}},
	{beatgrid.VenueEntertainment, "娱乐场所 entertainment", []string{"KTV", "酒吧", "棋牌室", "足浴店"}, []beatgrid.ChecklistItem{
		yes("staff", "从业人员登记 Staff registered"), yes("capacity", "未超员 Within capacity"),
		yes("exits", "安全出口畅通 Exits clear"), yes("cctv", "监控正常运行 CCTV working"), photo("包厢照片 Photo of a room")}},
	{beatgrid.VenueWorkshop, "小作坊 workshop", []string{"鞋料加工坊", "五金加工厂", "服装作坊", "印刷作坊"}, []beatgrid.ChecklistItem{
		yes("threeinone", "无\"三合一\"住人 Nobody sleeps in the workshop"), yes("flammables", "易燃物品规范存放 Flammables stored safely"),
		yes("wiring", "电气线路无私拉乱接 No makeshift wiring"), yes("extinguisher", "灭火器在有效期内 Fire extinguisher in date"),
		photo("车间照片 Photo of the shop floor")}},
	{beatgrid.VenueWarehouse, "小仓库 warehouse", []string{"物流仓库", "建材仓库", "冷链仓库"}, []beatgrid.ChecklistItem{
		yes("hazmat", "无违规储存危化品 No hazardous goods stored"), yes("living", "仓库内无人员住宿 Nobody lives in the warehouse"),
		yes("extinguisher", "灭火器在有效期内 Fire extinguisher in date"), photo("库房照片 Photo of the store")}},
	{beatgrid.VenueSchool, "学校 school", []string{"小学", "幼儿园", "培训学校"}, []beatgrid.ChecklistItem{
		yes("guard", "校门保安在岗 Gate guard on duty"), yes("barrier", "防冲撞设施完好 Anti-ram barriers in place"),
		yes("drill", "本学期已开展应急演练 Emergency drill held this term"), yes("cctv", "监控正常运行 CCTV working"),
		photo("校门照片 Photo of the gate")}},
	{beatgrid.VenueClinic, "诊所 clinic", []string{"社区诊所", "口腔诊所", "中医馆"}, []beatgrid.ChecklistItem{
		yes("drugs", "药品专柜加锁 Drugs locked away"), yes("waste", "医疗废物规范处置 Medical waste handled"),
		yes("license", "执业许可证公示 Licence on display"), photo("药房照片 Photo of the dispensary")}},
	{beatgrid.VenueRentalHousing, "出租屋 rental housing", []string{"出租屋", "群租房", "民房出租"}, []beatgrid.ChecklistItem{
		yes("tenants", "租客流动人口登记 Tenants registered"), yes("crowding", "无群租隔断 No crowded partitioning"),
		yes("ebike", "电动车未在室内充电 No e-bikes charged indoors"), yes("extinguisher", "配备灭火器 Fire extinguisher provided"),
		photo("楼道照片 Photo of the stairwell")}},
}

// Rental housing grades with their reasons (A the lowest risk).
var grades = []struct {
	grade   string
	reasons []string
}{
	{"A", []string{"房东自住，租客登记齐全 Landlord lives in, tenants all registered"}},
	{"B", []string{"租客流动较大 Tenants change often", "消防设施老化 Ageing fire equipment"}},
	{"C", []string{"群租 Crowded letting", "电动车室内充电 E-bikes charged indoors", "有租客未登记 Unregistered tenants"}},
}

var streets = []string{"人民路", "解放街", "府前街", "车站大道", "学院路", "锦绣路", "飞霞南路", "矮凳桥", "黎明西路", "双屿大道"}

// dvenue is a seeded venue.
type dvenue struct {
	v       *beatgrid.Venue
	k       *kind
	station int
	cl      *beatgrid.Checklist
}

// dhazard is a hazard the demo raised, with the terminal that reported it.
type dhazard struct {
	id      string
	at      time.Time
	by      *terminal
	station int
	venue   *dvenue
}

// inspections adds venues and checklists, three inspectors with terminals and a day of their
// inspections; then takes the hazards found through their lifecycle and dispatches tasks.
func (d *Demo) inspections(ctx context.Context, admin *beatgrid.Principal, stations []*station, rng *mrand.Rand) error {
	s := &d.Summary
	in := d.svc.Inspect
	now := d.now().UTC().Truncate(time.Second)
	d.clock.hold(now.Add(-26 * time.Hour)) // the venues were on file before the day began

	lists := map[string]*beatgrid.Checklist{}
	for i := range kinds {
		k := &kinds[i]
		name := "检查表 Checklist: " + k.label
		items := slices.Clone(k.items)
		cl, err := in.CreateChecklist(ctx, admin, inspect.ChecklistChange{VenueType: &k.typ, Name: &name, Items: &items})
		if err != nil {
			return fmt.Errorf("demo: checklist: %w", err)
		}
		lists[k.typ] = cl
		s.Checklists++
	}
	// Per station eight small venues (the nine kinds in turn) and two rental houses.
	var venues []*dvenue
	n := 0
	for si, st := range stations {
		for j := 0; j < 10; j++ {
			k := &kinds[(si*8+j)%9]
			if j >= 8 {
				k = &kinds[9]
			}
			b := st.beats[rng.IntN(len(st.beats))].Bound()
			b = inset(b, 0.1)
			pt := orb.Point{round7(b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0])), round7(b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1]))}
			street := streets[rng.IntN(len(streets))]
			name := street + k.names[rng.IntN(len(k.names))]
			addr := fmt.Sprintf("温州市鹿城区%s%d号", street, 1+rng.IntN(300))
			owner := fmt.Sprintf("%s先生 138%08d", string([]rune("王李张陈林黄周吴徐郑")[rng.IntN(10)]), rng.IntN(100000000))
			c := inspect.VenueChange{OrgUnitID: &st.id, Name: &name, Type: &k.typ, Address: &addr, Point: &pt, OwnerContact: &owner}
			if k.typ == beatgrid.VenueRentalHousing {
				g := grades[n%3]
				n++
				c.RiskGrade, c.RiskReasons = &g.grade, &g.reasons
			}
			v, err := in.CreateVenue(ctx, admin, c)
			if err != nil {
				return fmt.Errorf("demo: venue: %w", err)
			}
			venues = append(venues, &dvenue{v: v, k: k, station: si, cl: lists[k.typ]})
			s.Venues++
		}
	}
	fmt.Fprintf(d.out(), "demo: %d venues, %d checklists\n", s.Venues, s.Checklists)

	// An inspector per zone, with a terminal of the zone.
	zones := []string{}
	for _, st := range stations {
		if !slices.Contains(zones, st.zone) {
			zones = append(zones, st.zone)
		}
	}
	for z, zone := range zones {
		t, err := d.terminal(ctx, admin, fmt.Sprintf("demo.inspector.%d", z+1), fmt.Sprintf("检查员 Inspector %d", z+1),
			beatgrid.RoleInspector, zone, fmt.Sprintf("I-%d", z+1))
		if err != nil {
			return err
		}
		d.insps = append(d.insps, t)
	}

	// 30 inspections spread over the day, in turn by the inspectors, each at a venue of his
	// zone he has not inspected yet; some items fail and raise hazards.
	var hazards []*dhazard
	batches := make([][]bgsync.Incoming, len(d.insps))
	byZone := make([][]*dvenue, len(d.insps))
	for _, v := range venues {
		z := slices.Index(zones, stations[v.station].zone)
		byZone[z] = append(byZone[z], v)
	}
	for z := range byZone {
		rng.Shuffle(len(byZone[z]), func(i, j int) { byZone[z][i], byZone[z][j] = byZone[z][j], byZone[z][i] })
	}
	const count = 30
	for i := range count {
		z := i % len(d.insps)
		v := byZone[z][0]
		byZone[z] = byZone[z][1:]
		at := now.Add(-23*time.Hour + time.Duration(i)*(22*time.Hour)/count + time.Duration(rng.IntN(30))*time.Minute)
		fails := 0
		switch r := rng.Float64(); {
		case r < 0.1:
			fails = 2
		case r < 0.45:
			fails = 1
		}
		m, failed := d.inspection(d.insps[z], v, at, fails, rng)
		batches[z] = append(batches[z], m)
		for _, item := range failed {
			hazards = append(hazards, &dhazard{id: inspect.FailedItemHazard(inspectionID(m), item), at: at, by: d.insps[z],
				station: v.station, venue: v})
		}
		s.Inspections++
	}
	for z, t := range d.insps {
		if err := d.push(ctx, t, batches[z]); err != nil {
			return err
		}
	}
	// Two hazards foot officers reported themselves: one at a venue, one in the street.
	for j, r := range []struct {
		ago      time.Duration
		desc     string
		severity string
		venue    bool
	}{
		{14 * time.Hour, "消防通道被杂物堵塞 Fire lane blocked by goods", "high", true},
		{9 * time.Hour, "路口路灯损坏，夜间照明不足 Street light out at the crossing", "low", false},
	} {
		u := d.units[j*4] // foot officers of stations 1 and 3
		h := &dhazard{id: uuid.NewString(), at: now.Add(-r.ago), by: &u.terminal, station: u.station}
		p := bgsync.HazardReport{HazardID: h.id, Description: r.desc, Severity: r.severity, Photos: []string{}, T: h.at}
		pt := d.routes[u.station][0].line[1]
		if r.venue {
			for _, v := range venues {
				if v.station == u.station && v.k.typ == beatgrid.VenueWarehouse || v.station == u.station && v.k.typ == beatgrid.VenueWorkshop {
					h.venue, p.VenueID, pt = v, v.v.ID, v.v.Point
					break
				}
			}
		}
		p.Lon, p.Lat = pt[0], pt[1]
		if err := d.push(ctx, &u.terminal, []bgsync.Incoming{u.mutation("hazard.report", h.at, p)}); err != nil {
			return err
		}
		hazards = append(hazards, h)
	}
	slices.SortFunc(hazards, func(a, b *dhazard) int { return a.at.Compare(b.at) })
	s.Hazards = len(hazards)
	if err := d.lifecycles(ctx, admin, stations, hazards, now, rng); err != nil {
		return err
	}
	return d.tasks(ctx, admin, stations, venues, hazards, now, rng)
}

// inspection is a submit of v's checklist by t at at with fails required items answered no.
func (d *Demo) inspection(t *terminal, v *dvenue, at time.Time, fails int, rng *mrand.Rand) (bgsync.Incoming, []string) {
	var yn []string
	for _, it := range v.cl.Items {
		if it.Kind == beatgrid.ItemYesNo && it.Required {
			yn = append(yn, it.ID)
		}
	}
	failed := map[string]bool{}
	for _, i := range rng.Perm(len(yn))[:min(fails, len(yn))] {
		failed[yn[i]] = true
	}
	p := bgsync.InspectionSubmit{InspectionID: uuid.NewString(), VenueID: v.v.ID, ChecklistID: v.cl.ID,
		ChecklistVersion: int(v.cl.Version), Photos: []string{}, T: at}
	var out []string
	for _, id := range yn {
		val := "true"
		if failed[id] {
			val = "false"
			out = append(out, id)
		}
		p.Answers = append(p.Answers, bgsync.Answer{Item: id, Value: json.RawMessage(val)})
	}
	dx, dy := metresToDeg(1, v.v.Point[1])
	p.Lon = round7(v.v.Point[0] + rng.NormFloat64()*15*dx)
	p.Lat = round7(v.v.Point[1] + rng.NormFloat64()*15*dy)
	return t.mutation("inspection.submit", at, p), out
}

func inspectionID(m bgsync.Incoming) string {
	var p struct {
		ID string `json:"inspection_id"`
	}
	_ = json.Unmarshal(m.Payload, &p)
	return p.ID
}

// lifecycles takes the hazards on, in turn: closed after rectification and re-inspection;
// overdue; notified with a week to go; rectified but failing re-inspection and overdue. The
// newest (reported in the last 90 minutes), and every seventh, stay open. The first closed
// one gets a late rectification from another, offline terminal: superseded.
func (d *Demo) lifecycles(ctx context.Context, admin *beatgrid.Principal, stations []*station, hazards []*dhazard,
	now time.Time, rng *mrand.Rand) error {
	s := &d.Summary
	in := d.svc.Inspect
	mins := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Minute }
	conflict := false
	for i, h := range hazards {
		if now.Sub(h.at) < 90*time.Minute || i%7 == 6 {
			continue // open: no notice yet
		}
		notice := h.at.Add(mins(20, 60))
		plan := i % 4
		rectify := notice.Add(mins(60, 150))
		reinspect := rectify.Add(mins(30, 60))
		closeAt := reinspect.Add(mins(15, 30))
		deadline := notice.Add(mins(120, 180))
		switch {
		case plan == 0 && closeAt.After(now.Add(-5*time.Minute)):
			plan = 2
		case (plan == 1 || plan == 3) && (deadline.After(now.Add(-10*time.Minute)) || reinspect.After(now)):
			plan = 2
		}
		req := inspect.NoticeRequest{Note: "限期整改 Put it right by the deadline; the station will re-inspect."}
		if plan == 1 || plan == 3 {
			req.Deadline = &deadline
		}
		d.clock.hold(notice)
		if _, err := in.IssueNotice(ctx, admin, h.id, req); err != nil {
			return fmt.Errorf("demo: notice on %s: %w", h.id, err)
		}
		s.Notices++
		if plan == 1 || plan == 2 {
			continue // waiting for the owner
		}
		rect := bgsync.HazardRectify{HazardID: h.id, Action: "整改完成 Put right", Photos: []string{}, T: rectify,
			Note: "业主已整改，待复查 The owner put it right; please re-inspect"}
		if err := d.push(ctx, h.by, []bgsync.Incoming{h.by.mutation("hazard.rectify", rectify, rect)}); err != nil {
			return err
		}
		inspector := d.insps[slices.IndexFunc(stations, func(st *station) bool { return st.zone == stations[h.station].zone })/2]
		d.clock.hold(reinspect)
		pass := plan == 0
		note := "复查合格 Passed re-inspection"
		if !pass {
			note = "复查不合格，继续整改 Failed re-inspection: keep at it"
		}
		if _, err := in.Reinspect(ctx, inspector.p, h.id, pass, note, nil); err != nil {
			return fmt.Errorf("demo: re-inspect %s: %w", h.id, err)
		}
		if !pass {
			continue
		}
		d.clock.hold(closeAt)
		if _, err := in.Close(ctx, admin, h.id, "销案 Closed"); err != nil {
			return fmt.Errorf("demo: close %s: %w", h.id, err)
		}
		s.Closed++
		if !conflict {
			// The station's foot officer rectified it too, offline since before the
			// re-inspection: his terminal syncs now, and the fact stays superseded.
			conflict = true
			u := d.units[h.station*2]
			t := reinspect.Add(closeAt.Sub(reinspect) / 2)
			late := bgsync.HazardRectify{HazardID: h.id, Action: "已督促整改 Owner urged", Photos: []string{}, T: t,
				Note: "离线记录 Recorded offline"}
			if err := d.push(ctx, &u.terminal, []bgsync.Incoming{u.mutation("hazard.rectify", t, late)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// tasks dispatches four tasks: a venue inspection fed back and verified, a hazard check sent
// back, a patrol of a cell fed back and awaiting verification, and a fresh venue inspection.
func (d *Demo) tasks(ctx context.Context, admin *beatgrid.Principal, stations []*station, venues []*dvenue,
	hazards []*dhazard, now time.Time, rng *mrand.Rand) error {
	s := &d.Summary
	in := d.svc.Inspect
	dispatch := func(at time.Time, x inspect.Dispatch) (beatgrid.Task, error) {
		d.clock.hold(at)
		due := at.Add(48 * time.Hour)
		x.Due = &due
		t, err := in.DispatchTask(ctx, admin, x)
		if err != nil {
			return t, fmt.Errorf("demo: dispatch %s: %w", x.Kind, err)
		}
		s.Tasks++
		return t, nil
	}
	feedback := func(by *terminal, task, status, note string, at time.Time) error {
		f := bgsync.TaskFeedback{TaskID: task, Status: status, Note: note, Photos: []string{}, T: at}
		return d.push(ctx, by, []bgsync.Incoming{by.mutation("task.feedback", at, f)})
	}
	verify := func(task string, accept bool, note string, at time.Time) error {
		d.clock.hold(at)
		if _, err := in.VerifyTask(ctx, admin, task, accept, note); err != nil {
			return fmt.Errorf("demo: verify task: %w", err)
		}
		return nil
	}
	inspected := map[string]bool{}
	for _, ins := range in.Inspections(admin, "") {
		inspected[ins.VenueID] = true
	}
	var fresh []*dvenue
	for _, v := range venues {
		if !inspected[v.v.ID] {
			fresh = append(fresh, v)
		}
	}

	// 1. Inspect a venue: inspected, fed back, verified.
	v := fresh[0]
	z := slices.IndexFunc(stations, func(st *station) bool { return st.zone == stations[v.station].zone }) / 2
	insp := d.insps[z]
	t1, err := dispatch(now.Add(-12*time.Hour), inspect.Dispatch{Kind: beatgrid.TaskInspectVenue, Target: v.v.ID,
		AssigneeID: insp.p.UserID, AssigneeUnit: insp.p.OrgUnitID, Note: "群众举报夜间经营扰民，请上门检查 Neighbours complain of late-night noise: inspect"})
	if err != nil {
		return err
	}
	m, _ := d.inspection(insp, v, now.Add(-9*time.Hour-20*time.Minute), 0, rng)
	s.Inspections++
	if err := d.push(ctx, insp, []bgsync.Incoming{m}); err != nil {
		return err
	}
	if err := feedback(insp, t1.ID, "done", "已检查，未发现隐患 Inspected: nothing found", now.Add(-9*time.Hour)); err != nil {
		return err
	}
	if err := verify(t1.ID, true, "核查属实 Verified", now.Add(-8*time.Hour)); err != nil {
		return err
	}

	// 2. Verify a hazard still open at the deadline: partial feedback, sent back.
	var h *dhazard
	for _, x := range hazards {
		if hz, err := in.Hazard(admin, x.id); err == nil && (hz.Status == beatgrid.HazardNotified || hz.Status == beatgrid.HazardOpen) &&
			x.at.Before(now.Add(-8*time.Hour)) {
			h = x
			break
		}
	}
	if h == nil {
		h = hazards[0]
	}
	u := d.units[h.station*2]
	t2, err := dispatch(now.Add(-7*time.Hour), inspect.Dispatch{Kind: beatgrid.TaskVerifyHazard, Target: h.id,
		AssigneeID: u.p.UserID, AssigneeUnit: u.p.OrgUnitID, Note: "核实整改进度 Check how the rectification goes"})
	if err != nil {
		return err
	}
	if err := feedback(&u.terminal, t2.ID, "partial", "业主不在，已电话联系 Owner out; reached by phone", now.Add(-5*time.Hour)); err != nil {
		return err
	}
	if err := verify(t2.ID, false, "请当面核实并拍照 Check on site and take photos", now.Add(-4*time.Hour)); err != nil {
		return err
	}

	// 3. Patrol a cell: fed back, awaiting verification.
	u = d.units[3]
	c := stations[u.station].beats[0].Bound().Center()
	tile := geo.CellAt(c, 18).Tile()
	t3, err := dispatch(now.Add(-3*time.Hour), inspect.Dispatch{Kind: beatgrid.TaskPatrolCell,
		Target: fmt.Sprintf("%d/%d/%d", tile.Z, tile.X, tile.Y), AssigneeID: u.p.UserID, AssigneeUnit: u.p.OrgUnitID,
		Note: "夜间盗窃高发，加强巡逻 Night thefts here: patrol it"})
	if err != nil {
		return err
	}
	if err := feedback(&u.terminal, t3.ID, "done", "已巡逻两圈，未见异常 Patrolled twice, all quiet", now.Add(-90*time.Minute)); err != nil {
		return err
	}

	// 4. A fresh venue inspection, just dispatched.
	v = fresh[len(fresh)-1]
	z = slices.IndexFunc(stations, func(st *station) bool { return st.zone == stations[v.station].zone }) / 2
	_, err = dispatch(now.Add(-40*time.Minute), inspect.Dispatch{Kind: beatgrid.TaskInspectVenue, Target: v.v.ID,
		AssigneeID: d.insps[z].p.UserID, AssigneeUnit: d.insps[z].p.OrgUnitID, Note: "开学前安全检查 Safety check before term starts"})
	return err
}

// sumUp prints the last day's figures and the alerts.
func (d *Demo) sumUp(out io.Writer, admin *beatgrid.Principal) {
	now := d.now().UTC()
	if r, err := d.svc.Reports.Build(admin, admin.OrgUnitID, now.Add(-24*time.Hour), now.Add(time.Second)); err == nil {
		f := r.Totals
		fmt.Fprintf(out, "demo: last 24 h: %d patrols, %.1f km, %d checkpoints punched, %d missed, %d inspections, "+
			"%d hazards found, %d rectified, %d overdue, %.1f%% of cells covered\n", f.Patrols, f.DistanceKM,
			f.CheckpointsPunched, f.CheckpointsMissed, f.Inspections, f.HazardsFound, f.HazardsRectified, f.HazardsOverdue, f.CoveragePercent)
	}
	if as, err := d.svc.Reports.Alerts(admin, now, false); err == nil {
		n := map[string]int{}
		for _, a := range as {
			n[a.Kind]++
		}
		fmt.Fprintf(out, "demo: alerts: %d %s, %d %s, %d %s, %d %s\n", n[beatgrid.AlertHazardOverdue], beatgrid.AlertHazardOverdue,
			n[beatgrid.AlertCheckpointMissed], beatgrid.AlertCheckpointMissed, n[beatgrid.AlertBeatUnderSLA], beatgrid.AlertBeatUnderSLA,
			n[beatgrid.AlertDeviceSilent], beatgrid.AlertDeviceSilent)
	}
}
