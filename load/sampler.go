package load

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	gosync "sync"
	"time"
)

// sampler reads the server's resident memory and CPU seconds from /metrics (the Prometheus
// process collector) once a second.
type sampler struct {
	url  string
	http *http.Client

	mu                 gosync.Mutex
	samples, failures  int
	rssStart, rssPeak  float64
	rssEnd             float64
	cpuStart, cpuEnd   float64
	lastAt             time.Time
	lastCPU, lastRate  float64
	haveStart, haveCPU bool
}

// serverSample is the latest sample: RSS in bytes, CPU in cores used since the sample
// before.
type serverSample struct {
	rss, cpuRate float64
}

func newSampler(server string) *sampler {
	return &sampler{url: server + "/metrics", http: &http.Client{Timeout: 5 * time.Second}}
}

func (s *sampler) loop(done <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			s.sample()
		}
	}
}

// sample reads /metrics once.
func (s *sampler) sample() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rss, cpu, ok := s.read(ctx)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok {
		s.failures++
		return
	}
	s.samples++
	if !s.haveStart {
		s.rssStart, s.cpuStart, s.haveStart = rss, cpu, true
	}
	if s.haveCPU && now.After(s.lastAt) {
		s.lastRate = (cpu - s.lastCPU) / now.Sub(s.lastAt).Seconds()
	}
	s.lastAt, s.lastCPU, s.haveCPU = now, cpu, true
	s.rssPeak = max(s.rssPeak, rss)
	s.rssEnd, s.cpuEnd = rss, cpu
}

func (s *sampler) read(ctx context.Context) (rss, cpu float64, ok bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return 0, 0, false
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, false
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return 0, 0, false
	}
	var haveRSS, haveCPU bool
	sc := bufio.NewScanner(&b)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, found := strings.Cut(sc.Text(), " ")
		if !found {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			rss, err = strconv.ParseFloat(strings.TrimSpace(val), 64)
			haveRSS = err == nil
		case "process_cpu_seconds_total":
			cpu, err = strconv.ParseFloat(strings.TrimSpace(val), 64)
			haveCPU = err == nil
		}
	}
	return rss, cpu, haveRSS && haveCPU
}

func (s *sampler) last() serverSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return serverSample{rss: s.rssEnd, cpuRate: s.lastRate}
}
