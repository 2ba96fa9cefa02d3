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

// geometryIn is a GeoJSON area as sent: decoded strictly, so a position must have two or
// three numbers and no member is ignored.
type geometryIn struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
	BBox        []float64       `json:"bbox,omitempty"` // allowed by RFC 7946 §5, not used
}

// parseBoundary reads a GeoJSON Polygon or MultiPolygon; nil for an absent or null one.
func parseBoundary(raw json.RawMessage) (orb.Geometry, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var in geometryIn
	if err := strictUnmarshal(raw, &in); err != nil {
		return nil, beatgrid.FieldErrorf("/boundary", "not a GeoJSON geometry object")
	}
	var g orb.Geometry
	switch in.Type {
	case "Polygon":
		var c [][][]float64
		if err := strictUnmarshal(in.Coordinates, &c); err != nil {
			return nil, beatgrid.FieldErrorf("/boundary/coordinates", "a Polygon's coordinates are an array of rings of positions")
		}
		poly, err := toPolygon(c, "/boundary/coordinates")
		if err != nil {
			return nil, err
		}
		g = poly
	case "MultiPolygon":
		var c [][][][]float64
		if err := strictUnmarshal(in.Coordinates, &c); err != nil {
			return nil, beatgrid.FieldErrorf("/boundary/coordinates", "a MultiPolygon's coordinates are an array of polygons")
		}
		mp := make(orb.MultiPolygon, len(c))
		for i, pc := range c {
			poly, err := toPolygon(pc, "/boundary/coordinates/"+itoa(i))
			if err != nil {
				return nil, err
			}
			mp[i] = poly
		}
		g = mp
	default:
		return nil, beatgrid.FieldErrorf("/boundary/type", "must be Polygon or MultiPolygon")
	}
	if err := geo.ValidateArea(g, maxBoundaryVertices); err != nil {
		ge := err.(*geo.Error)
		return nil, beatgrid.FieldErrorf("/boundary"+ge.Path, "%s", ge.Reason)
	}
	return g, nil
}

// toPolygon converts rings of positions, each of two numbers (lon, lat) or three (with an
// altitude, dropped).
func toPolygon(rings [][][]float64, path string) (orb.Polygon, error) {
	poly := make(orb.Polygon, len(rings))
	for i, ring := range rings {
		poly[i] = make(orb.Ring, len(ring))
		for j, pos := range ring {
			if len(pos) != 2 && len(pos) != 3 {
				return nil, beatgrid.FieldErrorf(path+"/"+itoa(i)+"/"+itoa(j), "a position is [lon, lat] or [lon, lat, alt]")
			}
			poly[i][j] = orb.Point{pos[0], pos[1]}
		}
	}
	return poly, nil
}

func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
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
	b, err := parseBoundary(in.Boundary)
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
	b, err := parseBoundary(in.Boundary)
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
