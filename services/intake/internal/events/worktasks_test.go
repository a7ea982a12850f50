package events

import (
	"context"
	"testing"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// TestWorkerTasksGrantNothing (issue 20, work tasks): a grid worker's task
// events — a re-check's, an inspection's — are acknowledged without a
// change: they grant no contact read and are not poison.
func TestWorkerTasksGrantNothing(t *testing.T) {
	t.Parallel()
	called := false
	h := Tasks(func(context.Context, pgx.Tx, TaskState) error { called = true; return nil })
	for _, env := range []*eventsv1.Envelope{
		{EventId: "e1", Payload: &eventsv1.Envelope_TaskDispatched{TaskDispatched: &eventsv1.TaskDispatched{
			Task: &eventsv1.TaskRef{TaskId: "t1", CaseId: "c1", DepartmentCode: "worker", WorkerId: "w-022001001", Kind: "recheck"}}}},
		{EventId: "e2", Payload: &eventsv1.Envelope_TaskInspectionMissed{TaskInspectionMissed: &eventsv1.InspectionMissed{InspectionId: "i1"}}},
	} {
		b, err := proto.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		if err := h(context.Background(), nil, consumer.Message{Subject: "grid.task.x.worker.310106.310106022", Data: b}); err != nil {
			t.Errorf("%s: %v", env.GetEventId(), err)
		}
	}
	if called {
		t.Error("a worker task's event changed intake's task holders")
	}
}
