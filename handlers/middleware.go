package handlers

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

const localRequestID = "request_id"

// withRequestID takes the caller's X-Request-ID when it is short and printable, or makes one,
// and echoes it.
func withRequestID(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	if len(id) == 0 || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) {
		id = uuid.NewString()
	} else {
		id = strings.Clone(id) // Fiber reuses the request's memory
	}
	c.Locals(localRequestID, id)
	c.Set(fiber.HeaderXRequestID, id)
	return c.Next()
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// observe logs each request and counts it by route once it is answered (errors included:
// it calls the error handler itself so the status is final).
func observe(logger *slog.Logger, m *metrics) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if err := c.App().ErrorHandler(c, err); err != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		d := time.Since(start)
		status := c.Response().StatusCode()
		route := routeOf(c)
		method := strings.Clone(c.Method()) // Fiber reuses its memory; metrics keep label values
		m.observe(method, route, status, d)
		if !logger.Enabled(c.UserContext(), slog.LevelInfo) {
			return nil
		}
		attrs := make([]slog.Attr, 0, 9)
		attrs = append(attrs, slog.String("method", method), slog.String("path", c.Path()),
			slog.String("route", route), slog.Int("status", status), slog.Duration("dur", d),
			slog.String("request_id", requestID(c)), slog.String("ip", c.IP()))
		if p := principal(c); p != nil {
			attrs = append(attrs, slog.String("user", p.UserID))
			if p.DeviceID != "" {
				attrs = append(attrs, slog.String("device", p.DeviceID))
			}
		}
		logger.LogAttrs(c.UserContext(), slog.LevelInfo, "request", attrs...)
		return nil
	}
}

// routeOf is the matched route pattern, so metrics stay few; "unmatched" for the rest.
func routeOf(c *fiber.Ctx) string {
	r := c.Route()
	if r == nil || len(r.Handlers) == 0 || r.Path == "/" && c.Path() != "/" {
		return "unmatched"
	}
	return r.Path
}

// inflate takes bodies sent with Content-Encoding: gzip and inflates them up to limit bytes,
// refusing what would grow beyond (a gzip bomb); other encodings are refused. Left alone,
// Fiber v2 would inflate any encoding without bound.
func inflate(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		enc := strings.ToLower(strings.TrimSpace(string(c.Request().Header.Peek(fiber.HeaderContentEncoding))))
		switch enc {
		case "", "identity":
			c.Request().Header.Del(fiber.HeaderContentEncoding)
			return c.Next()
		case "gzip", "x-gzip":
		default:
			return beatgrid.Errorf(beatgrid.EUNSUPPORTED, "Content-Encoding %q is not accepted; send gzip or none.", enc)
		}
		zr, err := gzip.NewReader(bytes.NewReader(c.Request().Body()))
		if err != nil {
			return beatgrid.FieldErrorf("/", "the gzip body is corrupt")
		}
		body, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
		if err != nil {
			return beatgrid.FieldErrorf("/", "the gzip body is corrupt")
		}
		if len(body) > limit {
			return beatgrid.Errorf(beatgrid.ETOOLARGE, "The body inflates beyond the limit of %d bytes.", limit)
		}
		c.Request().Header.Del(fiber.HeaderContentEncoding)
		c.Request().SetBodyRaw(body)
		c.Request().Header.SetContentLength(len(body))
		return c.Next()
	}
}

const localPrincipal = "principal"

// authenticate requires a valid bearer token and puts its principal in the request context.
func authenticate(svc *auth.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := c.Get(fiber.HeaderAuthorization)
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || raw == "" || len(raw) > 4096 {
			return beatgrid.Errorf(beatgrid.EUNAUTHORIZED, "Send Authorization: Bearer <access token>.")
		}
		p, err := svc.Authenticate(c.UserContext(), raw) // it copies what it keeps
		if err != nil {
			return err
		}
		c.Locals(localPrincipal, p)
		c.SetUserContext(beatgrid.NewContextWithPrincipal(c.UserContext(), p))
		return c.Next()
	}
}

func principal(c *fiber.Ctx) *beatgrid.Principal {
	p, _ := c.Locals(localPrincipal).(*beatgrid.Principal)
	return p
}

// noStore marks answers that carry secrets or per-user data as not cacheable.
func noStore(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

func itoa(i int) string { return strconv.Itoa(i) }
