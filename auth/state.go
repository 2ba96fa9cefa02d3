package auth

import "github.com/beatgrid/beatgrid"

// Pointer swaps, called under the write lock after the store has the change.

func (st *state) putUnit(u *beatgrid.OrgUnit) {
	st.units[u.ID] = u
	units := make([]*beatgrid.OrgUnit, 0, len(st.units))
	for _, x := range st.units {
		units = append(units, x)
	}
	st.tree = beatgrid.NewOrgTree(units)
}

func (st *state) putUser(u *beatgrid.User) {
	if old := st.users[u.ID]; old != nil {
		delete(st.byUsername, old.Username)
	}
	st.users[u.ID], st.byUsername[u.Username] = u, u
}

func (st *state) putDevice(d *beatgrid.Device) {
	if old := st.devices[d.ID]; old != nil && old.EnrollCodeHash != "" {
		delete(st.byCode, old.EnrollCodeHash)
	}
	st.devices[d.ID] = d
	if d.EnrollCodeHash != "" {
		st.byCode[d.EnrollCodeHash] = d
	}
}
