// Package beatgrid holds the domain of a police patrol backend: org units, users, devices and
// the rest of the records, the interfaces of the stores that keep them, and the error codes every
// layer speaks. It imports neither HTTP nor the database driver (see STYLE.md, benbjohnson/wtf).
package beatgrid

import (
	"errors"
	"fmt"
)

// Error codes. Handlers map each to one HTTP status; anything else is EINTERNAL and is logged,
// never shown.
const (
	ECONFLICT     = "conflict"     // the request clashes with what is stored
	EINTERNAL     = "internal"     // a fault of ours; the detail is logged, not shown
	EINVALID      = "invalid"      // bad input; Field names what is wrong
	ENOTFOUND     = "not_found"    // no such record in the caller's scope
	EUNAUTHORIZED = "unauthorized" // no valid credential
	EFORBIDDEN    = "forbidden"    // a valid credential without the right
	ETOOLARGE     = "too_large"    // over a size or count limit
	ERATELIMIT    = "rate_limited" // too many attempts; try later
	EUNAVAILABLE  = "unavailable"  // a dependency (the database) is down
	EUNSUPPORTED  = "unsupported"  // a media type or encoding we do not take
)

// Error is an error a user may see: a machine code, a human message and, for bad input, the
// field at fault (a JSON pointer such as "/mutations/3/payload/lon").
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("beatgrid error: code=%s field=%s message=%s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("beatgrid error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error about one input field.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other error
// and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the message of the first *Error in err's chain; other errors, whose text
// may hold internals, give a generic message.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "Internal error."
	}
}
