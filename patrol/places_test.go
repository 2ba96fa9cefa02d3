package patrol_test

import (
	"context"
	"errors"
	"testing"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/patrol"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/paulmach/orb"
)

// memPlaces is a PlaceStore in memory whose writes fail while fail is set.
type memPlaces struct {
	fail        bool
	checkpoints []*beatgrid.Checkpoint
}

func (m *memPlaces) LoadPlaces(context.Context) (*beatgrid.PlacesState, error) {
	return &beatgrid.PlacesState{Checkpoints: m.checkpoints}, nil
}
func (m *memPlaces) PutRoute(context.Context, *beatgrid.Route) error { return m.err() }
func (m *memPlaces) PutKiosk(context.Context, *beatgrid.Kiosk) error { return m.err() }
func (m *memPlaces) PutCheckpoint(_ context.Context, c *beatgrid.Checkpoint) error {
	if err := m.err(); err != nil {
		return err
	}
	m.checkpoints = append(m.checkpoints, c)
	return nil
}

func (m *memPlaces) err() error {
	if m.fail {
		return errors.New("disk full")
	}
	return nil
}

// TestPlacesStoreFailure: a write the store refuses is not shown, its feed version is
// aborted (later changes still reach pulls), and the error says what failed.
func TestPlacesStoreFailure(t *testing.T) {
	ctx := context.Background()
	tree := beatgrid.NewOrgTree([]*beatgrid.OrgUnit{{ID: "root", Kind: beatgrid.KindBureau}})
	st := &memPlaces{fail: true}
	feed := bgsync.NewFeed()
	s, err := patrol.NewPlaces(ctx, st, func() *beatgrid.OrgTree { return tree }, feed)
	if err != nil {
		t.Fatal(err)
	}
	admin := &beatgrid.Principal{OrgUnitID: "root", Roles: []string{beatgrid.RoleAdmin}}
	name, radius, tag := "Gate", 20.0, "NFC-1"
	in := patrol.CheckpointChange{PlaceChange: patrol.PlaceChange{Name: &name}, Point: &orb.Point{121, 31},
		RadiusM: &radius, Tag: &tag}
	if _, err := s.CreateCheckpoint(ctx, admin, in); err == nil || beatgrid.ErrorCode(err) != beatgrid.EINTERNAL {
		t.Fatalf("create on a failing store: %v", err)
	}
	if got := s.Checkpoints(admin); len(got) != 0 {
		t.Fatalf("a failed write is listed: %+v", got)
	}
	st.fail = false
	c, err := s.CreateCheckpoint(ctx, admin, in)
	if err != nil {
		t.Fatal(err)
	}
	changes, _, _ := feed.Pull(func(string) bool { return true }, 0, 10)
	if len(changes) != 1 || changes[0].ID != c.ID {
		t.Fatalf("pulled %+v; the aborted version must not hold back the next", changes)
	}

	again, err := patrol.NewPlaces(ctx, st, func() *beatgrid.OrgTree { return tree }, bgsync.NewFeed())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Checkpoint(admin, c.ID); err != nil || got.Tag != tag {
		t.Fatalf("reloaded %+v, %v", got, err)
	}
}
