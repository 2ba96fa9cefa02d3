package beatgrid

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckName checks a name given by a person (a unit, a user's display name, a route …): not
// blank, at most maxLen characters, printable. It returns an EINVALID error about field.
func CheckName(field, s string, maxLen int) error {
	switch {
	case strings.TrimSpace(s) == "":
		return FieldErrorf(field, "must not be empty")
	case utf8.RuneCountInString(s) > maxLen:
		return FieldErrorf(field, "longer than %d characters", maxLen)
	case strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }):
		return FieldErrorf(field, "contains characters that are not printable")
	}
	return nil
}
