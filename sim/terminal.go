package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/beatgrid/beatgrid/geo"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/google/uuid"
)

// Mutation is one mutation a simulated terminal recorded, as it sends it.
type Mutation = bgsync.Incoming

// terminal is one simulated handheld: it records mutations into a local queue, goes offline
// now and then, and syncs what it has when online.
type terminal struct {
	cfg   *Config
	c     *client
	cred  credentials
	token string
	rng   *rand.Rand
	stats *counters

	fixes    []geo.Fix
	next     int // next fix to record
	patrol   string
	inPatrol int // track batches recorded in the current patrol

	seq      int64
	recorded []Mutation
	queue    []Mutation // recorded, not yet acknowledged
	photos   []photo    // taken, not yet uploaded
	offline  int        // sync rounds still to skip

	cursor  string
	replica map[string]int64 // pulled records: collection/id → version

	checkpoints []checkpoint // along the walk
	lastPunch   string       // chain hash of the last punch
}

// run records up to cfg.Mutations mutations (or until ctx ends), syncing every PushBatch,
// then syncs until its queue is empty.
func (t *terminal) run(ctx context.Context) error {
	if err := t.signIn(ctx); err != nil {
		return err
	}
	for len(t.recorded) < t.cfg.Mutations && ctx.Err() == nil {
		t.record()
		if len(t.queue) >= t.cfg.PushBatch {
			t.maybeSync(ctx)
		}
	}
	return t.drain(ctx)
}

func (t *terminal) signIn(ctx context.Context) error {
	var tok tokens
	body := map[string]string{"device_id": t.cred.DeviceID, "device_secret": t.cred.Secret,
		"username": t.cred.Username, "password": t.cred.Password}
	err := retry(ctx, &t.stats.retries, func() error {
		return t.c.call(ctx, http.MethodPost, "/v1/auth/device-login", "", body, &tok)
	})
	t.token = tok.Access
	return err
}

// record adds the next mutation: a patrol start, a batch of fixes, an inspection with a
// photo (every InspectEvery mutations), or a patrol end.
func (t *terminal) record() {
	switch {
	case t.cfg.InspectEvery > 0 && t.patrol != "" && len(t.recorded)%t.cfg.InspectEvery == 0:
		t.inspect()
	case t.patrol == "":
		t.patrol = uuid.Must(uuid.NewV7()).String()
		t.add("patrol.start", t.fixes[t.next%len(t.fixes)].T, map[string]any{"patrol_id": t.patrol, "mode": "foot",
			"t": t.fixes[t.next%len(t.fixes)].T})
	case t.inPatrol == t.cfg.PatrolBatches:
		last := t.fixes[(t.next+len(t.fixes)-1)%len(t.fixes)].T
		t.add("patrol.end", last, map[string]any{"patrol_id": t.patrol, "t": last})
		t.patrol, t.inPatrol = "", 0
	default:
		from := t.next
		pts := make([]map[string]any, t.cfg.BatchPoints)
		for i := range pts {
			f := t.fixes[t.next%len(t.fixes)]
			pts[i] = map[string]any{"lon": f.Point[0], "lat": f.Point[1], "t": f.T, "acc": 5}
			t.next++
		}
		t.stats.fixes.Add(int64(len(pts)))
		t.add("track.points", pts[0]["t"].(time.Time), map[string]any{"patrol_id": t.patrol, "points": pts})
		t.inPatrol++
		t.punchPassed(from, t.next)
	}
}

// inspect records an inspection of a venue where the terminal stands, with one photo.
func (t *terminal) inspect() {
	f := t.fixes[t.next%len(t.fixes)]
	p := t.takePhoto()
	t.photos = append(t.photos, p)
	t.add("inspection.submit", f.T, inspectionPayload(t.rng, p.sha, f))
}

// inspectionPayload is an inspection of a venue at f with one photo.
func inspectionPayload(rng *rand.Rand, photo string, f geo.Fix) map[string]any {
	return map[string]any{"inspection_id": uuid.Must(uuid.NewV7()).String(),
		"venue_id": fmt.Sprintf("venue-%d", rng.IntN(50)), "checklist_id": "small-shop", "checklist_version": 1,
		"answers": []map[string]any{{"item": "fire_extinguisher", "value": rng.IntN(4) > 0}, {"item": "exits_clear", "value": true}},
		"photos":  []string{photo}, "lon": f.Point[0], "lat": f.Point[1], "t": f.T}
}

func (t *terminal) add(typ string, at time.Time, payload any) {
	b, _ := json.Marshal(payload)
	t.seq++
	m := Mutation{ID: uuid.Must(uuid.NewV7()).String(), Seq: t.seq, Type: typ, OccurredAt: at, Payload: b}
	t.recorded = append(t.recorded, m)
	t.queue = append(t.queue, m)
	t.stats.recorded.Add(1)
}

// maybeSync syncs unless the terminal is offline; now and then it goes offline for a while.
func (t *terminal) maybeSync(ctx context.Context) {
	if t.offline > 0 {
		t.offline--
		return
	}
	if t.rng.Float64() < t.cfg.OfflineChance {
		t.offline = 1 + t.rng.IntN(t.cfg.OfflineRounds)
		return
	}
	if err := t.sync(ctx); err != nil && ctx.Err() == nil {
		t.stats.errors.Add(1)
	}
}

// drain syncs until everything recorded is acknowledged and uploaded.
func (t *terminal) drain(ctx context.Context) error {
	for len(t.queue) > 0 || len(t.photos) > 0 {
		if err := t.sync(ctx); err != nil {
			return err
		}
	}
	return t.pull(ctx)
}

// sync pushes the queue in batches, uploads the photos, then pulls.
func (t *terminal) sync(ctx context.Context) error {
	for len(t.queue) > 0 {
		n := min(len(t.queue), t.cfg.PushBatch)
		if err := t.push(ctx, t.queue[:n]); err != nil {
			return err
		}
	}
	if err := t.uploadPhotos(ctx); err != nil {
		return err
	}
	return t.pull(ctx)
}

type pushAnswer struct {
	Results []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Code   string `json:"code"`
	} `json:"results"`
}

// push sends one batch (twice at once, now and then, as flaky clients do), retrying until
// it is answered, and drops what was acknowledged from the queue.
func (t *terminal) push(ctx context.Context, batch []Mutation) error {
	body := map[string]any{"device_time": time.Now().UTC(), "mutations": batch}
	var ans pushAnswer
	start := time.Now()
	err := retry(ctx, &t.stats.retries, func() error {
		err := t.sendPush(ctx, body, &ans)
		var se *statusError
		if errors.As(err, &se) && se.status == http.StatusUnauthorized {
			_ = t.signIn(ctx) // the token expired or the server restarted with new keys
		}
		return err
	})
	if err != nil {
		return err
	}
	t.stats.observe(time.Since(start))
	acked := map[string]bool{}
	for _, r := range ans.Results {
		acked[r.ID] = true
		t.stats.count(r.Status)
	}
	t.queue = slices.DeleteFunc(t.queue, func(m Mutation) bool { return acked[m.ID] })
	return nil
}

// sendPush sends the push, and with DuplicateChance a copy at the same time; either answer
// serves (they must agree: the server answers repeats with the first answer).
func (t *terminal) sendPush(ctx context.Context, body any, out *pushAnswer) error {
	t.stats.pushes.Add(1)
	if t.rng.Float64() >= t.cfg.DuplicateChance {
		return t.c.call(ctx, http.MethodPost, "/v1/sync/push", t.token, body, out)
	}
	t.stats.pushes.Add(1)
	var wg gosync.WaitGroup
	var errs [2]error
	var answers [2]pushAnswer
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = t.c.call(ctx, http.MethodPost, "/v1/sync/push", t.token, body, &answers[i])
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] == nil {
			*out = answers[i]
			return nil
		}
	}
	return errs[0]
}

type pullAnswer struct {
	Changes []struct {
		Collection string `json:"collection"`
		ID         string `json:"id"`
		Op         string `json:"op"`
		Version    int64  `json:"version"`
	} `json:"changes"`
	Cursor  string `json:"cursor"`
	HasMore bool   `json:"has_more"`
	Reset   bool   `json:"reset"`
}

// pull applies the changes after the terminal's cursor to its replica.
func (t *terminal) pull(ctx context.Context) error {
	cursor, err := pullInto(ctx, t.c, t.token, t.cursor, t.replica, &t.stats.retries)
	if err == nil {
		t.cursor = cursor
	}
	return err
}

// pullInto pulls from cursor until nothing more, applying changes to replica.
func pullInto(ctx context.Context, c *client, token, cursor string, replica map[string]int64, retries *atomic.Int64) (string, error) {
	for {
		var ans pullAnswer
		err := retry(ctx, retries, func() error {
			return c.call(ctx, http.MethodGet, "/v1/sync/pull?limit=50&cursor="+cursor, token, nil, &ans)
		})
		if err != nil {
			return cursor, err
		}
		if ans.Reset {
			clear(replica)
		}
		for _, ch := range ans.Changes {
			if ch.Op == "delete" {
				delete(replica, ch.Collection+"/"+ch.ID)
			} else {
				replica[ch.Collection+"/"+ch.ID] = ch.Version
			}
		}
		cursor = ans.Cursor
		if !ans.HasMore {
			return cursor, nil
		}
	}
}

// punchPassed punches the checkpoints the walk passed between fixes from and to, chaining
// each punch to the one before.
func (t *terminal) punchPassed(from, to int) {
	for k := from; k < to; k++ {
		for _, cp := range t.checkpoints {
			if k%len(t.fixes) != cp.index {
				continue
			}
			f := t.fixes[cp.index]
			p := bgsync.CheckpointPunch{PatrolID: t.patrol, CheckpointID: cp.id, Tag: cp.tag, Lon: f.Point[0],
				Lat: f.Point[1], T: f.T, PrevHash: t.lastPunch}
			t.lastPunch = p.ChainHash()
			t.add("checkpoint.punch", f.T, p)
		}
	}
}
