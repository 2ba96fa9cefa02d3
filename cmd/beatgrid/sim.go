package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/beatgrid/beatgrid/sim"
)

// simulate runs `beatgrid sim`: simulated terminals against a running server.
func simulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	cfg := sim.Config{Progress: stderr}
	fs.StringVar(&cfg.Server, "server", "http://127.0.0.1:8080", "server base URL")
	fs.IntVar(&cfg.Devices, "devices", 10, "simulated terminals")
	fs.DurationVar(&cfg.Duration, "duration", 5*time.Minute, "bound on the whole run")
	fs.IntVar(&cfg.Mutations, "mutations", 200, "mutations each terminal records")
	fs.IntVar(&cfg.BatchPoints, "points", 20, "GPS fixes per track.points mutation")
	fs.IntVar(&cfg.PushBatch, "batch", 50, "mutations per push")
	fs.IntVar(&cfg.InspectEvery, "inspect-every", 25, "an inspection with a photo every this many mutations (0: none)")
	fs.IntVar(&cfg.Checkpoints, "checkpoints", 3, "checkpoints along each terminal's walk, punched as it passes")
	fs.BoolVar(&cfg.Chaos, "chaos", false, "put a fault-injecting proxy in between, and duplicate pushes")
	fs.StringVar(&cfg.AdminUser, "admin-user", "admin", "admin who creates the terminals")
	fs.StringVar(&cfg.AdminPassword, "admin-password", os.Getenv("BEATGRID_ADMIN_PASSWORD"), "its password (env BEATGRID_ADMIN_PASSWORD)")
	tracks := fs.String("tracks", "testdata/tracks", "directory of GPX and CSV tracks to walk (synthetic walks if none)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if cfg.Tracks, err = loadTracks(*tracks); err != nil {
		return err
	}
	cfg.OfflineChance = 0.2
	rep, err := sim.Run(ctx, cfg)
	if rep != nil {
		printReport(stdout, rep)
	}
	return err
}

// loadTracks reads every *.gpx and *.csv below dir; a missing dir gives none.
func loadTracks(dir string) ([][]geo.Fix, error) {
	var out [][]geo.Fix
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("tracks: %w", err)
		}
		defer f.Close()
		switch strings.ToLower(filepath.Ext(path)) {
		case ".gpx":
			tracks, err := geo.ParseGPX(f)
			if err != nil {
				return fmt.Errorf("tracks: %s: %w", path, err)
			}
			for _, t := range tracks {
				for _, seg := range t.Segments {
					if len(seg) >= 2 {
						out = append(out, seg)
					}
				}
			}
		case ".csv":
			fixes, err := geo.ParseCSV(f)
			if err != nil {
				return fmt.Errorf("tracks: %s: %w", path, err)
			}
			out = append(out, fixes)
		}
		return nil
	})
	return out, err
}

func printReport(w io.Writer, r *sim.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	secs := r.Elapsed.Seconds()
	rows := [][2]string{
		{"terminals", fmt.Sprint(r.Terminals)},
		{"elapsed", r.Elapsed.Round(time.Millisecond).String()},
		{"mutations recorded", fmt.Sprint(r.Recorded)},
		{"GPS fixes", fmt.Sprintf("%d (%.0f/s)", r.Fixes, float64(r.Fixes)/secs)},
		{"photos uploaded", fmt.Sprint(r.Photos)},
		{"push requests", fmt.Sprintf("%d (%.1f/s)", r.Pushes, float64(r.Pushes)/secs)},
		{"retries", fmt.Sprint(r.Retries)},
		{"answers", fmt.Sprintf("applied %d, duplicate %d, rejected %d", r.Applied, r.Duplicates, r.Rejected)},
		{"push latency", fmt.Sprintf("p50 %s, p99 %s", r.PushP50.Round(time.Millisecond), r.PushP99.Round(time.Millisecond))},
		{"replicas off after pulls", fmt.Sprint(r.ReplicaMismatches)},
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	tw.Flush()
}
