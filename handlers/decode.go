package handlers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beatgrid/beatgrid"
	gojson "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
)

// jsonLimit bounds the JSON bodies of ordinary requests; larger ones are refused with 413.
const jsonLimit = 64 << 10

var jsonMarshal = json.Marshal

// decodeJSON decodes the request body into v strictly: JSON media type, valid UTF-8, one
// value, no unknown fields, every value of its field's type. v is always a typed struct, so no
// query operator ("$gt") can pass for a string.
func decodeJSON(c *fiber.Ctx, v any, limit int) error {
	return decodeBody(c, v, limit, func(body []byte) error {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return jsonError(err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return beatgrid.FieldErrorf("/", "more than one JSON value in the body")
		}
		return nil
	})
}

// decodePush is decodeJSON for sync pushes, the one hot path: with goccy/go-json, which
// decodes a 500-fix push 4× faster with the same strictness (sync.decodeStrict says more). A
// panic in the codec is a 400, not a 500.
func decodePush(c *fiber.Ctx, v any, limit int) error {
	return decodeBody(c, v, limit, func(body []byte) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = beatgrid.FieldErrorf("/", "the body could not be decoded as JSON")
			}
		}()
		dec := gojson.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return jsonError(err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return beatgrid.FieldErrorf("/", "more than one JSON value in the body")
		}
		return nil
	})
}

// decodeBody checks the media type, size, encoding and shape of the body and hands it to
// decode.
func decodeBody(c *fiber.Ctx, v any, limit int, decode func(body []byte) error) error {
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(c.Get(fiber.HeaderContentType), ";", 2)[0]))
	if ct != fiber.MIMEApplicationJSON {
		return beatgrid.Errorf(beatgrid.EUNSUPPORTED, "Send a JSON body with Content-Type: application/json.")
	}
	body := c.Body()
	if len(body) > limit {
		return beatgrid.Errorf(beatgrid.ETOOLARGE, "The body has %d bytes; the limit is %d.", len(body), limit)
	}
	if !utf8.Valid(body) {
		return beatgrid.FieldErrorf("/", "the body is not valid UTF-8")
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return beatgrid.FieldErrorf("/", "the body must be a JSON object")
	}
	return decode(body)
}

// jsonError turns a decoding error into a field error.
func jsonError(err error) error {
	var (
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		gsyn *gojson.SyntaxError
		gtyp *gojson.UnmarshalTypeError
		ute  *json.UnsupportedValueError
		bade *beatgrid.Error
	)
	switch {
	case errors.As(err, &bade):
		return bade
	case errors.As(err, &syn):
		return beatgrid.FieldErrorf("/", "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return beatgrid.FieldErrorf(pointer(typ.Field), "expected %s, got JSON %s", typ.Type.String(), typ.Value)
	case errors.As(err, &gsyn):
		return beatgrid.FieldErrorf("/", "malformed JSON at byte %d", gsyn.Offset)
	case errors.As(err, &gtyp):
		return beatgrid.FieldErrorf(pointer(gtyp.Field), "expected %s, got JSON %s", gtyp.Type.String(), gtyp.Value)
	case errors.As(err, &ute):
		return beatgrid.FieldErrorf("/", "unsupported value")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return beatgrid.FieldErrorf("/", "the body is empty or cut short")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return beatgrid.FieldErrorf("/"+name, "unknown field")
	default:
		return beatgrid.FieldErrorf("/", "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
}

// pointer turns encoding/json's dotted field path into a JSON pointer.
func pointer(field string) string {
	if field == "" {
		return "/"
	}
	return "/" + strings.ReplaceAll(field, ".", "/")
}

// page is one page of a list answer.
type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// queryLimit reads ?limit=: 1 to 1000, 100 when absent.
func queryLimit(c *fiber.Ctx) (int, error) {
	s := c.Query("limit")
	if s == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, beatgrid.FieldErrorf("limit", "an integer from 1 to 1000")
	}
	return n, nil
}

// paginate returns the page of items (sorted by id) after the request's cursor.
func paginate[T any](c *fiber.Ctx, items []T, id func(T) string) (*page[T], error) {
	limit, err := queryLimit(c)
	if err != nil {
		return nil, err
	}
	start := 0
	if cur := c.Query("cursor"); cur != "" {
		after, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || len(after) == 0 {
			return nil, beatgrid.FieldErrorf("cursor", "not a cursor this server gave")
		}
		for start < len(items) && id(items[start]) <= string(after) {
			start++
		}
	}
	end := min(start+limit, len(items))
	p := &page[T]{Items: items[start:end]}
	if p.Items == nil {
		p.Items = []T{}
	}
	if end < len(items) {
		next := base64.RawURLEncoding.EncodeToString([]byte(id(items[end-1])))
		p.NextCursor = &next
	}
	return p, nil
}

// mapSlice converts each element.
func mapSlice[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
