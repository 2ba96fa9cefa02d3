package handlers

import (
	"strconv"
	"strings"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/inspect"
	"github.com/gofiber/fiber/v2"
)

type checklistHandlers struct{ svc *inspect.Service }

type checklistBody struct {
	OrgUnitID *string                   `json:"org_unit_id"`
	VenueType *string                   `json:"venue_type"`
	Name      *string                   `json:"name"`
	Items     *[]beatgrid.ChecklistItem `json:"items"`
}

func decodeChecklist(c *fiber.Ctx) (inspect.ChecklistChange, error) {
	var in checklistBody
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return inspect.ChecklistChange{}, err
	}
	return inspect.ChecklistChange{OrgUnitID: in.OrgUnitID, VenueType: in.VenueType, Name: in.Name, Items: in.Items}, nil
}

func registerChecklists(app *fiber.App, authed fiber.Handler, s *inspect.Service) {
	h := &checklistHandlers{svc: s}
	app.Get("/v1/checklists", authed, h.list)
	app.Post("/v1/checklists", authed, h.create)
	app.Get("/v1/checklists/:id", authed, h.get)
	app.Patch("/v1/checklists/:id", authed, h.update)
}

// list: GET /v1/checklists?venue_type= → the latest version of each checklist the caller may read.
func (h *checklistHandlers) list(c *fiber.Ctx) error {
	typ := c.Query("venue_type")
	if typ != "" && !beatgrid.ValidVenueType(typ) {
		return beatgrid.FieldErrorf("venue_type", "one of %s", strings.Join(beatgrid.VenueTypes, ", "))
	}
	p, err := paginate(c, h.svc.Checklists(principal(c), typ), func(x *beatgrid.Checklist) string { return x.ID })
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// get: GET /v1/checklists/{id}?version= → that version, the latest by default.
func (h *checklistHandlers) get(c *fiber.Ctx) error {
	var v int64
	if s := c.Query("version"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 || n > 1<<31 {
			return beatgrid.FieldErrorf("version", "an integer from 1")
		}
		v = n
	}
	cl, err := h.svc.Checklist(principal(c), c.Params("id"), v)
	if err != nil {
		return err
	}
	return c.JSON(cl)
}

// create: POST /v1/checklists → 201 with version 1.
func (h *checklistHandlers) create(c *fiber.Ctx) error {
	ch, err := decodeChecklist(c)
	if err != nil {
		return err
	}
	cl, err := h.svc.CreateChecklist(c.UserContext(), principal(c), ch)
	if err != nil {
		return err
	}
	c.Location("/v1/checklists/" + cl.ID)
	return c.Status(fiber.StatusCreated).JSON(cl)
}

// update: PATCH /v1/checklists/{id} → the next version (the same one when nothing changed).
func (h *checklistHandlers) update(c *fiber.Ctx) error {
	ch, err := decodeChecklist(c)
	if err != nil {
		return err
	}
	cl, err := h.svc.UpdateChecklist(c.UserContext(), principal(c), c.Params("id"), ch)
	if err != nil {
		return err
	}
	return c.JSON(cl)
}
