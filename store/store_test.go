package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/store/storetest"
	"github.com/paulmach/orb"
)

func TestConformance(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("identity", func(t *testing.T) { storetest.TestIdentityStore(t, storetest.Open(t, b)) })
			t.Run("mutations", func(t *testing.T) { storetest.TestMutationStore(t, storetest.Open(t, b)) })
			t.Run("blobs", func(t *testing.T) { storetest.TestBlobStore(t, storetest.Open(t, b)) })
			t.Run("places", func(t *testing.T) { storetest.TestPlaceStore(t, storetest.Open(t, b)) })
			t.Run("coverage", func(t *testing.T) { storetest.TestCoverageStore(t, storetest.Open(t, b)) })
			t.Run("inspect", func(t *testing.T) { storetest.TestInspectStore(t, storetest.Open(t, b)) })
		})
	}
}

// TestReopen checks that the embedded store keeps what it acknowledged across a restart on
// the same files, and that creating the indexes again is harmless.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	b := storetest.Backends()[0]
	ctx := context.Background()
	db := storetest.OpenDir(t, b, dir)
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if !db.Embedded() {
		t.Fatal("default backend is not the embedded store")
	}
	db.Close(ctx)
	db = storetest.OpenDir(t, b, dir)
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPlacesReopen checks that patrol places, geometry included, survive a restart of the
// embedded store on the same files.
func TestPlacesReopen(t *testing.T) {
	dir := t.TempDir()
	b := storetest.Backends()[0]
	ctx := context.Background()
	db := storetest.OpenDir(t, b, dir)
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	k := &beatgrid.Kiosk{Place: beatgrid.Place{ID: "k-1", OrgUnitID: "ou-1", Name: "Kiosk", Version: 1, Rev: 4,
		CreatedAt: now, UpdatedAt: now}, Point: orb.Point{121, 31}, Segments: orb.MultiLineString{{{121, 31}, {121.01, 31}}}}
	if err := db.PutKiosk(ctx, k); err != nil {
		t.Fatal(err)
	}
	db.Close(ctx)
	db = storetest.OpenDir(t, b, dir)
	st, err := db.LoadPlaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Kiosks) != 1 || st.Kiosks[0].Rev != 4 || !orb.Equal(st.Kiosks[0].Segments, k.Segments) || st.Kiosks[0].Point != k.Point {
		t.Fatalf("after reopen: %+v", st.Kiosks)
	}
}
