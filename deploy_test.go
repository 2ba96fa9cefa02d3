package beatgrid_test

// Checks of the deployment files (Dockerfile, docker-compose.yml). No Docker
// engine is needed: the compose file is loaded and validated against the
// compose specification with compose-go, and the Dockerfile is read line by
// line.

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads docker-compose.yml from the package directory with the
// given environment (and nothing from the real process environment), the way
// `docker compose` would: schema validation, interpolation, normalization and
// consistency checks all run.
func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if env == nil {
		env = map[string]string{}
	}
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(wd, "docker-compose.yml")}},
		Environment: env,
	})
	if err != nil {
		t.Fatalf("loading docker-compose.yml: %v", err)
	}
	return project
}

func envValue(t *testing.T, svc types.ServiceConfig, key string) string {
	t.Helper()
	v, ok := svc.Environment[key]
	if !ok || v == nil {
		t.Fatalf("service %s: environment %s is not set", svc.Name, key)
	}
	return *v
}

// namedVolumeAt returns the named volume mounted at target, failing if the
// mount is missing, is not a named volume, or the volume is not declared at
// the top level.
func namedVolumeAt(t *testing.T, p *types.Project, svc types.ServiceConfig, target string) string {
	t.Helper()
	for _, v := range svc.Volumes {
		if v.Target != target {
			continue
		}
		if v.Type != types.VolumeTypeVolume || v.Source == "" {
			t.Fatalf("service %s: mount at %s is %q from %q, want a named volume", svc.Name, target, v.Type, v.Source)
		}
		if _, ok := p.Volumes[v.Source]; !ok {
			t.Fatalf("service %s: volume %q is not declared in top-level volumes", svc.Name, v.Source)
		}
		return v.Source
	}
	t.Fatalf("service %s: nothing mounted at %s (volumes: %+v)", svc.Name, target, svc.Volumes)
	return ""
}

func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?m)^version\s*:`).Match(raw) {
		t.Error("docker-compose.yml has an obsolete top-level version: key")
	}

	// BEATGRID_ADMIN_PASSWORD deliberately unset: the default must apply.
	p := loadCompose(t, map[string]string{})

	names := slices.Sorted(maps.Keys(p.Services))
	if !slices.Equal(names, []string{"beatgrid", "mongo"}) {
		t.Fatalf("services = %v, want exactly [beatgrid mongo]", names)
	}
	for _, v := range []string{"mongo-data", "beatgrid-data"} {
		if _, ok := p.Volumes[v]; !ok {
			t.Errorf("top-level volume %q not declared (have %v)", v, p.Volumes)
		}
	}

	t.Run("mongo", func(t *testing.T) {
		m := p.Services["mongo"]
		if !strings.HasPrefix(m.Image, "mongo:7") {
			t.Errorf("image = %q, want mongo:7*", m.Image)
		}
		i := slices.Index(m.Command, "--replSet")
		if i < 0 || i+1 >= len(m.Command) || m.Command[i+1] != "rs0" {
			t.Errorf("command = %q, want --replSet rs0", m.Command)
		}
		if !slices.Contains(m.Command, "--bind_ip_all") {
			t.Errorf("command = %q, want --bind_ip_all", m.Command)
		}
		hc := m.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 {
			t.Fatalf("healthcheck = %+v, want an enabled test", hc)
		}
		test := strings.Join(hc.Test, " ")
		for _, want := range []string{"mongosh", "rs.status()", "rs.initiate(", "_id:'rs0'", "host:'mongo:27017'"} {
			if !strings.Contains(test, want) {
				t.Errorf("healthcheck test %q does not contain %q", test, want)
			}
		}
		if hc.Retries == nil || *hc.Retries < 1 {
			t.Errorf("healthcheck retries = %v, want set", hc.Retries)
		}
		if hc.Interval == nil || hc.Timeout == nil || hc.StartPeriod == nil {
			t.Errorf("healthcheck interval/timeout/start_period must be set: %+v", hc)
		}
		if got := namedVolumeAt(t, p, m, "/data/db"); got != "mongo-data" {
			t.Errorf("/data/db volume = %q, want mongo-data", got)
		}
	})

	t.Run("beatgrid", func(t *testing.T) {
		b := p.Services["beatgrid"]
		if b.Build == nil {
			t.Fatal("beatgrid has no build section")
		}
		wd, _ := os.Getwd()
		if filepath.Clean(b.Build.Context) != filepath.Clean(wd) {
			t.Errorf("build context = %q, want the repository root %q", b.Build.Context, wd)
		}
		if b.Build.Dockerfile != "Dockerfile" {
			t.Errorf("build dockerfile = %q, want Dockerfile", b.Build.Dockerfile)
		}
		if _, err := os.Stat(filepath.Join(b.Build.Context, b.Build.Dockerfile)); err != nil {
			t.Errorf("dockerfile referenced by compose: %v", err)
		}
		if b.Image != "beatgrid:latest" {
			t.Errorf("image = %q, want beatgrid:latest", b.Image)
		}

		published := false
		for _, port := range b.Ports {
			if port.Target == 8080 && port.Published == "8080" {
				published = true
			}
		}
		if !published {
			t.Errorf("ports = %+v, want 8080 published as 8080", b.Ports)
		}

		uri, err := url.Parse(envValue(t, b, "MONGODB_URI"))
		if err != nil {
			t.Fatalf("MONGODB_URI: %v", err)
		}
		if uri.Scheme != "mongodb" || uri.Hostname() != "mongo" {
			t.Errorf("MONGODB_URI = %s, want mongodb://mongo...", uri)
		}
		if rs := uri.Query().Get("replicaSet"); rs != "rs0" {
			t.Errorf("MONGODB_URI replicaSet = %q, want rs0", rs)
		}
		if addr := envValue(t, b, "BEATGRID_ADDR"); !strings.HasSuffix(addr, ":8080") {
			t.Errorf("BEATGRID_ADDR = %q, want to listen on :8080", addr)
		}
		if pw := envValue(t, b, "BEATGRID_ADMIN_PASSWORD"); pw == "" || strings.Contains(pw, "${") {
			t.Errorf("BEATGRID_ADMIN_PASSWORD = %q with the variable unset, want a non-empty default", pw)
		}
		if mk := envValue(t, b, "BEATGRID_MASTER_KEY"); mk != "" {
			t.Errorf("BEATGRID_MASTER_KEY = %q with the variable unset, want empty", mk)
		}

		dep, ok := b.DependsOn["mongo"]
		if !ok {
			t.Errorf("depends_on = %v, want mongo", b.DependsOn)
		} else if dep.Condition != types.ServiceConditionHealthy {
			t.Errorf("depends_on mongo condition = %q, want %s", dep.Condition, types.ServiceConditionHealthy)
		}

		hc := b.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 {
			t.Fatalf("healthcheck = %+v, want an enabled test", hc)
		}
		if hc.Test[0] != "CMD" {
			t.Errorf("healthcheck test = %q, want exec form (CMD ...): the image has no shell", hc.Test)
		}
		if !slices.Contains(hc.Test, "healthcheck") {
			t.Errorf("healthcheck test = %q, want the healthcheck subcommand", hc.Test)
		}
		if b.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("restart = %q, want %s", b.Restart, types.RestartPolicyUnlessStopped)
		}
		if got := namedVolumeAt(t, p, b, "/data"); got != "beatgrid-data" {
			t.Errorf("/data volume = %q, want beatgrid-data", got)
		}
	})

	t.Run("admin password from environment", func(t *testing.T) {
		p := loadCompose(t, map[string]string{"BEATGRID_ADMIN_PASSWORD": "s3cret-from-env"})
		if got := envValue(t, p.Services["beatgrid"], "BEATGRID_ADMIN_PASSWORD"); got != "s3cret-from-env" {
			t.Errorf("BEATGRID_ADMIN_PASSWORD = %q, want the value from the environment", got)
		}
	})
}

// dockerInstr is one Dockerfile instruction with its continuation lines joined.
type dockerInstr struct {
	cmd  string // upper-cased keyword, e.g. RUN
	args string
	line int
}

type dockerStage struct {
	from   string // base image reference
	name   string // AS name, if any
	instrs []dockerInstr
}

func parseDockerfile(t *testing.T, path string) []dockerStage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		stages []dockerStage
		buf    strings.Builder
		start  int
	)
	flush := func() {
		text := strings.TrimSpace(buf.String())
		buf.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := dockerInstr{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			var st dockerStage
			for i := 0; i < len(f); i++ {
				switch {
				case strings.HasPrefix(f[i], "--"): // --platform=...
				case strings.EqualFold(f[i], "AS") && i+1 < len(f):
					st.name = f[i+1]
					i++
				case st.from == "":
					st.from = f[i]
				}
			}
			stages = append(stages, st)
			return
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("%s:%d: %s before the first FROM", path, in.line, in.cmd)
			}
			return
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue // comment or parser directive (also allowed between continuation lines)
		}
		if buf.Len() == 0 {
			if trimmed == "" {
				continue
			}
			start = i + 1
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			buf.WriteString(cont + " ")
			continue
		}
		buf.WriteString(trimmed)
		flush()
	}
	flush()
	return stages
}

func (s dockerStage) find(cmd string) []dockerInstr {
	var out []dockerInstr
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d FROM stage(s), want a multi-stage build", len(stages))
	}
	final := stages[len(stages)-1]
	builders := stages[:len(stages)-1]

	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %q, want gcr.io/distroless/static*", final.from)
	}

	// Build: a builder stage compiles ./cmd/beatgrid statically, after
	// downloading modules in an earlier layer.
	var build *dockerInstr
	var buildStage dockerStage
	for _, st := range builders {
		for _, in := range st.find("RUN") {
			if strings.Contains(in.args, "go build") {
				build, buildStage = &in, st
			}
		}
	}
	if build == nil {
		t.Fatal("no builder stage RUNs go build")
	}
	if !strings.HasPrefix(buildStage.from, "golang:") {
		t.Errorf("build stage FROM %q, want a golang image", buildStage.from)
	}
	cgoOff := strings.Contains(build.args, "CGO_ENABLED=0")
	for _, env := range buildStage.find("ENV") {
		if env.line < build.line && regexp.MustCompile(`\bCGO_ENABLED[= ]0\b`).MatchString(env.args) {
			cgoOff = true
		}
	}
	if !cgoOff {
		t.Errorf("line %d: go build without CGO_ENABLED=0: %s", build.line, build.args)
	}
	for _, want := range []string{"-tags ferretdb_no_postgresql", "./cmd/beatgrid", "-o /beatgrid"} {
		if !strings.Contains(build.args, want) {
			t.Errorf("line %d: go build lacks %q: %s", build.line, want, build.args)
		}
	}
	download := -1
	for _, in := range buildStage.find("RUN") {
		if strings.Contains(in.args, "go mod download") {
			download = in.line
		}
	}
	if download < 0 || download > build.line {
		t.Errorf("go mod download (line %d) should run before go build (line %d) for layer caching", download, build.line)
	}

	// Runtime: binary copied from the builder, non-root user, writable /data.
	var copiedBinary, copiedData bool
	for _, in := range final.find("COPY") {
		if !strings.Contains(in.args, "--from=") {
			continue
		}
		f := strings.Fields(in.args)
		if f[len(f)-1] == "/beatgrid" {
			copiedBinary = true
		}
		if f[len(f)-1] == "/data" && (strings.Contains(in.args, "--chown=65532") || strings.Contains(in.args, "--chown=nonroot")) {
			copiedData = true
		}
	}
	if !copiedBinary {
		t.Error("final stage does not COPY --from the builder to /beatgrid")
	}
	if !copiedData {
		t.Error("final stage does not COPY a /data directory owned by the nonroot user (65532)")
	}

	users := final.find("USER")
	if len(users) == 0 {
		t.Error("final stage has no USER instruction")
	} else {
		u := users[len(users)-1].args
		name, _, _ := strings.Cut(u, ":")
		if name == "" || name == "root" || name == "0" {
			t.Errorf("final stage USER %q, want a non-root user", u)
		}
	}

	envs := strings.Join(func() []string {
		var s []string
		for _, e := range final.find("ENV") {
			s = append(s, e.args)
		}
		return s
	}(), " ")
	for _, want := range []string{"BEATGRID_ADDR=0.0.0.0:8080", "BEATGRID_DATA=/data"} {
		if !strings.Contains(envs, want) {
			t.Errorf("final stage ENV lacks %s (have %q)", want, envs)
		}
	}

	exposed := false
	for _, in := range final.find("EXPOSE") {
		for _, p := range strings.Fields(in.args) {
			if p == "8080" || p == "8080/tcp" {
				exposed = true
			}
		}
	}
	if !exposed {
		t.Error("final stage does not EXPOSE 8080")
	}

	hcs := final.find("HEALTHCHECK")
	if len(hcs) == 0 {
		t.Error("final stage has no HEALTHCHECK")
	} else {
		hc := hcs[len(hcs)-1].args
		if strings.EqualFold(strings.TrimSpace(hc), "NONE") || !strings.Contains(hc, "CMD") ||
			!strings.Contains(hc, "/beatgrid") || !strings.Contains(hc, "healthcheck") {
			t.Errorf("HEALTHCHECK %q, want CMD running the beatgrid healthcheck subcommand", hc)
		}
	}

	eps := final.find("ENTRYPOINT")
	if len(eps) == 0 {
		t.Fatal("final stage has no ENTRYPOINT")
	}
	var ep []string
	if err := json.Unmarshal([]byte(eps[len(eps)-1].args), &ep); err != nil {
		t.Fatalf("ENTRYPOINT %q is not exec (JSON) form: %v", eps[len(eps)-1].args, err)
	}
	if len(ep) == 0 || ep[0] != "/beatgrid" {
		t.Errorf("ENTRYPOINT %q, want [\"/beatgrid\"]", ep)
	}
	cmds := final.find("CMD")
	if len(cmds) == 0 {
		t.Error("final stage has no CMD")
	} else {
		var cmd []string
		if err := json.Unmarshal([]byte(cmds[len(cmds)-1].args), &cmd); err != nil || !slices.Equal(cmd, []string{"serve"}) {
			t.Errorf("CMD %q, want [\"serve\"]", cmds[len(cmds)-1].args)
		}
	}
}

// TestDockerignoreKeepsSources: the build context keeps every file the build needs — the Go
// sources, go.mod and go.sum, the embedded console (web/dist) and the demo's boundary. It
// follows Docker's matching: each pattern is matched against the path from the context's
// root (a leading "/" ignored, "**/" any depth), and a matched directory takes all below it;
// "!" exceptions are not used here, so the test refuses them rather than mis-read them.
func TestDockerignoreKeepsSources(t *testing.T) {
	raw, err := os.ReadFile(".dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			t.Fatalf(".dockerignore has an exception %q: teach this test Docker's exceptions first", line)
		}
		patterns = append(patterns, strings.TrimPrefix(line, "/"))
	}
	matches := func(pattern, path string) bool {
		if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
			parts := strings.Split(path, "/")
			for i := range parts {
				if m, _ := filepath.Match(rest, strings.Join(parts[i:], "/")); m {
					return true
				}
			}
			return false
		}
		m, _ := filepath.Match(pattern, path)
		return m
	}
	excluded := func(path string) string {
		parts := strings.Split(path, "/")
		for i := 1; i <= len(parts); i++ { // the path and every directory above it
			prefix := strings.Join(parts[:i], "/")
			for _, p := range patterns {
				if matches(p, prefix) {
					return p
				}
			}
		}
		return ""
	}
	var needed []string
	err = filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata" && path != "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") ||
			path == "go.mod" || path == "go.sum" || strings.HasPrefix(path, "web/dist/") ||
			strings.HasPrefix(path, "demo/") && strings.HasSuffix(path, ".geojson")) {
			needed = append(needed, filepath.ToSlash(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(needed) < 50 {
		t.Fatalf("found only %d files the build needs", len(needed))
	}
	for _, path := range needed {
		if p := excluded(path); p != "" {
			t.Errorf(".dockerignore pattern %q leaves %s out of the build context", p, path)
		}
	}
}
