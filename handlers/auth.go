package handlers

import (
	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/gofiber/fiber/v2"
)

type authHandlers struct{ svc *auth.Service }

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type deviceLoginRequest struct {
	DeviceID     string `json:"device_id"`
	DeviceSecret string `json:"device_secret"`
	Username     string `json:"username"`
	Password     string `json:"password"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

type enrollRequest struct {
	EnrollmentCode string `json:"enrollment_code"`
	HardwareID     string `json:"hardware_id"`
}

func required(field, v string) error {
	if v == "" {
		return beatgrid.FieldErrorf(field, "required")
	}
	if len(v) > 1024 {
		return beatgrid.FieldErrorf(field, "longer than 1024 bytes")
	}
	return nil
}

// requireAll checks fields given as name, value pairs.
func requireAll(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := required(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// login: POST /v1/auth/login {username, password} → token pair (console users).
func (h *authHandlers) login(c *fiber.Ctx) error {
	var in loginRequest
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	if err := requireAll("/username", in.Username, "/password", in.Password); err != nil {
		return err
	}
	pair, err := h.svc.Login(c.UserContext(), c.IP(), in.Username, in.Password)
	if err != nil {
		return err
	}
	return c.JSON(pair)
}

// deviceLogin: POST /v1/auth/device-login → token pair bound to officer and device.
func (h *authHandlers) deviceLogin(c *fiber.Ctx) error {
	var in deviceLoginRequest
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	if err := requireAll("/device_id", in.DeviceID, "/device_secret", in.DeviceSecret,
		"/username", in.Username, "/password", in.Password); err != nil {
		return err
	}
	pair, err := h.svc.DeviceLogin(c.UserContext(), c.IP(), in.DeviceID, in.DeviceSecret, in.Username, in.Password)
	if err != nil {
		return err
	}
	return c.JSON(pair)
}

// refresh: POST /v1/auth/refresh {refresh_token} → the next pair; the old token is spent.
func (h *authHandlers) refresh(c *fiber.Ctx) error {
	var in refreshRequest
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	if err := required("/refresh_token", in.RefreshToken); err != nil {
		return err
	}
	pair, err := h.svc.Refresh(c.UserContext(), c.IP(), in.RefreshToken)
	if err != nil {
		return err
	}
	return c.JSON(pair)
}

// logout: POST /v1/auth/logout {refresh_token} → 204; the token's family is revoked.
func (h *authHandlers) logout(c *fiber.Ctx) error {
	var in refreshRequest
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	if err := required("/refresh_token", in.RefreshToken); err != nil {
		return err
	}
	if err := h.svc.Logout(c.UserContext(), in.RefreshToken); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// enroll: POST /v1/devices/enroll {enrollment_code, hardware_id} → {device_id, device_secret}.
func (h *authHandlers) enroll(c *fiber.Ctx) error {
	var in enrollRequest
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	if err := requireAll("/enrollment_code", in.EnrollmentCode, "/hardware_id", in.HardwareID); err != nil {
		return err
	}
	out, err := h.svc.Enroll(c.UserContext(), c.IP(), in.EnrollmentCode, in.HardwareID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// jwks: GET /.well-known/jwks.json → the public keys that verify access tokens.
func (h *authHandlers) jwks(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.JSON(fiber.Map{"keys": h.svc.JWKS()})
}

type meResponse struct {
	User   userJSON    `json:"user"`
	Roles  []string    `json:"roles"`
	Scope  orgUnitJSON `json:"scope"`
	Device *deviceJSON `json:"device"`
}

// me: GET /v1/me → who the token speaks for: user, session roles, scope unit and device.
func (h *authHandlers) me(c *fiber.Ctx) error {
	p := principal(c)
	u, err := h.svc.User(p, p.UserID)
	if err != nil {
		return err
	}
	scope, err := h.svc.OrgUnit(p, p.OrgUnitID)
	if err != nil {
		return err
	}
	out := meResponse{User: toUserJSON(u, h.svc.Now()), Roles: p.Roles, Scope: toOrgUnitJSON(scope)}
	if p.DeviceID != "" {
		d, err := h.svc.Device(p, p.DeviceID)
		if err != nil {
			return err
		}
		dj := toDeviceJSON(d)
		out.Device = &dj
	}
	return c.JSON(out)
}
