package events

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// TestEncode checks every event type dispatch emits: its subject reads as
// DESIGN.md says, its payload is the one its type names, and task events
// carry no personal data.
func TestEncode(t *testing.T) {
	t.Parallel()
	area := dispatch.Area{District: "310106", Street: "310106022", Community: "0", Grid: "0"}
	task := &dispatch.Task{ID: "t1", CaseID: "c1", CaseNumber: "GF-20260302-000001", Department: "310106022-pcs",
		Role: dispatch.Lead, State: dispatch.Dispatched}
	at := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	summary := &dispatch.Summary{CaseNumber: "GF-20260302-000001", Item: "H04001",
		Address: dispatch.Address{Road: "共和新路", Number: 1001}}
	tests := []struct {
		ev      dispatch.Event
		subject string
	}{
		{dispatch.Event{Type: "task.dispatched", Task: task, Summary: summary}, "grid.task.dispatched.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.acknowledged", Task: task}, "grid.task.acknowledged.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.rejected", Task: task, Rejection: &dispatch.Rejection{Reason: dispatch.NotMyArea, Area: "310106021"}}, "grid.task.rejected.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.forwarded", Task: task, NewTaskID: "t2"}, "grid.task.forwarded.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.extension_requested", Task: task}, "grid.task.extension_requested.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.extension_decided", Task: task, Granted: true}, "grid.task.extension_decided.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.progress_reported", Task: task}, "grid.task.progress_reported.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.completed", Task: task}, "grid.task.completed.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.completion_approved", Task: task}, "grid.task.completion_approved.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.completion_returned", Task: task}, "grid.task.completion_returned.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.withdrawn", Task: task, Reason: string(dispatch.WithdrawHotline)}, "grid.task.withdrawn.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.warned", Task: task, Step: &dispatch.ClockStep{Limit: dispatch.AckLimit, Action: reference.Remind}}, "grid.task.warned.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.overdue", Task: task, Step: &dispatch.ClockStep{Limit: dispatch.AckLimit}}, "grid.task.overdue.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.urged", Task: task, Count: 1}, "grid.task.urged.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.supervised", Task: task, Note: "督办"}, "grid.task.supervised.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.escalated", Task: task, Step: &dispatch.ClockStep{Limit: dispatch.CompleteLimit, Action: reference.Escalate}}, "grid.task.escalated.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "task.deadline_changed", Task: task, Reason: string(dispatch.Unparked), Previous: &dispatch.Deadlines{}}, "grid.task.deadline_changed.310106022-pcs.310106.310106022"},
		{dispatch.Event{Type: "case.cancelled"}, "grid.case.cancelled.310106.310106022"},
		{dispatch.Event{Type: "case.parked", ReviewDate: "2026-03-20"}, "grid.case.parked.310106.310106022"},
		{dispatch.Event{Type: "case.unparked"}, "grid.case.unparked.310106.310106022"},
		{dispatch.Event{Type: "case.excluded"}, "grid.case.excluded.310106.310106022"},
		{dispatch.Event{Type: "case.arbitration_opened", RejectedBy: []string{"a", "b"}}, "grid.case.arbitration_opened.310106.310106022"},
		{dispatch.Event{Type: "case.arbitrated", ToDepartment: "310106022-cgzd"}, "grid.case.arbitrated.310106.310106022"},
	}
	for _, tt := range tests {
		t.Run(tt.ev.Type, func(t *testing.T) {
			t.Parallel()
			ev := tt.ev
			ev.At, ev.Actor, ev.CaseID, ev.CaseNumber, ev.Area = at, "department:310106022-pcs", "c1", "GF-20260302-000001", area
			msgs, err := Encode([]dispatch.Event{ev})
			if err != nil {
				t.Fatal(err)
			}
			m := msgs[0]
			if diff := cmp.Diff(tt.subject, m.Subject); diff != "" {
				t.Errorf("subject mismatch (-want +got):\n%s", diff)
			}
			var env eventsv1.Envelope
			if err := proto.Unmarshal(m.Data, &env); err != nil {
				t.Fatal(err)
			}
			name := strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(ev.Type, "task."), "case."), ".", "_")
			field := env.ProtoReflect().WhichOneof(env.ProtoReflect().Descriptor().Oneofs().ByName("payload"))
			if field == nil || !strings.HasSuffix(string(field.Name()), name) || env.GetType() != ev.Type || env.GetEventId() != m.ID {
				t.Fatalf("envelope %v", &env)
			}
		})
	}
	if _, err := Encode([]dispatch.Event{{Type: "task.unknown", Task: task}}); err == nil {
		t.Error("an unknown event type was encoded")
	}
}
