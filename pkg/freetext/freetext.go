// Package freetext checks the text people type into gridflow's write and
// list requests — notes, results, reasons, filters — the way intake checks a
// work order's: valid UTF-8 (the APIs' decoders do not validate it, so that
// a bad byte is INVALID_ARGUMENT naming the field rather than grpc-go's
// INTERNAL), a length counted in characters, and no control characters but
// line breaks and tabs (a bell, an escape sequence, NUL, the line and
// paragraph separators and a byte-order mark corrupt logs, CSV exports and
// terminals downstream). It adds field violations; it imports no grpc, so a
// domain package may use it.
package freetext

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/fault"
)

// Check adds to vs the first problem of s as field: not valid UTF-8, blank
// when required, longer than max characters, or with a control character.
// One violation per field, in that order; "" when not required is fine.
func Check(field, s string, max int, required bool, vs *fault.Violations) {
	if !utf8.ValidString(s) {
		vs.Add(field, "is not valid UTF-8")
		return
	}
	if strings.TrimSpace(s) == "" {
		if required {
			vs.Add(field, "is required")
		}
		return
	}
	// One pass: a text can be thousands of characters.
	n, control := 0, rune(-1)
	for _, r := range s {
		n++
		if control < 0 && Control(r) {
			control = r
		}
	}
	switch {
	case n > max:
		vs.Add(field, "is %d characters long; at most %d", n, max)
	case control >= 0:
		vs.Add(field, "contains control character U+%04X", control)
	}
}

// Control reports whether r may not appear in free text: a C0 or C1
// control other than line feed, carriage return and tab, the line and
// paragraph separators, or a byte-order mark.
func Control(r rune) bool {
	switch r {
	case '\n', '\r', '\t':
		return false
	case '\u2028', '\u2029', '\ufeff':
		return true
	}
	return unicode.IsControl(r)
}

// Code adds to vs a problem with s as field when s is not usable as a code
// or key (a department code, an area code, an item code, a reference): not
// valid UTF-8, longer than max bytes, or with white space or a control
// character. An empty s is not checked: whether it is required is the
// caller's to say.
func Code(field, s string, max int, vs *fault.Violations) {
	switch {
	case s == "":
	case !utf8.ValidString(s):
		vs.Add(field, "is not valid UTF-8")
	case len(s) > max:
		vs.Add(field, "is %d bytes long; at most %d", len(s), max)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || Control(r) }) >= 0:
		vs.Add(field, "contains white space or a control character")
	}
}
