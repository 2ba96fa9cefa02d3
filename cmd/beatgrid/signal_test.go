package main

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run this binary's main as a child process (BEATGRID_TEST_MAIN=1), so
// signals can be sent to a real server process.
func TestMain(m *testing.M) {
	if os.Getenv("BEATGRID_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startChild runs `beatgrid serve` in a child process on a free port and returns it with the
// URL it printed.
func startChild(t *testing.T, dir string) (*exec.Cmd, string) {
	return startChildAt(t, dir, "127.0.0.1:0")
}

// childAdminPassword is the first admin's password of child servers.
const childAdminPassword = "child-admin-password"

// startChildAt is startChild on addr, with extra environment variables.
func startChildAt(t *testing.T, dir, addr string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--addr", addr, "--data", dir)
	cmd.Env = append(os.Environ(), "BEATGRID_TEST_MAIN=1", "BEATGRID_ADMIN_PASSWORD="+childAdminPassword,
		"BEATGRID_LOG_LEVEL=warn", "MONGODB_URI=", "BEATGRID_MASTER_KEY=", "BEATGRID_LOGIN_IP_BURST=100000")
	cmd.Env = append(cmd.Env, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	urls := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (http://\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case u := <-urls:
		return cmd, u
	case <-time.After(60 * time.Second):
		t.Fatal("child server did not start")
		return nil, ""
	}
}

// TestSIGTERM: the server shuts down cleanly on SIGTERM and exits 0.
func TestSIGTERM(t *testing.T) {
	cmd, url := startChild(t, t.TempDir())
	c := client{t, url}
	c.must(200, "GET", "/readyz", "", nil, nil)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit 30 s after SIGTERM")
	}
}
