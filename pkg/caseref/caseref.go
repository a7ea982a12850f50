// Package caseref reads a reference to a case in any of the forms people and
// systems hold one: the case id (a UUID, what services key on), the case
// number (GF-<yyyymmdd>-<sequence>, what people read and say) or, for a
// hotline work order, the hotline's order number (what the 12345 system
// knows). Every read that takes a case accepts all three, so a dispatcher can
// paste whichever is in front of them; this is the one parser of them.
//
// A hotline order number is free text of the hotline's making, so anything
// that is neither a UUID nor a case number is taken as one. A case id or
// number given in its own request field must be well formed: a malformed one
// is InvalidArgument naming the field, never a NotFound.
package caseref

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/fault"
)

// IsID reports whether s has the form of a case id as intake makes them
// (a UUID).
func IsID(s string) bool { return uuidRE.MatchString(s) }

// Kind is which form a reference takes.
type Kind int

// The forms, named after the request fields that carry them.
const (
	ID Kind = iota + 1
	Number
	OrderNo
)

// MaxOrderNo is the longest hotline order number: it is the hotline's
// request id, and request ids are at most 64 characters.
const MaxOrderNo = 64

var (
	numberRE = regexp.MustCompile(`^GF-\d{8}-\d{6,}$`)
	uuidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// Ref is one reference to a case. The zero Ref names no case.
type Ref struct {
	Kind  Kind
	Value string
}

// IsZero reports whether r names no case.
func (r Ref) IsZero() bool { return r.Kind == 0 }

// Field is the request field that carries this form.
func (r Ref) Field() string {
	switch r.Kind {
	case ID:
		return "case_id"
	case Number:
		return "case_number"
	case OrderNo:
		return "hotline_order_no"
	}
	return "case"
}

// String is the reference as a message names it: case id "…", case number
// "…" or hotline order number "…".
func (r Ref) String() string {
	switch r.Kind {
	case ID:
		return fmt.Sprintf("case id %q", r.Value)
	case Number:
		return fmt.Sprintf("case number %q", r.Value)
	case OrderNo:
		return fmt.Sprintf("hotline order number %q", r.Value)
	}
	return "no case"
}

// Fields spreads r over the three request fields, for a client filling in a
// request.
func (r Ref) Fields() (id, number, orderNo string) {
	switch r.Kind {
	case ID:
		return r.Value, "", ""
	case Number:
		return "", r.Value, ""
	case OrderNo:
		return "", "", r.Value
	}
	return "", "", ""
}

// NotFound is the NotFound fault for a reference the service does not know;
// it names what was asked, in the form it was asked.
func (r Ref) NotFound(service string) error {
	return fault.NotFoundf("cases/"+r.Value, "%s knows no case with %s", service, r)
}

// Parse reads a reference as a person typed it: a UUID is a case id, GF-…
// a case number (a malformed one is an error), anything else a hotline
// order number.
func Parse(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Ref{}, fmt.Errorf("a case reference is empty: give a case id, a case number or a hotline order number")
	case uuidRE.MatchString(s):
		return Ref{Kind: ID, Value: strings.ToLower(s)}, nil
	case numberRE.MatchString(s):
		return Ref{Kind: Number, Value: s}, nil
	case strings.HasPrefix(s, "GF-"):
		// gridflow's own prefix: a mistyped case number, never taken for
		// an order number (which would only ever be NotFound).
		return Ref{}, fmt.Errorf("%q is not a case number: want GF-<yyyymmdd>-<at least 6 digits>", s)
	}
	if reason := orderNoProblem(s); reason != "" {
		return Ref{}, fmt.Errorf("%q is not a case reference: as a hotline order number it %s", s, reason)
	}
	return Ref{Kind: OrderNo, Value: s}, nil
}

// FromFields reads a request that names a case in exactly one of its
// case_id, case_number and hotline_order_no fields. prefix is prepended to
// the field names in violations ("" for top-level fields).
func FromFields(prefix, id, number, orderNo string) (Ref, error) {
	r, err := OptionalFromFields(prefix, id, number, orderNo)
	if err == nil && r.IsZero() {
		var v fault.Violations
		v.Add(prefix+"case_id", "give exactly one of case_id, case_number, hotline_order_no")
		return Ref{}, v.Err()
	}
	return r, err
}

// OptionalFromFields is FromFields for a filter, where naming no case is
// allowed and gives the zero Ref.
func OptionalFromFields(prefix, id, number, orderNo string) (Ref, error) {
	var v fault.Violations
	var r Ref
	n := 0
	if id != "" {
		n++
		r = Ref{Kind: ID, Value: id}
		if uuidRE.MatchString(id) {
			r.Value = strings.ToLower(id)
		}
		switch {
		case numberRE.MatchString(id):
			v.Add(prefix+"case_id", "is a case number: give it as case_number")
		case idProblem(id) != "":
			v.Add(prefix+"case_id", "%s", idProblem(id))
		}
	}
	if number != "" {
		n++
		r = Ref{Kind: Number, Value: number}
		if !numberRE.MatchString(number) {
			v.Add(prefix+"case_number", "is not a case number: want GF-<yyyymmdd>-<at least 6 digits>")
		}
	}
	if orderNo != "" {
		n++
		r = Ref{Kind: OrderNo, Value: orderNo}
		if reason := orderNoProblem(orderNo); reason != "" {
			v.Add(prefix+"hotline_order_no", "%s", reason)
		}
	}
	if n > 1 {
		v.Add(prefix+"case_id", "give exactly one of case_id, case_number, hotline_order_no")
	}
	if err := v.Err(); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// idProblem checks a case id only as far as every service can: intake
// makes UUIDs, but a service (and its tests) may key on other opaque ids, and
// a service that needs a UUID checks that itself.
func idProblem(s string) string { return orderNoProblem(s) }

func orderNoProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case utf8.RuneCountInString(s) > MaxOrderNo:
		return fmt.Sprintf("is longer than %d characters", MaxOrderNo)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return "contains white space or control characters"
	}
	return ""
}
