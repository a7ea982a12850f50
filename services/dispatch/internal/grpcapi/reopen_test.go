package grpcapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/services/dispatch/internal/events"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// reopened publishes case.reopened as feedback would, under eventID (a new
// id when empty), for the case's new round.
func (e *env) reopened(caseID, street string, round uint32, eventID string) {
	e.t.Helper()
	if eventID == "" {
		eventID = uuid.NewString()
	}
	env := &eventsv1.Envelope{EventId: eventID, Type: "case.reopened", CaseId: caseID, OccurredAt: timestamppb.New(e.clock.Now()),
		Version: 1, Payload: &eventsv1.Envelope_CaseReopened{CaseReopened: &eventsv1.CaseReopened{
			Case:   &eventsv1.FeedbackCaseRef{CaseId: caseID, Area: area(street), Round: round},
			Reason: eventsv1.ReopenReason_REOPEN_REASON_UNSATISFIED, Note: "居民不满意"}}}
	data, err := proto.Marshal(env)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.js.Publish(e.ctx, "grid.case.reopened."+dis+"."+street, data, jetstream.WithMsgID(eventID)); err != nil {
		e.t.Fatal(err)
	}
}

// TestReopenedStartsANewRound: a bad callback's case.reopened gives the
// lead unit a new task in the next round, counted as rework, its limits
// running from the reopening; the same reopening redelivered or published
// again changes nothing, and a case that cannot be reopened is dead-lettered.
func TestReopenedStartsANewRound(t *testing.T) {
	e := setup(t)
	caseID := e.newCase("H04001", zj, true)
	first := e.waitTasks(caseID, 1)[0]
	pcs, ctx := e.as("department:" + zj + "-pcs")
	if _, err := pcs.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "ack", TaskId: first.GetTaskId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := pcs.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: "done", TaskId: first.GetTaskId(), Result: "已整改"}); err != nil {
		t.Fatal(err)
	}

	e.clock.Advance(48 * time.Hour) // Wednesday morning
	reopenedAt := e.clock.Now()
	id := uuid.NewString()
	e.reopened(caseID, zj, 1, id)
	tasks := e.waitTasks(caseID, 1, eventsv1.TaskState_TASK_STATE_DISPATCHED)
	nt := tasks[0]
	if nt.GetTaskId() == first.GetTaskId() || nt.GetDepartmentCode() != zj+"-pcs" || nt.GetRole() != eventsv1.TaskRole_TASK_ROLE_LEAD ||
		nt.GetRound() != 1 || nt.GetDispatchReason() != eventsv1.DispatchReason_DISPATCH_REASON_REOPENED ||
		nt.GetReplacesTaskId() != first.GetTaskId() {
		t.Fatalf("reopened task %v", nt)
	}
	dl := nt.GetDeadlines()
	if !dl.GetStartedAt().AsTime().Equal(reopenedAt) || !dl.GetComplete().GetDue().AsTime().After(reopenedAt) ||
		dl.GetComplete().GetDue().AsTime().Equal(first.GetDeadlines().GetComplete().GetDue().AsTime()) {
		t.Fatalf("reopened deadlines %v (first task's %v)", dl, first.GetDeadlines())
	}
	// The first round's task stays completed.
	if done := e.waitTasks(caseID, 1, eventsv1.TaskState_TASK_STATE_COMPLETED); done[0].GetTaskId() != first.GetTaskId() {
		t.Fatalf("completed %v", done)
	}
	evs := e.events("grid.task.dispatched."+zj+"-pcs.>", 2)
	d := evs[len(evs)-1].GetTaskDispatched()
	if d.GetTask().GetTaskId() != nt.GetTaskId() || d.GetReason() != eventsv1.DispatchReason_DISPATCH_REASON_REOPENED || d.GetTask().GetRound() != 1 {
		t.Fatalf("dispatched %v", d)
	}

	// Redelivery: the same event again (JetStream's dedupe window aside, the
	// consumer's handled ids) and the same reopening under a new id (the
	// round) give no further task.
	e.clock.Advance(time.Hour)
	e.reopened(caseID, zj, 1, id)
	e.reopened(caseID, zj, 1, "")
	time.Sleep(time.Second)
	if all := e.waitTasks(caseID, 2); len(all) != 2 {
		t.Fatalf("%d tasks", len(all))
	}
	if evs := e.events("grid.task.dispatched.>", 2); len(evs) != 2 {
		t.Fatalf("%d dispatched events", len(evs))
	}

	// The new round works like the first: signed for, completed, and a
	// second bad callback opens round 2.
	if _, err := pcs.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: "ack2", TaskId: nt.GetTaskId()}); err != nil {
		t.Fatal(err)
	}
	// Round 2 cannot start before round 1's task is completed: dead-lettered.
	e.reopened(caseID, zj, 2, "")
	dlq, reasons := e.deadLetters(1)
	if len(dlq) != 1 || dlq[0].GetCaseReopened().GetCase().GetRound() != 2 || !strings.Contains(reasons[0], "no completed lead task") {
		t.Fatalf("dead letters %v %q", dlq, reasons)
	}
	if _, err := pcs.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: "done2", TaskId: nt.GetTaskId(), Result: "已复查整改"}); err != nil {
		t.Fatal(err)
	}
	e.reopened(caseID, zj, 2, "")
	third := e.waitTasks(caseID, 1, eventsv1.TaskState_TASK_STATE_DISPATCHED)[0]
	if third.GetRound() != 2 || third.GetReplacesTaskId() != nt.GetTaskId() || third.GetDepartmentCode() != zj+"-pcs" {
		t.Fatalf("round 2 task %v", third)
	}

	// A case dispatch never saw needs nothing from it.
	e.reopened(uuid.Must(uuid.NewV7()).String(), zj, 1, "")
	time.Sleep(500 * time.Millisecond)
	if dlq, _ := e.deadLetters(1); len(dlq) != 1 {
		t.Fatalf("%d dead letters", len(dlq))
	}
}

// deadLetters reads dispatch's dead-lettered reopenings and their reasons,
// waiting until there are at least want.
func (e *env) deadLetters(want int) ([]*eventsv1.Envelope, []string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	for {
		var out []*eventsv1.Envelope
		var reasons []string
		cons, err := e.js.OrderedConsumer(ctx, natsjs.StreamDLQ, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{"dlq." + events.ConsumerName + ".grid.case.reopened.>"}})
		if err != nil {
			e.t.Fatal(err)
		}
		b, err := cons.Fetch(100, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			e.t.Fatal(err)
		}
		for m := range b.Messages() {
			var env eventsv1.Envelope
			if err := proto.Unmarshal(m.Data(), &env); err != nil {
				e.t.Fatal(err)
			}
			out = append(out, &env)
			reasons = append(reasons, m.Headers().Get(natsjs.HeaderDLQReason))
		}
		if len(out) >= want {
			return out, reasons
		}
		if ctx.Err() != nil {
			e.t.Fatalf("%d dead letters, want %d", len(out), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
