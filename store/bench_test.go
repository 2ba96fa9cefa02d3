package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/store/storetest"
)

// BenchmarkInsertMutations stores batches of 50 mutations of 20 fixes each, as a push does.
func BenchmarkInsertMutations(b *testing.B) {
	db := storetest.OpenEmbedded(b)
	fact := []byte(`{"patrol_id":"0193a7c0-0000-7000-8000-000000000001","points":[` +
		strings.Repeat(`{"lon":121.9012345,"lat":29.4512345,"t":"2026-11-25T08:00:00Z","acc":5},`, 19) +
		`{"lon":121.9012345,"lat":29.4512345,"t":"2026-11-25T08:00:00Z","acc":5}]}`)
	now := time.Now()
	n := 0
	for b.Loop() {
		batch := make([]*beatgrid.Mutation, 50)
		for i := range batch {
			n++
			batch[i] = &beatgrid.Mutation{DeviceID: "dev", ID: fmt.Sprintf("m-%08d", n), Seq: int64(n), Type: "track.points",
				OccurredAt: now, DeviceTime: now, ReceivedAt: now, Hash: "h", Fact: fact, Status: beatgrid.StatusApplied}
		}
		if _, err := db.InsertMutations(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*50)/b.Elapsed().Seconds(), "mutations/s")
	b.ReportMetric(float64(b.N*50*20)/b.Elapsed().Seconds(), "fixes/s")
}
