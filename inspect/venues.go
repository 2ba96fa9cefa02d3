package inspect

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/geo"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
)

// Limits of venues.
const (
	maxNameLen    = 200
	maxAddressLen = 500
	maxReasons    = 20
	maxReasonLen  = 200
	maxOwnerLen   = 200
)

func venueRecord(v *beatgrid.Venue) *beatgrid.FeedRecord {
	r := &beatgrid.FeedRecord{Collection: CollVenues, ID: v.ID, Unit: v.OrgUnitID, PastUnits: v.PastUnits,
		Deleted: v.Deleted, Version: v.Rev}
	if !v.Deleted {
		r.Value = v
	}
	return r
}

// VenueChange creates or changes a venue; nil fields stay (on create, a missing unit is the
// caller's own).
type VenueChange struct {
	OrgUnitID    *string
	Name         *string
	Type         *string
	Address      *string
	Point        *orb.Point
	OwnerContact *string
	RiskGrade    *string
	RiskReasons  *[]string
}

// Venues returns the live venues in p's scope, by id; of type typ when it is not empty.
func (s *Service) Venues(p *beatgrid.Principal, typ string) []*beatgrid.Venue {
	tree := s.cfg.Tree()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*beatgrid.Venue
	for _, v := range s.venues {
		if !v.Deleted && within(tree, p, v.OrgUnitID) && (typ == "" || v.Type == typ) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b *beatgrid.Venue) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Venue returns venue id if it lies in p's scope; ENOTFOUND otherwise.
func (s *Service) Venue(p *beatgrid.Principal, id string) (*beatgrid.Venue, error) {
	tree := s.cfg.Tree()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.venueIn(tree, p, id)
}

func (s *Service) venueIn(tree *beatgrid.OrgTree, p *beatgrid.Principal, id string) (*beatgrid.Venue, error) {
	v := s.venues[id]
	if v == nil || v.Deleted || !within(tree, p, v.OrgUnitID) {
		return nil, beatgrid.Errorf(beatgrid.ENOTFOUND, "No such venue in your scope.")
	}
	return v, nil
}

// CreateVenue adds a venue in p's scope (commanders, admins).
func (s *Service) CreateVenue(ctx context.Context, p *beatgrid.Principal, c VenueChange) (*beatgrid.Venue, error) {
	return s.writeVenue(ctx, p, "", c.apply(p))
}

// UpdateVenue changes venue id in p's scope.
func (s *Service) UpdateVenue(ctx context.Context, p *beatgrid.Principal, id string, c VenueChange) (*beatgrid.Venue, error) {
	return s.writeVenue(ctx, p, id, c.apply(p))
}

// DeleteVenue deletes venue id in p's scope; terminals pull a delete. Its inspections and
// hazards stay.
func (s *Service) DeleteVenue(ctx context.Context, p *beatgrid.Principal, id string) error {
	_, err := s.writeVenue(ctx, p, id, func(_ *beatgrid.OrgTree, v *beatgrid.Venue) error {
		v.Deleted = true
		return nil
	})
	return err
}

// writeVenue changes venue id (a new one when id is "") with apply, on a copy, and stores the
// copy under the next feed version.
func (s *Service) writeVenue(ctx context.Context, p *beatgrid.Principal, id string,
	apply func(*beatgrid.OrgTree, *beatgrid.Venue) error) (*beatgrid.Venue, error) {
	if err := commanderOnly(p); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tree := s.cfg.Tree()
	v := &beatgrid.Venue{}
	var before beatgrid.Place
	if id != "" {
		s.mu.RLock()
		old, err := s.venueIn(tree, p, id)
		s.mu.RUnlock()
		if err != nil {
			return nil, err
		}
		*v = *old
		before = old.Place
	}
	if err := apply(tree, v); err != nil {
		return nil, err
	}
	if id != "" && reflect.DeepEqual(v, s.venues[id]) {
		return s.venues[id], nil
	}
	now := s.cfg.Now()
	if before.ID == "" {
		v.ID, v.CreatedAt = uuid.Must(uuid.NewV7()).String(), now
	} else if v.OrgUnitID != before.OrgUnitID && !slices.Contains(v.PastUnits, before.OrgUnitID) {
		v.PastUnits = append(slices.Clone(v.PastUnits), before.OrgUnitID)
	}
	v.Version, v.UpdatedAt = before.Version+1, now
	v.Rev = s.cfg.Feed.Reserve()
	if err := s.cfg.Store.PutVenue(ctx, v); err != nil {
		s.cfg.Feed.Abort(v.Rev)
		return nil, fmt.Errorf("inspect: store venue %s: %w", v.ID, err)
	}
	s.mu.Lock()
	s.venues[v.ID] = v
	s.mu.Unlock()
	s.cfg.Feed.Commit(venueRecord(v))
	return v, nil
}

func (c VenueChange) apply(p *beatgrid.Principal) func(*beatgrid.OrgTree, *beatgrid.Venue) error {
	return func(tree *beatgrid.OrgTree, v *beatgrid.Venue) error {
		isNew := v.ID == ""
		if err := setName("/name", c.Name, &v.Name, maxNameLen, isNew); err != nil {
			return err
		}
		if c.Type != nil {
			if !beatgrid.ValidVenueType(*c.Type) {
				return beatgrid.FieldErrorf("/type", "must be one of %s", strings.Join(beatgrid.VenueTypes, ", "))
			}
			v.Type = *c.Type
		} else if isNew {
			return beatgrid.FieldErrorf("/type", "required: one of %s", strings.Join(beatgrid.VenueTypes, ", "))
		}
		if err := setText("/address", c.Address, &v.Address, maxAddressLen); err != nil {
			return err
		}
		if err := setText("/owner_contact", c.OwnerContact, &v.OwnerContact, maxOwnerLen); err != nil {
			return err
		}
		if c.Point != nil {
			if err := geo.ValidPoint(*c.Point, "/coordinates"); err != nil {
				return geoField("/geometry", err)
			}
			v.Point = *c.Point
		} else if isNew {
			return beatgrid.FieldErrorf("/geometry", "required: a Point")
		}
		if err := c.applyRisk(v); err != nil {
			return err
		}
		return applyUnit(tree, p, c.OrgUnitID, &v.OrgUnitID, isNew)
	}
}

// applyRisk sets the risk grade: A, B or C with reasons, for rental housing only.
func (c VenueChange) applyRisk(v *beatgrid.Venue) error {
	if c.RiskGrade != nil {
		if g := *c.RiskGrade; g != "" && g != "A" && g != "B" && g != "C" {
			return beatgrid.FieldErrorf("/risk_grade", "must be A, B, C or empty")
		}
		v.RiskGrade = *c.RiskGrade
	}
	if c.RiskReasons != nil {
		rs := *c.RiskReasons
		if len(rs) > maxReasons {
			return beatgrid.FieldErrorf("/risk_reasons", "more than %d reasons", maxReasons)
		}
		for i, r := range rs {
			if err := beatgrid.CheckName(fmt.Sprintf("/risk_reasons/%d", i), r, maxReasonLen); err != nil {
				return err
			}
		}
		v.RiskReasons = slices.Clone(rs)
	}
	switch {
	case v.RiskGrade != "" && v.Type != beatgrid.VenueRentalHousing:
		return beatgrid.FieldErrorf("/risk_grade", "only rental housing is graded")
	case v.RiskGrade == "" && len(v.RiskReasons) > 0:
		return beatgrid.FieldErrorf("/risk_reasons", "reasons need a risk grade")
	}
	return nil
}

// applyUnit sets *dst to the given unit (the caller's on create), which must lie in p's scope.
func applyUnit(tree *beatgrid.OrgTree, p *beatgrid.Principal, unit *string, dst *string, isNew bool) error {
	u := p.OrgUnitID
	if unit != nil {
		u = *unit
	} else if !isNew {
		return nil
	}
	if !tree.Within(p.OrgUnitID, u) || tree.Unit(u) == nil {
		return beatgrid.FieldErrorf("/org_unit_id", "no such org unit in your scope")
	}
	*dst = u
	return nil
}

func setName(field string, in *string, dst *string, maxLen int, required bool) error {
	if in == nil {
		if required {
			return beatgrid.FieldErrorf(field, "required")
		}
		return nil
	}
	if err := beatgrid.CheckName(field, *in, maxLen); err != nil {
		return err
	}
	*dst = strings.TrimSpace(*in)
	return nil
}

// setText sets an optional free text: may be empty, at most maxLen printable characters.
func setText(field string, in *string, dst *string, maxLen int) error {
	if in == nil {
		return nil
	}
	if strings.TrimSpace(*in) != "" {
		if err := beatgrid.CheckName(field, *in, maxLen); err != nil {
			return err
		}
	}
	*dst = strings.TrimSpace(*in)
	return nil
}

// geoField turns a geometry error into a field error below field.
func geoField(field string, err error) error {
	if ge, ok := err.(*geo.Error); ok {
		return beatgrid.FieldErrorf(field+ge.Path, "%s", ge.Reason)
	}
	return beatgrid.FieldErrorf(field, "%s", err.Error())
}

// venueByID returns a live venue whatever the scope (folds). Callers hold s.mu.
func (s *Service) venueByID(id string) *beatgrid.Venue {
	if v := s.venues[id]; v != nil && !v.Deleted {
		return v
	}
	return nil
}
