package handlers

import (
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/gofiber/fiber/v2"
)

type userHandlers struct{ svc *auth.Service }

type userJSON struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Roles       []string  `json:"roles"`
	OrgUnitID   string    `json:"org_unit_id"`
	Disabled    bool      `json:"disabled"`
	Locked      bool      `json:"locked"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// toUserJSON shows u as at now (a lock ends by itself).
func toUserJSON(u *beatgrid.User, now time.Time) userJSON {
	return userJSON{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Roles: u.Roles,
		OrgUnitID: u.OrgUnitID, Disabled: u.Disabled, Locked: now.Before(u.LockedUntil),
		Version: u.Version, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

type userCreate struct {
	Username    string   `json:"username"`
	DisplayName string   `json:"display_name"`
	Password    string   `json:"password"`
	Roles       []string `json:"roles"`
	OrgUnitID   string   `json:"org_unit_id"`
}

type userUpdate struct {
	DisplayName *string  `json:"display_name"`
	Password    *string  `json:"password"`
	Roles       []string `json:"roles"`
	OrgUnitID   *string  `json:"org_unit_id"`
	Disabled    *bool    `json:"disabled"`
}

// list: GET /v1/users → users in scope (admins, commanders).
func (h *userHandlers) list(c *fiber.Ctx) error {
	users, err := h.svc.ListUsers(principal(c))
	if err != nil {
		return err
	}
	p, err := paginate(c, users, func(u *beatgrid.User) string { return u.ID })
	if err != nil {
		return err
	}
	return c.JSON(page[userJSON]{Items: mapSlice(p.Items, func(u *beatgrid.User) userJSON { return toUserJSON(u, h.svc.Now()) }), NextCursor: p.NextCursor})
}

// get: GET /v1/users/{id}.
func (h *userHandlers) get(c *fiber.Ctx) error {
	u, err := h.svc.User(principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(toUserJSON(u, h.svc.Now()))
}

// create: POST /v1/users → 201 with the user (admins).
func (h *userHandlers) create(c *fiber.Ctx) error {
	var in userCreate
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	u, err := h.svc.CreateUser(c.UserContext(), principal(c), auth.UserInput{Username: in.Username,
		DisplayName: in.DisplayName, Password: in.Password, Roles: in.Roles, OrgUnitID: in.OrgUnitID})
	if err != nil {
		return err
	}
	c.Location("/v1/users/" + u.ID)
	return c.Status(fiber.StatusCreated).JSON(toUserJSON(u, h.svc.Now()))
}

// update: PATCH /v1/users/{id} (admins).
func (h *userHandlers) update(c *fiber.Ctx) error {
	var in userUpdate
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	u, err := h.svc.UpdateUser(c.UserContext(), principal(c), c.Params("id"), auth.UserPatch{
		DisplayName: in.DisplayName, Password: in.Password, Roles: in.Roles, OrgUnitID: in.OrgUnitID, Disabled: in.Disabled})
	if err != nil {
		return err
	}
	return c.JSON(toUserJSON(u, h.svc.Now()))
}
