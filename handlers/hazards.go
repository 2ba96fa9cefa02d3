package handlers

import (
	"bytes"
	"fmt"
	"html/template"
	"slices"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/inspect"
	"github.com/gofiber/fiber/v2"
)

type hazardHandlers struct{ svc *inspect.Service }

var hazardStatuses = []string{beatgrid.HazardOpen, beatgrid.HazardNotified, beatgrid.HazardRectifying,
	beatgrid.HazardReinspected, beatgrid.HazardClosed, beatgrid.HazardOverdue}

func registerHazards(app *fiber.App, authed fiber.Handler, s *inspect.Service) {
	h := &hazardHandlers{svc: s}
	app.Get("/v1/hazards", authed, h.list)
	app.Get("/v1/hazards/:id", authed, h.get)
	app.Post("/v1/hazards/:id/notice", authed, h.notice)
	app.Get("/v1/hazards/:id/notice.html", authed, h.noticeHTML)
	app.Post("/v1/hazards/:id/rectify", authed, h.rectify)
	app.Post("/v1/hazards/:id/reinspect", authed, h.reinspect)
	app.Post("/v1/hazards/:id/close", authed, h.close)
}

// list: GET /v1/hazards?status= → the hazards in the caller's scope; overdue is a status filter.
func (h *hazardHandlers) list(c *fiber.Ctx) error {
	status := c.Query("status")
	if status != "" && !slices.Contains(hazardStatuses, status) {
		return beatgrid.FieldErrorf("status", "one of %v", hazardStatuses)
	}
	p, err := paginate(c, h.svc.Hazards(principal(c), status), func(x beatgrid.Hazard) string { return x.ID })
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// get: GET /v1/hazards/{id} → the hazard with its whole history, superseded events included.
func (h *hazardHandlers) get(c *fiber.Ctx) error {
	hz, err := h.svc.Hazard(principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(hz)
}

type noticeBody struct {
	Deadline *time.Time `json:"deadline"`
	Note     string     `json:"note"`
}

// notice: POST /v1/hazards/{id}/notice {deadline?, note?} → the hazard, notified.
func (h *hazardHandlers) notice(c *fiber.Ctx) error {
	var in noticeBody
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	hz, err := h.svc.IssueNotice(c.UserContext(), principal(c), c.Params("id"), inspect.NoticeRequest{Deadline: in.Deadline, Note: in.Note})
	if err != nil {
		return err
	}
	return c.JSON(hz)
}

type rectifyBody struct {
	Action string   `json:"action"`
	Note   string   `json:"note"`
	Photos []string `json:"photos"`
}

// rectify: POST /v1/hazards/{id}/rectify {action, note?, photos?}.
func (h *hazardHandlers) rectify(c *fiber.Ctx) error {
	var in rectifyBody
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	hz, err := h.svc.Rectify(c.UserContext(), principal(c), c.Params("id"), in.Action, in.Note, in.Photos)
	if err != nil {
		return err
	}
	return c.JSON(hz)
}

type reinspectBody struct {
	Pass   *bool    `json:"pass"`
	Note   string   `json:"note"`
	Photos []string `json:"photos"`
}

// reinspect: POST /v1/hazards/{id}/reinspect {pass, note?, photos?}.
func (h *hazardHandlers) reinspect(c *fiber.Ctx) error {
	var in reinspectBody
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	if in.Pass == nil {
		return beatgrid.FieldErrorf("/pass", "required: true or false")
	}
	hz, err := h.svc.Reinspect(c.UserContext(), principal(c), c.Params("id"), *in.Pass, in.Note, in.Photos)
	if err != nil {
		return err
	}
	return c.JSON(hz)
}

type closeBody struct {
	Note string `json:"note"`
}

// close: POST /v1/hazards/{id}/close {note?}.
func (h *hazardHandlers) close(c *fiber.Ctx) error {
	var in closeBody
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	hz, err := h.svc.Close(c.UserContext(), principal(c), c.Params("id"), in.Note)
	if err != nil {
		return err
	}
	return c.JSON(hz)
}

var noticePage = template.Must(template.New("notice").Parse(`<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>整改通知书 {{.Notice.Number}}</title>
<style>body{font-family:serif;max-width:40em;margin:2em auto}h1{text-align:center}td{padding:.3em .6em;vertical-align:top}
@media print{button{display:none}}</style></head>
<body><h1>整改通知书<br><small>Rectification notice</small></h1>
<p style="text-align:right">No. {{.Notice.Number}}</p>
<table>
<tr><td>Venue</td><td>{{if .Venue}}{{.Venue.Name}}, {{.Venue.Address}}{{else}}{{.Hazard.VenueID}}{{end}}</td></tr>
{{if .Venue}}<tr><td>Owner</td><td>{{.Venue.OwnerContact}}</td></tr>{{end}}
<tr><td>Hazard</td><td>{{.Hazard.Description}} ({{.Hazard.Severity}})</td></tr>
<tr><td>Found</td><td>{{.Hazard.ReportedAt.Format "2006-01-02 15:04 MST"}}</td></tr>
<tr><td>Issued</td><td>{{.Notice.IssuedAt.Format "2006-01-02 15:04 MST"}}</td></tr>
<tr><td>Rectify by</td><td><strong>{{.Notice.Deadline.Format "2006-01-02 15:04 MST"}}</strong></td></tr>
{{if .Notice.Note}}<tr><td>Note</td><td>{{.Notice.Note}}</td></tr>{{end}}
<tr><td>Status</td><td>{{.Hazard.Status}}</td></tr>
</table>
<p>The hazard above must be rectified by the deadline; it will then be re-inspected.</p>
<p>Signed: ____________ &nbsp; Received: ____________</p>
<button onclick="window.print()">Print</button></body></html>
`))

// noticeHTML: GET /v1/hazards/{id}/notice.html → the notice, printable; 404 before one is issued.
func (h *hazardHandlers) noticeHTML(c *fiber.Ctx) error {
	p := principal(c)
	hz, err := h.svc.Hazard(p, c.Params("id"))
	if err != nil {
		return err
	}
	if hz.Notice == nil {
		return beatgrid.Errorf(beatgrid.ENOTFOUND, "No notice was issued for this hazard.")
	}
	data := struct {
		Hazard beatgrid.Hazard
		Notice *beatgrid.Notice
		Venue  *beatgrid.Venue
	}{Hazard: hz, Notice: hz.Notice}
	if hz.VenueID != "" {
		data.Venue, _ = h.svc.Venue(p, hz.VenueID)
	}
	var b bytes.Buffer
	if err := noticePage.Execute(&b, data); err != nil {
		return fmt.Errorf("handlers: notice page: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(b.Bytes())
}
