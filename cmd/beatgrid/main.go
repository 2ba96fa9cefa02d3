// Command beatgrid is the beatgrid server and its tools. With no subcommand it serves.
//
//	beatgrid [serve] [--addr ADDR] [--data DIR]   run the server (default :8080, ./beatgrid-data)
//	beatgrid import FILE… --org UNIT --kind KIND   create places from GeoJSON, GPX, CSV via the API
//	beatgrid coverage rebuild --from DATE --to DATE   recompute the coverage ledger from the facts
//	beatgrid sim --server URL --devices N --duration D [--chaos]   simulated terminals
//	beatgrid load --server URL [--devices N] [--duration D] [--speedup X]   load generator, prints a report
//	beatgrid healthcheck [--url URL]              exit 0 if URL answers 200 (for containers)
//
// main only wires configuration, store, services and handlers together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "beatgrid:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args)
	case "healthcheck":
		return healthcheck(ctx, args)
	case "sim":
		return simulate(ctx, args, os.Stdout, os.Stderr)
	case "load":
		return loadCommand(ctx, args, os.Stdout, os.Stderr)
	case "coverage":
		return coverageCommand(ctx, args, os.Stdout, os.Stderr)
	case "import":
		if code := importCommand(ctx, args, os.Stdout, os.Stderr); code != 0 {
			os.Exit(code)
		}
		return nil
	default:
		return fmt.Errorf("unknown command %q (serve, import, coverage, sim, load, healthcheck)", cmd)
	}
}

func serve(ctx context.Context, args []string) error {
	m := NewMain()
	if err := m.ParseFlags(args); err != nil {
		return err
	}
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down")
	return m.Close()
}

func healthcheck(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "URL that must answer 200")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", *url, resp.Status)
	}
	return nil
}
