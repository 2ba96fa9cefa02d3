package handlers

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // report days are local days: the zone database must be there on any machine

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/report"
	"github.com/gofiber/fiber/v2"
)

// defaultZone is where a report's day starts unless ?tz= says otherwise: the bureaus this
// serves keep China Standard Time.
const defaultZone = "Asia/Shanghai"

// maxReportDays bounds a summary's range.
const maxReportDays = 366

type reportHandlers struct {
	svc *report.Service
}

func registerReports(app *fiber.App, authed fiber.Handler, svc *report.Service) {
	h := &reportHandlers{svc: svc}
	app.Get("/v1/reports/daily", authed, h.daily)
	app.Get("/v1/reports/summary", authed, h.summary)
	app.Get("/v1/alerts", authed, h.alerts)
	app.Post("/v1/alerts/:id/ack", authed, h.ack)
}

func zoneParam(c *fiber.Ctx) (*time.Location, error) {
	loc, err := time.LoadLocation(c.Query("tz", defaultZone))
	if err != nil {
		return nil, beatgrid.FieldErrorf("tz", "an IANA time zone, e.g. Asia/Shanghai or UTC")
	}
	return loc, nil
}

func dayParam(c *fiber.Ctx, name string, loc *time.Location, def time.Time) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		if def.IsZero() {
			return def, beatgrid.FieldErrorf(name, "required: a date, YYYY-MM-DD")
		}
		return def, nil
	}
	t, err := time.ParseInLocation("2006-01-02", v, loc)
	if err != nil {
		return t, beatgrid.FieldErrorf(name, "a date, YYYY-MM-DD")
	}
	return t, nil
}

// daily: GET /v1/reports/daily?date=&org_unit_id=&tz=&format=json|csv → the day's report of
// the unit (the caller's own when absent): its units, officers and beats.
func (h *reportHandlers) daily(c *fiber.Ctx) error {
	if err := requireCommander(c); err != nil {
		return err
	}
	loc, err := zoneParam(c)
	if err != nil {
		return err
	}
	now := h.svc.Auth.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	day, err := dayParam(c, "date", loc, today)
	if err != nil {
		return err
	}
	return h.send(c, day, day.AddDate(0, 0, 1))
}

// summary: GET /v1/reports/summary?from=&to=&org_unit_id=&tz=&format= → a clearance
// operation's report over the days from … to (both included).
func (h *reportHandlers) summary(c *fiber.Ctx) error {
	if err := requireCommander(c); err != nil {
		return err
	}
	loc, err := zoneParam(c)
	if err != nil {
		return err
	}
	from, err := dayParam(c, "from", loc, time.Time{})
	if err != nil {
		return err
	}
	to, err := dayParam(c, "to", loc, time.Time{})
	if err != nil {
		return err
	}
	switch days := int(to.Sub(from).Hours()/24) + 1; {
	case days < 1:
		return beatgrid.FieldErrorf("to", "must not be before from")
	case days > maxReportDays:
		return beatgrid.FieldErrorf("to", "at most %d days after from", maxReportDays)
	}
	return h.send(c, from, to.AddDate(0, 0, 1))
}

func (h *reportHandlers) send(c *fiber.Ctx, from, to time.Time) error {
	format := c.Query("format", "json")
	if format != "json" && format != "csv" {
		return beatgrid.FieldErrorf("format", "json or csv")
	}
	p := principal(c)
	r, err := h.svc.Build(p, c.Query("org_unit_id", p.OrgUnitID), from, to)
	if err != nil {
		return err
	}
	if format == "json" {
		return c.JSON(r)
	}
	b, err := reportCSV(r)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="report-%s.csv"`, from.Format("2006-01-02")))
	return c.Send(b)
}

// reportCSV writes a report as one table: a row per unit, beat and officer, the level first.
func reportCSV(r *report.Report) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("\ufeff") // a BOM, so spreadsheet programs read the Chinese names as UTF-8
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"level", "id", "name", "kind", "parent_id", "patrols", "distance_km", "checkpoints_punched",
		"checkpoints_missed", "inspections", "hazards_found", "hazards_rectified", "hazards_overdue", "cells",
		"covered_cells", "coverage_percent", "from", "to"})
	row := func(level, id, name, kind, parent string, f report.Figures) {
		_ = w.Write([]string{level, id, name, kind, parent, strconv.Itoa(f.Patrols), ftoa(f.DistanceKM),
			strconv.Itoa(f.CheckpointsPunched), strconv.Itoa(f.CheckpointsMissed), strconv.Itoa(f.Inspections),
			strconv.Itoa(f.HazardsFound), strconv.Itoa(f.HazardsRectified), strconv.Itoa(f.HazardsOverdue),
			strconv.Itoa(f.Cells), strconv.Itoa(f.CoveredCells), ftoa(f.CoveragePercent),
			r.From.Format(time.RFC3339), r.To.Format(time.RFC3339)})
	}
	for _, u := range r.Units {
		row("unit", u.OrgUnitID, u.Name, u.Kind, u.ParentID, u.Figures)
	}
	for _, b := range r.Beats {
		row("beat", b.OrgUnitID, b.Name, b.Kind, b.ParentID, b.Figures)
	}
	for _, o := range r.Officers {
		name := o.Name
		if name == "" {
			name = o.Username
		}
		row("officer", o.OfficerID, name, "officer", o.OrgUnitID, o.Figures)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("handlers: report CSV: %w", err)
	}
	return buf.Bytes(), nil
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// alerts: GET /v1/alerts?status=open|all → the alerts of the caller's scope as of now.
func (h *reportHandlers) alerts(c *fiber.Ctx) error {
	if err := requireCommander(c); err != nil {
		return err
	}
	status := c.Query("status", "open")
	if status != "open" && status != "all" {
		return beatgrid.FieldErrorf("status", "open or all")
	}
	all, err := h.svc.Alerts(principal(c), h.svc.Auth.Now(), status == "open")
	if err != nil {
		return err
	}
	p, err := paginate(c, all, func(a report.Alert) string { return a.ID })
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(p)
}

// ack: POST /v1/alerts/{id}/ack {note?} → the alert, acknowledged by the caller; 409 if it
// was before.
func (h *reportHandlers) ack(c *fiber.Ctx) error {
	if err := requireCommander(c); err != nil {
		return err
	}
	var in struct {
		Note string `json:"note"`
	}
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &in, 8<<10); err != nil {
			return err
		}
	}
	id, err := url.PathUnescape(c.Params("id")) // clients may escape the colons of alert ids
	if err != nil {
		return beatgrid.Errorf(beatgrid.ENOTFOUND, "No such alert in your scope.")
	}
	a, err := h.svc.Acknowledge(c.UserContext(), principal(c), strings.Clone(id), in.Note, h.svc.Auth.Now())
	if err != nil {
		return err
	}
	return c.JSON(a)
}
