package handlers

import (
	"slices"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/beatgrid/beatgrid/inspect"
	"github.com/gofiber/fiber/v2"
)

type taskHandlers struct {
	svc   *inspect.Service
	users *auth.Service
}

var taskStatuses = []string{beatgrid.TaskDispatched, beatgrid.TaskFeedback, beatgrid.TaskVerified, beatgrid.TaskSentBack}

func registerTasks(app *fiber.App, authed fiber.Handler, s *inspect.Service, users *auth.Service) {
	h := &taskHandlers{svc: s, users: users}
	app.Get("/v1/tasks", authed, h.list)
	app.Post("/v1/tasks", authed, h.create)
	app.Get("/v1/tasks/:id", authed, h.get)
	app.Post("/v1/tasks/:id/verify", authed, h.verify)
}

// list: GET /v1/tasks?status= → the tasks in the caller's scope.
func (h *taskHandlers) list(c *fiber.Ctx) error {
	status := c.Query("status")
	if status != "" && !slices.Contains(taskStatuses, status) {
		return beatgrid.FieldErrorf("status", "one of %v", taskStatuses)
	}
	p, err := paginate(c, h.svc.Tasks(principal(c), status), func(x beatgrid.Task) string { return x.ID })
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// get: GET /v1/tasks/{id} → the task with its history.
func (h *taskHandlers) get(c *fiber.Ctx) error {
	t, err := h.svc.Task(principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

type taskBody struct {
	Kind       string     `json:"kind"`
	Target     string     `json:"target"`
	OrgUnitID  string     `json:"org_unit_id"`
	AssigneeID string     `json:"assignee_id"`
	Due        *time.Time `json:"due"`
	Note       string     `json:"note"`
}

// create: POST /v1/tasks {kind, target, org_unit_id?, assignee_id?, due?, note?} → 201.
func (h *taskHandlers) create(c *fiber.Ctx) error {
	var in taskBody
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	p := principal(c)
	d := inspect.Dispatch{Kind: in.Kind, Target: in.Target, OrgUnitID: in.OrgUnitID, AssigneeID: in.AssigneeID,
		Due: in.Due, Note: in.Note}
	if in.AssigneeID != "" && p.HasRole(beatgrid.RoleCommander, beatgrid.RoleAdmin) {
		u, err := h.users.User(p, in.AssigneeID)
		if err != nil || u.Disabled {
			return beatgrid.FieldErrorf("/assignee_id", "no such user in your scope")
		}
		d.AssigneeUnit = u.OrgUnitID
	}
	t, err := h.svc.DispatchTask(c.UserContext(), p, d)
	if err != nil {
		return err
	}
	c.Location("/v1/tasks/" + t.ID)
	return c.Status(fiber.StatusCreated).JSON(t)
}

type verifyBody struct {
	Accept *bool  `json:"accept"`
	Note   string `json:"note"`
}

// verify: POST /v1/tasks/{id}/verify {accept, note?} → verified, or sent back to the terminal.
func (h *taskHandlers) verify(c *fiber.Ctx) error {
	var in verifyBody
	if err := decodeJSON(c, &in, jsonLimit); err != nil {
		return err
	}
	if in.Accept == nil {
		return beatgrid.FieldErrorf("/accept", "required: true or false")
	}
	t, err := h.svc.VerifyTask(c.UserContext(), principal(c), c.Params("id"), *in.Accept, in.Note)
	if err != nil {
		return err
	}
	return c.JSON(t)
}
