package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/gofiber/fiber/v2"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// Beats are the org units of kind beat (patrol grids): /v1/beats shows them as places, with
// the parent unit as org_unit_id, and the number of coverage cells precomputed from the
// boundary.
type beatJSON struct {
	ID        string            `json:"id"`
	OrgUnitID string            `json:"org_unit_id"`
	Name      string            `json:"name"`
	Geometry  *geojson.Geometry `json:"geometry"`
	Cells     int               `json:"cells"`
	CellZoom  int               `json:"cell_zoom,omitempty"`
	Version   int64             `json:"version"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func toBeatJSON(u *beatgrid.OrgUnit) any {
	j := beatJSON{ID: u.ID, OrgUnitID: u.ParentID, Name: u.Name, Cells: len(u.Cells), CellZoom: u.CellZoom,
		Version: u.Version, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if u.Boundary != nil {
		j.Geometry = geojson.NewGeometry(u.Boundary)
	}
	return j
}

// beatBody creates or changes a beat; absent fields stay.
type beatBody struct {
	OrgUnitID *string         `json:"org_unit_id"`
	Name      *string         `json:"name"`
	Geometry  json.RawMessage `json:"geometry"`
}

// beatChange is a decoded beat body.
type beatChange struct {
	beatBody
	boundary orb.Geometry
}

func decodeBeat(c *fiber.Ctx) (beatChange, error) {
	var in beatChange
	if err := decodeJSON(c, &in.beatBody, orgUnitLimit); err != nil {
		return in, err
	}
	b, err := parseArea(in.Geometry, "/geometry")
	in.boundary = b
	return in, err
}

// registerBeats adds /v1/beats: the org units of kind beat as patrol places.
func registerBeats(app *fiber.App, authed fiber.Handler, svc *auth.Service, inUse func(unit string) bool) {
	(&placeAPI[*beatgrid.OrgUnit, beatChange]{base: "/v1/beats", list: svc.Beats, get: svc.Beat,
		create: func(ctx context.Context, p *beatgrid.Principal, ch beatChange) (*beatgrid.OrgUnit, error) {
			in := auth.OrgUnitInput{Kind: beatgrid.KindBeat, ParentID: p.OrgUnitID, Boundary: ch.boundary}
			if ch.Name != nil {
				in.Name = *ch.Name
			}
			if ch.OrgUnitID != nil {
				in.ParentID = *ch.OrgUnitID
			}
			if ch.boundary == nil {
				return nil, beatgrid.FieldErrorf("/geometry", "required: a Polygon or MultiPolygon")
			}
			u, err := svc.CreateOrgUnit(ctx, p, in)
			return u, renameField(err, "/parent_id", "/org_unit_id", "/boundary", "/geometry")
		},
		update: func(ctx context.Context, p *beatgrid.Principal, id string, ch beatChange) (*beatgrid.OrgUnit, error) {
			if !p.HasRole(beatgrid.RoleAdmin) {
				return nil, beatgrid.Errorf(beatgrid.EFORBIDDEN, "This needs the role admin.")
			}
			if _, err := svc.Beat(p, id); err != nil {
				return nil, err
			}
			u, err := svc.UpdateOrgUnit(ctx, p, id, auth.OrgUnitPatch{Name: ch.Name, ParentID: ch.OrgUnitID, Boundary: ch.boundary})
			return u, renameField(err, "/parent_id", "/org_unit_id", "/boundary", "/geometry")
		},
		remove: func(ctx context.Context, p *beatgrid.Principal, id string) error {
			return svc.DeleteBeat(ctx, p, id, inUse)
		},
		decode: decodeBeat, toJSON: toBeatJSON, id: func(u *beatgrid.OrgUnit) string { return u.ID },
		geometry: func(u *beatgrid.OrgUnit) orb.Geometry { return u.Boundary }}).register(app, authed)
}

// renameField moves a field error from one name to another (pairs: from, to, …): a service
// shared by two APIs names its own fields.
func renameField(err error, pairs ...string) error {
	var e *beatgrid.Error
	if !errors.As(err, &e) || e.Field == "" {
		return err
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if rest, ok := strings.CutPrefix(e.Field, pairs[i]); ok {
			c := *e
			c.Field = pairs[i+1] + rest
			return &c
		}
	}
	return err
}
