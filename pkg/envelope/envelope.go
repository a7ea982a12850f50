// Package envelope names gridflow's events by their payload. Every event is a
// gridflow.events.v1.Envelope whose payload is one field of the oneof
// "payload"; the field's name is the event's name, so the payload alone
// decides what Envelope.type and the subject say, and no service spells an
// event name by hand: task_dispatched is "task.dispatched", published on
// grid.task.dispatched.…; case_arbitration_opened is "case.arbitration_opened".
//
// The package knows no generated type, only protoreflect, so it serves every
// service (and their tests, which walk the oneof to check that each payload
// is handled or deliberately ignored).
package envelope

import (
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Oneof is the envelope's payload oneof.
const Oneof = "payload"

// Name is the event name of env's payload, "" when no payload is set (or one
// this binary does not know).
func Name(env protoreflect.ProtoMessage) string {
	m := env.ProtoReflect()
	o := m.Descriptor().Oneofs().ByName(Oneof)
	if o == nil {
		return ""
	}
	f := m.WhichOneof(o)
	if f == nil {
		return ""
	}
	return FieldName(f)
}

// FieldName is the event name a payload field stands for: its first word
// (case, task, incident), a dot, and the rest.
func FieldName(f protoreflect.FieldDescriptor) string {
	kind, event, _ := strings.Cut(string(f.Name()), "_")
	return kind + "." + event
}

// Event is the part of a name after the kind: "dispatched" for
// "task.dispatched", the subject's second token.
func Event(name string) string {
	_, event, _ := strings.Cut(name, ".")
	return event
}

// Payloads lists every field of the envelope's payload oneof: every event
// the schema knows.
func Payloads(env protoreflect.ProtoMessage) []protoreflect.FieldDescriptor {
	o := env.ProtoReflect().Descriptor().Oneofs().ByName(Oneof)
	if o == nil {
		return nil
	}
	fs := o.Fields()
	out := make([]protoreflect.FieldDescriptor, fs.Len())
	for i := range out {
		out[i] = fs.Get(i)
	}
	return out
}

// New returns a new envelope of env's type whose payload is field f, set to
// an empty message: for tests that walk every payload.
func New(env protoreflect.ProtoMessage, f protoreflect.FieldDescriptor) protoreflect.ProtoMessage {
	m := env.ProtoReflect().Type().New()
	m.Set(f, m.NewField(f))
	return m.Interface()
}
