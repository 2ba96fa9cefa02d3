// Package report answers the commanders' summaries: the daily report of an org unit (its
// units, officers and beats), a clearance operation over a date range, and the alerts that
// need a commander (overdue hazards, missed checkpoints, beats under their coverage share,
// terminals gone silent), each acknowledged once. Everything is computed from the services'
// folds at the moment of the request; only acknowledgements are stored.
package report

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/coverage"
	"github.com/beatgrid/beatgrid/geo"
	"github.com/beatgrid/beatgrid/inspect"
	"github.com/beatgrid/beatgrid/patrol"
)

// Service builds reports and alerts from the other services.
type Service struct {
	Auth     *auth.Service
	Patrols  *patrol.Service
	Coverage *coverage.Ledger
	Inspect  *inspect.Service
	Acks     *Acks
}

// Figures are the counts a report gives for a unit, an officer or a beat.
type Figures struct {
	Patrols            int     `json:"patrols"`
	DistanceKM         float64 `json:"distance_km"`
	CheckpointsPunched int     `json:"checkpoints_punched"`
	CheckpointsMissed  int     `json:"checkpoints_missed"`
	Inspections        int     `json:"inspections"`
	HazardsFound       int     `json:"hazards_found"`
	HazardsRectified   int     `json:"hazards_rectified"` // closed after a passed re-inspection
	HazardsOverdue     int     `json:"hazards_overdue"`   // at the end of the period (now, if it is not over)
	Cells              int     `json:"cells"`             // coverage cells of the beats
	CoveredCells       int     `json:"covered_cells"`
	CoveragePercent    float64 `json:"coverage_percent"`
}

// UnitRow is one org unit's figures (its whole subtree).
type UnitRow struct {
	OrgUnitID string `json:"org_unit_id"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	ParentID  string `json:"parent_id,omitempty"`
	Figures
}

// OfficerRow is one officer's figures.
type OfficerRow struct {
	OfficerID string `json:"officer_id"`
	Username  string `json:"username"`
	Name      string `json:"name"`
	OrgUnitID string `json:"org_unit_id"`
	Figures
}

// Report covers the org unit OrgUnitID and its subtree over [From, To).
type Report struct {
	OrgUnitID string       `json:"org_unit_id"`
	From      time.Time    `json:"from"`
	To        time.Time    `json:"to"`
	Totals    Figures      `json:"totals"`
	Units     []UnitRow    `json:"units"`
	Officers  []OfficerRow `json:"officers"`
	Beats     []UnitRow    `json:"beats"`
}

// Build makes the report of unit (in p's scope) over [from, to). Only commanders and admins
// may.
func (s *Service) Build(p *beatgrid.Principal, unit string, from, to time.Time) (*Report, error) {
	if !p.HasRole(beatgrid.RoleCommander, beatgrid.RoleAdmin) {
		return nil, beatgrid.Errorf(beatgrid.EFORBIDDEN, "This needs the role commander or admin.")
	}
	if _, err := s.Auth.OrgUnit(p, unit); err != nil {
		return nil, beatgrid.FieldErrorf("org_unit_id", "no such org unit in your scope")
	}
	tree := s.Auth.OrgTree()
	in := func(u string) bool { return tree.Within(unit, u) }
	// chain is the unit of a record and its ancestors up to the report's unit: each counts it.
	chain := func(u string) []string {
		var out []string
		for id := u; id != "" && in(id); {
			out = append(out, id)
			if id == unit {
				break
			}
			id = tree.Unit(id).ParentID
		}
		return out
	}
	rows := map[string]*Figures{}
	row := func(u string) *Figures {
		if rows[u] == nil {
			rows[u] = &Figures{}
		}
		return rows[u]
	}
	officers := map[string]*Figures{}
	officer := func(id string) *Figures {
		if officers[id] == nil {
			officers[id] = &Figures{}
		}
		return officers[id]
	}
	during := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	// Overdue is counted at the end of the period, or now for a period not over yet: a
	// notice due later today is not overdue in today's report.
	asOf := to
	if now := s.Auth.Now(); now.Before(asOf) {
		asOf = now
	}

	for _, pt := range s.Patrols.List(p, in) {
		at := pt.StartedAt
		if at.IsZero() {
			at = pt.FirstFix
		}
		if !during(at) {
			continue
		}
		add := func(f *Figures) {
			f.Patrols++
			f.DistanceKM += pt.Distance / 1000
			f.CheckpointsPunched += pt.Punches.Verified
			f.CheckpointsMissed += len(pt.Punches.Missed)
		}
		for _, u := range chain(pt.OrgUnitID) {
			add(row(u))
		}
		if pt.UserID != "" {
			add(officer(pt.UserID))
		}
	}
	if s.Inspect != nil {
		for _, ins := range s.Inspect.Inspections(p, "") {
			if !during(ins.T) || !in(ins.OrgUnitID) {
				continue
			}
			for _, u := range chain(ins.OrgUnitID) {
				row(u).Inspections++
			}
			if ins.InspectorID != "" {
				officer(ins.InspectorID).Inspections++
			}
		}
		for _, h := range s.Inspect.Hazards(p, "") {
			if !in(h.OrgUnitID) {
				continue
			}
			found, rectified := during(h.ReportedAt), closedDuring(h, during)
			overdue := h.IsOverdue(asOf) && h.ReportedAt.Before(asOf)
			for _, u := range chain(h.OrgUnitID) {
				f := row(u)
				f.HazardsFound += b2i(found)
				f.HazardsRectified += b2i(rectified)
				f.HazardsOverdue += b2i(overdue)
			}
		}
	}
	var beats []UnitRow
	filter := coverage.Filter{From: from, To: to}
	for _, b := range s.Auth.Beats(p) {
		if !in(b.ID) {
			continue
		}
		cells := make([]geo.Cell, len(b.Cells))
		for i, c := range b.Cells {
			cells[i] = geo.Cell(c)
		}
		sum := s.Coverage.Summarize(cells, filter)
		for _, u := range chain(b.ID) {
			f := row(u)
			f.Cells += sum.Cells
			f.CoveredCells += sum.Covered
		}
		beats = append(beats, UnitRow{OrgUnitID: b.ID, Name: b.Name, Kind: b.Kind, ParentID: b.ParentID})
	}

	r := &Report{OrgUnitID: unit, From: from, To: to}
	for _, id := range tree.Subtree(unit) {
		u := tree.Unit(id)
		if u.Deleted {
			continue
		}
		ur := UnitRow{OrgUnitID: id, Name: u.Name, Kind: u.Kind, ParentID: u.ParentID, Figures: finish(rows[id])}
		if id == unit {
			r.Totals = ur.Figures
		}
		r.Units = append(r.Units, ur)
	}
	for i := range beats {
		beats[i].Figures = finish(rows[beats[i].OrgUnitID])
	}
	r.Beats = beats
	users, _ := s.Auth.ListUsers(p)
	byID := map[string]*beatgrid.User{}
	for _, u := range users {
		byID[u.ID] = u
	}
	for id, f := range officers {
		or := OfficerRow{OfficerID: id, Figures: finish(f)}
		if u := byID[id]; u != nil {
			or.Username, or.Name, or.OrgUnitID = u.Username, u.DisplayName, u.OrgUnitID
		}
		r.Officers = append(r.Officers, or)
	}
	slices.SortFunc(r.Officers, func(a, b OfficerRow) int {
		return cmp.Or(cmp.Compare(a.Username, b.Username), cmp.Compare(a.OfficerID, b.OfficerID))
	})
	return r, nil
}

// closedDuring reports whether the hazard was closed (not superseded) in the period.
func closedDuring(h beatgrid.Hazard, during func(time.Time) bool) bool {
	for _, ev := range h.History {
		if ev.Kind == "close" && !ev.Superseded && during(ev.At) {
			return true
		}
	}
	return false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// finish rounds a row's figures and works out its coverage percent.
func finish(f *Figures) Figures {
	if f == nil {
		return Figures{}
	}
	out := *f
	out.DistanceKM = math.Round(out.DistanceKM*100) / 100
	if out.Cells > 0 {
		out.CoveragePercent = math.Round(1000*float64(out.CoveredCells)/float64(out.Cells)) / 10
	}
	return out
}
