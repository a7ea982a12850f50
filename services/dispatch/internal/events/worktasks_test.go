package events

import (
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/services/dispatch/internal/worktasks"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// workPayloads are the payloads only worker tasks publish.
var workPayloads = []string{"task_inspection_recorded", "task_inspection_missed"}

// TestEncodeWorkMapsEveryEvent: each worker task event becomes the payload
// of its name, on grid.task.<event>.worker.<district>.<street>, naming the
// worker and the kind.
func TestEncodeWorkMapsEveryEvent(t *testing.T) {
	t.Parallel()
	task := worktasks.Task{ID: "01900000-0000-7000-8000-000000000001", Kind: worktasks.Inspection, State: worktasks.Open,
		WorkerID: "w-022001001", PlaceKey: "k", District: "310106", Street: "310106022", Grid: "310106022001001",
		OpenedAt: time.Unix(1e9, 0), WarnAt: time.Unix(1e9+8, 0), DueAt: time.Unix(1e9+10, 0)}
	for _, name := range []string{worktasks.EvDispatched, worktasks.EvWarned, worktasks.EvOverdue, worktasks.EvEscalated,
		worktasks.EvCompleted, worktasks.EvWithdrawn, worktasks.EvInspectionRecorded, worktasks.EvInspectionMissed} {
		m, err := EncodeWork(worktasks.Event{Name: name, Task: task, Actor: worktasks.SystemActor, At: time.Unix(1e9, 0)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(m.Data, &env); err != nil {
			t.Fatal(err)
		}
		if got := envelope.Name(&env); got != name || env.GetType() != name {
			t.Errorf("%s encodes as %q (type %q)", name, got, env.GetType())
		}
		if want := "grid.task." + envelope.Event(name) + ".worker.310106.310106022"; m.Subject != want {
			t.Errorf("%s on %s, want %s", name, m.Subject, want)
		}
		ref := (&env).ProtoReflect()
		type tasked interface{ GetTask() *eventsv1.TaskRef }
		field := ref.WhichOneof(ref.Descriptor().Oneofs().ByName("payload"))
		if p, ok := ref.Get(field).Message().Interface().(tasked); ok {
			if r := p.GetTask(); r.GetWorkerId() != task.WorkerID || r.GetKind() != "inspection" || r.GetDepartmentCode() != worktasks.Unit {
				t.Errorf("%s: task ref %v", name, r)
			}
		}
	}
	if _, err := EncodeWork(worktasks.Event{Name: "task.nonsense", Task: task}); err == nil {
		t.Error("an unknown worker task event was encoded")
	}
}
