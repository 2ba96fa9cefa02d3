package handlers

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/gofiber/fiber/v2"
)

// pushLimit bounds a push body (after gzip is inflated).
const pushLimit = 4 << 20

type syncHandlers struct {
	engine *bgsync.Engine
	feed   *bgsync.Feed
	auth   *auth.Service
}

// push: POST /v1/sync/push {device_time, mutations:[…]} → {server_time, results:[…]}. A batch
// over a limit is refused whole (413 for bytes, 422 for counts) with the limits named.
func (h *syncHandlers) push(c *fiber.Ctx) error {
	if n := len(c.Body()); n > pushLimit {
		return h.overLimit(&bgsync.LimitError{Limit: "max_body_bytes", Max: pushLimit, Got: n})
	}
	var req bgsync.PushRequest
	if err := decodePush(c, &req, pushLimit); err != nil {
		return err
	}
	res, err := h.engine.Push(c.UserContext(), principal(c), &req)
	var limit *bgsync.LimitError
	if errors.As(err, &limit) {
		return h.overLimit(limit)
	} else if err != nil {
		return err
	}
	return c.JSON(res)
}

// limitError is a batch refused for a limit; the problem names every limit.
type limitError struct {
	err    *bgsync.LimitError
	limits map[string]int
}

func (e *limitError) Error() string { return e.err.Error() }

func (h *syncHandlers) overLimit(err *bgsync.LimitError) error {
	limits := h.engine.Limits()
	limits["max_body_bytes"] = pushLimit
	return &limitError{err: err, limits: limits}
}

// limitProblem renders a limitError: 413 for bytes, 422 for counts.
func limitProblem(e *limitError) *Problem {
	status := fiber.StatusUnprocessableEntity
	if e.err.Limit == "max_body_bytes" {
		status = fiber.StatusRequestEntityTooLarge
	}
	return &Problem{Type: problemType(beatgrid.ETOOLARGE), Title: "Over a limit", Status: status,
		Detail: "The batch is refused whole: " + e.err.Error() + ". Split it and send again.",
		Errors: []FieldProblem{{Field: "/" + e.err.Limit, Reason: e.err.Error()}}, Limits: e.limits}
}

// pullResponse is one page of changes for the caller's scope.
type pullResponse struct {
	Changes []changeJSON `json:"changes"`
	Cursor  string       `json:"cursor"`
	HasMore bool         `json:"has_more"`
	// Reset tells the terminal to drop what it pulled before: its scope changed, so the
	// changes start again from nothing.
	Reset bool `json:"reset"`
}

type changeJSON struct {
	Collection string `json:"collection"`
	ID         string `json:"id"`
	Op         string `json:"op"`
	Doc        any    `json:"doc,omitempty"`
	Version    int64  `json:"version"`
}

// pull: GET /v1/sync/pull?cursor=&limit= → the changes after the cursor within the caller's
// scope, oldest first; a record that left the scope comes as a delete.
func (h *syncHandlers) pull(c *fiber.Ctx) error {
	p := principal(c)
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	after, reset, err := parsePullCursor(c.Query("cursor"), p.OrgUnitID)
	if err != nil {
		return err
	}
	tree := h.auth.OrgTree()
	in := func(unit string) bool { return tree.Within(p.OrgUnitID, unit) }
	changes, next, more := h.feed.Pull(in, after, limit)
	out := pullResponse{Changes: make([]changeJSON, len(changes)), HasMore: more, Reset: reset,
		Cursor: pullCursor(p.OrgUnitID, next)}
	for i, ch := range changes {
		out.Changes[i] = changeJSON{Collection: ch.Collection, ID: ch.ID, Op: ch.Op, Version: ch.Version, Doc: render(ch.Value)}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}

// render turns a pulled record into its API shape.
func render(v any) any {
	switch v := v.(type) {
	case *beatgrid.OrgUnit:
		return toOrgUnitJSON(v)
	case *beatgrid.Route:
		return toRouteJSON(v)
	case *beatgrid.Checkpoint:
		return toCheckpointJSON(v)
	case *beatgrid.Kiosk:
		return toKioskJSON(v)
	default:
		return v
	}
}

// A pull cursor names the scope it was made for and the version reached.
func pullCursor(scope string, version int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + scope + ":" + strconv.FormatInt(version, 10)))
}

// parsePullCursor reads a cursor; one made for another scope restarts from nothing (reset).
func parsePullCursor(s, scope string) (after int64, reset bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	parts := strings.Split(string(raw), ":")
	if err != nil || len(parts) != 3 || parts[0] != "v1" {
		return 0, false, beatgrid.FieldErrorf("cursor", "not a cursor this server gave")
	}
	v, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || v < 0 {
		return 0, false, beatgrid.FieldErrorf("cursor", "not a cursor this server gave")
	}
	if parts[1] != scope {
		return 0, true, nil
	}
	return v, false, nil
}
