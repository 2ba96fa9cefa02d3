package handlers_test

import (
	"testing"
	"time"

	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/google/uuid"
)

// TestPunchVerification: punches count as verified only with the checkpoint's tag within
// its radius; the route's checkpoints without one are missed; a punch whose previous punch
// never arrived breaks the chain; the answer is the same whatever order the punches come in.
func TestPunchVerification(t *testing.T) {
	e := newEnv(t)
	tr := e.tree()
	cmd := e.login("admin", adminPassword).AccessToken
	cp1 := e.create("/v1/checkpoints", checkpointBody(tr.StationA1, 1), cmd) // NFC-0001 at 121, 31, 20 m
	cp2 := e.create("/v1/checkpoints", checkpointBody(tr.StationA1, 2), cmd) // NFC-0002
	cp3 := e.create("/v1/checkpoints", checkpointBody(tr.StationA1, 3), cmd) // NFC-0003
	route := e.create("/v1/routes", routeBody(tr.StationA1, 1, cp1.ID, cp2.ID, cp3.ID), cmd)
	officer := e.officerOnTerminal("punch.officer", tr.StationA1)
	patrolID := uuid.Must(uuid.NewV7()).String()
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

	good := bgsync.CheckpointPunch{PatrolID: patrolID, CheckpointID: cp1.ID, Tag: "NFC-0001", Lon: 121.0001, Lat: 31, T: t0}
	wrongTag := bgsync.CheckpointPunch{PatrolID: patrolID, CheckpointID: cp2.ID, Tag: "NFC-9999", Lon: 121, Lat: 31,
		T: t0.Add(time.Minute), PrevHash: good.ChainHash()}
	tooFar := bgsync.CheckpointPunch{PatrolID: patrolID, CheckpointID: cp3.ID, Tag: "NFC-0003", Lon: 121.001, Lat: 31, // ~95 m
		T: t0.Add(2 * time.Minute), PrevHash: "aa" + good.ChainHash()[2:], MockLocation: true} // its predecessor never came
	mutation := func(seq int, typ string, payload any) map[string]any {
		return map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "seq": seq, "type": typ, "payload": payload}
	}
	batch := []any{
		mutation(4, "checkpoint.punch", tooFar), mutation(3, "checkpoint.punch", wrongTag),
		mutation(1, "patrol.start", map[string]any{"patrol_id": patrolID, "mode": "foot", "route_id": route.ID, "t": t0}),
		mutation(2, "checkpoint.punch", good),
	}
	e.must(200, "POST", "/v1/sync/push", map[string]any{"mutations": batch}, officer.AccessToken, nil)

	var p struct {
		Stats struct {
			Checkpoints struct {
				Punched      int      `json:"punched"`
				Verified     int      `json:"verified"`
				Missed       []string `json:"missed"`
				ChainBreaks  int      `json:"chain_breaks"`
				MockLocation int      `json:"mock_location"`
			} `json:"checkpoints"`
		} `json:"stats"`
	}
	e.must(200, "GET", "/v1/patrols/"+patrolID, nil, officer.AccessToken, &p)
	c := p.Stats.Checkpoints
	if c.Punched != 3 || c.Verified != 1 || c.ChainBreaks != 1 || c.MockLocation != 1 ||
		len(c.Missed) != 2 || c.Missed[0] != cp2.ID || c.Missed[1] != cp3.ID {
		t.Fatalf("checkpoint stats %+v; want 3 punched, 1 verified, missed [%s %s], 1 chain break, 1 mock", c, cp2.ID, cp3.ID)
	}
}
