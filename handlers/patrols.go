package handlers

import (
	"time"

	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/patrol"
	"github.com/gofiber/fiber/v2"
)

type patrolHandlers struct {
	svc  *patrol.Service
	auth *auth.Service
}

type patrolJSON struct {
	ID        string      `json:"id"`
	DeviceID  string      `json:"device_id"`
	OfficerID string      `json:"officer_id"`
	OrgUnitID string      `json:"org_unit_id"`
	Mode      string      `json:"mode,omitempty"`
	RouteID   string      `json:"route_id,omitempty"`
	StartedAt *time.Time  `json:"started_at"`
	EndedAt   *time.Time  `json:"ended_at"`
	Stats     patrolStats `json:"stats"`
}

type patrolStats struct {
	Points    int        `json:"points"`
	DistanceM float64    `json:"distance_m"`
	FirstFix  *time.Time `json:"first_fix"`
	LastFix   *time.Time `json:"last_fix"`
}

func toPatrolJSON(p patrol.Patrol) patrolJSON {
	return patrolJSON{ID: p.ID, DeviceID: p.DeviceID, OfficerID: p.UserID, OrgUnitID: p.OrgUnitID, Mode: p.Mode,
		RouteID: p.RouteID, StartedAt: timePtr(p.StartedAt), EndedAt: timePtr(p.EndedAt),
		Stats: patrolStats{Points: p.Points, DistanceM: p.Distance, FirstFix: timePtr(p.FirstFix), LastFix: timePtr(p.LastFix)}}
}

// scopeOf returns whether a unit lies in the caller's scope.
func scopeOf(c *fiber.Ctx, a *auth.Service) func(string) bool {
	tree, scope := a.OrgTree(), principal(c).OrgUnitID
	return func(unit string) bool { return tree.Within(scope, unit) }
}

// list: GET /v1/patrols → the patrols of the caller's scope (commanders, admins), or his own.
func (h *patrolHandlers) list(c *fiber.Ctx) error {
	all := h.svc.List(principal(c), scopeOf(c, h.auth))
	p, err := paginate(c, all, func(x patrol.Patrol) string { return x.ID })
	if err != nil {
		return err
	}
	return c.JSON(page[patrolJSON]{Items: mapSlice(p.Items, toPatrolJSON), NextCursor: p.NextCursor})
}

// get: GET /v1/patrols/{id}.
func (h *patrolHandlers) get(c *fiber.Ctx) error {
	p, err := h.svc.Get(principal(c), scopeOf(c, h.auth), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(toPatrolJSON(p))
}
