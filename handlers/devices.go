package handlers

import (
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/gofiber/fiber/v2"
)

type deviceHandlers struct{ svc *auth.Service }

type deviceJSON struct {
	ID                  string     `json:"id"`
	Name                string     `json:"name"`
	OrgUnitID           string     `json:"org_unit_id"`
	Status              string     `json:"status"`
	HardwareID          string     `json:"hardware_id,omitempty"`
	EnrollmentExpiresAt *time.Time `json:"enrollment_expires_at,omitempty"`
	EnrolledAt          *time.Time `json:"enrolled_at,omitempty"`
	RevokedAt           *time.Time `json:"revoked_at,omitempty"`
	Version             int64      `json:"version"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toDeviceJSON(d *beatgrid.Device) deviceJSON {
	return deviceJSON{ID: d.ID, Name: d.Name, OrgUnitID: d.OrgUnitID, Status: d.Status(), HardwareID: d.HardwareID,
		EnrollmentExpiresAt: timePtr(d.EnrollExpiresAt), EnrolledAt: timePtr(d.EnrolledAt),
		RevokedAt: timePtr(d.RevokedAt), Version: d.Version, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

type deviceCreate struct {
	Name      string `json:"name"`
	OrgUnitID string `json:"org_unit_id"`
}

type deviceCreated struct {
	deviceJSON
	EnrollmentCode string `json:"enrollment_code"`
}

// list: GET /v1/devices → devices in scope (admins).
func (h *deviceHandlers) list(c *fiber.Ctx) error {
	devs, err := h.svc.ListDevices(principal(c))
	if err != nil {
		return err
	}
	p, err := paginate(c, devs, func(d *beatgrid.Device) string { return d.ID })
	if err != nil {
		return err
	}
	return c.JSON(page[deviceJSON]{Items: mapSlice(p.Items, toDeviceJSON), NextCursor: p.NextCursor})
}

// get: GET /v1/devices/{id} (admins, or the device itself).
func (h *deviceHandlers) get(c *fiber.Ctx) error {
	d, err := h.svc.Device(principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(toDeviceJSON(d))
}

// create: POST /v1/devices {name, org_unit_id} → 201 {id, enrollment_code,
// enrollment_expires_at, …}; the code is shown this once.
func (h *deviceHandlers) create(c *fiber.Ctx) error {
	var in deviceCreate
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	nd, err := h.svc.CreateDevice(c.UserContext(), principal(c), in.Name, in.OrgUnitID)
	if err != nil {
		return err
	}
	c.Location("/v1/devices/" + nd.Device.ID)
	return c.Status(fiber.StatusCreated).JSON(deviceCreated{toDeviceJSON(nd.Device), nd.EnrollmentCode})
}

// revoke: POST /v1/devices/{id}/revoke → the revoked device; its tokens fail at once.
func (h *deviceHandlers) revoke(c *fiber.Ctx) error {
	d, err := h.svc.RevokeDevice(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(toDeviceJSON(d))
}
