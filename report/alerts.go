package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/coverage"
	"github.com/beatgrid/beatgrid/geo"
)

// Alert thresholds.
const (
	// A beat is under its SLA when less than BeatSLAShare of its cells were visited in the
	// last BeatSLAWindow.
	BeatSLAWindow = 24 * time.Hour
	BeatSLAShare  = 0.5
	// A terminal on an open patrol is silent when its last fix is older than SilentAfter
	// (and newer than SilentForget: older open patrols are abandoned, not silent).
	SilentAfter  = 30 * time.Minute
	SilentForget = 24 * time.Hour
)

// Alert is a condition a commander should see, until he acknowledges it. Its id is made of
// what it is about, so the same condition is the same alert whenever it is computed.
type Alert struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	OrgUnitID string    `json:"org_unit_id"`
	Subject   string    `json:"subject"` // the hazard, patrol or beat id
	Detail    string    `json:"detail"`
	Since     time.Time `json:"since"`
	Lon       *float64  `json:"lon,omitempty"`
	Lat       *float64  `json:"lat,omitempty"`
	Acked     *Ack      `json:"acknowledged"`
}

// Ack is an acknowledgement as shown.
type Ack struct {
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Note string    `json:"note,omitempty"`
}

// Acks holds the acknowledgements in memory, loaded at start; one writer stores each first.
type Acks struct {
	store beatgrid.AlertStore
	mu    gosync.RWMutex
	acks  map[string]*beatgrid.AlertAck
}

// LoadAcks reads the stored acknowledgements.
func LoadAcks(ctx context.Context, st beatgrid.AlertStore) (*Acks, error) {
	all, err := st.LoadAcks(ctx)
	if err != nil {
		return nil, err
	}
	a := &Acks{store: st, acks: map[string]*beatgrid.AlertAck{}}
	for _, x := range all {
		a.acks[x.AlertID] = x
	}
	return a, nil
}

func (a *Acks) get(id string) *Ack {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if x := a.acks[id]; x != nil {
		return &Ack{By: x.UserID, At: x.At, Note: x.Note}
	}
	return nil
}

// Alerts returns the alerts of p's scope as of now, by kind then id: all of them, or only
// the open (unacknowledged) ones.
func (s *Service) Alerts(p *beatgrid.Principal, now time.Time, openOnly bool) ([]Alert, error) {
	if !p.HasRole(beatgrid.RoleCommander, beatgrid.RoleAdmin) {
		return nil, beatgrid.Errorf(beatgrid.EFORBIDDEN, "This needs the role commander or admin.")
	}
	tree := s.Auth.OrgTree()
	in := func(u string) bool { return tree.Within(p.OrgUnitID, u) }
	var out []Alert
	add := func(a Alert) {
		a.Acked = s.Acks.get(a.ID)
		if !openOnly || a.Acked == nil {
			out = append(out, a)
		}
	}
	if s.Inspect != nil {
		for _, h := range s.Inspect.Hazards(p, beatgrid.HazardOverdue) {
			lon, lat := h.Lon, h.Lat
			add(Alert{ID: beatgrid.AlertHazardOverdue + ":" + h.ID, Kind: beatgrid.AlertHazardOverdue, OrgUnitID: h.OrgUnitID,
				Subject: h.ID, Since: h.Notice.Deadline, Lon: &lon, Lat: &lat,
				Detail: fmt.Sprintf("rectification notice %s was due %s: %s", h.Notice.Number, h.Notice.Deadline.Format(time.RFC3339), h.Description)})
		}
	}
	for _, pt := range s.Patrols.List(p, in) {
		switch {
		case !pt.EndedAt.IsZero() && len(pt.Punches.Missed) > 0:
			add(Alert{ID: beatgrid.AlertCheckpointMissed + ":" + pt.ID, Kind: beatgrid.AlertCheckpointMissed, OrgUnitID: pt.OrgUnitID,
				Subject: pt.ID, Since: pt.EndedAt,
				Detail: fmt.Sprintf("the patrol ended without a verified punch at %d checkpoint(s) of its route: %s", len(pt.Punches.Missed), strings.Join(pt.Punches.Missed, ", "))})
		case pt.EndedAt.IsZero() && !pt.LastFix.IsZero() && now.Sub(pt.LastFix) > SilentAfter && now.Sub(pt.LastFix) < SilentForget:
			add(Alert{ID: beatgrid.AlertDeviceSilent + ":" + pt.ID, Kind: beatgrid.AlertDeviceSilent, OrgUnitID: pt.OrgUnitID,
				Subject: pt.DeviceID, Since: pt.LastFix,
				Detail: fmt.Sprintf("terminal %s on patrol %s has not reported since %s", pt.DeviceID, pt.ID, pt.LastFix.Format(time.RFC3339))})
		}
	}
	day := now.UTC().Format("2006-01-02")
	for _, b := range s.Auth.Beats(p) {
		if len(b.Cells) == 0 {
			continue
		}
		cells := make([]geo.Cell, len(b.Cells))
		for i, c := range b.Cells {
			cells[i] = geo.Cell(c)
		}
		sum := s.Coverage.Summarize(cells, coverage.Filter{From: now.Add(-BeatSLAWindow), To: now.Add(time.Second)})
		if float64(sum.Covered) < BeatSLAShare*float64(sum.Cells) {
			add(Alert{ID: beatgrid.AlertBeatUnderSLA + ":" + b.ID + ":" + day, Kind: beatgrid.AlertBeatUnderSLA, OrgUnitID: b.ID,
				Subject: b.ID, Since: now.Add(-BeatSLAWindow),
				Detail: fmt.Sprintf("beat %s: %d of %d cells (%.0f%%) visited in the last %s, under %.0f%%", b.Name, sum.Covered, sum.Cells,
					sum.Percent, BeatSLAWindow, 100*BeatSLAShare)})
		}
	}
	slices.SortFunc(out, func(a, b Alert) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}

// Acknowledge records that p saw alert id (which must be an alert of his scope now).
// ECONFLICT if it was acknowledged before.
func (s *Service) Acknowledge(ctx context.Context, p *beatgrid.Principal, id, note string, now time.Time) (Alert, error) {
	all, err := s.Alerts(p, now, false)
	if err != nil {
		return Alert{}, err
	}
	i := slices.IndexFunc(all, func(a Alert) bool { return a.ID == id })
	if i < 0 {
		return Alert{}, beatgrid.Errorf(beatgrid.ENOTFOUND, "No such alert in your scope (it may have cleared).")
	}
	if len(note) > 1000 {
		return Alert{}, beatgrid.FieldErrorf("/note", "at most 1000 bytes")
	}
	s.Acks.mu.Lock()
	defer s.Acks.mu.Unlock()
	if s.Acks.acks[id] != nil {
		return Alert{}, beatgrid.Errorf(beatgrid.ECONFLICT, "The alert was acknowledged already.")
	}
	ack := &beatgrid.AlertAck{AlertID: id, UserID: p.UserID, Note: note, At: now}
	if err := s.Acks.store.InsertAck(ctx, ack); err != nil {
		return Alert{}, err
	}
	s.Acks.acks[id] = ack
	a := all[i]
	a.Acked = &Ack{By: ack.UserID, At: ack.At, Note: note}
	return a, nil
}
