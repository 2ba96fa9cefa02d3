package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConsoleInBrowser starts the real server with --demo on an empty data directory and
// drives the console in Debian's chromium through web/e2e/console.mjs (playwright-core):
// sign-in, coverage rendered, a beat's blind spots, an alert acknowledged if the server has
// alerts, screenshots under $BEATGRID_ARTIFACTS (default test-artifacts/ at the repository
// root), load time and bytes transferred. It skips without chromium, node or web/node_modules,
// unless BEATGRID_BROWSER_TEST=1 (CI) makes their absence a failure.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	required := os.Getenv("BEATGRID_BROWSER_TEST") == "1"
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node"
	case fileMissing(chromium):
		missing = chromium
	case fileMissing("../../web/node_modules/playwright-core/package.json"):
		missing = "web/node_modules (npm ci in web/)"
	}
	if missing != "" {
		if required {
			t.Fatalf("BEATGRID_BROWSER_TEST=1 but %s is missing", missing)
		}
		t.Skipf("no %s: the browser test runs in CI (.ci/run)", missing)
	}

	const password = "console-browser-test"
	m := NewMain()
	var out strings.Builder
	m.Stdout = &out
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Config.MongoURI, m.Config.MasterKey, m.Config.MasterKeyFile = "", "", ""
	m.Config.AdminPassword = password
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--demo"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	t.Logf("server with demo up in %s:\n%s", time.Since(start).Round(time.Millisecond), out.String())
	if m.Demo == nil || m.Demo.Summary.Beats == 0 {
		t.Fatalf("--demo seeded nothing: %s", out.String())
	}

	artifacts := os.Getenv("BEATGRID_ARTIFACTS")
	if artifacts == "" {
		artifacts, _ = filepath.Abs("../../test-artifacts")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "e2e/console.mjs")
	cmd.Dir = "../../web"
	cmd.Env = append(os.Environ(), "BEATGRID_URL="+m.URL, "BEATGRID_PASSWORD="+password,
		"BEATGRID_ARTIFACTS="+artifacts, "CHROMIUM="+chromium)
	b, err := cmd.CombinedOutput()
	t.Logf("web/e2e/console.mjs:\n%s", b)
	if err != nil {
		t.Fatalf("browser test: %v", err)
	}
	if !strings.Contains(string(b), "BROWSER {") {
		t.Fatal("the browser test printed no result")
	}
}

func fileMissing(p string) bool {
	_, err := os.Stat(p)
	return err != nil
}
