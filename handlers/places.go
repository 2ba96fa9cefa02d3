package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/patrol"
	"github.com/gofiber/fiber/v2"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// placeLimit bounds the body of a place request (a route may have 10,000 vertices).
const placeLimit = 2 << 20

// placeJSON is what every place shows.
type placeJSON struct {
	ID        string            `json:"id"`
	OrgUnitID string            `json:"org_unit_id"`
	Name      string            `json:"name"`
	Geometry  *geojson.Geometry `json:"geometry"`
	Version   int64             `json:"version"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func toPlaceJSON(p *beatgrid.Place, g orb.Geometry) placeJSON {
	return placeJSON{ID: p.ID, OrgUnitID: p.OrgUnitID, Name: p.Name, Geometry: geojson.NewGeometry(g),
		Version: p.Version, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

type routeJSON struct {
	placeJSON
	CheckpointIDs []string `json:"checkpoint_ids"`
}

func toRouteJSON(r *beatgrid.Route) routeJSON {
	ids := r.CheckpointIDs
	if ids == nil {
		ids = []string{}
	}
	return routeJSON{placeJSON: toPlaceJSON(&r.Place, r.Line), CheckpointIDs: ids}
}

type checkpointJSON struct {
	placeJSON
	RadiusM float64 `json:"radius_m"`
	Tag     string  `json:"tag"`
}

func toCheckpointJSON(c *beatgrid.Checkpoint) checkpointJSON {
	return checkpointJSON{placeJSON: toPlaceJSON(&c.Place, c.Point), RadiusM: c.RadiusM, Tag: c.Tag}
}

type kioskJSON struct {
	placeJSON
	Segments *geojson.Geometry `json:"segments"`
}

func toKioskJSON(k *beatgrid.Kiosk) kioskJSON {
	return kioskJSON{placeJSON: toPlaceJSON(&k.Place, k.Point), Segments: geojson.NewGeometry(k.Segments)}
}

// placeBody is what every place request may set; absent fields stay.
type placeBody struct {
	OrgUnitID *string         `json:"org_unit_id"`
	Name      *string         `json:"name"`
	Geometry  json.RawMessage `json:"geometry"`
}

func (b *placeBody) change() patrol.PlaceChange {
	return patrol.PlaceChange{OrgUnitID: b.OrgUnitID, Name: b.Name}
}

// point reads the body's geometry as a Point; nil when absent.
func (b *placeBody) point() (*orb.Point, error) {
	g, err := parseGeometry(b.Geometry, "/geometry", "Point")
	if g == nil || err != nil {
		return nil, err
	}
	pt := g.(orb.Point)
	return &pt, nil
}

type routeBody struct {
	placeBody
	CheckpointIDs *[]string `json:"checkpoint_ids"`
}

type checkpointBody struct {
	placeBody
	RadiusM *float64 `json:"radius_m"`
	Tag     *string  `json:"tag"`
}

type kioskBody struct {
	placeBody
	Segments json.RawMessage `json:"segments"`
}

func decodeRoute(c *fiber.Ctx) (patrol.RouteChange, error) {
	var in routeBody
	if err := decodeJSON(c, &in, placeLimit); err != nil {
		return patrol.RouteChange{}, err
	}
	g, err := parseGeometry(in.Geometry, "/geometry", "LineString")
	if err != nil {
		return patrol.RouteChange{}, err
	}
	ch := patrol.RouteChange{PlaceChange: in.change(), CheckpointIDs: in.CheckpointIDs}
	if g != nil {
		ch.Line = g.(orb.LineString)
	}
	return ch, nil
}

func decodeCheckpoint(c *fiber.Ctx) (patrol.CheckpointChange, error) {
	var in checkpointBody
	if err := decodeJSON(c, &in, placeLimit); err != nil {
		return patrol.CheckpointChange{}, err
	}
	pt, err := in.point()
	return patrol.CheckpointChange{PlaceChange: in.change(), Point: pt, RadiusM: in.RadiusM, Tag: in.Tag}, err
}

func decodeKiosk(c *fiber.Ctx) (patrol.KioskChange, error) {
	var in kioskBody
	if err := decodeJSON(c, &in, placeLimit); err != nil {
		return patrol.KioskChange{}, err
	}
	pt, err := in.point()
	if err != nil {
		return patrol.KioskChange{}, err
	}
	g, err := parseGeometry(in.Segments, "/segments", "MultiLineString")
	if err != nil {
		return patrol.KioskChange{}, err
	}
	ch := patrol.KioskChange{PlaceChange: in.change(), Point: pt}
	if g != nil {
		ch.Segments = g.(orb.MultiLineString)
	}
	return ch, nil
}

// placeAPI serves one kind of place: T is the record, C its change.
type placeAPI[T any, C any] struct {
	base     string // the collection's path, "/v1/routes"
	list     func(*beatgrid.Principal) []T
	get      func(*beatgrid.Principal, string) (T, error)
	create   func(context.Context, *beatgrid.Principal, C) (T, error)
	update   func(context.Context, *beatgrid.Principal, string, C) (T, error)
	remove   func(context.Context, *beatgrid.Principal, string) error
	decode   func(*fiber.Ctx) (C, error)
	toJSON   func(T) any
	id       func(T) string
	geometry func(T) orb.Geometry
}

// register adds the collection's routes: list, create, get, update, delete.
func (a *placeAPI[T, C]) register(app *fiber.App, authed fiber.Handler) {
	app.Get(a.base, authed, a.listHandler)
	app.Post(a.base, authed, a.createHandler)
	app.Get(a.base+"/:id", authed, a.getHandler)
	app.Patch(a.base+"/:id", authed, a.updateHandler)
	app.Delete(a.base+"/:id", authed, a.deleteHandler)
}

// listHandler: GET {base}?cursor=&limit=&format= → a page of the places in the caller's
// scope, as {items, next_cursor} or (format=geojson) a FeatureCollection.
func (a *placeAPI[T, C]) listHandler(c *fiber.Ctx) error {
	format := c.Query("format")
	if format != "" && format != "json" && format != "geojson" {
		return beatgrid.FieldErrorf("format", "json or geojson")
	}
	p, err := paginate(c, a.list(principal(c)), a.id)
	if err != nil {
		return err
	}
	if format == "geojson" {
		return a.featureCollection(c, p)
	}
	return c.JSON(page[any]{Items: mapSlice(p.Items, a.toJSON), NextCursor: p.NextCursor})
}

// featureCollection answers a page as GeoJSON: each place a Feature whose properties are its
// JSON fields but the geometry; next_cursor is a foreign member.
func (a *placeAPI[T, C]) featureCollection(c *fiber.Ctx, p *page[T]) error {
	fc := geojson.NewFeatureCollection()
	for _, x := range p.Items {
		f, err := a.feature(x)
		if err != nil {
			return err
		}
		fc.Append(f)
	}
	fc.ExtraMembers = geojson.Properties{"next_cursor": p.NextCursor}
	b, err := json.Marshal(fc)
	if err != nil {
		return fmt.Errorf("handlers: encode %s as GeoJSON: %w", a.base, err)
	}
	c.Set(fiber.HeaderContentType, "application/geo+json")
	return c.Send(b)
}

func (a *placeAPI[T, C]) feature(x T) (*geojson.Feature, error) {
	b, err := json.Marshal(a.toJSON(x))
	if err != nil {
		return nil, fmt.Errorf("handlers: feature of %s: %w", a.id(x), err)
	}
	var props geojson.Properties
	if err := json.Unmarshal(b, &props); err != nil {
		return nil, fmt.Errorf("handlers: feature of %s: %w", a.id(x), err)
	}
	delete(props, "geometry")
	f := geojson.NewFeature(a.geometry(x))
	f.ID, f.Properties = a.id(x), props
	return f, nil
}

// getHandler: GET {base}/{id}.
func (a *placeAPI[T, C]) getHandler(c *fiber.Ctx) error {
	x, err := a.get(principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(a.toJSON(x))
}

// createHandler: POST {base} → 201 with the place and its Location.
func (a *placeAPI[T, C]) createHandler(c *fiber.Ctx) error {
	ch, err := a.decode(c)
	if err != nil {
		return err
	}
	x, err := a.create(c.UserContext(), principal(c), ch)
	if err != nil {
		return err
	}
	c.Location(a.base + "/" + a.id(x))
	return c.Status(fiber.StatusCreated).JSON(a.toJSON(x))
}

// updateHandler: PATCH {base}/{id}; absent fields stay.
func (a *placeAPI[T, C]) updateHandler(c *fiber.Ctx) error {
	ch, err := a.decode(c)
	if err != nil {
		return err
	}
	x, err := a.update(c.UserContext(), principal(c), c.Params("id"), ch)
	if err != nil {
		return err
	}
	return c.JSON(a.toJSON(x))
}

// deleteHandler: DELETE {base}/{id} → 204.
func (a *placeAPI[T, C]) deleteHandler(c *fiber.Ctx) error {
	if err := a.remove(c.UserContext(), principal(c), c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// registerPlaces adds the routes of routes, checkpoints and kiosks.
func registerPlaces(app *fiber.App, authed fiber.Handler, s *patrol.Places) {
	(&placeAPI[*beatgrid.Route, patrol.RouteChange]{base: "/v1/routes", list: s.Routes, get: s.Route,
		create: s.CreateRoute, update: s.UpdateRoute, remove: s.DeleteRoute, decode: decodeRoute,
		toJSON: func(r *beatgrid.Route) any { return toRouteJSON(r) }, id: func(r *beatgrid.Route) string { return r.ID },
		geometry: func(r *beatgrid.Route) orb.Geometry { return r.Line }}).register(app, authed)
	(&placeAPI[*beatgrid.Checkpoint, patrol.CheckpointChange]{base: "/v1/checkpoints", list: s.Checkpoints,
		get: s.Checkpoint, create: s.CreateCheckpoint, update: s.UpdateCheckpoint, remove: s.DeleteCheckpoint,
		decode: decodeCheckpoint, toJSON: func(x *beatgrid.Checkpoint) any { return toCheckpointJSON(x) },
		id: func(x *beatgrid.Checkpoint) string { return x.ID }, geometry: func(x *beatgrid.Checkpoint) orb.Geometry { return x.Point }}).register(app, authed)
	(&placeAPI[*beatgrid.Kiosk, patrol.KioskChange]{base: "/v1/kiosks", list: s.Kiosks, get: s.Kiosk,
		create: s.CreateKiosk, update: s.UpdateKiosk, remove: s.DeleteKiosk, decode: decodeKiosk,
		toJSON: func(k *beatgrid.Kiosk) any { return toKioskJSON(k) }, id: func(k *beatgrid.Kiosk) string { return k.ID },
		geometry: func(k *beatgrid.Kiosk) orb.Geometry { return k.Point }}).register(app, authed)
}
