package events

import (
	"testing"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// TestWorkerTasksAreNoCaseWork (issue 20, work tasks): a grid worker's task
// events, inspections and places are acknowledged, not kept in a case's
// log; a department's task event of the same case is kept.
func TestWorkerTasksAreNoCaseWork(t *testing.T) {
	t.Parallel()
	ref := func(dept string) *eventsv1.TaskRef {
		return &eventsv1.TaskRef{TaskId: "t1", CaseId: "c1", DepartmentCode: dept}
	}
	for _, tc := range []struct {
		name string
		env  *eventsv1.Envelope
		skip bool
	}{
		{"re-check dispatched", &eventsv1.Envelope{CaseId: "c1", Payload: &eventsv1.Envelope_TaskDispatched{TaskDispatched: &eventsv1.TaskDispatched{Task: ref("worker")}}}, true},
		{"re-check escalated", &eventsv1.Envelope{CaseId: "c1", Payload: &eventsv1.Envelope_TaskEscalated{TaskEscalated: &eventsv1.TaskEscalated{Task: ref("worker")}}}, true},
		{"inspection missed", &eventsv1.Envelope{Payload: &eventsv1.Envelope_TaskInspectionMissed{TaskInspectionMissed: &eventsv1.InspectionMissed{InspectionId: "i1"}}}, true},
		{"inspection recorded", &eventsv1.Envelope{Payload: &eventsv1.Envelope_TaskInspectionRecorded{TaskInspectionRecorded: &eventsv1.InspectionRecorded{InspectionId: "i1"}}}, true},
		{"place", &eventsv1.Envelope{Payload: &eventsv1.Envelope_PlaceUpserted{PlaceUpserted: &eventsv1.PlaceUpserted{PlaceKey: "k"}}}, true},
		{"department's task", &eventsv1.Envelope{CaseId: "c1", Payload: &eventsv1.Envelope_TaskDispatched{TaskDispatched: &eventsv1.TaskDispatched{Task: ref("zj-cg")}}}, false},
	} {
		tc.env.EventId = "e1"
		b, err := proto.Marshal(tc.env)
		if err != nil {
			t.Fatal(err)
		}
		e, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := notCaseWork(e); got != tc.skip {
			t.Errorf("%s: not case work %v, want %v", tc.name, got, tc.skip)
		}
	}
}
