package auth

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/beatgrid/beatgrid"
	"github.com/paulmach/orb"
)

// OrgUnitInput creates an org unit.
type OrgUnitInput struct {
	Kind     string
	Name     string
	ParentID string
	Boundary orb.Geometry // validated by the caller (package geo)
}

// OrgUnitPatch changes an org unit; nil fields stay.
type OrgUnitPatch struct {
	Name          *string
	ParentID      *string
	Boundary      orb.Geometry
	ClearBoundary bool
}

// ListOrgUnits returns the units in p's scope, by id.
func (s *Service) ListOrgUnits(p *beatgrid.Principal) []*beatgrid.OrgUnit {
	var out []*beatgrid.OrgUnit
	s.read(func(st *state) {
		for _, id := range st.tree.Subtree(p.OrgUnitID) {
			if u := st.units[id]; !u.Deleted {
				out = append(out, u)
			}
		}
	})
	sortByID(out, func(u *beatgrid.OrgUnit) string { return u.ID })
	return out
}

// OrgUnit returns unit id if it is in p's scope; ENOTFOUND otherwise.
func (s *Service) OrgUnit(p *beatgrid.Principal, id string) (*beatgrid.OrgUnit, error) {
	var u *beatgrid.OrgUnit
	s.read(func(st *state) {
		if st.tree.Within(p.OrgUnitID, id) && !st.units[id].Deleted {
			u = st.units[id]
		}
	})
	if u == nil {
		return nil, errNotFound("org unit")
	}
	return u, nil
}

// OrgTree returns the current org tree (a value that does not change).
func (s *Service) OrgTree() *beatgrid.OrgTree {
	var t *beatgrid.OrgTree
	s.read(func(st *state) { t = st.tree })
	return t
}

func errNotFound(what string) error {
	return beatgrid.Errorf(beatgrid.ENOTFOUND, "No such %s in your scope.", what)
}

func requireRole(p *beatgrid.Principal, roles ...string) error {
	if !p.HasRole(roles...) {
		return beatgrid.Errorf(beatgrid.EFORBIDDEN, "This needs the role %s.", strings.Join(roles, " or "))
	}
	return nil
}

// CreateOrgUnit adds a unit below a parent in p's scope. Only admins may.
func (s *Service) CreateOrgUnit(ctx context.Context, p *beatgrid.Principal, in OrgUnitInput) (*beatgrid.OrgUnit, error) {
	if err := requireRole(p, beatgrid.RoleAdmin); err != nil {
		return nil, err
	}
	if !beatgrid.ValidKind(in.Kind) {
		return nil, beatgrid.FieldErrorf("/kind", "must be one of bureau, zone, station, beat")
	}
	if err := beatgrid.CheckName("/name", in.Name, 200); err != nil {
		return nil, err
	}
	if in.ParentID == "" {
		return nil, beatgrid.FieldErrorf("/parent_id", "required: new units hang below one in your scope")
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	parent, err := s.OrgUnit(p, in.ParentID)
	if err != nil {
		return nil, beatgrid.FieldErrorf("/parent_id", "no such org unit in your scope")
	}
	if !beatgrid.CanParent(parent.Kind, in.Kind) {
		return nil, beatgrid.FieldErrorf("/kind", "a %s cannot hang below a %s", in.Kind, parent.Kind)
	}
	now := s.cfg.Now()
	u := &beatgrid.OrgUnit{ID: newID(), Kind: in.Kind, Name: strings.TrimSpace(in.Name), ParentID: parent.ID,
		Boundary: in.Boundary, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.coverBeat(u); err != nil {
		return nil, err
	}
	if err := s.storeUnit(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// UpdateOrgUnit changes a unit in p's scope. Only admins may; an admin cannot move the unit
// that is his own scope, nor move a unit below itself.
func (s *Service) UpdateOrgUnit(ctx context.Context, p *beatgrid.Principal, id string, patch OrgUnitPatch) (*beatgrid.OrgUnit, error) {
	if err := requireRole(p, beatgrid.RoleAdmin); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	old, err := s.OrgUnit(p, id)
	if err != nil {
		return nil, err
	}
	if patch.Name == nil && patch.ParentID == nil && patch.Boundary == nil && !patch.ClearBoundary {
		return old, nil // nothing to change, nothing to store
	}
	u := *old
	if patch.Name != nil {
		if err := beatgrid.CheckName("/name", *patch.Name, 200); err != nil {
			return nil, err
		}
		u.Name = strings.TrimSpace(*patch.Name)
	}
	if patch.ParentID != nil && *patch.ParentID != u.ParentID {
		if err := s.checkMove(p, &u, *patch.ParentID); err != nil {
			return nil, err
		}
		if !slices.Contains(u.PastParents, u.ParentID) {
			u.PastParents = append(slices.Clone(u.PastParents), u.ParentID)
		}
		u.ParentID = *patch.ParentID
	}
	if patch.ClearBoundary {
		u.Boundary = nil
	} else if patch.Boundary != nil {
		u.Boundary = patch.Boundary
	}
	if patch.ClearBoundary || patch.Boundary != nil {
		if err := s.coverBeat(&u); err != nil {
			return nil, err
		}
	}
	u.Version++
	u.UpdatedAt = s.cfg.Now()
	if err := s.storeUnit(ctx, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// storeUnit stores u under the next feed version, then publishes it to memory and to pulls.
// Callers hold the writer lock.
func (s *Service) storeUnit(ctx context.Context, u *beatgrid.OrgUnit) error {
	u.Rev = s.cfg.Feed.Reserve()
	if err := s.store.PutOrgUnit(ctx, u); err != nil {
		s.cfg.Feed.Abort(u.Rev)
		return err
	}
	s.apply(func(st *state) { st.putUnit(u) })
	s.cfg.Feed.Commit(unitRecord(u))
	return nil
}

// unitRecord is an org unit as terminals pull it: seen within its own subtree's scopes.
func unitRecord(u *beatgrid.OrgUnit) *beatgrid.FeedRecord {
	r := &beatgrid.FeedRecord{Collection: "org_units", ID: u.ID, Unit: u.ID, PastUnits: u.PastParents,
		Deleted: u.Deleted, Version: u.Rev}
	if !u.Deleted {
		r.Value = u
	}
	return r
}

func (s *Service) checkMove(p *beatgrid.Principal, u *beatgrid.OrgUnit, parentID string) error {
	if u.ID == p.OrgUnitID {
		return beatgrid.FieldErrorf("/parent_id", "you cannot move the unit of your own scope")
	}
	parent, err := s.OrgUnit(p, parentID)
	if err != nil {
		return beatgrid.FieldErrorf("/parent_id", "no such org unit in your scope")
	}
	if s.OrgTree().Within(u.ID, parent.ID) {
		return beatgrid.FieldErrorf("/parent_id", "a unit cannot move below itself")
	}
	if !beatgrid.CanParent(parent.Kind, u.Kind) {
		return beatgrid.FieldErrorf("/parent_id", "a %s cannot hang below a %s", u.Kind, parent.Kind)
	}
	return nil
}

// sortByID orders records by id, the order of every list.
func sortByID[T any](xs []T, id func(T) string) {
	slices.SortFunc(xs, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
}
