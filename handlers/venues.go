package handlers

import (
	"strings"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/inspect"
	"github.com/gofiber/fiber/v2"
	"github.com/paulmach/orb"
)

// venueBody is what a venue request may set; absent fields stay.
type venueBody struct {
	placeBody
	Type         *string   `json:"type"`
	Address      *string   `json:"address"`
	OwnerContact *string   `json:"owner_contact"`
	RiskGrade    *string   `json:"risk_grade"`
	RiskReasons  *[]string `json:"risk_reasons"`
}

func decodeVenue(c *fiber.Ctx) (inspect.VenueChange, error) {
	var in venueBody
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return inspect.VenueChange{}, err
	}
	pt, err := in.point()
	return inspect.VenueChange{OrgUnitID: in.OrgUnitID, Name: in.Name, Type: in.Type, Address: in.Address, Point: pt,
		OwnerContact: in.OwnerContact, RiskGrade: in.RiskGrade, RiskReasons: in.RiskReasons}, err
}

// venueAPI is the place API of venues, whose list also filters by ?type=.
func venueAPI(s *inspect.Service, typ string) *placeAPI[*beatgrid.Venue, inspect.VenueChange] {
	return &placeAPI[*beatgrid.Venue, inspect.VenueChange]{base: "/v1/venues",
		list: func(p *beatgrid.Principal) []*beatgrid.Venue { return s.Venues(p, typ) },
		get:  s.Venue, create: s.CreateVenue, update: s.UpdateVenue, remove: s.DeleteVenue, decode: decodeVenue,
		toJSON: func(v *beatgrid.Venue) any { return v }, id: func(v *beatgrid.Venue) string { return v.ID },
		geometry: func(v *beatgrid.Venue) orb.Geometry { return v.Point }}
}

// registerInspect adds the routes of venues, checklists, inspections, hazards and tasks.
func registerInspect(app *fiber.App, authed fiber.Handler, s *inspect.Service, users *auth.Service) {
	a := venueAPI(s, "")
	app.Get(a.base, authed, func(c *fiber.Ctx) error { // GET /v1/venues?type=&format=&cursor=&limit=
		typ := c.Query("type")
		if typ != "" && !beatgrid.ValidVenueType(typ) {
			return beatgrid.FieldErrorf("type", "one of %s", strings.Join(beatgrid.VenueTypes, ", "))
		}
		return venueAPI(s, strings.Clone(typ)).listHandler(c)
	})
	app.Post(a.base, authed, a.createHandler)
	app.Get(a.base+"/:id", authed, a.getHandler)
	app.Patch(a.base+"/:id", authed, a.updateHandler)
	app.Delete(a.base+"/:id", authed, a.deleteHandler)

	registerChecklists(app, authed, s)
	registerInspections(app, authed, s)
	registerHazards(app, authed, s)
	registerTasks(app, authed, s, users)
}
