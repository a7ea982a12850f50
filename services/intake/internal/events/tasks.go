package events

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// The tasks consumer: intake learns from dispatch's task events which
// departments hold an open task on a case, the one fact ReadContact needs
// that intake does not own.
const ConsumerTasks = "intake-tasks"

// workerUnit is the unit token of grid workers' own tasks (issue 20), where
// a department's task names its code.
const workerUnit = "worker"

// TaskSubjects are the task events that can change who holds an open task
// on a case: a task made (dispatched), closed (rejected, forwarded,
// completed, withdrawn) or opened again (completion_returned, back to
// rework). Every other task event leaves its task open with its unit
// (acknowledged, the extension's two, progress, the clock's and the
// dispatcher's flags) or closed (completion_approved): intake learns
// nothing from it, and a third of the deliveries an order made to this
// consumer were acknowledgements alone (issue 17).
// TestTaskSubjectsAreWhatChangesHolding keeps the list whole.
var TaskSubjects = []string{"grid.task.dispatched.>", "grid.task.rejected.>", "grid.task.forwarded.>", "grid.task.completed.>",
	"grid.task.completion_returned.>", "grid.task.withdrawn.>"}

// TaskState is a task as one of its events leaves it.
type TaskState struct {
	intake.TaskHolder
	CaseID string
	Open   bool
	At     time.Time
}

// Tasks handles every task event with set, which applies the task's state
// in the consumer's transaction (an older event than the one applied
// changes nothing: events may arrive out of order).
func Tasks(set func(ctx context.Context, tx pgx.Tx, t TaskState) error) consumer.Handler {
	return func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		t, ok, err := taskState(msg)
		if err != nil || !ok {
			return err
		}
		return set(ctx, tx, t)
	}
}

// TasksBatch is Tasks for a whole batch: every message is read in memory
// (one that does not decode is refused alone) and setAll writes the
// states of the rest in one statement. Three task events an order were
// three savepoints and three inserts, each a round trip (issue 17). If
// setAll fails, the runner handles each message again alone.
func TasksBatch(setAll func(ctx context.Context, tx pgx.Tx, ts []TaskState) error) consumer.BatchHandler {
	return func(ctx context.Context, b *consumer.Batch) error {
		var states []TaskState
		for i, msg := range b.Messages() {
			var (
				t  TaskState
				ok bool
			)
			if err := b.Settle(i, func() (err error) { t, ok, err = taskState(msg); return err }); err == nil && ok {
				states = append(states, t)
			}
		}
		if len(states) == 0 {
			return nil
		}
		return setAll(ctx, b.Tx(), states)
	}
}

// taskState reads a task event; ok is false for one that teaches intake
// nothing (a grid worker's).
func taskState(msg consumer.Message) (TaskState, bool, error) {
	var env eventsv1.Envelope
	if err := proto.Unmarshal(msg.Data, &env); err != nil {
		return TaskState{}, false, consumer.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
	}
	ref := taskOf(&env)
	if ref == nil {
		return TaskState{}, false, consumer.Permanent(fmt.Errorf("%s: event %s is not a task event", msg.Subject, env.GetEventId()))
	}
	// issue 20 (work tasks): a grid worker's re-check or inspection
	// grants no contact read; nothing to learn.
	if ref.GetDepartmentCode() == workerUnit {
		return TaskState{}, false, nil
	}
	if ref.GetTaskId() == "" || ref.GetCaseId() == "" || ref.GetDepartmentCode() == "" {
		return TaskState{}, false, consumer.Permanent(fmt.Errorf("%s: event %s names no task, case or department", msg.Subject, env.GetEventId()))
	}
	at := msg.Published
	if env.GetOccurredAt() != nil {
		at = env.GetOccurredAt().AsTime()
	}
	return TaskState{
		TaskHolder: intake.TaskHolder{TaskID: ref.GetTaskId(), Department: ref.GetDepartmentCode(),
			Lead: ref.GetRole() == eventsv1.TaskRole_TASK_ROLE_LEAD},
		CaseID: ref.GetCaseId(), Open: openState(ref.GetState()), At: at,
	}, true, nil
}

// openState: a task is open while its unit still works it — dispatched,
// signed for, waiting for an extension decision. Rejected, forwarded and
// withdrawn are final; completed is done (a completion returned for rework
// comes back as acknowledged, open again).
func openState(s eventsv1.TaskState) bool {
	switch s {
	case eventsv1.TaskState_TASK_STATE_DISPATCHED, eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED,
		eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED:
		return true
	}
	return false
}

// taskRef is what every task event's payload has: the task as it stands
// after the event.
type taskRef interface{ GetTask() *eventsv1.TaskRef }

// taskOf is the task a task event states; nil for every other payload,
// which the tasks consumer never subscribes to
// (TestTaskOfTakesWhatItSubscribes).
func taskOf(env *eventsv1.Envelope) *eventsv1.TaskRef {
	f := env.ProtoReflect().WhichOneof(env.ProtoReflect().Descriptor().Oneofs().ByName("payload"))
	if f == nil || !strings.HasPrefix(string(f.Name()), "task_") {
		return nil
	}
	p, ok := env.ProtoReflect().Get(f).Message().Interface().(taskRef)
	if !ok {
		// issue 20 (work tasks): the inspections' events (task_inspection_…)
		// carry no task reference: they are a grid worker's.
		return &eventsv1.TaskRef{DepartmentCode: workerUnit}
	}
	if t := p.GetTask(); t != nil {
		return t
	}
	return &eventsv1.TaskRef{}
}
