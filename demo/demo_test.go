package demo_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/coverage"
	"github.com/beatgrid/beatgrid/demo"
	"github.com/beatgrid/beatgrid/geo"
	"github.com/beatgrid/beatgrid/inspect"
	"github.com/beatgrid/beatgrid/patrol"
	"github.com/beatgrid/beatgrid/report"
	"github.com/beatgrid/beatgrid/store/storetest"
	bgsync "github.com/beatgrid/beatgrid/sync"
)

// TestSeed seeds the demo county into a fresh embedded database through the real services
// and checks the console would show a living picture: beats with coverage, blind spots,
// live units and a silent one, routes, checkpoints and kiosks on duty, venues, inspections,
// hazards in every state, tasks, a daily report with figures and alerts of every kind, with
// nothing rejected.
func TestSeed(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenEmbedded(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	feed := bgsync.NewFeed()
	svc, err := auth.New(ctx, db, auth.Config{MasterKey: bytes.Repeat([]byte{7}, 32), Feed: feed, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	created, pw, err := svc.EnsureAdmin(ctx, "")
	if err != nil || !created {
		t.Fatalf("EnsureAdmin: %v %v", created, err)
	}
	places, err := patrol.NewPlaces(ctx, db, svc.OrgTree, feed)
	if err != nil {
		t.Fatal(err)
	}
	reg := bgsync.NewRegistry()
	patrols := patrol.New(places)
	patrols.Register(reg)
	ledger := coverage.New(coverage.Config{Store: db, Patrols: patrols, Places: places, Logger: quiet})
	ledger.Register(reg)
	if err := ledger.Load(ctx); err != nil {
		t.Fatal(err)
	}
	insp, err := inspect.New(ctx, inspect.Config{Store: db, Tree: svc.OrgTree, Feed: feed, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	insp.Register(reg)
	engine := bgsync.New(db, reg, bgsync.Config{Logger: quiet, Blobs: bgsync.NewBlobIndex()})
	t.Cleanup(engine.Close)
	if err := engine.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := insp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	acks, err := report.LoadAcks(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	reports := &report.Service{Auth: svc, Patrols: patrols, Coverage: ledger, Inspect: insp, Acks: acks}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); ledger.Run(runCtx, 50*time.Millisecond) }()
	t.Cleanup(func() { stop(); <-ran })

	var out bytes.Buffer
	d, err := demo.Seed(ctx, demo.Services{Auth: svc, Sync: engine, Places: places, Inspect: insp, Reports: reports},
		demo.Options{AdminPassword: pw, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(out.String()))
	s := d.Summary
	if s.Zones != 3 || s.Stations != 6 || s.Beats < 30 || s.Routes != 12 || s.Checkpoints != 48 || s.Kiosks != 12 ||
		s.Officers != 27 || s.Devices != 27 || s.Patrols != 60 || s.RoutePatrols != 24 || s.MissedPatrols != 5 ||
		s.Punches < 80 || s.KioskDuties != 36 || s.Fixes < 10000 || s.Venues != 60 || s.Checklists != 10 ||
		s.Inspections != 31 || s.Hazards < 8 || s.Notices < 5 || s.Closed < 1 || s.Tasks != 4 || s.Rejected != 0 {
		t.Fatalf("seeded %s", s)
	}
	t.Logf("seeding took %s (a figure, not a test: -race and a busy machine stretch it)", s.Took)

	tp, err := svc.Login(ctx, "test", "admin", pw)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := svc.Authenticate(ctx, tp.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	all := func(string) bool { return true }
	if live := patrols.Live(admin, all, time.Now().Add(-15*time.Minute)); len(live) != 11 {
		t.Errorf("%d live units, want 11 (one terminal silent)", len(live))
	}
	checkInspect(t, admin, insp, s)
	checkPunches(t, admin, patrols)
	if n := len(places.Routes(admin)) + len(places.Checkpoints(admin)) + len(places.Kiosks(admin)); n != 72 {
		t.Errorf("%d places", n)
	}
	// The ledger folds the patrols off the push path: some beats get covered, none fully.
	deadline := time.Now().Add(20 * time.Second)
	for {
		covered, beats, gaps, kiosk := 0, 0, 0, 0
		for _, b := range svc.Beats(admin) {
			cells := make([]geo.Cell, len(b.Cells))
			for i, k := range b.Cells {
				cells[i] = geo.Cell(k)
			}
			beats++
			if sum := ledger.Summarize(cells, coverage.Filter{}); sum.Covered > 0 {
				covered++
			}
			gaps += len(ledger.Gaps(cells, time.Now().Add(-4*time.Hour), coverage.Filter{}))
			kiosk += ledger.Summarize(cells, coverage.Filter{Modes: coverage.ModeKiosk}).Covered
		}
		if covered >= beats/3 && gaps > 0 && kiosk > 0 {
			t.Logf("%d of %d beats covered, %d blind spots under a 4 h SLA, %d cells guarded by kiosks", covered, beats, gaps, kiosk)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s only %d of %d beats covered, %d gaps, %d cells by kiosks", covered, beats, gaps, kiosk)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The day's report has every figure, and there are alerts of every kind.
	now := time.Now()
	r, err := reports.Build(admin, admin.OrgUnitID, now.Add(-24*time.Hour), now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	f := r.Totals
	t.Logf("last 24 h: %+v", f)
	if f.Patrols == 0 || f.DistanceKM == 0 || f.CheckpointsPunched == 0 || f.CheckpointsMissed == 0 || f.Inspections == 0 ||
		f.HazardsFound == 0 || f.HazardsRectified == 0 || f.HazardsOverdue == 0 || f.CoveredCells == 0 {
		t.Errorf("the last 24 h lack figures: %+v", f)
	}
	stationRows := 0
	for _, u := range r.Units {
		if u.Kind == beatgrid.KindStation && u.Patrols > 0 && u.Inspections > 0 {
			stationRows++
		}
	}
	if stationRows != 6 {
		t.Errorf("%d of 6 stations have patrols and inspections", stationRows)
	}
	alerts, err := reports.Alerts(admin, now, false)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, a := range alerts {
		kinds[a.Kind]++
	}
	t.Logf("alerts: %v", kinds)
	for _, k := range []string{beatgrid.AlertHazardOverdue, beatgrid.AlertCheckpointMissed, beatgrid.AlertBeatUnderSLA, beatgrid.AlertDeviceSilent} {
		if kinds[k] == 0 {
			t.Errorf("no %s alert", k)
		}
	}
	if kinds[beatgrid.AlertDeviceSilent] != 1 || kinds[beatgrid.AlertCheckpointMissed] != 5 {
		t.Errorf("alerts %v: want 1 silent terminal and 5 patrols with a missed checkpoint", kinds)
	}

	// Live walks the ongoing patrols on.
	before := patrols.Live(admin, all, time.Now().Add(-time.Hour))
	d.Live(ctx, time.Second)
	time.Sleep(2500 * time.Millisecond)
	d.Stop()
	after := patrols.Live(admin, all, time.Now().Add(-time.Hour))
	moved := 0
	for i := range after {
		for j := range before {
			if after[i].PatrolID == before[j].PatrolID && after[i].At.T.After(before[j].At.T) {
				moved++
			}
		}
	}
	if moved == 0 {
		t.Error("Live moved no unit")
	}
	_ = beatgrid.KindBeat
}

// TestDemoIsLayered: the demo writes through the services only: it imports neither the
// store nor the driver, and does not depend on Fiber.
func TestDemoIsLayered(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range strings.Fields(string(out)) {
		if strings.Contains(imp, "mongo-driver") || strings.HasSuffix(imp, "beatgrid/store") {
			t.Errorf("demo imports %s", imp)
		}
	}
	deps, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(deps), "gofiber") {
		t.Error("demo depends on Fiber")
	}
}

// checkInspect checks the venues, inspections, hazards by status and tasks the demo made.
func checkInspect(t *testing.T, admin *beatgrid.Principal, insp *inspect.Service, s demo.Summary) {
	t.Helper()
	types := map[string]int{}
	grades := map[string]int{}
	for _, v := range insp.Venues(admin, "") {
		types[v.Type]++
		if v.Type == beatgrid.VenueRentalHousing && (v.RiskGrade == "" || len(v.RiskReasons) == 0) {
			t.Errorf("rental housing %s without a grade and reasons", v.Name)
		}
		grades[v.RiskGrade]++
	}
	if len(types) != len(beatgrid.VenueTypes) || grades["A"] == 0 || grades["B"] == 0 || grades["C"] == 0 {
		t.Errorf("venues by type %v, grades %v", types, grades)
	}
	for _, c := range insp.Checklists(admin, "") {
		photos := 0
		for _, it := range c.Items {
			if it.Kind == beatgrid.ItemPhoto {
				photos++
			}
		}
		if len(c.Items) < 3 || len(c.Items) > 6 || photos != 1 {
			t.Errorf("checklist %s has %d items, %d photo items", c.Name, len(c.Items), photos)
		}
	}
	ins := insp.Inspections(admin, "")
	inspectors, failed := map[string]bool{}, 0
	for _, in := range ins {
		inspectors[in.InspectorID] = true
		if len(in.Flags) > 0 {
			t.Errorf("inspection %s flagged %v", in.ID, in.Flags)
		}
		failed += len(in.HazardIDs)
	}
	if len(ins) != s.Inspections || len(inspectors) != 3 || failed == 0 {
		t.Errorf("%d inspections by %d inspectors, %d failed items", len(ins), len(inspectors), failed)
	}
	byStatus := map[string]int{}
	superseded := 0
	hs := insp.Hazards(admin, "")
	for _, h := range hs {
		byStatus[h.Status]++
		for _, e := range h.History {
			if e.Superseded {
				superseded++
			}
		}
	}
	overdue := len(insp.Hazards(admin, beatgrid.HazardOverdue))
	t.Logf("%d hazards by status %v, %d overdue, %d superseded events", len(hs), byStatus, overdue, superseded)
	if len(hs) != s.Hazards || len(hs) != failed+2 || byStatus[beatgrid.HazardOpen] == 0 || byStatus[beatgrid.HazardNotified] == 0 ||
		byStatus[beatgrid.HazardRectifying] == 0 || byStatus[beatgrid.HazardClosed] == 0 || overdue == 0 || superseded != 1 {
		t.Errorf("hazards: %d by status %v, %d overdue, %d superseded", len(hs), byStatus, overdue, superseded)
	}
	tasks := map[string]int{}
	for _, x := range insp.Tasks(admin, "") {
		tasks[x.Status]++
	}
	if tasks[beatgrid.TaskDispatched] != 1 || tasks[beatgrid.TaskFeedback] != 1 || tasks[beatgrid.TaskVerified] != 1 || tasks[beatgrid.TaskSentBack] != 1 {
		t.Errorf("tasks by status %v", tasks)
	}
}

// checkPunches checks the route patrols' punches: verified, chained, one from a mock location.
func checkPunches(t *testing.T, admin *beatgrid.Principal, patrols *patrol.Service) {
	t.Helper()
	var onRoute, verified, missed, breaks, mock int
	for _, p := range patrols.List(admin, func(string) bool { return true }) {
		if p.RouteID == "" {
			continue
		}
		onRoute++
		verified += p.Punches.Verified
		breaks += p.Punches.ChainBreaks
		mock += p.Punches.MockLocation
		if len(p.Punches.Missed) > 0 {
			missed++
		}
		if p.Punches.Verified != p.Punches.Punched {
			t.Errorf("patrol %s: %d of %d punches verified", p.ID, p.Punches.Verified, p.Punches.Punched)
		}
	}
	if onRoute != 24 || missed != 5 || breaks != 0 || mock != 1 || verified < 80 {
		t.Errorf("%d route patrols, %d with a missed checkpoint, %d punches verified, %d chain breaks, %d mock",
			onRoute, missed, verified, breaks, mock)
	}
}
