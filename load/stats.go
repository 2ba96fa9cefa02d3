package load

import (
	"errors"
	"net"
	"strconv"
	gosync "sync"
	"time"
)

// Request kinds, in report order.
const (
	KindPush  = "push"
	KindBlob  = "blob put"
	KindTile  = "tile"
	KindBeats = "beats summary"
)

var kinds = []string{KindPush, KindBlob, KindTile, KindBeats}

// kindStats is what the requests of one kind did.
type kindStats struct {
	mu     gosync.Mutex
	ok     int64
	bytes  int64            // of the answers' bodies, as sent (gzipped tiles gzipped)
	errors map[string]int64 // by HTTP status, or "network", "timeout"
	hist   histogram        // latency of every answered request, errors included
}

// observe records a request that took d and ended with status (0: no answer, see err).
func (k *kindStats) observe(d time.Duration, status int, n int, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.bytes += int64(n)
	if status != 0 {
		k.hist.record(d)
	}
	if status/100 == 2 || status == 304 {
		k.ok++
		return
	}
	if k.errors == nil {
		k.errors = map[string]int64{}
	}
	k.errors[errorClass(status, err)]++
}

func errorClass(status int, err error) string {
	if status != 0 {
		return strconv.Itoa(status)
	}
	if errors.Is(err, errCut) {
		return "cut"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "network"
}

func (k *kindStats) snapshot() (ok, errs int64, p99 time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, n := range k.errors {
		errs += n
	}
	return k.ok, errs, k.hist.quantile(0.99)
}
