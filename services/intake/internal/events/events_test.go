package events

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// TestMessagesAreNamedByTheirPayload: each event intake publishes goes out
// on the subject and under the type its payload names.
func TestMessagesAreNamedByTheirPayload(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	area := intake.Area{AreaCodes: reference.AreaCodes{District: "310106", Street: "310106022"}}
	sub := &intake.Submission{CaseID: "c1", CaseNumber: "GF-20260302-000001", Area: area, AcceptedAt: at,
		WorkOrder: &intake.WorkOrder{HotlineOrderNo: "HL-1", ReceivedAt: at}}
	answered := *sub
	wo := *sub.WorkOrder
	wo.AnsweredOnCall = true
	answered.WorkOrder = &wo
	build := func(f func() (outbox.Message, error)) outbox.Message {
		m, err := f()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		m             outbox.Message
		payload, subj string
	}{
		{build(func() (outbox.Message, error) { return Received(sub, "hotline", at) }), "case_received", "grid.case.received.310106.310106022"},
		{build(func() (outbox.Message, error) { return Received(&answered, "hotline", at) }), "case_answered", "grid.case.answered.310106.310106022"},
		{build(func() (outbox.Message, error) {
			return FollowedUp(sub, &intake.FollowUp{ID: "fu-1", Kind: intake.FollowUpUrge, AddedAt: at, Principal: "hotline"})
		}), "case_followed_up", "grid.case.followed_up.310106.310106022"},
		{build(func() (outbox.Message, error) {
			return ContactRead(intake.ContactRead{CaseID: "c1", CaseNumber: sub.CaseNumber, Area: area, Reader: "hotline",
				Grant: intake.GrantHotline, At: at})
		}), "case_contact_read", "grid.case.contact_read.310106.310106022"},
	}
	for _, tt := range tests {
		var env eventsv1.Envelope
		if err := proto.Unmarshal(tt.m.Data, &env); err != nil {
			t.Fatal(err)
		}
		f := env.ProtoReflect().WhichOneof(env.ProtoReflect().Descriptor().Oneofs().ByName(envelope.Oneof))
		if f == nil || string(f.Name()) != tt.payload || env.GetType() != envelope.FieldName(f) || tt.m.Subject != tt.subj ||
			tt.m.Headers["Gridflow-Event-Type"] != env.GetType() || tt.m.ID != env.GetEventId() || env.GetCaseId() != "c1" {
			t.Errorf("%s: envelope %v on %s", tt.payload, &env, tt.m.Subject)
		}
	}
}

// TestClosedByTakesWhatItSubscribes walks every payload of the oneof: the
// closures consumer takes exactly the ones its subjects carry.
func TestClosedByTakesWhatItSubscribes(t *testing.T) {
	t.Parallel()
	var took []string
	for _, f := range envelope.Payloads(&eventsv1.Envelope{}) {
		closed, ok := closedBy(envelope.New(&eventsv1.Envelope{}, f).(*eventsv1.Envelope))
		if !ok {
			continue
		}
		took = append(took, "grid."+envelope.FieldName(f)+".>")
		if closed != strings.HasSuffix(string(f.Name()), "_closed") {
			t.Errorf("%s: closed %v", f.Name(), closed)
		}
	}
	want := slices.Clone(ClosureSubjects)
	slices.Sort(want)
	slices.Sort(took)
	if diff := cmp.Diff(want, took); diff != "" {
		t.Errorf("payloads taken vs subjects mismatch (-subjects +taken):\n%s", diff)
	}
}

// TestTaskOfTakesWhatItSubscribes walks every payload of the oneof: the
// tasks consumer takes exactly the task events, which its subject carries.
func TestTaskOfTakesWhatItSubscribes(t *testing.T) {
	t.Parallel()
	for _, f := range envelope.Payloads(&eventsv1.Envelope{}) {
		took := taskOf(envelope.New(&eventsv1.Envelope{}, f).(*eventsv1.Envelope)) != nil
		if want := strings.HasPrefix(envelope.FieldName(f), "task."); took != want {
			t.Errorf("%s: taken %v, want %v", f.Name(), took, want)
		}
	}
}

// TestTaskSubjectsAreWhatChangesHolding: every task event is either
// subscribed (it can open or close a unit's hold on a case, DESIGN.md's
// task states) or named here as leaving the hold as it was; a new task
// event fails until it is placed.
func TestTaskSubjectsAreWhatChangesHolding(t *testing.T) {
	t.Parallel()
	keeps := map[string]bool{ // open → open, or closed → closed
		"task.acknowledged": true, "task.extension_requested": true, "task.extension_decided": true,
		"task.progress_reported": true, "task.completion_approved": true, "task.warned": true, "task.overdue": true,
		"task.urged": true, "task.supervised": true, "task.escalated": true, "task.deadline_changed": true,
		// A grid worker's inspection (issue 20): no unit's hold at all.
		"task.inspection_recorded": true, "task.inspection_missed": true,
	}
	subscribed := map[string]bool{}
	for _, s := range TaskSubjects {
		kind, rest, _ := strings.Cut(s, ".")
		event, tail, _ := strings.Cut(rest, ".")
		if kind != "grid" || !strings.HasPrefix(event, "task") || tail == "" {
			t.Fatalf("subject %q: want grid.task.<event>.>", s)
		}
		ev, _, _ := strings.Cut(tail, ".")
		subscribed["task."+ev] = true
	}
	for _, f := range envelope.Payloads(&eventsv1.Envelope{}) {
		name := envelope.FieldName(f)
		if !strings.HasPrefix(name, "task.") {
			continue
		}
		if subscribed[name] == keeps[name] {
			t.Errorf("%s: subscribed %v, listed as keeping the hold %v: want exactly one", name, subscribed[name], keeps[name])
		}
		delete(subscribed, name)
	}
	for name := range subscribed {
		t.Errorf("subscribed to %s, which no task event is", name)
	}
}

// TestOpenStates: a task is open while its unit still works it.
func TestOpenStates(t *testing.T) {
	t.Parallel()
	open := map[eventsv1.TaskState]bool{eventsv1.TaskState_TASK_STATE_DISPATCHED: true,
		eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED: true, eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED: true}
	for v := range eventsv1.TaskState_name {
		s := eventsv1.TaskState(v)
		if openState(s) != open[s] {
			t.Errorf("openState(%v) = %v", s, openState(s))
		}
	}
}
