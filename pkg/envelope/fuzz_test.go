package envelope_test

import (
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/envelope"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// FuzzEnvelope: whatever bytes arrive as an envelope, the names the
// package gives it are the payload's: Name is "" exactly when no payload is
// set, otherwise the set field's FieldName, "<kind>.<event>" with Event its
// second part; and CheckTimes accepts it exactly when every timestamp it
// holds is valid by timestamp.proto (timestamppb's CheckValid), walking it
// without a panic. Seeds: testdata/fuzz/FuzzEnvelope, the services'
// consumer seeds.
func FuzzEnvelope(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var env eventsv1.Envelope
		if err := proto.Unmarshal(b, &env); err != nil {
			return
		}
		name := envelope.Name(&env)
		field := env.ProtoReflect().WhichOneof(env.ProtoReflect().Descriptor().Oneofs().ByName(envelope.Oneof))
		switch {
		case field == nil && name != "":
			t.Fatalf("no payload named %q", name)
		case field != nil && name != envelope.FieldName(field):
			t.Fatalf("payload %s named %q", field.Name(), name)
		case field != nil:
			kind, event, ok := strings.Cut(name, ".")
			if !ok || kind == "" || event == "" || envelope.Event(name) != event {
				t.Fatalf("name %q: kind %q, event %q", name, kind, event)
			}
		}
		if got, want := envelope.CheckTimes(&env) == nil, allValid(env.ProtoReflect()); got != want {
			t.Fatalf("CheckTimes accepts %v, every timestamp valid %v: %v", got, want, envelope.CheckTimes(&env))
		}
	})
}

// allValid walks m with protobuf's own accessors and CheckValid.
func allValid(m protoreflect.Message) bool {
	if ts, ok := m.Interface().(*timestamppb.Timestamp); ok {
		return ts.CheckValid() == nil
	}
	ok := true
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if f.Kind() != protoreflect.MessageKind {
			return true
		}
		switch {
		case f.IsList():
			for i := 0; i < v.List().Len() && ok; i++ {
				ok = allValid(v.List().Get(i).Message())
			}
		case f.IsMap():
			if f.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					ok = allValid(mv.Message())
					return ok
				})
			}
		default:
			ok = allValid(v.Message())
		}
		return ok
	})
	return ok
}
