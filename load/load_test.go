package load

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestHistogram: the quantiles of the log-linear histogram are within a bucket (1/64) of
// the exact ones of sorted samples, never below them, and max is exact.
func TestHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h histogram
	var all []time.Duration
	for range 100000 {
		d := time.Duration(rng.ExpFloat64() * float64(20*time.Millisecond))
		h.record(d)
		all = append(all, d.Truncate(time.Microsecond))
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.95, 0.99, 0.999} {
		exact := all[int(q*float64(len(all)))-1]
		got := h.quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/64+float64(time.Microsecond) {
			t.Errorf("p%g: %s, exact %s", q*100, got, exact)
		}
	}
	if got := h.quantile(1); got != all[len(all)-1] {
		t.Errorf("max %s, exact %s", got, all[len(all)-1])
	}
	for i := range histBuckets - 1 {
		if histIndex(histValue(i)) != i || histIndex(histValue(i)+1) != i+1 {
			t.Fatalf("bucket %d: highest value %d is in bucket %d", i, histValue(i), histIndex(histValue(i)))
		}
	}
}
