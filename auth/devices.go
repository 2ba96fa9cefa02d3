package auth

import (
	"context"
	"strings"
	"time"

	"github.com/beatgrid/beatgrid"
)

// NewDevice is a device just created, with its one-time enrollment code (shown once).
type NewDevice struct {
	Device         *beatgrid.Device
	EnrollmentCode string
}

// CreateDevice registers a terminal for a unit in p's scope and returns its one-time
// enrollment code. Only admins may.
func (s *Service) CreateDevice(ctx context.Context, p *beatgrid.Principal, name, orgUnitID string) (*NewDevice, error) {
	if err := requireRole(p, beatgrid.RoleAdmin); err != nil {
		return nil, err
	}
	if err := beatgrid.CheckName("/name", name, 100); err != nil {
		return nil, err
	}
	if _, err := s.OrgUnit(p, orgUnitID); err != nil {
		return nil, beatgrid.FieldErrorf("/org_unit_id", "no such org unit in your scope")
	}
	code := newEnrollmentCode()
	now := s.cfg.Now()
	d := &beatgrid.Device{ID: newID(), Name: strings.TrimSpace(name), OrgUnitID: orgUnitID,
		EnrollCodeHash: hashSecret(code), EnrollExpiresAt: now.Add(s.cfg.EnrollTTL),
		Version: 1, CreatedAt: now, UpdatedAt: now}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.store.PutDevice(ctx, d); err != nil {
		return nil, err
	}
	s.apply(func(st *state) { st.putDevice(d) })
	return &NewDevice{Device: d, EnrollmentCode: code}, nil
}

// Enrolled is what a terminal receives once: its id and secret.
type Enrolled struct {
	DeviceID     string `json:"device_id"`
	DeviceSecret string `json:"device_secret"`
}

// Enroll trades a one-time enrollment code for the device's credential. The code works once
// and only until it expires; every failure gives the same answer.
func (s *Service) Enroll(ctx context.Context, ip, code, hardwareID string) (*Enrolled, error) {
	if err := s.limit(s.enrollByIP, ip); err != nil {
		return nil, err
	}
	if hardwareID == "" || len(hardwareID) > 200 {
		return nil, beatgrid.FieldErrorf("/hardware_id", "1 to 200 bytes")
	}
	bad := beatgrid.Errorf(beatgrid.EUNAUTHORIZED, "Invalid or expired enrollment code.")
	h := hashSecret(normalizeCode(code))
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var old *beatgrid.Device
	s.read(func(st *state) { old = st.byCode[h] })
	now := s.cfg.Now()
	if old == nil || old.Status() != beatgrid.DevicePending || now.After(old.EnrollExpiresAt) {
		return nil, bad
	}
	secret := newSecret(32)
	d := *old
	d.EnrollCodeHash, d.EnrollExpiresAt = "", time.Time{}
	d.HardwareID, d.SecretHash, d.EnrolledAt = hardwareID, hashSecret(secret), now
	d.Version++
	d.UpdatedAt = now
	if err := s.store.PutDevice(ctx, &d); err != nil {
		return nil, err
	}
	s.apply(func(st *state) { st.putDevice(&d) })
	return &Enrolled{DeviceID: d.ID, DeviceSecret: secret}, nil
}

// ListDevices returns the devices of units in p's scope, by id. Only admins may.
func (s *Service) ListDevices(p *beatgrid.Principal) ([]*beatgrid.Device, error) {
	if err := requireRole(p, beatgrid.RoleAdmin); err != nil {
		return nil, err
	}
	var out []*beatgrid.Device
	s.read(func(st *state) {
		for _, d := range st.devices {
			if st.tree.Within(p.OrgUnitID, d.OrgUnitID) {
				out = append(out, d)
			}
		}
	})
	sortByID(out, func(d *beatgrid.Device) string { return d.ID })
	return out, nil
}

// Device returns device id if p may see it: admins of its scope, or the device's own session.
func (s *Service) Device(p *beatgrid.Principal, id string) (*beatgrid.Device, error) {
	var d *beatgrid.Device
	s.read(func(st *state) {
		x := st.devices[id]
		if x != nil && (x.ID == p.DeviceID || (p.HasRole(beatgrid.RoleAdmin) && st.tree.Within(p.OrgUnitID, x.OrgUnitID))) {
			d = x
		}
	})
	if d == nil {
		return nil, errNotFound("device")
	}
	return d, nil
}

// RevokeDevice locks a lost terminal out: its access tokens fail from the next request on,
// its refresh tokens and enrollment code too. Revoking twice is not an error.
func (s *Service) RevokeDevice(ctx context.Context, p *beatgrid.Principal, id string) (*beatgrid.Device, error) {
	if err := requireRole(p, beatgrid.RoleAdmin); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	old, err := s.Device(p, id)
	if err != nil {
		return nil, err
	}
	if old.Status() == beatgrid.DeviceRevoked {
		return old, nil
	}
	now := s.cfg.Now()
	d := *old
	d.RevokedAt, d.EnrollCodeHash, d.Epoch = now, "", d.Epoch+1
	d.Version++
	d.UpdatedAt = now
	if err := s.store.PutDevice(ctx, &d); err != nil {
		return nil, err
	}
	s.apply(func(st *state) { st.putDevice(&d) })
	s.cfg.Logger.Warn("device revoked", "device", d.ID, "by", p.UserID)
	return &d, nil
}
