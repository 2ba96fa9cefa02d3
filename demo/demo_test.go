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
	"github.com/beatgrid/beatgrid/patrol"
	"github.com/beatgrid/beatgrid/store/storetest"
	bgsync "github.com/beatgrid/beatgrid/sync"
)

// TestSeed seeds the demo county into a fresh embedded database through the real services
// and checks the console would show a living picture: beats with coverage, blind spots,
// live units, routes, checkpoints and kiosks, with nothing rejected, in under 10 seconds.
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
	engine := bgsync.New(db, reg, bgsync.Config{Logger: quiet, Blobs: bgsync.NewBlobIndex()})
	t.Cleanup(engine.Close)
	if err := engine.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); ledger.Run(runCtx, 50*time.Millisecond) }()
	t.Cleanup(func() { stop(); <-ran })

	var out bytes.Buffer
	d, err := demo.Seed(ctx, demo.Services{Auth: svc, Sync: engine, Places: places}, demo.Options{AdminPassword: pw, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(out.String()))
	s := d.Summary
	if s.Zones != 3 || s.Stations != 6 || s.Beats < 30 || s.Routes != 12 || s.Checkpoints != 48 || s.Kiosks != 12 ||
		s.Devices != 12 || s.Patrols != 60 || s.Fixes < 10000 || s.Rejected != 0 {
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
	if live := patrols.Live(admin, all, time.Now().Add(-15*time.Minute)); len(live) != 12 {
		t.Errorf("%d live units, want 12", len(live))
	}
	if n := len(places.Routes(admin)) + len(places.Checkpoints(admin)) + len(places.Kiosks(admin)); n != 72 {
		t.Errorf("%d places", n)
	}
	// The ledger folds the patrols off the push path: some beats get covered, none fully.
	deadline := time.Now().Add(20 * time.Second)
	for {
		covered, beats, gaps := 0, 0, 0
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
		}
		if covered >= beats/3 && gaps > 0 {
			t.Logf("%d of %d beats covered, %d blind spots under a 4 h SLA", covered, beats, gaps)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s only %d of %d beats covered, %d gaps", covered, beats, gaps)
		}
		time.Sleep(200 * time.Millisecond)
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
