package convert

import (
	"errors"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"google.golang.org/protobuf/reflect/protoreflect"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// Every task state and reject reason the protos name maps to the domain
// value of the same name and back: a value added on one side alone fails
// here.
func TestEnumsBothWays(t *testing.T) {
	t.Parallel()
	check := func(enum protoreflect.EnumDescriptor, prefix string, in func(protoreflect.EnumNumber) (string, bool),
		out func(string) protoreflect.EnumNumber) {
		values := enum.Values()
		for i := range values.Len() {
			v := values.Get(i)
			if v.Number() == 0 {
				continue
			}
			want := strings.ToLower(strings.TrimPrefix(string(v.Name()), prefix))
			got, ok := in(v.Number())
			if !ok || got != want {
				t.Errorf("%s in = %q, %v, want %q", v.Name(), got, ok, want)
			}
			if back := out(got); back != v.Number() {
				t.Errorf("%s out again = %d, want %d", v.Name(), back, v.Number())
			}
		}
	}
	check(eventsv1.TaskState(0).Descriptor(), "TASK_STATE_",
		func(n protoreflect.EnumNumber) (string, bool) {
			s, ok := StateIn(eventsv1.TaskState(n))
			return string(s), ok
		},
		func(s string) protoreflect.EnumNumber { return StateOut(dispatch.TaskState(s)).Number() })
	check(eventsv1.RejectReason(0).Descriptor(), "REJECT_REASON_",
		func(n protoreflect.EnumNumber) (string, bool) {
			r := RejectReasonIn(eventsv1.RejectReason(n))
			return string(r), r != ""
		},
		func(s string) protoreflect.EnumNumber { return RejectReasonOut(dispatch.RejectReason(s)).Number() })
}

// UNSPECIFIED and numbers this build does not know are told apart from real
// values: a filter refuses them, the domain names the field.
func TestEnumsUnspecifiedAndUnknown(t *testing.T) {
	t.Parallel()
	for _, n := range []eventsv1.TaskState{eventsv1.TaskState_TASK_STATE_UNSPECIFIED, 99} {
		if s, ok := StateIn(n); ok {
			t.Errorf("StateIn(%d) = %q, true", n, s)
		}
	}
	if got := RejectReasonIn(eventsv1.RejectReason_REJECT_REASON_UNSPECIFIED); got != "" {
		t.Errorf("RejectReasonIn(UNSPECIFIED) = %q, want \"\"", got)
	}
	got := RejectReasonIn(99)
	if got != "enum#99" {
		t.Errorf("RejectReasonIn(99) = %q, want enum#99", got)
	}
	const id = "0190d5a8-0000-7000-8000-000000000001"
	err := dispatch.RejectInput{RequestID: "r", TaskID: id, Reason: got}.Validate()
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) != 1 || f.Violations[0].Field != "reason" {
		t.Errorf("a reject with reason %q: %v, want InvalidArgument on reason", got, err)
	}
}
