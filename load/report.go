package load

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a load run measured. Latencies are in milliseconds, from sending a request
// to reading the last byte of its answer, over the requests answered (errors included).
type Report struct {
	Server       string  `json:"server"`
	RunID        string  `json:"run_id"`
	Devices      int     `json:"devices"`
	TileReaders  int     `json:"tile_readers"`
	Beats        int     `json:"beats"`
	Duration     string  `json:"duration"`      // asked for
	ElapsedS     float64 `json:"elapsed_s"`     // of the load, setup excluded
	SetupS       float64 `json:"setup_s"`       // enrolling and signing everyone in
	StoppedEarly bool    `json:"stopped_early"` // by Ctrl-C (or the caller's context)
	FixInterval  string  `json:"fix_interval"`
	Batch        int     `json:"batch"`
	Speedup      float64 `json:"speedup"`
	PhotoEvery   int     `json:"photo_every"`

	Kinds []KindReport `json:"kinds"` // push, blob put, tile, beats summary

	FixesRecorded      int64  `json:"fixes_recorded"`        // by the terminals' clocks
	FixesApplied       int64  `json:"fixes_applied"`         // in mutations answered "applied"
	FixesDuplicate     int64  `json:"fixes_duplicate"`       // answered "duplicate" (an answer lost before)
	MutationsApplied   int64  `json:"mutations_applied"`     //
	MutationsDuplicate int64  `json:"mutations_duplicate"`   //
	MutationsRejected  int64  `json:"mutations_rejected"`    // unexpected: every mutation sent is valid
	PhotosUploaded     int64  `json:"photos_uploaded"`       //
	UnexpectedErrors   int64  `json:"unexpected_errors"`     // failed requests plus rejected mutations
	FirstError         string `json:"first_error,omitempty"` // the first of them, for a clue

	ServerRSSStartMB float64 `json:"server_rss_start_mb"`
	ServerRSSPeakMB  float64 `json:"server_rss_peak_mb"`
	ServerRSSEndMB   float64 `json:"server_rss_end_mb"`
	ServerCPUS       float64 `json:"server_cpu_s"`     // CPU seconds the server used during the load
	ServerCPUCores   float64 `json:"server_cpu_cores"` // the same per second of load
	ServerSamples    int     `json:"server_samples"`   // of /metrics
	ServerSampleErrs int     `json:"server_sample_errors"`
	ClientCPUS       float64 `json:"client_cpu_s"` // this process (the server too, if it runs in it)
	ClientCPUCores   float64 `json:"client_cpu_cores"`
}

// KindReport is what the requests of one kind did.
type KindReport struct {
	Kind       string           `json:"kind"`
	Count      int64            `json:"count"` // sent and finished, with any outcome
	OK         int64            `json:"ok"`
	Errors     map[string]int64 `json:"errors"` // by status, "network", "timeout", "cut" (at the end)
	PerSecond  float64          `json:"per_second"`
	AvgBytes   float64          `json:"avg_answer_bytes"`           // of the answers' bodies, as sent
	FixesPerS  float64          `json:"fixes_per_second,omitempty"` // push: fixes applied
	P50Ms      float64          `json:"p50_ms"`
	P95Ms      float64          `json:"p95_ms"`
	P99Ms      float64          `json:"p99_ms"`
	MaxMs      float64          `json:"max_ms"`
	Overflowed uint64           `json:"overflowed,omitempty"` // latencies beyond the histogram (> 12 days)
}

// Kind returns the report of kind, or a zero one.
func (r *Report) Kind(kind string) KindReport {
	for _, k := range r.Kinds {
		if k.Kind == kind {
			return k
		}
	}
	return KindReport{Kind: kind}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func megabytes(b float64) string { return fmt.Sprintf("%.0f MB", b/(1<<20)) }

func (r *run) report(elapsed, setup time.Duration, early bool, clientCPU time.Duration) *Report {
	cfg := r.cfg
	secs := elapsed.Seconds()
	rep := &Report{Server: cfg.Server, RunID: cfg.RunID, Devices: cfg.Devices, TileReaders: cfg.TileReaders, Beats: r.beats,
		Duration: cfg.Duration.String(), ElapsedS: round3(secs), SetupS: round3(setup.Seconds()), StoppedEarly: early,
		FixInterval: cfg.FixInterval.String(), Batch: cfg.Batch, Speedup: cfg.Speedup, PhotoEvery: cfg.PhotoEvery,
		FixesRecorded: r.fixes.recorded.Load(), FixesApplied: r.fixes.applied.Load(), FixesDuplicate: r.fixes.duplicate.Load(),
		MutationsApplied: r.mutations.applied.Load(), MutationsDuplicate: r.mutations.duplicate.Load(),
		MutationsRejected: r.mutations.rejected.Load(), PhotosUploaded: r.photos.Load(),
		ClientCPUS: round3(clientCPU.Seconds()), ClientCPUCores: round3(clientCPU.Seconds() / secs)}
	rep.UnexpectedErrors = rep.MutationsRejected
	for _, kind := range kinds {
		k := r.kinds[kind]
		k.mu.Lock()
		bytes := k.bytes
		kr := KindReport{Kind: kind, OK: k.ok, Errors: maps.Clone(k.errors), P50Ms: ms(k.hist.quantile(0.50)),
			P95Ms: ms(k.hist.quantile(0.95)), P99Ms: ms(k.hist.quantile(0.99)),
			MaxMs: ms(time.Duration(k.hist.max) * time.Microsecond), Overflowed: k.hist.overflow}
		k.mu.Unlock()
		if kr.Errors == nil {
			kr.Errors = map[string]int64{}
		}
		kr.Count = kr.OK
		for _, n := range kr.Errors {
			kr.Count += n
			rep.UnexpectedErrors += n
		}
		kr.PerSecond = round3(float64(kr.Count) / secs)
		if kr.Count > 0 {
			kr.AvgBytes = round3(float64(bytes) / float64(kr.Count))
		}
		if kind == KindPush {
			kr.FixesPerS = round3(float64(rep.FixesApplied) / secs)
		}
		rep.Kinds = append(rep.Kinds, kr)
	}
	if s := r.firstError.Load(); s != nil {
		rep.FirstError = *s
	}
	sm := r.sampler
	sm.mu.Lock()
	rep.ServerRSSStartMB, rep.ServerRSSPeakMB, rep.ServerRSSEndMB = mb(sm.rssStart), mb(sm.rssPeak), mb(sm.rssEnd)
	rep.ServerCPUS = round3(sm.cpuEnd - sm.cpuStart)
	rep.ServerSamples, rep.ServerSampleErrs = sm.samples, sm.failures
	sm.mu.Unlock()
	rep.ServerCPUCores = round3(rep.ServerCPUS / secs)
	return rep
}

func mb(b float64) float64     { return round3(b / (1 << 20)) }
func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "beatgrid load against %s (run %s)\n", r.Server, r.RunID)
	early := ""
	if r.StoppedEarly {
		early = " (stopped early)"
	}
	fmt.Fprintf(tw, "terminals %d, console readers %d, beats %d; fix every %s simulated, %d fixes a push, %g× real time, photo every %d pushes\n",
		r.Devices, r.TileReaders, r.Beats, r.FixInterval, r.Batch, r.Speedup, r.PhotoEvery)
	fmt.Fprintf(tw, "load %.1fs of %s%s, after %.1fs of setup\n\n", r.ElapsedS, r.Duration, early, r.SetupS)
	fmt.Fprintln(tw, "kind\tcount\tok\terrors\treq/s\tfixes/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tanswer B")
	for _, k := range r.Kinds {
		fixes := "-"
		if k.Kind == KindPush {
			fixes = fmt.Sprintf("%.0f", k.FixesPerS)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.1f\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\n", k.Kind, k.Count, k.OK, errorsText(k.Errors),
			k.PerSecond, fixes, k.P50Ms, k.P95Ms, k.P99Ms, k.MaxMs, k.AvgBytes)
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "fixes\trecorded %d, applied %d, duplicate %d\n", r.FixesRecorded, r.FixesApplied, r.FixesDuplicate)
	fmt.Fprintf(tw, "mutations\tapplied %d, duplicate %d, rejected %d; photos uploaded %d\n",
		r.MutationsApplied, r.MutationsDuplicate, r.MutationsRejected, r.PhotosUploaded)
	fmt.Fprintf(tw, "unexpected errors\t%d\n", r.UnexpectedErrors)
	if r.FirstError != "" {
		fmt.Fprintf(tw, "first error\t%s\n", r.FirstError)
	}
	fmt.Fprintf(tw, "server RSS\tstart %.0f MB, peak %.0f MB, end %.0f MB (%d samples of /metrics, %d failed)\n",
		r.ServerRSSStartMB, r.ServerRSSPeakMB, r.ServerRSSEndMB, r.ServerSamples, r.ServerSampleErrs)
	fmt.Fprintf(tw, "server CPU\t%.1f s (%.2f cores)\n", r.ServerCPUS, r.ServerCPUCores)
	fmt.Fprintf(tw, "client CPU\t%.1f s (%.2f cores)\n", r.ClientCPUS, r.ClientCPUCores)
	tw.Flush()
}

func errorsText(errs map[string]int64) string {
	if len(errs) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, errs[k]))
	}
	return strings.Join(parts, " ")
}
