package handlers

import (
	"strconv"
	"sync/atomic"
	"time"

	bgsync "github.com/beatgrid/beatgrid/sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics, on a registry of its own (one per app, so
// tests can run several).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	dbPing   prometheus.Histogram
	dbUp     prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "beatgrid_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "beatgrid_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
		dbPing: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "beatgrid_db_ping_seconds", Help: "Database ping latency.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1, 5},
		}),
		dbUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "beatgrid_db_up", Help: "1 if the last database ping succeeded.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.dbPing, m.dbUp,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

func (m *metrics) observePing(d time.Duration, err error) {
	m.dbPing.Observe(d.Seconds())
	if err != nil {
		m.dbUp.Set(0)
	} else {
		m.dbUp.Set(1)
	}
}

// registerSync exports the sync engine's counters.
func (m *metrics) registerSync(e *bgsync.Engine) {
	st := e.Stats()
	counter := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	m.reg.MustRegister(
		counter("beatgrid_sync_pushes_total", "Push requests answered.", &st.Pushes),
		counter("beatgrid_sync_mutations_applied_total", "Mutations applied.", &st.Applied),
		counter("beatgrid_sync_mutations_duplicate_total", "Mutations answered as duplicates.", &st.Duplicates),
		counter("beatgrid_sync_mutations_rejected_total", "Mutations rejected.", &st.Rejected),
		counter("beatgrid_sync_seq_gap_pushes_total", "Pushes that reported gaps in the device's sequence numbers.", &st.SeqGaps),
		counter("beatgrid_sync_clock_skew_pushes_total", "Pushes from a device whose clock is off.", &st.ClockSkewed),
		counter("beatgrid_sync_log_writes_total", "Group writes of the mutation log.", &st.GroupWrites),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "beatgrid_sync_facts_pending_blobs",
			Help: "Applied facts still waiting for a photo to arrive."}, func() float64 { _, f := e.PendingBlobs(); return float64(f) }),
	)
}
