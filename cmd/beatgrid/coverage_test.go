package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/coverage"
	"github.com/beatgrid/beatgrid/geo"
	"github.com/beatgrid/beatgrid/store"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/google/uuid"
)

// TestCoverageRebuildCommand: a real server folds a real drive into the ledger; after it
// stops, entries lost from the store come back with `beatgrid coverage rebuild`, and a
// second rebuild finds nothing to do.
func TestCoverageRebuildCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, _ := runMain(t, dir, "rebuild-test-password")
	raw, err := os.ReadFile("../../testdata/tracks/gpx/cerknicko-jezero.gpx")
	if err != nil {
		t.Fatal(err)
	}
	tracks, err := geo.ParseGPX(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	patrolID := uuid.Must(uuid.NewV7()).String()
	var pts []map[string]any
	shift := time.Duration(0) // the walk as if it happened two hours ago: older coverage is past retention
	for _, tr := range tracks {
		for _, seg := range tr.Segments {
			for _, f := range seg {
				if f.Timed() && len(pts) < 2000 {
					if shift == 0 {
						shift = time.Since(f.T) - 2*time.Hour
					}
					pts = append(pts, map[string]any{"lon": f.Point[0], "lat": f.Point[1], "t": f.T.Add(shift)})
				}
			}
		}
	}
	payload, _ := json.Marshal(map[string]any{"patrol_id": patrolID, "points": pts})
	p := &beatgrid.Principal{UserID: "u-1", DeviceID: "d-1", OrgUnitID: "ou-1", Roles: []string{beatgrid.RoleOfficer}}
	res, err := m.Sync.Push(ctx, p, &bgsync.PushRequest{Mutations: []bgsync.Incoming{
		{ID: uuid.Must(uuid.NewV7()).String(), Seq: 1, Type: "track.points", Payload: payload}}})
	if err != nil || res.Results[0].Status != beatgrid.StatusApplied {
		t.Fatalf("push: %v %+v", err, res)
	}
	if err := m.Coverage.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := store.Open(ctx, store.Config{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	es, err := coverage.StoredEntries(ctx, db)
	if err != nil || len(es) < 10 {
		t.Fatalf("the drive left %d entries (%v)", len(es), err)
	}
	var lost []beatgrid.CoverageDelta // a later delta that loses 7 entries
	for _, e := range es[:7] {
		lost = append(lost, beatgrid.CoverageDelta{Tile: uint64(geo.Cell(e.Cell).Parent(14)), Hour: e.Hour, Source: e.Source,
			Unit: e.Unit, Mode: e.Mode, Round: time.Now().Add(time.Hour).UnixNano(), Removed: []uint64{e.Cell}})
	}
	if err := db.InsertCoverage(ctx, lost); err != nil {
		t.Fatal(err)
	}
	_ = db.Close(ctx)

	rebuild := func() string {
		var out, errs bytes.Buffer
		if err := coverageCommand(ctx, []string{"rebuild", "--data", dir, "--from", "2000-01-01"}, &out, &errs); err != nil {
			t.Fatalf("rebuild: %v\n%s", err, errs.String())
		}
		return out.String()
	}
	want := regexp.MustCompile(fmt.Sprintf(`1 sources, %d entries; 7 inserted, 0 deleted`, len(es)))
	if out := rebuild(); !want.MatchString(out) {
		t.Fatalf("first rebuild: %s", out)
	}
	if out := rebuild(); !regexp.MustCompile(`0 inserted, 0 deleted`).MatchString(out) {
		t.Fatalf("second rebuild: %s", out)
	}
	var errs bytes.Buffer
	if err := coverageCommand(ctx, []string{"rebuild", "--data", dir, "--from", "yesterday"}, io.Discard, &errs); err == nil {
		t.Fatal("a bad --from passed")
	}

}
