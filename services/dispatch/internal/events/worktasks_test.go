package events

import (
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/services/dispatch/internal/worktasks"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
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

// TestWorkSkip: the worker tasks' consumer acks unhandled only what can
// open or close no worker task; whatever may, or cannot be read, reaches
// the handler.
func TestWorkSkip(t *testing.T) {
	ref := func(s typesv1.Source) *eventsv1.FeedbackCaseRef {
		return &eventsv1.FeedbackCaseRef{CaseId: "c1", Source: s}
	}
	hotline, patrol := typesv1.Source_SOURCE_HOTLINE, typesv1.Source_SOURCE_PATROL
	for _, tc := range []struct {
		name string
		env  *eventsv1.Envelope
		skip bool
	}{
		{"a hotline case received", &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{CaseId: "c1"}}}, true},
		{"a patrol report", &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{CaseId: "c1", WorkerId: "w1"}}}, false},
		{"a patrol report settled on the spot", &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{CaseId: "c1", WorkerId: "w1", SelfDisposed: true}}}, true},
		{"resolved, awaiting a re-check", &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseResolved{CaseResolved: &eventsv1.CaseResolved{Case: ref(patrol), AwaitingRecheck: true}}}, false},
		{"resolved, awaiting a callback", &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseResolved{CaseResolved: &eventsv1.CaseResolved{Case: ref(hotline)}}}, true},
		{"a hotline case closed", &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseClosed{CaseClosed: &eventsv1.CaseClosed{Case: ref(hotline)}}}, true},
		{"a patrol case closed", &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseClosed{CaseClosed: &eventsv1.CaseClosed{Case: ref(patrol)}}}, false},
		{"a case of unknown source closed", &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseClosed{CaseClosed: &eventsv1.CaseClosed{Case: ref(typesv1.Source_SOURCE_UNSPECIFIED)}}}, false},
		{"a secretary's case reopened", &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseReopened{CaseReopened: &eventsv1.CaseReopened{Case: ref(typesv1.Source_SOURCE_SECRETARY)}}}, true},
		{"a patrol case reopened", &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseReopened{CaseReopened: &eventsv1.CaseReopened{Case: ref(patrol)}}}, false},
		{"a patrol case re-checked", &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseRechecked{CaseRechecked: &eventsv1.CaseRechecked{Case: ref(patrol)}}}, false},
		{"a place", &eventsv1.Envelope{Payload: &eventsv1.Envelope_PlaceUpserted{PlaceUpserted: &eventsv1.PlaceUpserted{PlaceKey: "p1"}}}, false},
		{"a reply", &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseReplied{CaseReplied: &eventsv1.CaseReplied{Case: ref(patrol)}}}, true},
	} {
		b, err := proto.Marshal(tc.env)
		if err != nil {
			t.Fatal(err)
		}
		if got := WorkSkip(consumer.Message{Data: b}); got != tc.skip {
			t.Errorf("%s: skip %v, want %v", tc.name, got, tc.skip)
		}
	}
	if WorkSkip(consumer.Message{Data: []byte("not an envelope")}) {
		t.Error("an undecodable message is skipped; its handler must dead-letter it")
	}
}
