// Package requestid checks a write request's client request id (DESIGN.md,
// "Conventions": every write RPC carries one, at most 64 bytes, scoped to the
// calling principal). It is the one check the services' domains and
// pkg/idempotency share; it imports no database code, so a domain package
// may use it.
package requestid

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/fault"
)

// MaxBytes bounds a request id.
const MaxBytes = 64

// Check adds a violation of request_id to vs when id is not a usable
// request id: empty or blank, longer than MaxBytes, not UTF-8, with NUL, or
// with another control character (a request id is logged and named in
// answers, where a control character would corrupt the line).
func Check(id string, vs *fault.Violations) {
	switch {
	case strings.TrimSpace(id) == "":
		vs.Add("request_id", "is required")
	case len(id) > MaxBytes:
		vs.Add("request_id", "must be at most %d bytes", MaxBytes)
	case !utf8.ValidString(id):
		vs.Add("request_id", "is not valid UTF-8")
	case strings.ContainsRune(id, 0):
		vs.Add("request_id", "must not contain NUL")
	case strings.ContainsFunc(id, unicode.IsControl):
		vs.Add("request_id", "must not contain control characters")
	}
}
