package inspect

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/beatgrid/beatgrid"
	"github.com/google/uuid"
)

// Limits of checklists.
const (
	maxItems       = 100
	maxItemTextLen = 500
)

var itemIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

var itemKinds = []string{beatgrid.ItemYesNo, beatgrid.ItemNumber, beatgrid.ItemText, beatgrid.ItemPhoto}

func checklistRecord(c *beatgrid.Checklist) *beatgrid.FeedRecord {
	return &beatgrid.FeedRecord{Collection: CollChecklists, ID: c.ID, Unit: c.OrgUnitID, Value: c, Version: c.Rev}
}

// ChecklistChange creates a checklist or makes its next version; nil fields stay.
type ChecklistChange struct {
	OrgUnitID *string
	VenueType *string
	Name      *string
	Items     *[]beatgrid.ChecklistItem
}

// visibleChecklist: a checklist is read in its unit's subtree and by the units above it (a
// bureau's template serves its stations). Terminals pull those of their subtree.
func visibleChecklist(tree *beatgrid.OrgTree, p *beatgrid.Principal, c *beatgrid.Checklist) bool {
	return tree.Related(p.OrgUnitID, c.OrgUnitID)
}

// Checklists returns the latest version of each checklist p may read, by id; of venue type
// typ when it is not empty.
func (s *Service) Checklists(p *beatgrid.Principal, typ string) []*beatgrid.Checklist {
	tree := s.cfg.Tree()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*beatgrid.Checklist
	for _, vs := range s.checklists {
		c := vs[len(vs)-1]
		if visibleChecklist(tree, p, c) && (typ == "" || c.VenueType == typ) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *beatgrid.Checklist) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Checklist returns version v of checklist id (the latest when v is 0) if p may read it;
// ENOTFOUND otherwise.
func (s *Service) Checklist(p *beatgrid.Principal, id string, v int64) (*beatgrid.Checklist, error) {
	tree := s.cfg.Tree()
	s.mu.RLock()
	defer s.mu.RUnlock()
	vs := s.checklists[id]
	if len(vs) == 0 || !visibleChecklist(tree, p, vs[len(vs)-1]) {
		return nil, beatgrid.Errorf(beatgrid.ENOTFOUND, "No such checklist in your scope.")
	}
	if v == 0 {
		return vs[len(vs)-1], nil
	}
	if v < 0 || v > int64(len(vs)) {
		return nil, beatgrid.Errorf(beatgrid.ENOTFOUND, "No version %d of this checklist.", v)
	}
	return vs[v-1], nil
}

// CreateChecklist adds version 1 of a checklist in p's scope (commanders, admins).
func (s *Service) CreateChecklist(ctx context.Context, p *beatgrid.Principal, c ChecklistChange) (*beatgrid.Checklist, error) {
	return s.writeChecklist(ctx, p, "", c)
}

// UpdateChecklist makes the next version of checklist id; earlier versions stay, so every
// inspection keeps the version it answered.
func (s *Service) UpdateChecklist(ctx context.Context, p *beatgrid.Principal, id string, c ChecklistChange) (*beatgrid.Checklist, error) {
	return s.writeChecklist(ctx, p, id, c)
}

func (s *Service) writeChecklist(ctx context.Context, p *beatgrid.Principal, id string, c ChecklistChange) (*beatgrid.Checklist, error) {
	if err := commanderOnly(p); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tree := s.cfg.Tree()
	next := &beatgrid.Checklist{}
	var old *beatgrid.Checklist
	if id != "" {
		s.mu.RLock()
		vs := s.checklists[id]
		s.mu.RUnlock()
		if len(vs) == 0 || !within(tree, p, vs[len(vs)-1].OrgUnitID) {
			return nil, beatgrid.Errorf(beatgrid.ENOTFOUND, "No such checklist in your scope.")
		}
		old = vs[len(vs)-1]
		*next = *old
	}
	if err := c.apply(tree, p, next, old == nil); err != nil {
		return nil, err
	}
	if old != nil && old.OrgUnitID == next.OrgUnitID && old.Name == next.Name && old.VenueType == next.VenueType &&
		reflect.DeepEqual(old.Items, next.Items) {
		return old, nil // nothing changed: no new version
	}
	if old != nil && old.OrgUnitID != next.OrgUnitID {
		return nil, beatgrid.FieldErrorf("/org_unit_id", "a checklist stays in its unit; make a new one")
	}
	if old == nil {
		next.ID = uuid.Must(uuid.NewV7()).String()
	}
	next.Version++
	next.CreatedBy, next.CreatedAt = p.UserID, s.cfg.Now()
	next.Rev = s.cfg.Feed.Reserve()
	if err := s.cfg.Store.InsertChecklist(ctx, next); err != nil {
		s.cfg.Feed.Abort(next.Rev)
		return nil, fmt.Errorf("inspect: store checklist %s: %w", next.ID, err)
	}
	s.mu.Lock()
	s.checklists[next.ID] = append(slices.Clip(s.checklists[next.ID]), next)
	s.mu.Unlock()
	s.cfg.Feed.Commit(checklistRecord(next))
	return next, nil
}

func (c ChecklistChange) apply(tree *beatgrid.OrgTree, p *beatgrid.Principal, cl *beatgrid.Checklist, isNew bool) error {
	if err := setName("/name", c.Name, &cl.Name, maxNameLen, isNew); err != nil {
		return err
	}
	if c.VenueType != nil {
		if !beatgrid.ValidVenueType(*c.VenueType) {
			return beatgrid.FieldErrorf("/venue_type", "must be one of %s", strings.Join(beatgrid.VenueTypes, ", "))
		}
		cl.VenueType = *c.VenueType
	} else if isNew {
		return beatgrid.FieldErrorf("/venue_type", "required")
	}
	if c.Items != nil {
		if err := checkItems(*c.Items); err != nil {
			return err
		}
		cl.Items = slices.Clone(*c.Items)
		for i := range cl.Items {
			cl.Items[i].Text = strings.TrimSpace(cl.Items[i].Text)
		}
	} else if isNew {
		return beatgrid.FieldErrorf("/items", "required: at least one item")
	}
	return applyUnit(tree, p, c.OrgUnitID, &cl.OrgUnitID, isNew)
}

func checkItems(items []beatgrid.ChecklistItem) error {
	switch {
	case len(items) == 0:
		return beatgrid.FieldErrorf("/items", "at least one item")
	case len(items) > maxItems:
		return beatgrid.FieldErrorf("/items", "more than %d items", maxItems)
	}
	seen := map[string]bool{}
	for i, it := range items {
		at := fmt.Sprintf("/items/%d", i)
		switch {
		case !itemIDRE.MatchString(it.ID):
			return beatgrid.FieldErrorf(at+"/id", "1 to 64 of A-Z a-z 0-9 . _ -")
		case seen[it.ID]:
			return beatgrid.FieldErrorf(at+"/id", "repeats an earlier item's id")
		case !slices.Contains(itemKinds, it.Kind):
			return beatgrid.FieldErrorf(at+"/kind", "must be one of %s", strings.Join(itemKinds, ", "))
		}
		if err := beatgrid.CheckName(at+"/text", it.Text, maxItemTextLen); err != nil {
			return err
		}
		seen[it.ID] = true
	}
	return nil
}

// checklistVersion returns version v of checklist id whatever the scope (folds), or nil.
// Callers hold s.mu.
func (s *Service) checklistVersion(id string, v int) *beatgrid.Checklist {
	vs := s.checklists[id]
	if v < 1 || v > len(vs) {
		return nil
	}
	return vs[v-1]
}
