package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/coverage"
	"github.com/beatgrid/beatgrid/patrol"
	"github.com/beatgrid/beatgrid/store"
	bgsync "github.com/beatgrid/beatgrid/sync"
)

// coverageCommand runs `beatgrid coverage rebuild --from --to`: it folds the facts of the
// mutation log as the server does at start, then makes the stored coverage ledger of the
// window equal to what the facts give. On the embedded database, stop the server first
// (one process owns its files); on MongoDB it may run beside the servers, which pick the
// result up at their next start.
func coverageCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rebuild" {
		return fmt.Errorf("usage: beatgrid coverage rebuild --from DATE --to DATE [--data DIR]")
	}
	fs := flag.NewFlagSet("coverage rebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", env("BEATGRID_DATA", "beatgrid-data"), "data directory of the embedded database (env BEATGRID_DATA)")
	fromS := fs.String("from", "", "start of the window: RFC 3339 or YYYY-MM-DD (UTC)")
	toS := fs.String("to", "", "end of the window, exclusive: RFC 3339 or YYYY-MM-DD (UTC); default now")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	from, err := parseDay(*fromS, time.Time{})
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	to, err := parseDay(*toS, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if !from.Before(to) {
		return fmt.Errorf("--from must be before --to")
	}
	logger := newLogger(env("BEATGRID_LOG_LEVEL", "warn"), env("BEATGRID_LOG_FORMAT", "text"))
	db, err := store.Open(ctx, store.Config{URI: os.Getenv("MONGODB_URI"), DataDir: *data, Logger: logger})
	if err != nil {
		return err
	}
	defer db.Close(context.Background())

	start := time.Now()
	places, err := patrol.NewPlaces(ctx, db, func() *beatgrid.OrgTree { return beatgrid.NewOrgTree(nil) }, bgsync.NewFeed())
	if err != nil {
		return err
	}
	patrols := patrol.New(places)
	ledger := coverage.New(coverage.Config{Store: db, Patrols: patrols, Places: places, Logger: logger})
	reg := bgsync.NewRegistry()
	patrols.Register(reg)
	ledger.Register(reg)
	if err := ledger.Load(ctx); err != nil {
		return err
	}
	engine := bgsync.New(db, reg, bgsync.Config{Logger: logger})
	defer engine.Close()
	fmt.Fprintln(stderr, "reading the mutation log…")
	if err := engine.Load(ctx); err != nil {
		return err
	}
	st, err := ledger.Rebuild(ctx, from, to, progressLine(stderr, "recomputing sources"))
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coverage %s … %s: %d sources, %d entries; %d inserted, %d deleted (%s)\n",
		from.Format(time.RFC3339), to.Format(time.RFC3339), st.Sources, st.Entries, st.Inserted, st.Deleted,
		time.Since(start).Round(time.Millisecond))
	return nil
}

// parseDay reads RFC 3339 or a UTC date; def when empty.
func parseDay(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", s)
	}
	return t, nil
}

// progressLine returns a progress callback that redraws "what: done/total" at most every
// 1% of the way.
func progressLine(w io.Writer, what string) func(done, total int) {
	last := -1
	return func(done, total int) {
		if pct := done * 100 / max(total, 1); pct != last || done == total {
			last = pct
			fmt.Fprintf(w, "\r%s: %d/%d (%d%%)", what, done, total, pct)
		}
	}
}
