package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beatgrid/beatgrid/geo"
)

// importUsage heads the help of `beatgrid import`.
const importUsage = `usage: beatgrid import FILE… --org UNIT --kind beats|routes|checkpoints|kiosks|venues [flags]

Creates places on a running beatgrid server from GeoJSON (.geojson, .json), GPX (.gpx) and
CSV (.csv) files, through its API. Each item is checked here first; bad items are reported,
never stop the run. Exit status: 0 all imported, 1 something rejected, 2 usage error.

  beats        GeoJSON Polygon/MultiPolygon features; --org is the parent station
  routes       GeoJSON LineString features, GPX tracks (one per segment) and routes, a CSV track per file
  checkpoints  GeoJSON Point features (name, radius_m [30], tag [name]), GPX waypoints,
               CSV with columns name,lon,lat,radius_m,tag
  kiosks       GeoJSON Point features with properties.segments (a MultiLineString),
               or GeometryCollections of a Point and LineStrings
  venues       GeoJSON Point features (name, type, address, owner_contact),
               CSV with columns name,type,address,lon,lat,owner_contact

The password is read from $BEATGRID_PASSWORD or --password-file.

flags:
`

// importConfig is what the flags of `beatgrid import` say.
type importConfig struct {
	files    []string
	opt      parseOptions
	server   string
	user     string
	password string
	dryRun   bool
	parallel int
}

// importCommand runs `beatgrid import` and returns its exit status: 0 when everything was
// imported, 1 when something was rejected or the run failed, 2 on a usage error. Progress
// goes to stderr, the summary to stdout.
func importCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseImportFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "beatgrid import: %v\n(beatgrid import -h for help)\n", err)
		return 2
	}
	items, err := readImport(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "beatgrid import:", err)
		return 1
	}
	rep := newImportReport(items)
	if !cfg.dryRun {
		logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: importLogLevel()}))
		if err := sendItems(ctx, cfg, items, rep, newProgress(stderr, len(items)), logger); err != nil {
			fmt.Fprintln(stderr, "beatgrid import:", err)
			return 1
		}
	}
	rep.print(stdout, cfg.dryRun)
	if rep.rejected > 0 {
		return 1
	}
	return 0
}

// importLogLevel is BEATGRID_LOG_LEVEL, warn by default.
func importLogLevel() slog.Level {
	l := slog.LevelWarn
	if err := l.UnmarshalText([]byte(os.Getenv("BEATGRID_LOG_LEVEL"))); err != nil {
		return slog.LevelWarn
	}
	return l
}

// parseImportFlags reads the command line; flags may come before, between or after files.
func parseImportFlags(args []string, stderr io.Writer) (*importConfig, error) {
	cfg := &importConfig{}
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, importUsage); fs.PrintDefaults() }
	fs.StringVar(&cfg.opt.org, "org", "", "org unit the items belong to (required)")
	fs.StringVar(&cfg.opt.kind, "kind", "", "what the files hold: beats, routes, checkpoints, kiosks or venues (required)")
	fs.StringVar(&cfg.server, "server", env("BEATGRID_SERVER", "http://127.0.0.1:8080"), "server base URL (env BEATGRID_SERVER)")
	fs.StringVar(&cfg.user, "user", env("BEATGRID_USER", "admin"), "user to sign in as (env BEATGRID_USER)")
	passwordFile := fs.String("password-file", "", "file holding the password (else env BEATGRID_PASSWORD)")
	crs := fs.String("crs", "wgs84", "CRS of the positions, wgs84 or gcj02 (a GeoJSON file's own crs member wins)")
	fs.BoolVar(&cfg.dryRun, "dry-run", false, "read and check only; send nothing")
	fs.IntVar(&cfg.parallel, "parallel", 4, "requests in flight at once (1 to 32)")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	cfg.files = files
	if cfg.opt.crs, err = parseCRSFlag(*crs); err != nil {
		return nil, err
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if !cfg.dryRun {
		cfg.password, err = readPassword(*passwordFile)
	}
	return cfg, err
}

// parseInterleaved parses fs over args, collecting the arguments that are not flags; after
// "--" everything is a file.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(files, rest...), nil
		}
		if len(rest) == 0 {
			break
		}
		files, args = append(files, rest[0]), rest[1:]
	}
	return files, nil
}

func parseCRSFlag(s string) (geo.CRS, error) {
	switch strings.ToLower(s) {
	case "wgs84":
		return geo.WGS84, nil
	case "gcj02", "gcj-02":
		return geo.GCJ02, nil
	}
	return "", fmt.Errorf("--crs %q: want wgs84 or gcj02", s)
}

// check finds what is wrong with the command line before anything is read or sent.
func (cfg *importConfig) check() error {
	kind, ok := importKinds[cfg.opt.kind]
	switch {
	case cfg.opt.kind == "":
		return errors.New("--kind is required")
	case !ok:
		return fmt.Errorf("--kind %q: want beats, routes, checkpoints, kiosks or venues", cfg.opt.kind)
	case cfg.opt.org == "" && !cfg.dryRun:
		return errors.New("--org is required")
	case len(cfg.files) == 0:
		return errors.New("no files to import")
	case cfg.parallel < 1 || cfg.parallel > 32:
		return fmt.Errorf("--parallel %d: want 1 to 32", cfg.parallel)
	}
	for _, f := range cfg.files {
		format := formatOf(f)
		if format == "" {
			return fmt.Errorf("%s: unknown format (want .geojson, .json, .gpx or .csv)", f)
		}
		if !slices.Contains(kind.formats, format) {
			return fmt.Errorf("%s: %s are read from %s, not %s", f, cfg.opt.kind, strings.Join(kind.formats, " or "), format)
		}
		if _, err := os.Stat(f); err != nil {
			return err
		}
	}
	return nil
}

// readPassword reads the password from file (its first line), else BEATGRID_PASSWORD.
func readPassword(file string) (string, error) {
	if file == "" {
		if pw := os.Getenv("BEATGRID_PASSWORD"); pw != "" {
			return pw, nil
		}
		return "", errors.New("no password: set BEATGRID_PASSWORD or give --password-file")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--password-file: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	if pw = strings.TrimSuffix(pw, "\r"); pw == "" {
		return "", fmt.Errorf("--password-file %s: empty", file)
	}
	return pw, nil
}

// readImport reads every file; a file that cannot be read is one rejected item, too many
// items in all is an error.
func readImport(cfg *importConfig) ([]importItem, error) {
	var items []importItem
	for _, f := range cfg.files {
		got, err := parseFile(f, cfg.opt, importMaxItems-len(items))
		if errors.Is(err, errTooManyItems) {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err != nil {
			got = []importItem{{src: f, reason: "file: " + err.Error()}}
		}
		items = append(items, got...)
	}
	return items, nil
}

// ---- report ----

// importReport counts what was imported and why things were rejected.
type importReport struct {
	mu       sync.Mutex
	total    int
	imported int
	rejected int
	reasons  map[string]*reasonCount
}

// reasonCount is how often a reason came up, with the first few items (in input order) it
// came up for.
type reasonCount struct {
	n        int
	examples []example
}

type example struct {
	seq int // the item's position in the input
	src string
}

const reasonExamples = 3

// newImportReport starts a report of items, counting those rejected already.
func newImportReport(items []importItem) *importReport {
	r := &importReport{total: len(items), reasons: map[string]*reasonCount{}}
	for i, it := range items {
		if it.body == nil {
			r.reject(i, it.src, it.reason)
		}
	}
	return r
}

// reject counts item seq (from src) as rejected for reason.
func (r *importReport) reject(seq int, src, reason string) {
	r.rejected++
	rc := r.reasons[reason]
	if rc == nil {
		rc = &reasonCount{}
		r.reasons[reason] = rc
	}
	rc.n++
	i, _ := slices.BinarySearchFunc(rc.examples, seq, func(e example, seq int) int { return e.seq - seq })
	if i < reasonExamples {
		rc.examples = slices.Insert(rc.examples, i, example{seq, src})
		rc.examples = rc.examples[:min(len(rc.examples), reasonExamples)]
	}
}

// print writes the summary: the counts, then each reason with how often, most often first.
func (r *importReport) print(w io.Writer, dryRun bool) {
	if dryRun {
		fmt.Fprintf(w, "dry run: %d to import, rejected %d\n", r.total-r.rejected, r.rejected)
	} else {
		fmt.Fprintf(w, "imported %d, rejected %d\n", r.imported, r.rejected)
	}
	keys := make([]string, 0, len(r.reasons))
	for k := range r.reasons {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if d := r.reasons[b].n - r.reasons[a].n; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		rc := r.reasons[k]
		srcs := make([]string, len(rc.examples))
		for i, e := range rc.examples {
			srcs[i] = e.src
		}
		if rc.n > len(rc.examples) {
			srcs = append(srcs, "…")
		}
		fmt.Fprintf(w, "  %d × %s  (%s)\n", rc.n, k, strings.Join(srcs, ", "))
	}
}

// ---- progress ----

// progress shows "imported 120/450 (3 rejected)": redrawn in place on a terminal (at most
// ten times a second), otherwise a line at every tenth of the way.
type progress struct {
	w     io.Writer
	tty   bool
	total int
	tenth int // tenths shown so far (not a terminal)
	drawn time.Time
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, tty: isTerminal(w), total: total}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// show draws the counts; callers serialize calls.
func (p *progress) show(imported, rejected int) {
	if p.total == 0 {
		return
	}
	done := imported + rejected
	line := fmt.Sprintf("imported %d/%d (%d rejected)", imported, p.total, rejected)
	if p.tty {
		if done == p.total || time.Since(p.drawn) >= 100*time.Millisecond {
			p.drawn = time.Now()
			fmt.Fprint(p.w, "\r"+line)
		}
		if done == p.total {
			fmt.Fprintln(p.w)
		}
		return
	}
	if t := done * 10 / p.total; t > p.tenth {
		p.tenth = t
		fmt.Fprintln(p.w, line)
	}
}

// end closes the line on a terminal when the run stopped short of the total.
func (p *progress) end(imported, rejected int) {
	if p.tty && p.total > 0 && imported+rejected < p.total {
		fmt.Fprintln(p.w)
	}
}

// ---- sending ----

// sendItems signs in and POSTs every good item, cfg.parallel at a time, recording each
// answer in rep. It fails only when it cannot start (sign-in, org unit unknown); later
// failures are rejections, and when the rest would fail alike (no such endpoint, the server
// gone) the rest is rejected unsent.
func sendItems(ctx context.Context, cfg *importConfig, items []importItem, rep *importReport, pr *progress, logger *slog.Logger) error {
	c := newImportClient(cfg.server, cfg.user, cfg.password, logger)
	if err := c.login(ctx); err != nil {
		return fmt.Errorf("sign in to %s as %s: %w", cfg.server, cfg.user, err)
	}
	if err := c.checkOrg(ctx, cfg.opt.org); err != nil {
		return err
	}
	path := importKinds[cfg.opt.kind].path
	s := &sender{c: c, path: path, rep: rep, pr: pr, logger: logger}
	work := make(chan int)
	var wg sync.WaitGroup
	for range cfg.parallel {
		wg.Go(func() {
			for i := range work {
				s.send(ctx, i, items[i])
			}
		})
	}
	for i, it := range items {
		if it.body != nil {
			work <- i
		}
	}
	close(work)
	wg.Wait()
	pr.end(rep.imported, rep.rejected)
	return nil
}

// sender sends items and records the answers.
type sender struct {
	c      *importClient
	path   string
	rep    *importReport
	pr     *progress
	logger *slog.Logger

	mu   sync.Mutex
	stop string // once set, the reason the rest is not sent
}

// send sends item seq and records the answer.
func (s *sender) send(ctx context.Context, seq int, it importItem) {
	reason := s.stopped(ctx)
	if reason == "" {
		var fatal bool
		reason, fatal = s.c.create(ctx, s.path, it.body)
		if fatal {
			s.halt(reason)
		}
	}
	s.rep.mu.Lock()
	defer s.rep.mu.Unlock()
	if reason == "" {
		s.rep.imported++
	} else {
		s.logger.Debug("rejected", "item", it.src, "reason", reason)
		s.rep.reject(seq, it.src, reason)
	}
	s.pr.show(s.rep.imported, s.rep.rejected)
}

// stopped is why nothing more is sent ("" to go on).
func (s *sender) stopped(ctx context.Context) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop == "" && ctx.Err() != nil {
		s.stop = "interrupted"
	}
	if s.stop == "" {
		return ""
	}
	return "not sent: " + s.stop
}

func (s *sender) halt(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop == "" {
		s.stop = reason
	}
}

// ---- client ----

// importClient speaks JSON to a beatgrid server as a signed-in user; it signs in again
// (by refresh token, else password) when its access token runs out.
type importClient struct {
	base     string
	user     string
	password string
	http     *http.Client
	logger   *slog.Logger

	mu      sync.Mutex // guards the tokens
	access  string
	refresh string
}

// Retries of answers that ask for them (429, 503).
const (
	importAttempts  = 5
	importMaxWait   = 10 * time.Second
	importMaxAnswer = 1 << 20
)

func newImportClient(base, user, password string, logger *slog.Logger) *importClient {
	return &importClient{base: strings.TrimRight(base, "/"), user: user, password: password,
		http: &http.Client{Timeout: time.Minute}, logger: logger}
}

func (c *importClient) token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.access
}

// login signs in with the password.
func (c *importClient) login(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.signIn(ctx)
}

// signIn signs in with the password; callers hold c.mu.
func (c *importClient) signIn(ctx context.Context) error {
	return c.tokens(ctx, "/v1/auth/login", map[string]string{"username": c.user, "password": c.password})
}

// tokens POSTs body to an auth endpoint and keeps the pair it answers; callers hold c.mu.
func (c *importClient) tokens(ctx context.Context, path string, body any) error {
	status, b, err := c.call(ctx, http.MethodPost, path, "", body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return errors.New(answerText(status, b))
	}
	var pair struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	if err := json.Unmarshal(b, &pair); err != nil || pair.Access == "" {
		return fmt.Errorf("%s: no access token in the answer", path)
	}
	c.access, c.refresh = pair.Access, pair.Refresh
	return nil
}

// reauth replaces the access token stale after the server refused it, unless another
// caller did already.
func (c *importClient) reauth(ctx context.Context, stale string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.access != stale {
		return nil
	}
	c.logger.Info("access token refused; signing in again")
	if c.refresh != "" && c.tokens(ctx, "/v1/auth/refresh", map[string]string{"refresh_token": c.refresh}) == nil {
		return nil
	}
	return c.signIn(ctx)
}

// checkOrg fails when org is not an org unit the user can see; other answers (a user who
// may not list org units) let the import go on, the server checks each item anyway.
func (c *importClient) checkOrg(ctx context.Context, org string) error {
	status, _, err := c.call(ctx, http.MethodGet, "/v1/org-units/"+url.PathEscape(org), c.token(), nil)
	if err != nil {
		return fmt.Errorf("look up org unit: %w", err)
	}
	if status == http.StatusNotFound {
		return fmt.Errorf("--org %s: no such org unit in your scope", org)
	}
	return nil
}

// create POSTs body to path: the reason it was refused ("" if created), and whether the
// rest would be refused alike.
func (c *importClient) create(ctx context.Context, path string, body any) (string, bool) {
	token := c.token()
	status, b, err := c.call(ctx, http.MethodPost, path, token, body)
	if err == nil && status == http.StatusUnauthorized {
		if err := c.reauth(ctx, token); err != nil {
			return "sign in again: " + err.Error(), true
		}
		status, b, err = c.call(ctx, http.MethodPost, path, c.token(), body)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return "interrupted (may have been created)", true
	case err != nil:
		return "network: " + err.Error(), true
	}
	return answerReason(status, b)
}

// call sends body as JSON (nil for none), trying again a few times when the server answers
// 429 or 503; it returns the last answer's status and body.
func (c *importClient) call(ctx context.Context, method, path, token string, body any) (int, []byte, error) {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return 0, nil, fmt.Errorf("encode %s: %w", path, err)
		}
	}
	wait := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		status, b, after, err := c.do(ctx, method, path, token, data)
		if err != nil || (status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable) || attempt == importAttempts {
			return status, b, err
		}
		if after > 0 {
			wait = min(after, importMaxWait)
		}
		c.logger.Warn("server busy; trying again", "status", status, "path", path, "wait", wait)
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, importMaxWait)
	}
}

// do sends one request: the answer's status, body and Retry-After.
func (c *importClient) do(ctx context.Context, method, path, token string, data []byte) (int, []byte, time.Duration, error) {
	var r io.Reader
	if data != nil {
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if data != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, importMaxAnswer))
	if err != nil {
		return 0, nil, 0, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, b, time.Duration(secs) * time.Second, nil
}

// problemAnswer is the part of an RFC 9457 problem the summary shows.
type problemAnswer struct {
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"errors"`
}

// answerReason is why an answer refused an item ("" for 2xx): its errors[] as
// "field: reason", else its status and detail. fatal says the rest would be refused alike:
// no such endpoint, not allowed, the server unavailable.
func answerReason(status int, body []byte) (reason string, fatal bool) {
	if status/100 == 2 {
		return "", false
	}
	var p problemAnswer
	if json.Unmarshal(body, &p) == nil && len(p.Errors) > 0 {
		parts := make([]string, len(p.Errors))
		for i, e := range p.Errors {
			parts[i] = e.Field + ": " + e.Reason
		}
		return strings.Join(parts, "; "), false
	}
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		fatal = true
	}
	return answerText(status, body), fatal
}

// answerText is "404 Not Found: detail" of a non-2xx answer.
func answerText(status int, body []byte) string {
	text := fmt.Sprintf("%d %s", status, http.StatusText(status))
	var p problemAnswer
	switch {
	case json.Unmarshal(body, &p) == nil && p.Detail != "":
		return text + ": " + p.Detail
	case len(body) > 0 && !json.Valid(body):
		s := []rune(strings.TrimSpace(string(body)))
		if len(s) > 200 {
			s = append(s[:200], '…')
		}
		return text + ": " + string(s)
	}
	return text
}
