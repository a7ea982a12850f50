// Package fault is the small vocabulary of failures that domain code returns
// and that exactly one adapter (pkg/grpcserver) maps to gRPC codes. Domain
// packages import this, never grpc: a handler returns a fault and the code
// follows from its Kind.
package fault

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies a failure by what the caller can do about it.
type Kind int

// The kinds mirror the gRPC codes gridflow answers with; anything that is not
// a *Error is internal and its text is logged, never sent.
const (
	Internal Kind = iota
	InvalidArgument
	NotFound
	AlreadyExists
	FailedPrecondition
	PermissionDenied
	Unauthenticated
	Unavailable
)

func (k Kind) String() string {
	switch k {
	case InvalidArgument:
		return "invalid argument"
	case NotFound:
		return "not found"
	case AlreadyExists:
		return "already exists"
	case FailedPrecondition:
		return "failed precondition"
	case PermissionDenied:
		return "permission denied"
	case Unauthenticated:
		return "unauthenticated"
	case Unavailable:
		return "unavailable"
	default:
		return "internal"
	}
}

// Violation is one problem with one field of a request.
type Violation struct {
	Field  string // dotted path, e.g. "work_order.caller_phone"
	Reason string
}

// Error is a failure the caller may be told about. Message is safe to send.
type Error struct {
	Kind       Kind
	Message    string
	Violations []Violation // for InvalidArgument
	Resource   string      // the existing or missing resource, when there is one
}

func (e *Error) Error() string {
	if len(e.Violations) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Reason
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// Is lets errors.Is(err, &fault.Error{Kind: fault.NotFound}) match on kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Kind == e.Kind
}

// New returns a fault of the given kind.
func New(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// NotFoundf names a missing resource.
func NotFoundf(resource, format string, args ...any) error {
	return &Error{Kind: NotFound, Message: fmt.Sprintf(format, args...), Resource: resource}
}

// AlreadyExistsf names the existing resource.
func AlreadyExistsf(resource, format string, args ...any) error {
	return &Error{Kind: AlreadyExists, Message: fmt.Sprintf(format, args...), Resource: resource}
}

// KindOf returns the kind of err, Internal when it is not a fault.
func KindOf(err error) Kind {
	var f *Error
	if errors.As(err, &f) {
		return f.Kind
	}
	return Internal
}

// Violations collects field problems; Err returns nil when there are none.
type Violations []Violation

// Add records a problem with field.
func (vs *Violations) Add(field, format string, args ...any) {
	*vs = append(*vs, Violation{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Err returns an InvalidArgument fault listing every violation, or nil.
func (vs Violations) Err() error {
	if len(vs) == 0 {
		return nil
	}
	return &Error{Kind: InvalidArgument, Message: "invalid request", Violations: append([]Violation(nil), vs...)}
}
