package handlers

import (
	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/inspect"
	"github.com/gofiber/fiber/v2"
)

type inspectionHandlers struct{ svc *inspect.Service }

func registerInspections(app *fiber.App, authed fiber.Handler, s *inspect.Service) {
	h := &inspectionHandlers{svc: s}
	app.Get("/v1/inspections", authed, h.list)
	app.Get("/v1/inspections/:id", authed, h.get)
}

// list: GET /v1/inspections?venue_id= → the inspections in the caller's scope, with flags.
func (h *inspectionHandlers) list(c *fiber.Ctx) error {
	venue := c.Query("venue_id")
	if len(venue) > 128 {
		return beatgrid.FieldErrorf("venue_id", "at most 128 characters")
	}
	p, err := paginate(c, h.svc.Inspections(principal(c), venue), func(x *beatgrid.Inspection) string { return x.ID })
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// get: GET /v1/inspections/{id}.
func (h *inspectionHandlers) get(c *fiber.Ctx) error {
	in, err := h.svc.Inspection(principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(in)
}
