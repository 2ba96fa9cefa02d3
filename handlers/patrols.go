package handlers

import (
	"bytes"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/geo"
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
	Points      int             `json:"points"`
	DistanceM   float64         `json:"distance_m"`
	DurationS   float64         `json:"duration_s"`
	MovingS     float64         `json:"moving_s"`
	AvgSpeedMS  float64         `json:"avg_speed_m_s"`
	MaxSpeedMS  float64         `json:"max_speed_m_s"`
	FirstFix    *time.Time      `json:"first_fix"`
	LastFix     *time.Time      `json:"last_fix"`
	Filter      filterJSON      `json:"filter"`
	Adherence   *adherenceJSON  `json:"adherence"`
	Checkpoints checkpointStats `json:"checkpoints"`
}

// filterJSON counts what the fix filter of the patrol's mode did.
type filterJSON struct {
	Kept       int `json:"kept"`
	Rejected   int `json:"rejected"`
	Invalid    int `json:"invalid"`
	NoTime     int `json:"no_time"`
	Inaccurate int `json:"inaccurate"`
	OutOfOrder int `json:"out_of_order"`
	DupTime    int `json:"dup_time"`
	Repeat     int `json:"repeat"`
	Teleport   int `json:"teleport"`
}

type adherenceJSON struct {
	RouteLengthM float64 `json:"route_length_m"`
	RouteCovered float64 `json:"route_covered"`
	TrackOff     float64 `json:"track_off"`
}

type checkpointStats struct {
	Punched      int      `json:"punched"`
	Verified     int      `json:"verified"`
	Missed       []string `json:"missed"`
	ChainBreaks  int      `json:"chain_breaks"`
	MockLocation int      `json:"mock_location"`
	ClockSkew    int      `json:"clock_skew"`
}

func toPatrolJSON(p patrol.Patrol) patrolJSON {
	return patrolJSON{ID: p.ID, DeviceID: p.DeviceID, OfficerID: p.UserID, OrgUnitID: p.OrgUnitID, Mode: p.Mode,
		RouteID: p.RouteID, StartedAt: timePtr(p.StartedAt), EndedAt: timePtr(p.EndedAt),
		Stats: patrolStats{Points: p.Points, DistanceM: p.Distance, DurationS: p.Track.Duration.Seconds(),
			MovingS: p.Track.Moving.Seconds(), AvgSpeedMS: p.Track.AvgSpeed, MaxSpeedMS: p.Track.MaxSpeed,
			FirstFix: timePtr(p.FirstFix), LastFix: timePtr(p.LastFix),
			Filter: filterJSON{Kept: p.Filter.Kept, Rejected: p.Filter.Rejected(), Invalid: p.Filter.Invalid,
				NoTime: p.Filter.NoTime, Inaccurate: p.Filter.Inaccurate, OutOfOrder: p.Filter.OutOfOrder,
				DupTime: p.Filter.DupTime, Repeat: p.Filter.Repeat, Teleport: p.Filter.Teleport},
			Adherence: toAdherenceJSON(p.Adherence),
			Checkpoints: checkpointStats{Punched: p.Punches.Punched, Verified: p.Punches.Verified,
				Missed: append([]string{}, p.Punches.Missed...), ChainBreaks: p.Punches.ChainBreaks,
				MockLocation: p.Punches.MockLocation, ClockSkew: p.Punches.ClockSkew}}}
}

func toAdherenceJSON(a *geo.Adherence) *adherenceJSON {
	if a == nil {
		return nil
	}
	return &adherenceJSON{RouteLengthM: a.RouteLength, RouteCovered: a.RouteCovered, TrackOff: a.TrackOff}
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

// track: GET /v1/patrols/{id}/track?format=geojson|gpx|csv → the patrol's fixes in time order:
// a GeoJSON LineString Feature (the default), a GPX 1.1 track, or CSV.
func (h *patrolHandlers) track(c *fiber.Ctx) error {
	fixes, err := h.svc.Track(principal(c), scopeOf(c, h.auth), c.Params("id"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	name := "patrol " + c.Params("id")
	switch format := c.Query("format", "geojson"); format {
	case "geojson":
		c.Set(fiber.HeaderContentType, "application/geo+json")
		err = geo.WriteGeoJSON(&buf, name, fixes)
	case "gpx":
		c.Set(fiber.HeaderContentType, "application/gpx+xml")
		err = geo.WriteGPX(&buf, name, fixes)
	case "csv":
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		err = geo.WriteCSV(&buf, fixes)
	default:
		return beatgrid.FieldErrorf("format", "one of geojson, gpx, csv")
	}
	if err != nil {
		return err
	}
	return c.Send(buf.Bytes())
}
