package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid/load"
)

// TestLoad runs `beatgrid load` with 5 terminals for 5 s against the real server in this
// process, on the embedded database: every kind of request was sent and answered without
// an error, the fixes the pushes applied are the points of the server's patrols, and the
// server's memory was sampled.
func TestLoad(t *testing.T) {
	const pw = "load-test-password"
	m, _ := runMain(t, t.TempDir(), pw)
	jsonFile := filepath.Join(t.TempDir(), "report.json")
	var stdout, stderr bytes.Buffer
	args := []string{"--server", m.URL, "--admin-password", pw, "--devices", "5", "--duration", "5s",
		"--speedup", "60", "--photo-every", "2", "--tile-readers", "2", "--reader-pause", "200ms",
		"--tracks", "../../testdata/tracks", "--run-id", "loadtest", "--json", jsonFile}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := loadCommand(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("load: %v\n%s", err, stderr.String())
	}
	t.Logf("report:\n%s", stdout.String())
	if !strings.Contains(stdout.String(), "server RSS") {
		t.Errorf("no report on stdout")
	}
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep load.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("--json: %v in %s", err, b)
	}
	if rep.UnexpectedErrors != 0 || rep.MutationsRejected != 0 {
		t.Errorf("%d unexpected errors (first: %s), %d mutations rejected", rep.UnexpectedErrors, rep.FirstError, rep.MutationsRejected)
	}
	for _, kind := range []string{load.KindPush, load.KindBlob, load.KindTile, load.KindBeats} {
		k := rep.Kind(kind)
		if k.Count <= 0 || k.OK != k.Count || len(k.Errors) != 0 || k.P50Ms <= 0 || k.MaxMs < k.P99Ms {
			t.Errorf("%s: %+v", kind, k)
		}
	}
	if rep.FixesApplied <= 0 || rep.FixesDuplicate != 0 || rep.Kind(load.KindPush).FixesPerS <= 0 || rep.PhotosUploaded <= 0 {
		t.Errorf("fixes applied %d, duplicate %d, photos %d", rep.FixesApplied, rep.FixesDuplicate, rep.PhotosUploaded)
	}
	if rep.ServerRSSStartMB <= 0 || rep.ServerRSSPeakMB < rep.ServerRSSStartMB || rep.ServerSamples < 3 || rep.ServerCPUS <= 0 {
		t.Errorf("server: rss %v/%v/%v MB, %d samples, cpu %v s", rep.ServerRSSStartMB, rep.ServerRSSPeakMB,
			rep.ServerRSSEndMB, rep.ServerSamples, rep.ServerCPUS)
	}
	if rep.ClientCPUS <= 0 {
		t.Errorf("client CPU %v s", rep.ClientCPUS)
	}

	// The points of the server's patrols are the fixes the pushes applied.
	c := client{t, m.URL}
	var admin tokens
	c.must(200, "POST", "/v1/auth/login", "", map[string]string{"username": "admin", "password": pw}, &admin)
	points := 0
	for cursor := ""; ; {
		var page struct {
			Items []struct {
				Stats struct{ Points int } `json:"stats"`
			} `json:"items"`
			Next string `json:"next_cursor"`
		}
		c.must(200, "GET", "/v1/patrols?limit=1000&cursor="+cursor, admin.Access, nil, &page)
		for _, p := range page.Items {
			points += p.Stats.Points
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if int64(points) != rep.FixesApplied {
		t.Errorf("server's patrols hold %d points, the pushes applied %d fixes", points, rep.FixesApplied)
	}
}
