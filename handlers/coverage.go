package handlers

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/coverage"
	"github.com/beatgrid/beatgrid/geo"
	"github.com/beatgrid/beatgrid/patrol"
	"github.com/gofiber/fiber/v2"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// Bounds of the coverage queries.
const (
	maxTileZoom     = 22
	maxBBoxCells    = 20000 // cells one /v1/coverage/cells answer may hold
	maxSuggestCells = 200
	defaultSLA      = 4 * time.Hour
	maxSLA          = 90 * 24 * time.Hour
	liveWithin      = 15 * time.Minute // a unit whose last fix is older is not live
	// tileDetail is how many zoom levels finer than a tile its cells may be: a tile shows at
	// most 2^4 × 2^4 = 256 cells, as a zoom-14 tile does of zoom-18 cells (≤ 10 KB gzipped).
	tileDetail = 4
)

type coverageHandlers struct {
	ledger  *coverage.Ledger
	auth    *auth.Service
	patrols *patrol.Service
}

// registerCoverage adds the commanders' coverage routes.
func registerCoverage(app *fiber.App, authed fiber.Handler, d Deps) {
	h := &coverageHandlers{ledger: d.Coverage, auth: d.Auth, patrols: d.Patrols}
	app.Get("/v1/coverage/tiles/:z/:x/:y.mvt", authed, h.tile)
	app.Get("/v1/coverage/cells", authed, h.cells)
	app.Get("/v1/coverage/beats", authed, h.beats)
	app.Get("/v1/coverage/gaps", authed, h.gaps)
	app.Get("/v1/coverage/suggest", authed, h.suggest)
	app.Get("/v1/live/units", authed, h.live)
}

func requireCommander(c *fiber.Ctx) error {
	if !principal(c).HasRole(beatgrid.RoleCommander, beatgrid.RoleAdmin) {
		return beatgrid.Errorf(beatgrid.EFORBIDDEN, "This needs the role commander or admin.")
	}
	return nil
}

// filter reads from, to and mode. Tiles and cells show the patrols of the caller's scope;
// beats, gaps and suggestions count every patrol that crossed a beat of his scope.
func (h *coverageHandlers) filter(c *fiber.Ctx, scoped bool) (coverage.Filter, error) {
	var f coverage.Filter
	for _, q := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := c.Query(q.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, beatgrid.FieldErrorf(q.name, "an RFC 3339 time, e.g. 2026-11-25T00:00:00Z")
			}
			*q.dst = t
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, beatgrid.FieldErrorf("to", "must be after from")
	}
	if v := c.Query("mode"); v != "" {
		for _, m := range strings.Split(v, ",") {
			bit := coverage.ModeBit(m)
			if bit == 0 {
				return f, beatgrid.FieldErrorf("mode", "modes are foot, vehicle, video, drone, kiosk (comma-separated)")
			}
			f.Modes |= bit
		}
	}
	if scoped {
		f.In = scopeOf(c, h.auth)
	}
	return f, nil
}

// tile: GET /v1/coverage/tiles/{z}/{x}/{y}.mvt → the cells of the tile as a Mapbox Vector
// Tile (layer "coverage"), gzipped when the client takes it, with an ETag.
func (h *coverageHandlers) tile(c *fiber.Ctx) error {
	if err := requireCommander(c); err != nil {
		return err
	}
	t, err := parseTile(c.Params("z"), c.Params("x"), c.Params("y"))
	if err != nil {
		return err
	}
	f, err := h.filter(c, true)
	if err != nil {
		return err
	}
	etag := h.etag(c)
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderCacheControl, "private, no-cache")
	c.Set(fiber.HeaderVary, "Accept-Encoding, Authorization")
	if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && strings.Contains(match, etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	cells := h.ledger.Tile(t, f)
	if z := min(h.ledger.Zoom(), t.Z+tileDetail); z < h.ledger.Zoom() {
		cells = geo.AggregateCells(cells, z)
	}
	b, err := geo.EncodeTile(t, cells, 0)
	if err != nil {
		return fmt.Errorf("handlers: encode tile %v: %w", t, err)
	}
	c.Set(fiber.HeaderContentType, "application/vnd.mapbox-vector-tile")
	if strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		_, _ = zw.Write(b)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("handlers: gzip tile: %w", err)
		}
		c.Set(fiber.HeaderContentEncoding, "gzip")
		b = buf.Bytes()
	}
	return c.Send(b)
}

// etag names what a tile answer depends on: the ledger's state, the caller's scope, the
// path and the query.
func (h *coverageHandlers) etag(c *fiber.Ctx) string {
	hs := fnv.New64a()
	fmt.Fprintf(hs, "%s\n%s\n%s", principal(c).OrgUnitID, c.Path(), c.Context().QueryArgs().String())
	return fmt.Sprintf(`"%d-%x"`, h.ledger.Gen(), hs.Sum64())
}

func parseTile(zs, xs, ys string) (geo.Tile, error) {
	z, err := strconv.Atoi(zs)
	if err != nil || z < 0 || z > maxTileZoom {
		return geo.Tile{}, beatgrid.FieldErrorf("z", "a zoom from 0 to %d", maxTileZoom)
	}
	n := 1 << z
	x, err := strconv.Atoi(xs)
	if err != nil || x < 0 || x >= n {
		return geo.Tile{}, beatgrid.FieldErrorf("x", "a column from 0 to %d at zoom %d", n-1, z)
	}
	y, err := strconv.Atoi(ys)
	if err != nil || y < 0 || y >= n {
		return geo.Tile{}, beatgrid.FieldErrorf("y", "a row from 0 to %d at zoom %d", n-1, z)
	}
	return geo.Tile{X: uint32(x), Y: uint32(y), Z: z}, nil
}

// cellFeature is a cell as GeoJSON: its square, its key and its coverage.
func cellFeature(st geo.CellStat) *geojson.Feature {
	f := geojson.NewFeature(st.Cell.Polygon())
	f.ID = strconv.FormatUint(uint64(st.Cell), 10)
	f.Properties = geojson.Properties{"cell": f.ID, "visits": st.Visits, "last_visit": timePtr(st.LastVisit),
		"modes": append([]string{}, st.Modes...)}
	return f
}

func sendGeoJSON(c *fiber.Ctx, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("handlers: encode GeoJSON: %w", err)
	}
	c.Set(fiber.HeaderContentType, "application/geo+json")
	return c.Send(b)
}

// cells: GET /v1/coverage/cells?bbox=minLon,minLat,maxLon,maxLat → the covered cells whose
// centre lies in the box, as GeoJSON polygons.
func (h *coverageHandlers) cells(c *fiber.Ctx) error {
	if err := requireCommander(c); err != nil {
		return err
	}
	b, err := parseBBox(c.Query("bbox"))
	if err != nil {
		return err
	}
	f, err := h.filter(c, true)
	if err != nil {
		return err
	}
	stats, ok := h.ledger.Bound(b, f, maxBBoxCells)
	if !ok {
		return beatgrid.FieldErrorf("bbox", "more than %d covered cells in the box: ask for a smaller one, or use the tiles", maxBBoxCells)
	}
	fc := geojson.NewFeatureCollection()
	for _, st := range stats {
		fc.Append(cellFeature(st))
	}
	return sendGeoJSON(c, fc)
}

func parseBBox(s string) (orb.Bound, error) {
	parts := strings.Split(s, ",")
	if s == "" || len(parts) != 4 {
		return orb.Bound{}, beatgrid.FieldErrorf("bbox", "required: minLon,minLat,maxLon,maxLat")
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return orb.Bound{}, beatgrid.FieldErrorf("bbox", "value %d is not a number", i+1)
		}
		v[i] = f
	}
	b := orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}
	switch {
	case v[0] < -180 || v[2] > 180 || v[1] < -85.05 || v[3] > 85.05:
		return b, beatgrid.FieldErrorf("bbox", "outside -180..180, -85.05..85.05")
	case v[0] > v[2] || v[1] > v[3]:
		return b, beatgrid.FieldErrorf("bbox", "min must not exceed max")
	case (v[2]-v[0])*(v[3]-v[1]) > 4:
		return b, beatgrid.FieldErrorf("bbox", "larger than 4 square degrees: use the tiles")
	}
	return b, nil
}

// beatCoverageJSON is one beat's coverage.
type beatCoverageJSON struct {
	BeatID    string         `json:"beat_id"`
	Name      string         `json:"name"`
	OrgUnitID string         `json:"org_unit_id"`
	Cells     int            `json:"cells"`
	Covered   int            `json:"covered"`
	Percent   float64        `json:"percent"`
	ByMode    map[string]int `json:"by_mode"`
	ByHour    [24]int        `json:"by_hour"`
}

// beats: GET /v1/coverage/beats?org_unit_id=&from=&to=&mode= → per beat below the unit (the
// caller's own when absent): its cells, how many are covered, the percent, by mode and by
// hour of the day (UTC).
func (h *coverageHandlers) beats(c *fiber.Ctx) error {
	if err := requireCommander(c); err != nil {
		return err
	}
	p := principal(c)
	under := c.Query("org_unit_id", p.OrgUnitID)
	if _, err := h.auth.OrgUnit(p, under); err != nil {
		return beatgrid.FieldErrorf("org_unit_id", "no such org unit in your scope")
	}
	f, err := h.filter(c, false)
	if err != nil {
		return err
	}
	tree := h.auth.OrgTree()
	var out []beatCoverageJSON
	for _, b := range h.auth.Beats(p) {
		if !tree.Within(under, b.ID) {
			continue
		}
		s := h.ledger.Summarize(beatCells(b), f)
		out = append(out, beatCoverageJSON{BeatID: b.ID, Name: b.Name, OrgUnitID: b.ParentID, Cells: s.Cells,
			Covered: s.Covered, Percent: math.Round(s.Percent*10) / 10, ByMode: s.ByMode, ByHour: s.ByHour})
	}
	pg, err := paginate(c, out, func(b beatCoverageJSON) string { return b.BeatID })
	if err != nil {
		return err
	}
	return c.JSON(pg)
}

func beatCells(u *beatgrid.OrgUnit) []geo.Cell {
	out := make([]geo.Cell, len(u.Cells))
	for i, k := range u.Cells {
		out[i] = geo.Cell(k)
	}
	return out
}

// beatParam reads ?beat_id= and returns the beat if it is in the caller's scope.
func (h *coverageHandlers) beatParam(c *fiber.Ctx) (*beatgrid.OrgUnit, error) {
	id := c.Query("beat_id")
	if id == "" {
		return nil, beatgrid.FieldErrorf("beat_id", "required")
	}
	b, err := h.auth.Beat(principal(c), id)
	if err != nil {
		return nil, beatgrid.FieldErrorf("beat_id", "no such beat in your scope")
	}
	return b, nil
}

// gaps: GET /v1/coverage/gaps?beat_id=&sla=4h → the beat's cells not visited within the SLA
// (never visited ones first, then the stalest), as GeoJSON polygons.
func (h *coverageHandlers) gaps(c *fiber.Ctx) error {
	if err := requireCommander(c); err != nil {
		return err
	}
	b, err := h.beatParam(c)
	if err != nil {
		return err
	}
	sla := defaultSLA
	if v := c.Query("sla"); v != "" {
		if sla, err = time.ParseDuration(v); err != nil || sla < time.Minute || sla > maxSLA {
			return beatgrid.FieldErrorf("sla", "a duration from 1m to 2160h, e.g. 4h")
		}
	}
	f, err := h.filter(c, false)
	if err != nil {
		return err
	}
	now := h.auth.Now()
	gaps := h.ledger.Gaps(beatCells(b), now.Add(-sla), f)
	fc := geojson.NewFeatureCollection()
	for _, g := range gaps {
		fc.Append(cellFeature(geo.CellStat{Cell: g.Cell, LastVisit: g.LastVisit}))
	}
	fc.ExtraMembers = geojson.Properties{"beat_id": b.ID, "sla": sla.String(), "as_of": now,
		"cells": len(b.Cells), "gaps": len(gaps)}
	return sendGeoJSON(c, fc)
}

// suggest: GET /v1/coverage/suggest?beat_id=&cells= → a route through the centres of the
// beat's stalest cells (never visited first), nearest next each time.
func (h *coverageHandlers) suggest(c *fiber.Ctx) error {
	if err := requireCommander(c); err != nil {
		return err
	}
	b, err := h.beatParam(c)
	if err != nil {
		return err
	}
	n := 20
	if v := c.Query("cells"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > maxSuggestCells {
			return beatgrid.FieldErrorf("cells", "a number from 1 to %d", maxSuggestCells)
		}
	}
	f, err := h.filter(c, false)
	if err != nil {
		return err
	}
	line, order := h.ledger.Suggest(beatCells(b), n, f)
	keys := make([]string, len(order))
	last := make([]*time.Time, len(order))
	for i, g := range order {
		keys[i], last[i] = strconv.FormatUint(uint64(g.Cell), 10), timePtr(g.LastVisit)
	}
	var g orb.Geometry = line
	if len(line) == 1 {
		g = line[0] // one cell: a point to go to
	}
	feat := geojson.NewFeature(g)
	if len(line) == 0 {
		feat.Geometry = nil
	}
	feat.Properties = geojson.Properties{"beat_id": b.ID, "cells": keys, "last_visits": last,
		"length_m": math.Round(lineLength(line))}
	return sendGeoJSON(c, feat)
}

func lineLength(ls orb.LineString) float64 {
	var d float64
	for i := 1; i < len(ls); i++ {
		d += geo.Distance(ls[i-1], ls[i])
	}
	return d
}

type liveUnitJSON struct {
	PatrolID  string    `json:"patrol_id"`
	DeviceID  string    `json:"device_id"`
	OfficerID string    `json:"officer_id"`
	OrgUnitID string    `json:"org_unit_id"`
	Mode      string    `json:"mode,omitempty"`
	Lon       float64   `json:"lon"`
	Lat       float64   `json:"lat"`
	At        time.Time `json:"t"`
}

// live: GET /v1/live/units → the latest position of each patrol in the caller's scope that
// has not ended and reported within 15 minutes.
func (h *coverageHandlers) live(c *fiber.Ctx) error {
	if err := requireCommander(c); err != nil {
		return err
	}
	units := h.patrols.Live(principal(c), scopeOf(c, h.auth), h.auth.Now().Add(-liveWithin))
	out := make([]liveUnitJSON, len(units))
	for i, u := range units {
		out[i] = liveUnitJSON{PatrolID: u.PatrolID, DeviceID: u.DeviceID, OfficerID: u.UserID, OrgUnitID: u.OrgUnitID,
			Mode: u.Mode, Lon: u.At.Point[0], Lat: u.At.Point[1], At: u.At.T}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"items": out, "as_of": h.auth.Now()})
}
