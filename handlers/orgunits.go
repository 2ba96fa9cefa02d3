package handlers

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/geo"
	"github.com/gofiber/fiber/v2"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// maxBoundaryVertices bounds an org unit's boundary.
const maxBoundaryVertices = 20000

// orgUnitLimit bounds the body of an org unit request (a boundary can be large).
const orgUnitLimit = 2 << 20

type orgUnitHandlers struct{ svc *auth.Service }

type orgUnitJSON struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	Name      string            `json:"name"`
	ParentID  *string           `json:"parent_id"`
	Boundary  *geojson.Geometry `json:"boundary"`
	Version   int64             `json:"version"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func toOrgUnitJSON(u *beatgrid.OrgUnit) orgUnitJSON {
	j := orgUnitJSON{ID: u.ID, Kind: u.Kind, Name: u.Name, Version: u.Version, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if u.ParentID != "" {
		j.ParentID = &u.ParentID
	}
	if u.Boundary != nil {
		j.Boundary = geojson.NewGeometry(u.Boundary)
	}
	return j
}

type orgUnitCreate struct {
	Kind     string          `json:"kind"`
	Name     string          `json:"name"`
	ParentID string          `json:"parent_id"`
	Boundary json.RawMessage `json:"boundary"`
}

type orgUnitUpdate struct {
	Name     *string         `json:"name"`
	ParentID *string         `json:"parent_id"`
	Boundary json.RawMessage `json:"boundary"` // absent: keep; null: clear
}

// parseArea reads a GeoJSON Polygon or MultiPolygon at field; nil for an absent or null one.
func parseArea(raw json.RawMessage, field string) (orb.Geometry, error) {
	g, err := parseGeometry(raw, field, "Polygon", "MultiPolygon")
	if g == nil || err != nil {
		return nil, err
	}
	if err := geo.ValidateArea(g, maxBoundaryVertices); err != nil {
		ge := err.(*geo.Error)
		return nil, beatgrid.FieldErrorf(field+ge.Path, "%s", ge.Reason)
	}
	return g, nil
}

// list: GET /v1/org-units → the units in the caller's scope.
func (h *orgUnitHandlers) list(c *fiber.Ctx) error {
	units := h.svc.ListOrgUnits(principal(c))
	p, err := paginate(c, units, func(u *beatgrid.OrgUnit) string { return u.ID })
	if err != nil {
		return err
	}
	return c.JSON(page[orgUnitJSON]{Items: mapSlice(p.Items, toOrgUnitJSON), NextCursor: p.NextCursor})
}

// get: GET /v1/org-units/{id}.
func (h *orgUnitHandlers) get(c *fiber.Ctx) error {
	u, err := h.svc.OrgUnit(principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(toOrgUnitJSON(u))
}

// create: POST /v1/org-units {kind, name, parent_id, boundary?} → 201 with the unit.
func (h *orgUnitHandlers) create(c *fiber.Ctx) error {
	var in orgUnitCreate
	if err := decodeJSON(c, &in, orgUnitLimit); err != nil {
		return err
	}
	b, err := parseArea(in.Boundary, "/boundary")
	if err != nil {
		return err
	}
	u, err := h.svc.CreateOrgUnit(c.UserContext(), principal(c),
		auth.OrgUnitInput{Kind: in.Kind, Name: in.Name, ParentID: in.ParentID, Boundary: b})
	if err != nil {
		return err
	}
	c.Location("/v1/org-units/" + u.ID)
	return c.Status(fiber.StatusCreated).JSON(toOrgUnitJSON(u))
}

// update: PATCH /v1/org-units/{id} {name?, parent_id?, boundary?}.
func (h *orgUnitHandlers) update(c *fiber.Ctx) error {
	var in orgUnitUpdate
	if err := decodeJSON(c, &in, orgUnitLimit); err != nil {
		return err
	}
	b, err := parseArea(in.Boundary, "/boundary")
	if err != nil {
		return err
	}
	patch := auth.OrgUnitPatch{Name: in.Name, ParentID: in.ParentID, Boundary: b,
		ClearBoundary: bytes.Equal(in.Boundary, []byte("null"))}
	u, err := h.svc.UpdateOrgUnit(c.UserContext(), principal(c), c.Params("id"), patch)
	if err != nil {
		return err
	}
	return c.JSON(toOrgUnitJSON(u))
}
