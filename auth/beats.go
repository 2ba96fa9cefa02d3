package auth

import (
	"context"
	"slices"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/geo"
)

// MaxBeatCells bounds the coverage cells of one beat: 50,000 cells of zoom 18 are about
// 900 km², far more than any patrol grid.
const MaxBeatCells = 50000

// coverBeat sets the cells of a beat from its boundary (none without one). Other kinds carry
// no cells.
func (s *Service) coverBeat(u *beatgrid.OrgUnit) error {
	u.Cells, u.CellZoom = nil, 0
	if u.Kind != beatgrid.KindBeat || u.Boundary == nil {
		return nil
	}
	cells, err := geo.Cover(u.Boundary, s.cfg.CellZoom, MaxBeatCells)
	if err != nil {
		return beatgrid.FieldErrorf("/boundary", "%s", err.Error())
	}
	u.Cells = make([]uint64, len(cells))
	for i, c := range cells {
		u.Cells[i] = uint64(c)
	}
	u.CellZoom = s.cfg.CellZoom
	return nil
}

// recoverBeats recomputes, in memory, the cells of beats stored at another zoom (the cell
// zoom was changed in the configuration).
func (s *Service) recoverBeats(units []*beatgrid.OrgUnit) {
	for i, u := range units {
		if u.Kind == beatgrid.KindBeat && u.Boundary != nil && u.CellZoom != s.cfg.CellZoom {
			c := *u
			if err := s.coverBeat(&c); err != nil {
				s.cfg.Logger.Warn("beat cells", "unit", u.ID, "err", err)
				continue
			}
			units[i] = &c
		}
	}
}

// Beats returns the beats in p's scope, by id.
func (s *Service) Beats(p *beatgrid.Principal) []*beatgrid.OrgUnit {
	var out []*beatgrid.OrgUnit
	for _, u := range s.ListOrgUnits(p) {
		if u.Kind == beatgrid.KindBeat {
			out = append(out, u)
		}
	}
	return out
}

// Beat returns beat id if it lies in p's scope; ENOTFOUND otherwise.
func (s *Service) Beat(p *beatgrid.Principal, id string) (*beatgrid.OrgUnit, error) {
	u, err := s.OrgUnit(p, id)
	if err != nil || u.Kind != beatgrid.KindBeat {
		return nil, errNotFound("beat")
	}
	return u, nil
}

// DeleteBeat removes an empty beat in p's scope: no units below it, no users or devices in
// it, and nothing else (inUse: routes, kiosks, venues…) belonging to it. Only admins may.
func (s *Service) DeleteBeat(ctx context.Context, p *beatgrid.Principal, id string, inUse func(unit string) bool) error {
	if err := requireRole(p, beatgrid.RoleAdmin); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	old, err := s.Beat(p, id)
	if err != nil {
		return err
	}
	if id == p.OrgUnitID {
		return beatgrid.Errorf(beatgrid.ECONFLICT, "You cannot delete the unit of your own scope.")
	}
	busy := false
	s.read(func(st *state) {
		busy = slices.ContainsFunc(st.tree.Subtree(id)[1:], func(c string) bool { return !st.units[c].Deleted })
		for _, u := range st.users {
			busy = busy || u.OrgUnitID == id
		}
		for _, d := range st.devices {
			busy = busy || (d.OrgUnitID == id && d.RevokedAt.IsZero())
		}
	})
	if busy || (inUse != nil && inUse(id)) {
		return beatgrid.Errorf(beatgrid.ECONFLICT, "The beat still has units, users, devices or places in it; move or delete them first.")
	}
	u := *old
	u.Deleted, u.Boundary, u.Cells, u.CellZoom = true, nil, nil, 0
	u.Version++
	u.UpdatedAt = s.cfg.Now()
	return s.storeUnit(ctx, &u)
}
