package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/patrol"
	"github.com/beatgrid/beatgrid/sim"
	"github.com/beatgrid/beatgrid/store"
	"github.com/beatgrid/beatgrid/store/storetest"
	bgsync "github.com/beatgrid/beatgrid/sync"
)

// freeAddr returns a loopback address with a free port, to restart a server on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// stop ends a child server: SIGTERM (a clean shutdown) or SIGKILL (a crash).
func stop(t *testing.T, cmd *exec.Cmd, sig syscall.Signal) {
	t.Helper()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// TestChaos runs 20 simulated terminals × 500 mutations through a fault-injecting proxy
// (latency, connections cut mid-body, stalls, resets, duplicated requests) against a server
// that is shut down and restarted once and killed with SIGKILL and restarted once, mid-run.
// Then: every mutation a terminal recorded is stored exactly once, all applied; the patrols
// the server folded equal those of a clean run of the same mutations; no pull skipped a
// change (each terminal's replica equals a full pull).
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run in -short mode")
	}
	dir, addr := t.TempDir(), freeAddr(t)
	server, url := startChildAt(t, dir, addr)
	stations := make(chan string, 1)
	cfg := sim.Config{Server: url, AdminPassword: childAdminPassword, Devices: 20, Mutations: 500, BatchPoints: 5,
		PatrolBatches: 40, PushBatch: 25, OfflineChance: 0.2, InspectEvery: 20, Checkpoints: 3, Chaos: true, Seed: 42,
		Duration: 4 * time.Minute,
		Ready:    func(s string) { stations <- s }}
	type result struct {
		rep *sim.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := sim.Run(context.Background(), cfg)
		done <- result{rep, err}
	}()
	station := <-stations
	changeStation(t, url, station, 3) // changes for the terminals to pull
	time.Sleep(time.Second)
	stop(t, server, syscall.SIGTERM)
	server, _ = startChildAt(t, dir, addr)
	changeStation(t, url, station, 3)
	time.Sleep(time.Second)
	stop(t, server, syscall.SIGKILL)
	server, _ = startChildAt(t, dir, addr)
	changeStation(t, url, station, 3)
	r := <-done
	if r.err != nil {
		t.Fatalf("sim: %v", r.err)
	}
	t.Logf("chaos run: %d mutations, %d fixes, %d pushes, %d retries; applied %d, duplicate %d, rejected %d; push p50 %s p99 %s",
		r.rep.Recorded, r.rep.Fixes, r.rep.Pushes, r.rep.Retries, r.rep.Applied, r.rep.Duplicates, r.rep.Rejected,
		r.rep.PushP50, r.rep.PushP99)
	if r.rep.ReplicaMismatches != 0 || r.rep.Rejected != 0 {
		t.Errorf("%d replicas differ from a full pull; %d mutations rejected", r.rep.ReplicaMismatches, r.rep.Rejected)
	}
	served, punched, verified := patrolsOf(t, url)
	t.Logf("checkpoint punches: %d, verified %d", punched, verified)
	if punched == 0 || verified != punched {
		t.Errorf("%d punches, %d verified: every punch of the sim is at its checkpoint with its tag", punched, verified)
	}
	inspections := 0
	for _, d := range r.rep.Devices {
		for _, m := range d.Recorded {
			if m.Type == "inspection.submit" {
				inspections++
			}
		}
	}
	if m := metric(t, url, "beatgrid_sync_facts_pending_blobs"); m != "0" || r.rep.Photos != int64(inspections) || inspections == 0 {
		t.Errorf("%d inspections, %d photos uploaded, %s facts still wait for one", inspections, r.rep.Photos, m)
	}
	stop(t, server, syscall.SIGTERM)

	checkExactlyOnce(t, dir, r.rep)
	if clean := cleanRun(t, r.rep); !slices.Equal(served, clean) {
		t.Errorf("patrols after chaos differ from a clean run:\n%v\nclean:\n%v", served, clean)
	}
}

// changeStation adds n beats to the station as the admin: changes that terminals must pull.
func changeStation(t *testing.T, url, station string, n int) {
	t.Helper()
	c := client{t, url}
	var admin tokens
	waitReady(t, url)
	c.must(200, "POST", "/v1/auth/login", "", map[string]string{"username": "admin", "password": childAdminPassword}, &admin)
	for i := 0; i < n; i++ {
		c.must(201, "POST", "/v1/org-units", admin.Access, map[string]string{"kind": "beat",
			"name": fmt.Sprintf("Beat %d", time.Now().UnixNano()), "parent_id": station}, nil)
	}
}

func waitReady(t *testing.T, url string) {
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server not ready")
}

// checkExactlyOnce reads the mutation log from the server's files: each recorded mutation
// is there once, applied, and nothing else is.
func checkExactlyOnce(t *testing.T, dir string, rep *sim.Report) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	stored := map[string]*beatgrid.Mutation{}
	err = db.ScanMutations(ctx, func(m *beatgrid.Mutation) error {
		k := m.DeviceID + "/" + m.ID
		if stored[k] != nil {
			t.Errorf("mutation %s stored twice", k)
		}
		stored[k] = m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	recorded := 0
	for _, d := range rep.Devices {
		if d.Unacked != 0 {
			t.Errorf("device %s: %d mutations never acknowledged", d.DeviceID, d.Unacked)
		}
		for _, m := range d.Recorded {
			recorded++
			s := stored[d.DeviceID+"/"+m.ID]
			if s == nil || s.Status != beatgrid.StatusApplied || s.Seq != m.Seq {
				t.Errorf("recorded %s/%s (seq %d): stored as %+v", d.DeviceID, m.ID, m.Seq, s)
			}
		}
	}
	if len(stored) != recorded {
		t.Errorf("stored %d mutations, recorded %d", len(stored), recorded)
	}
}

// patrolKey is what a patrol must be, whatever the network did.
func patrolKey(id, mode string, start, end *time.Time, points int, dist float64, punched, breaks int) string {
	return fmt.Sprintf("%s %s %v %v %d %.3f punched %d breaks %d", id, mode, start, end, points, dist, punched, breaks)
}

// patrolsOf lists every patrol the server folded, as the root admin sees them, and counts
// their punches, all and verified.
func patrolsOf(t *testing.T, url string) (out []string, punched, verified int) {
	c := client{t, url}
	var admin tokens
	c.must(200, "POST", "/v1/auth/login", "", map[string]string{"username": "admin", "password": childAdminPassword}, &admin)
	cursor := ""
	for {
		var page struct {
			Items []struct {
				ID        string     `json:"id"`
				Mode      string     `json:"mode"`
				StartedAt *time.Time `json:"started_at"`
				EndedAt   *time.Time `json:"ended_at"`
				Stats     struct {
					Points      int     `json:"points"`
					DistanceM   float64 `json:"distance_m"`
					Checkpoints struct {
						Punched     int `json:"punched"`
						Verified    int `json:"verified"`
						ChainBreaks int `json:"chain_breaks"`
					} `json:"checkpoints"`
				} `json:"stats"`
			} `json:"items"`
			Next *string `json:"next_cursor"`
		}
		c.must(200, "GET", "/v1/patrols?limit=1000&cursor="+cursor, admin.Access, nil, &page)
		for _, p := range page.Items {
			cp := p.Stats.Checkpoints
			out = append(out, patrolKey(p.ID, p.Mode, p.StartedAt, p.EndedAt, p.Stats.Points, p.Stats.DistanceM, cp.Punched, cp.ChainBreaks))
			punched, verified = punched+cp.Punched, verified+cp.Verified
		}
		if page.Next == nil {
			return out, punched, verified
		}
		cursor = *page.Next
	}
}

// cleanRun pushes every recorded mutation once, in order, to a fresh engine (no network, no
// faults) and returns the patrols it folds.
func cleanRun(t *testing.T, rep *sim.Report) []string {
	t.Helper()
	db := storetest.OpenEmbedded(t)
	reg := bgsync.NewRegistry()
	patrols := patrol.New(nil)
	patrols.Register(reg)
	e := bgsync.New(db, reg, bgsync.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer e.Close()
	admin := &beatgrid.Principal{UserID: "clean", Roles: []string{beatgrid.RoleAdmin}}
	for _, d := range rep.Devices {
		p := &beatgrid.Principal{UserID: "u-" + d.DeviceID, DeviceID: d.DeviceID, OrgUnitID: "st"}
		for start := 0; start < len(d.Recorded); start += 100 {
			in := d.Recorded[start:min(start+100, len(d.Recorded))]
			if _, err := e.Push(context.Background(), p, &bgsync.PushRequest{Mutations: in}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var out []string
	for _, p := range patrols.List(admin, func(string) bool { return true }) {
		out = append(out, patrolKey(p.ID, p.Mode, timeOrNil(p.StartedAt), timeOrNil(p.EndedAt), p.Points, p.Distance,
			p.Punches.Punched, p.Punches.ChainBreaks))
	}
	return out
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// TestKillBetweenWriteAndAnswer: the server dies (SIGKILL) right after the mutation log
// write and before it answers; the terminal's retry to the restarted server is answered
// "duplicate", with the first answer, and the log holds each mutation once.
func TestKillBetweenWriteAndAnswer(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	server, url := startChildAt(t, dir, addr, "BEATGRID_CRASH_AFTER_WRITES=1")
	// The terminal retries its push against the dead server until the run's time is up.
	rep, err := sim.Run(context.Background(), sim.Config{Server: url, AdminPassword: childAdminPassword, Devices: 1,
		Mutations: 1, Duration: 8 * time.Second, Seed: 1})
	if rep == nil || err == nil {
		t.Fatalf("the first push was answered (%+v, %v); the server should have died after its write", rep, err)
	}
	_ = server.Wait() // killed by its own hook
	if server.ProcessState.Success() {
		t.Fatal("the server exited cleanly instead of being killed")
	}
	server, _ = startChildAt(t, dir, addr)
	defer stop(t, server, syscall.SIGTERM)
	// sim does not keep its queue across runs; replay the one mutation as the terminal would.
	d := rep.Devices[0]
	if len(d.Recorded) != 1 {
		t.Fatalf("recorded %d mutations, want 1", len(d.Recorded))
	}
	var ans struct {
		Results []struct {
			Status         string `json:"status"`
			OriginalStatus string `json:"original_status"`
		} `json:"results"`
	}
	token := signInAs(t, url, d)
	c := client{t, url}
	c.must(200, "POST", "/v1/sync/push", token, map[string]any{"mutations": d.Recorded}, &ans)
	if len(ans.Results) != 1 || ans.Results[0].Status != "duplicate" || ans.Results[0].OriginalStatus != "applied" {
		t.Fatalf("retry after the crash: %+v", ans.Results)
	}
}

// signInAs signs the officer of a simulated terminal in on it.
func signInAs(t *testing.T, url string, d sim.DeviceReport) string {
	var tok tokens
	client{t, url}.must(200, "POST", "/v1/auth/device-login", "", map[string]string{"device_id": d.DeviceID,
		"device_secret": d.DeviceSecret, "username": d.Username, "password": d.Password}, &tok)
	return tok.Access
}

// metric reads one value from a server's /metrics.
func metric(t *testing.T, url, name string) string {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// TestSignInStorm: a shift starts — 120 terminals sign in and push at the same moment. All get
// through: password hashing is bounded (a storm once ran the server out of memory) and the
// embedded store takes one writer at a time (it once stalled under 250 concurrent sign-ins).
func TestSignInStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("storm in -short mode")
	}
	dir, addr := t.TempDir(), freeAddr(t)
	server, url := startChildAt(t, dir, addr)
	defer stop(t, server, syscall.SIGTERM)
	rep, err := sim.Run(context.Background(), sim.Config{Server: url, AdminPassword: childAdminPassword, Devices: 120,
		Mutations: 4, Duration: 3 * time.Minute, Seed: 3})
	if err != nil {
		t.Fatalf("sim: %v", err)
	}
	if rep.Applied != 120*4 || rep.Rejected != 0 {
		t.Fatalf("applied %d, rejected %d; want %d applied", rep.Applied, rep.Rejected, 120*4)
	}
}
