package load

import (
	"math/bits"
	"time"
)

// histogram records latencies in microseconds in log-linear buckets, HDR-style: exact below
// 128 µs, then 64 buckets per power of two (relative error under 1.6%), up to 2^40 µs. Its
// size is fixed however many values it records.
type histogram struct {
	counts   [histBuckets]uint64
	n        uint64
	max      int64 // µs, exact
	overflow uint64
}

const (
	histSubBits = 6 // 64 sub-buckets per power of two
	histMaxExp  = 40 - histSubBits - 1
	histBuckets = (histMaxExp + 2) << histSubBits
)

func histIndex(us int64) int {
	if us < 1<<(histSubBits+1) {
		return int(max(us, 0))
	}
	e := bits.Len64(uint64(us)) - (histSubBits + 1) // ≥ 1; us>>e is in [64, 128)
	return e<<histSubBits + int(us>>e)
}

// histValue is the highest value of bucket i, in µs.
func histValue(i int) int64 {
	if i < 1<<(histSubBits+1) {
		return int64(i)
	}
	e := i>>histSubBits - 1
	m := int64(i&(1<<histSubBits-1) + 1<<histSubBits)
	return (m+1)<<e - 1
}

func (h *histogram) record(d time.Duration) {
	us := d.Microseconds()
	h.n++
	h.max = max(h.max, us)
	i := histIndex(us)
	if i >= histBuckets {
		h.overflow++
		return
	}
	h.counts[i]++
}

// quantile is the value at or below which a fraction q of the values lie (the bucket's
// highest value, so never below the true one by more than a bucket, and never above max).
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = max(1, min(rank, h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(histValue(i), h.max)) * time.Microsecond
		}
	}
	return time.Duration(h.max) * time.Microsecond
}
