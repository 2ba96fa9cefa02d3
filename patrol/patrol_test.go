package patrol_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/patrol"
	bgsync "github.com/beatgrid/beatgrid/sync"
)

var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

const patrolID = "0193a7c0-0000-7000-8000-000000000001"

func fact(typ string, v any, n int) *beatgrid.Mutation {
	b, _ := json.Marshal(v)
	return &beatgrid.Mutation{DeviceID: "d1", ID: fmt.Sprint("m", n), UserID: "u1", OrgUnitID: "st", Type: typ,
		Fact: b, Status: beatgrid.StatusApplied}
}

// facts are one patrol: a start, three batches of fixes walking east, an end.
func facts() []*beatgrid.Mutation {
	ms := []*beatgrid.Mutation{fact("patrol.start", bgsync.PatrolStart{PatrolID: patrolID, Mode: "foot", T: t0}, 0)}
	for b := 0; b < 3; b++ {
		var tp bgsync.TrackPoints
		tp.PatrolID = patrolID
		for i := 0; i < 4; i++ {
			k := b*4 + i
			tp.Points = append(tp.Points, bgsync.TrackPoint{Lon: 121.9 + float64(k)*1e-4, Lat: 29.45, T: t0.Add(time.Duration(k) * 5 * time.Second)})
		}
		ms = append(ms, fact("track.points", tp, b+1))
	}
	return append(ms, fact("patrol.end", bgsync.PatrolEnd{PatrolID: patrolID, T: t0.Add(time.Minute)}, 9))
}

func fold(ms []*beatgrid.Mutation) []patrol.Patrol {
	reg := bgsync.NewRegistry()
	s := patrol.New(nil)
	s.Register(reg)
	for _, m := range ms {
		reg.Apply(m)
	}
	return s.List(&beatgrid.Principal{Roles: []string{beatgrid.RoleAdmin}}, func(string) bool { return true })
}

// TestFoldIsOrderFree: the same facts in any order, repeated any number of times, give the
// same patrol; its stats come from the facts.
func TestFoldIsOrderFree(t *testing.T) {
	want := fold(facts())
	if len(want) != 1 || want[0].Points != 12 || want[0].Mode != "foot" || !want[0].EndedAt.Equal(t0.Add(time.Minute)) ||
		want[0].Distance < 105 || want[0].Distance > 107 { // 11 steps of 1e-4° at 29.45°N ≈ 9.69 m each
		t.Fatalf("patrol %+v", want)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		ms := facts()
		ms = append(ms, ms[rng.IntN(len(ms))], ms[rng.IntN(len(ms))])
		rng.Shuffle(len(ms), func(a, b int) { ms[a], ms[b] = ms[b], ms[a] })
		if got := fold(ms); !reflect.DeepEqual(got, want) {
			t.Fatalf("order %d: %+v, want %+v", i, got, want)
		}
	}
}
