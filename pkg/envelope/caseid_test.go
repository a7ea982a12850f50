package envelope_test

import (
	"testing"

	"github.com/gridflow/gridflow/pkg/envelope"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestCaseID(t *testing.T) {
	env := &eventsv1.Envelope{EventId: "ev-1", CaseId: "7c0e1f9e-7d1c-4a51-9a3e-0d0f3c1b2a11", Type: "case.received",
		OccurredAt: timestamppb.Now(),
		Payload:    &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{Title: "路灯不亮"}}}
	b, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if got := envelope.CaseID(b); got != env.CaseId {
		t.Errorf("CaseID = %q, want %q", got, env.CaseId)
	}
	for _, bad := range [][]byte{nil, {0xff}, b[:len(b)-3]} {
		if got := envelope.CaseID(bad); got != "" {
			t.Errorf("CaseID(%x) = %q, want \"\"", bad, got)
		}
	}
	none, _ := proto.Marshal(&eventsv1.Envelope{EventId: "ev-2"})
	if got := envelope.CaseID(none); got != "" {
		t.Errorf("CaseID without a case = %q", got)
	}
}
