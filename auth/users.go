package auth

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beatgrid/beatgrid"
)

// UserInput creates a user.
type UserInput struct {
	Username    string
	DisplayName string
	Password    string
	Roles       []string
	OrgUnitID   string
}

// UserPatch changes a user; nil fields stay.
type UserPatch struct {
	DisplayName *string
	Password    *string
	Roles       []string // nil: unchanged
	OrgUnitID   *string
	Disabled    *bool
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

func validatePassword(pw, field string) error {
	switch n := utf8.RuneCountInString(pw); {
	case !utf8.ValidString(pw):
		return beatgrid.FieldErrorf(field, "is not valid UTF-8")
	case n < 10:
		return beatgrid.FieldErrorf(field, "must have at least 10 characters")
	case len(pw) > 256:
		return beatgrid.FieldErrorf(field, "must have at most 256 bytes")
	}
	return nil
}

func validateRoles(roles []string) error {
	if len(roles) == 0 || len(roles) > 4 {
		return beatgrid.FieldErrorf("/roles", "give 1 to 4 of officer, inspector, commander, admin")
	}
	for i, r := range roles {
		if !beatgrid.ValidRole(r) {
			return beatgrid.FieldErrorf("/roles/"+strconv.Itoa(i), "unknown role %q", r)
		}
	}
	return nil
}

// ListUsers returns the users whose home unit is in p's scope, by id. Admins and commanders
// may list.
func (s *Service) ListUsers(p *beatgrid.Principal) ([]*beatgrid.User, error) {
	if err := requireRole(p, beatgrid.RoleAdmin, beatgrid.RoleCommander); err != nil {
		return nil, err
	}
	var out []*beatgrid.User
	s.read(func(st *state) {
		for _, u := range st.users {
			if st.tree.Within(p.OrgUnitID, u.OrgUnitID) {
				out = append(out, u)
			}
		}
	})
	sortByID(out, func(u *beatgrid.User) string { return u.ID })
	return out, nil
}

// User returns user id if p may see him: himself, or, for admins and commanders, users in
// scope.
func (s *Service) User(p *beatgrid.Principal, id string) (*beatgrid.User, error) {
	var u *beatgrid.User
	s.read(func(st *state) {
		x := st.users[id]
		if x != nil && (x.ID == p.UserID || (p.HasRole(beatgrid.RoleAdmin, beatgrid.RoleCommander) &&
			st.tree.Within(p.OrgUnitID, x.OrgUnitID))) {
			u = x
		}
	})
	if u == nil {
		return nil, errNotFound("user")
	}
	return u, nil
}

// CreateUser adds a user with a home unit in p's scope. Only admins may.
func (s *Service) CreateUser(ctx context.Context, p *beatgrid.Principal, in UserInput) (*beatgrid.User, error) {
	if err := requireRole(p, beatgrid.RoleAdmin); err != nil {
		return nil, err
	}
	in.Username = normalizeUsername(in.Username)
	if !usernameRE.MatchString(in.Username) {
		return nil, beatgrid.FieldErrorf("/username", "2 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit")
	}
	if in.DisplayName == "" {
		in.DisplayName = in.Username
	}
	if err := beatgrid.CheckName("/display_name", in.DisplayName, 100); err != nil {
		return nil, err
	}
	if err := validatePassword(in.Password, "/password"); err != nil {
		return nil, err
	}
	if err := validateRoles(in.Roles); err != nil {
		return nil, err
	}
	if _, err := s.OrgUnit(p, in.OrgUnitID); err != nil {
		return nil, beatgrid.FieldErrorf("/org_unit_id", "no such org unit in your scope")
	}
	hash, err := s.hashing.hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	taken := false
	s.read(func(st *state) { taken = st.byUsername[in.Username] != nil })
	if taken {
		return nil, beatgrid.Errorf(beatgrid.ECONFLICT, "The username is taken.")
	}
	now := s.cfg.Now()
	u := &beatgrid.User{ID: newID(), Username: in.Username, DisplayName: strings.TrimSpace(in.DisplayName),
		Roles: dedupe(in.Roles), OrgUnitID: in.OrgUnitID, PasswordHash: hash, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.store.PutUser(ctx, u); err != nil {
		return nil, err
	}
	s.apply(func(st *state) { st.putUser(u) })
	return u, nil
}

// UpdateUser changes a user in p's scope. Only admins may; disabling, a new password, new
// roles or a new home unit end the user's sessions at once (the epoch moves on).
func (s *Service) UpdateUser(ctx context.Context, p *beatgrid.Principal, id string, patch UserPatch) (*beatgrid.User, error) {
	if err := requireRole(p, beatgrid.RoleAdmin); err != nil {
		return nil, err
	}
	if _, err := s.User(p, id); err != nil {
		return nil, err
	}
	if err := s.checkUserPatch(p, id, &patch); err != nil {
		return nil, err
	}
	if patch.Roles == nil && patch.DisplayName == nil && patch.Password == nil && patch.OrgUnitID == nil &&
		patch.Disabled == nil {
		return s.User(p, id) // nothing to change, nothing to store
	}
	var hash string
	if patch.Password != nil {
		var err error
		if hash, err = s.hashing.hash(ctx, *patch.Password); err != nil {
			return nil, err
		}
	}
	var out *beatgrid.User
	err := s.changeUser(ctx, id, func(u *beatgrid.User) error {
		endSessions := false
		if patch.DisplayName != nil {
			u.DisplayName = strings.TrimSpace(*patch.DisplayName)
		}
		if hash != "" {
			u.PasswordHash, u.LockedUntil, endSessions = hash, time.Time{}, true
		}
		if patch.Roles != nil && !slices.Equal(dedupe(patch.Roles), u.Roles) {
			u.Roles, endSessions = dedupe(patch.Roles), true
		}
		if patch.OrgUnitID != nil && *patch.OrgUnitID != u.OrgUnitID {
			u.OrgUnitID, endSessions = *patch.OrgUnitID, true
		}
		if patch.Disabled != nil && *patch.Disabled != u.Disabled {
			u.Disabled, endSessions = *patch.Disabled, true
		}
		if endSessions {
			u.Epoch++
		}
		out = u
		return nil
	})
	return out, err
}

func (s *Service) checkUserPatch(p *beatgrid.Principal, id string, patch *UserPatch) error {
	if patch.DisplayName != nil {
		if err := beatgrid.CheckName("/display_name", *patch.DisplayName, 100); err != nil {
			return err
		}
	}
	if patch.Password != nil {
		if err := validatePassword(*patch.Password, "/password"); err != nil {
			return err
		}
	}
	if patch.Roles != nil {
		if err := validateRoles(patch.Roles); err != nil {
			return err
		}
	}
	if patch.OrgUnitID != nil {
		if _, err := s.OrgUnit(p, *patch.OrgUnitID); err != nil {
			return beatgrid.FieldErrorf("/org_unit_id", "no such org unit in your scope")
		}
	}
	if id == p.UserID && ((patch.Disabled != nil && *patch.Disabled) || patch.Roles != nil || patch.OrgUnitID != nil) {
		return beatgrid.Errorf(beatgrid.EFORBIDDEN, "You cannot disable yourself or change your own roles or unit.")
	}
	return nil
}

// changeUser applies f to a copy of user id and stores it as the next version.
func (s *Service) changeUser(ctx context.Context, id string, f func(u *beatgrid.User) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var old *beatgrid.User
	s.read(func(st *state) { old = st.users[id] })
	if old == nil {
		return errNotFound("user")
	}
	u := *old
	u.Roles = slices.Clone(old.Roles)
	if err := f(&u); err != nil {
		return err
	}
	u.Version++
	u.UpdatedAt = s.cfg.Now()
	if err := s.store.PutUser(ctx, &u); err != nil {
		return err
	}
	s.apply(func(st *state) { st.putUser(&u) })
	return nil
}

func dedupe(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
