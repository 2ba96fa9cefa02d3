package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/paulmach/orb"
)

// TestPlaceStore runs the conformance suite of beatgrid.PlaceStore on s, which must be empty.
func TestPlaceStore(t *testing.T, s beatgrid.PlaceStore) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	place := func(id string) beatgrid.Place {
		return beatgrid.Place{ID: id, OrgUnitID: "ou-st", Name: "Place " + id, Version: 1, Rev: 3,
			PastUnits: []string{"ou-old"}, CreatedAt: now, UpdatedAt: now}
	}

	t.Run("RoundTrips", func(t *testing.T) {
		r := &beatgrid.Route{Place: place("r-1"), Line: orb.LineString{{120, 30}, {120.01, 30.02}, {120.02, 30}},
			CheckpointIDs: []string{"c-1", "c-2"}}
		c := &beatgrid.Checkpoint{Place: place("c-1"), Point: orb.Point{120.5, 30.5}, RadiusM: 25, Tag: "NFC-0042"}
		k := &beatgrid.Kiosk{Place: place("k-1"), Point: orb.Point{121, 31},
			Segments: orb.MultiLineString{{{121, 31}, {121.01, 31}}, {{121, 31}, {121, 31.01}}}}
		k.Deleted = true
		mustOK(t, s.PutRoute(ctx, r))
		mustOK(t, s.PutCheckpoint(ctx, c))
		mustOK(t, s.PutKiosk(ctx, k))
		st := mustLoadPlaces(t, s)
		gr := findByID(st.Routes, func(x *beatgrid.Route) string { return x.ID }, r.ID)
		if gr == nil || !samePlace(gr.Place, r.Place) || !orb.Equal(gr.Line, r.Line) || !slices.Equal(gr.CheckpointIDs, r.CheckpointIDs) {
			t.Errorf("route loaded %+v, want %+v", gr, r)
		}
		gc := findByID(st.Checkpoints, func(x *beatgrid.Checkpoint) string { return x.ID }, c.ID)
		if gc == nil || !samePlace(gc.Place, c.Place) || gc.Point != c.Point || gc.RadiusM != c.RadiusM || gc.Tag != c.Tag {
			t.Errorf("checkpoint loaded %+v, want %+v", gc, c)
		}
		gk := findByID(st.Kiosks, func(x *beatgrid.Kiosk) string { return x.ID }, k.ID)
		if gk == nil || !samePlace(gk.Place, k.Place) || gk.Point != k.Point || !orb.Equal(gk.Segments, k.Segments) {
			t.Errorf("kiosk loaded %+v, want %+v", gk, k)
		}
	})

	t.Run("Versions", func(t *testing.T) {
		c := &beatgrid.Checkpoint{Place: place("c-v"), Point: orb.Point{120, 30}, RadiusM: 10, Tag: "T"}
		mustOK(t, s.PutCheckpoint(ctx, c))
		mustCode(t, s.PutCheckpoint(ctx, c), beatgrid.ECONFLICT) // same id inserted again
		v2 := *c
		v2.Version, v2.Tag = 2, "T2"
		mustOK(t, s.PutCheckpoint(ctx, &v2))
		stale := *c
		stale.Version, stale.Tag = 2, "lost update"
		mustCode(t, s.PutCheckpoint(ctx, &stale), beatgrid.ECONFLICT) // version 1 is gone
		r := &beatgrid.Route{Place: place("r-v"), Line: orb.LineString{{120, 30}, {121, 30}}}
		r.Version = 2
		mustCode(t, s.PutRoute(ctx, r), beatgrid.ECONFLICT) // no version 1 to replace
		got := findByID(mustLoadPlaces(t, s).Checkpoints, func(x *beatgrid.Checkpoint) string { return x.ID }, c.ID)
		if got == nil || got.Version != 2 || got.Tag != "T2" {
			t.Fatalf("loaded %+v", got)
		}
	})
}

func samePlace(a, b beatgrid.Place) bool {
	return a.ID == b.ID && a.OrgUnitID == b.OrgUnitID && a.Name == b.Name && a.Deleted == b.Deleted &&
		a.Version == b.Version && a.Rev == b.Rev && slices.Equal(a.PastUnits, b.PastUnits) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func mustLoadPlaces(t *testing.T, s beatgrid.PlaceStore) *beatgrid.PlacesState {
	t.Helper()
	st, err := s.LoadPlaces(context.Background())
	if err != nil {
		t.Fatalf("LoadPlaces: %v", err)
	}
	return st
}
