package envelope

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// envelopeType builds a small envelope like gridflow.events.v1's: a payload
// oneof of messages, and a plain field outside it.
func envelopeType(t *testing.T) protoreflect.MessageType {
	t.Helper()
	msg := func(name string) *descriptorpb.DescriptorProto {
		return &descriptorpb.DescriptorProto{Name: proto.String(name)}
	}
	field := func(name string, n int32, typ string) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), OneofIndex: proto.Int32(0),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(),
			TypeName: proto.String(".t." + typ)}
	}
	env := msg("Envelope")
	env.Field = []*descriptorpb.FieldDescriptorProto{
		{Name: proto.String("type"), Number: proto.Int32(2), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()},
		field("task_dispatched", 40, "TaskDispatched"),
		field("case_received", 10, "CaseReceived"),
		field("case_answered", 11, "CaseReceived"),
		field("case_arbitration_opened", 64, "CaseArbitrationOpened"),
	}
	env.OneofDecl = []*descriptorpb.OneofDescriptorProto{{Name: proto.String("payload")}}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{Name: proto.String("t.proto"), Package: proto.String("t"),
		Syntax: proto.String("proto3"), MessageType: []*descriptorpb.DescriptorProto{env, msg("TaskDispatched"), msg("CaseReceived"),
			msg("CaseArbitrationOpened")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return dynamicpb.NewMessageType(fd.Messages().ByName("Envelope"))
}

func TestNames(t *testing.T) {
	t.Parallel()
	typ := envelopeType(t)
	empty := typ.New().Interface()
	if got := Name(empty); got != "" {
		t.Errorf("no payload named %q", got)
	}
	var names, events []string
	for _, f := range Payloads(empty) {
		m := New(empty, f)
		if got := Name(m); got != FieldName(f) {
			t.Errorf("%s: Name %q, FieldName %q", f.Name(), got, FieldName(f))
		}
		names = append(names, Name(m))
		events = append(events, Event(Name(m)))
	}
	if diff := cmp.Diff([]string{"task.dispatched", "case.received", "case.answered", "case.arbitration_opened"}, names); diff != "" {
		t.Errorf("names mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"dispatched", "received", "answered", "arbitration_opened"}, events); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
}
