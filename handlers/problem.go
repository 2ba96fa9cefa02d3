package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/gofiber/fiber/v2"
)

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail,omitempty"`
	Errors    []FieldProblem `json:"errors,omitempty"`
	Limits    map[string]int `json:"limits,omitempty"`   // for a batch over a limit: every limit, by name
	Received  *int64         `json:"received,omitempty"` // for a blob chunk at the wrong offset: where to resume
	RequestID string         `json:"request_id,omitempty"`
}

// FieldProblem names one bad input field (a JSON pointer, or a query parameter's name).
type FieldProblem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// statusOf maps each error code to its HTTP status.
var statusOf = map[string]int{
	beatgrid.ECONFLICT:     http.StatusConflict,
	beatgrid.EINTERNAL:     http.StatusInternalServerError,
	beatgrid.EINVALID:      http.StatusBadRequest,
	beatgrid.ENOTFOUND:     http.StatusNotFound,
	beatgrid.EUNAUTHORIZED: http.StatusUnauthorized,
	beatgrid.EFORBIDDEN:    http.StatusForbidden,
	beatgrid.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	beatgrid.ERATELIMIT:    http.StatusTooManyRequests,
	beatgrid.EUNAVAILABLE:  http.StatusServiceUnavailable,
	beatgrid.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
}

// codeOfStatus is the reverse, for errors Fiber raises itself (404 route, 405, 413 …).
func codeOfStatus(status int) string {
	for code, s := range statusOf {
		if s == status {
			return code
		}
	}
	if status >= 500 {
		return beatgrid.EINTERNAL
	}
	return beatgrid.EINVALID
}

// errorHandler is the one place errors become responses: problem+json, with internal details
// logged and never shown.
func errorHandler(logger *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		p := problemOf(err)
		p.RequestID = requestID(c)
		if p.Status >= 500 {
			logger.Error("request failed", "request_id", p.RequestID, "method", c.Method(),
				"path", c.Path(), "err", err)
		}
		var rl *auth.RateLimitError
		if errors.As(err, &rl) {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(rl.RetryAfter.Seconds())+1))
		}
		if p.Status == http.StatusUnauthorized {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="beatgrid"`)
		}
		return writeProblem(c, p)
	}
}

func writeProblem(c *fiber.Ctx, p *Problem) error {
	c.Status(p.Status)
	c.Set(fiber.HeaderContentType, "application/problem+json")
	c.Set(fiber.HeaderCacheControl, "no-store")
	b, err := jsonMarshal(p)
	if err != nil {
		return err
	}
	return c.Send(b)
}

func problemOf(err error) *Problem {
	var le *limitError
	if errors.As(err, &le) {
		return limitProblem(le)
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code := codeOfStatus(fe.Code)
		return &Problem{Type: problemType(code), Title: http.StatusText(fe.Code), Status: fe.Code, Detail: fe.Message}
	}
	code := beatgrid.ErrorCode(err)
	status := statusOf[code]
	p := &Problem{Type: problemType(code), Title: http.StatusText(status), Status: status, Detail: beatgrid.ErrorMessage(err)}
	var be *beatgrid.Error
	if errors.As(err, &be) && be.Field != "" {
		p.Errors = []FieldProblem{{Field: be.Field, Reason: be.Message}}
		p.Detail = "Invalid " + be.Field + ": " + be.Message + "."
	}
	var oe *offsetError
	if errors.As(err, &oe) {
		p.Received = &oe.received
	}
	return p
}

func problemType(code string) string { return "urn:beatgrid:problem:" + code }
