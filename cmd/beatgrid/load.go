package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/beatgrid/beatgrid/load"
)

// loadCommand runs `beatgrid load`: realistic terminal and console traffic against a running
// server for a bounded time, then a report on stdout (and as JSON with --json).
func loadCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := load.Config{Progress: stderr}
	fs.StringVar(&cfg.Server, "server", "http://127.0.0.1:8080", "server base URL")
	fs.IntVar(&cfg.Devices, "devices", 250, "simulated terminals")
	fs.DurationVar(&cfg.Duration, "duration", time.Minute, "how long to load the server (setup not included)")
	fs.DurationVar(&cfg.FixInterval, "fix-interval", 5*time.Second, "simulated time between two GPS fixes of a terminal")
	fs.IntVar(&cfg.Batch, "batch", 12, "fixes per track.points mutation; a terminal pushes each batch as it completes")
	fs.Float64Var(&cfg.Speedup, "speedup", 1, "simulated time per real time (12: a minute of fixes every 5 s at the defaults)")
	fs.IntVar(&cfg.PhotoEvery, "photo-every", 10, "an inspection with a photo upload every this many pushes (0: none)")
	fs.IntVar(&cfg.TileReaders, "tile-readers", 2, "console users reading z14 coverage tiles and the beats summary (0: none)")
	fs.DurationVar(&cfg.ReaderPause, "reader-pause", time.Second, "a console user's pause between two map views of 9 tiles (0: none)")
	fs.StringVar(&cfg.AdminUser, "admin-user", "admin", "admin who sets up the terminals and console users")
	fs.StringVar(&cfg.AdminPassword, "admin-password", os.Getenv("BEATGRID_ADMIN_PASSWORD"), "its password (env BEATGRID_ADMIN_PASSWORD)")
	fs.StringVar(&cfg.RunID, "run-id", "", "names this run's station and users (default: load- and the time)")
	tracks := fs.String("tracks", "testdata/tracks", "directory of GPX and CSV tracks to walk (synthetic walks if none)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: beatgrid load --server URL [--devices N] [--duration D] [--speedup X] [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("load: unexpected arguments %q", fs.Args())
	}
	if cfg.Devices < 1 || cfg.Batch < 1 || cfg.Duration <= 0 || cfg.FixInterval <= 0 || cfg.Speedup <= 0 || cfg.PhotoEvery < 0 || cfg.TileReaders < 0 {
		return fmt.Errorf("load: --devices, --batch, --duration, --fix-interval and --speedup must be positive; --photo-every and --tile-readers not negative")
	}
	if cfg.TileReaders == 0 {
		cfg.TileReaders = -1 // none, not the default
	}
	if cfg.ReaderPause == 0 {
		cfg.ReaderPause = -1
	}
	var err error
	if cfg.Tracks, err = loadTracks(*tracks); err != nil {
		return err
	}
	rep, err := load.Run(ctx, cfg)
	if err != nil {
		return err
	}
	rep.Print(stdout)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	return nil
}
