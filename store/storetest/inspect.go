package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/paulmach/orb"
)

// TestInspectStore runs the conformance suite of beatgrid.InspectStore on s, which must be empty.
func TestInspectStore(t *testing.T, s beatgrid.InspectStore) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	pass := true

	t.Run("RoundTrips", func(t *testing.T) {
		v := &beatgrid.Venue{Place: beatgrid.Place{ID: "v-1", OrgUnitID: "ou-st", Name: "Harbour Inn", Version: 1, Rev: 5,
			PastUnits: []string{"ou-old"}, CreatedAt: now, UpdatedAt: now}, Type: beatgrid.VenueRentalHousing,
			Address: "1 Harbour Road", Point: orb.Point{121.5, 31.2}, OwnerContact: "Li, +86 1",
			RiskGrade: "C", RiskReasons: []string{"no fire exit", "sublet"}}
		c := &beatgrid.Checklist{ID: "cl-1", OrgUnitID: "ou-st", VenueType: beatgrid.VenueHotel, Name: "Hotel", Version: 1,
			Items:     []beatgrid.ChecklistItem{{ID: "a", Text: "Exits", Kind: beatgrid.ItemYesNo, Required: true}},
			CreatedBy: "u-1", CreatedAt: now, Rev: 6}
		e := &beatgrid.InspectEvent{ID: "h-1/000001", Kind: "hazard.notice", Target: "h-1", At: now, UserID: "u-1",
			OrgUnitID: "ou-st", Note: "n", NoticeNo: "SA1-2026-0001", Deadline: now.AddDate(0, 0, 7), Pass: &pass,
			Photos: []string{"ab"}}
		p := &beatgrid.Publication{Collection: "hazards", ID: "h-1", Unit: "ou-st", Doc: []byte(`{"id":"h-1"}`), Version: 1, Rev: 7}
		mustOK(t, s.PutVenue(ctx, v))
		mustOK(t, s.InsertChecklist(ctx, c))
		mustOK(t, s.InsertInspectEvent(ctx, e))
		mustOK(t, s.PutPublication(ctx, p))
		st := mustLoadInspect(t, s)
		gv := findByID(st.Venues, func(x *beatgrid.Venue) string { return x.ID }, v.ID)
		if gv == nil || !samePlace(gv.Place, v.Place) || gv.Point != v.Point || gv.Type != v.Type || gv.RiskGrade != "C" ||
			!slices.Equal(gv.RiskReasons, v.RiskReasons) || gv.OwnerContact != v.OwnerContact || gv.Address != v.Address {
			t.Errorf("venue loaded %+v, want %+v", gv, v)
		}
		gc := findByID(st.Checklists, func(x *beatgrid.Checklist) string { return x.ID }, c.ID)
		if gc == nil || gc.Version != 1 || gc.Rev != 6 || !slices.Equal(gc.Items, c.Items) || !gc.CreatedAt.Equal(now) {
			t.Errorf("checklist loaded %+v, want %+v", gc, c)
		}
		ge := findByID(st.Events, func(x *beatgrid.InspectEvent) string { return x.ID }, e.ID)
		if ge == nil || ge.NoticeNo != e.NoticeNo || !ge.Deadline.Equal(e.Deadline) || ge.Pass == nil || !*ge.Pass ||
			!ge.At.Equal(now) || !ge.Due.IsZero() || !slices.Equal(ge.Photos, e.Photos) {
			t.Errorf("event loaded %+v, want %+v", ge, e)
		}
		gp := findByID(st.Publications, func(x *beatgrid.Publication) string { return x.ID }, p.ID)
		if gp == nil || gp.Rev != 7 || gp.Unit != "ou-st" || !bytes.Equal(gp.Doc, p.Doc) {
			t.Errorf("publication loaded %+v, want %+v", gp, p)
		}
	})

	t.Run("InsertOnlyAndVersions", func(t *testing.T) {
		c := &beatgrid.Checklist{ID: "cl-v", OrgUnitID: "ou", VenueType: beatgrid.VenueHotel, Name: "v1", Version: 1, CreatedAt: now}
		mustOK(t, s.InsertChecklist(ctx, c))
		mustCode(t, s.InsertChecklist(ctx, c), beatgrid.ECONFLICT) // a version is never replaced
		c2 := *c
		c2.Version, c2.Name = 2, "v2"
		mustOK(t, s.InsertChecklist(ctx, &c2))
		e := &beatgrid.InspectEvent{ID: "t-1/000001", Kind: "task.dispatch", Target: "t-1", At: now, Due: now.Add(time.Hour)}
		mustOK(t, s.InsertInspectEvent(ctx, e))
		mustCode(t, s.InsertInspectEvent(ctx, e), beatgrid.ECONFLICT) // two servers acting at once: one wins
		p := &beatgrid.Publication{Collection: "tasks", ID: "t-1", Unit: "ou", Doc: []byte("{}"), Version: 1, Rev: 1}
		mustOK(t, s.PutPublication(ctx, p))
		p2 := *p
		p2.Version, p2.Rev, p2.Deleted = 2, 9, true
		mustOK(t, s.PutPublication(ctx, &p2))
		stale := *p
		stale.Version = 2
		mustCode(t, s.PutPublication(ctx, &stale), beatgrid.ECONFLICT)
		v := &beatgrid.Venue{Place: beatgrid.Place{ID: "v-v", OrgUnitID: "ou", Name: "x", Version: 2}, Point: orb.Point{1, 2}}
		mustCode(t, s.PutVenue(ctx, v), beatgrid.ECONFLICT) // no version 1 to replace
		st := mustLoadInspect(t, s)
		var versions []int64
		for _, x := range st.Checklists {
			if x.ID == "cl-v" {
				versions = append(versions, x.Version)
			}
		}
		slices.Sort(versions)
		gp := findByID(st.Publications, func(x *beatgrid.Publication) string { return x.ID }, "t-1")
		ge := findByID(st.Events, func(x *beatgrid.InspectEvent) string { return x.ID }, e.ID)
		if !slices.Equal(versions, []int64{1, 2}) || gp == nil || gp.Rev != 9 || !gp.Deleted || ge == nil || !ge.Due.Equal(e.Due) {
			t.Fatalf("loaded versions %v, publication %+v, event %+v", versions, gp, ge)
		}
	})
}

func mustLoadInspect(t *testing.T, s beatgrid.InspectStore) *beatgrid.InspectState {
	t.Helper()
	st, err := s.LoadInspect(context.Background())
	if err != nil {
		t.Fatalf("LoadInspect: %v", err)
	}
	return st
}
