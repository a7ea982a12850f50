package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/dispatch/internal/convert"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/gridflow/gridflow/services/dispatch/internal/worktasks"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Grid workers' tasks (issue 20).

// ConsumerWorkTasks is dispatch's durable consumer of what opens and closes
// worker tasks: patrol reports (who reported where), feedback's resolution,
// re-check, closing and reopening of a case, and classify's places.
const ConsumerWorkTasks = "dispatch-worktasks"

// WorkTaskSubjects are ConsumerWorkTasks's filter (pkg/natsauth).
var WorkTaskSubjects = []string{
	"grid.case.received.>",
	"grid.case.resolved.>",
	"grid.case.rechecked.>",
	"grid.case.closed.>",
	"grid.case.reopened.>",
	"grid.place.upserted.>",
}

// WorkBinder binds a consumer's or a timer's transaction to the worker
// tasks' store.
type WorkBinder func(tx pgx.Tx) worktasks.Tx

// WorkHandler is the consumer.Handler of ConsumerWorkTasks.
func WorkHandler(svc *worktasks.Service, bind WorkBinder) consumer.Handler {
	return func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		env, err := decode(msg.Data)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
		}
		return ApplyWork(ctx, svc, bind(tx), env)
	}
}

// WorkSkip is ConsumerWorkTasks's Config.Skip: most of its events are a
// hotline case's, which opens and closes no worker task, and are acked
// without a transaction (issue 17: about three handled records per order).
func WorkSkip(m consumer.Message) bool {
	env, err := decode(m.Data)
	return err == nil && !touchesWork(env) // an undecodable one goes to the handler, which dead-letters it
}

// touchesWork reports whether env may open or close a worker task, from
// the event alone: only a patrol report opens a re-check, so the later
// events of a case whose source is known and is not patrol close none.
func touchesWork(env *eventsv1.Envelope) bool {
	patrol := func(c *eventsv1.FeedbackCaseRef) bool {
		s := c.GetSource()
		return s == typesv1.Source_SOURCE_UNSPECIFIED || s == typesv1.Source_SOURCE_PATROL
	}
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_CaseReceived:
		// Not a patrol report, or one settled on the spot (its leader checks it).
		return p.CaseReceived.GetWorkerId() != "" && !p.CaseReceived.GetSelfDisposed()
	case *eventsv1.Envelope_CaseResolved:
		return p.CaseResolved.GetAwaitingRecheck()
	case *eventsv1.Envelope_CaseRechecked:
		return patrol(p.CaseRechecked.GetCase())
	case *eventsv1.Envelope_CaseClosed:
		return patrol(p.CaseClosed.GetCase())
	case *eventsv1.Envelope_CaseReopened:
		return patrol(p.CaseReopened.GetCase())
	case *eventsv1.Envelope_PlaceUpserted:
		return true
	}
	return false // the filter's other payloads (an answered case …) open nothing
}

// ApplyWork applies one decoded event to the worker tasks.
func ApplyWork(ctx context.Context, svc *worktasks.Service, tx worktasks.Tx, env *eventsv1.Envelope) error {
	if !touchesWork(env) {
		return nil
	}
	at := wire.TimeIn(env.GetOccurredAt())
	actor := wire.PrincipalIn(env.GetActor())
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_CaseReceived:
		r := p.CaseReceived
		a := r.GetArea()
		return svc.PatrolReported(ctx, tx, worktasks.PatrolCase{CaseID: r.GetCaseId(), CaseNumber: r.GetCaseNumber(), WorkerID: r.GetWorkerId(),
			District: a.GetDistrictCode(), Street: a.GetStreetCode(), Community: a.GetCommunityCode(), Grid: a.GetGridCode()})
	case *eventsv1.Envelope_CaseResolved:
		r := p.CaseResolved
		return svc.Resolved(ctx, tx, caseIDOf(env, r.GetCase()), r.GetCase().GetCaseNumber(), int(r.GetCase().GetRound()), at)
	case *eventsv1.Envelope_CaseRechecked:
		return svc.Rechecked(ctx, tx, caseIDOf(env, p.CaseRechecked.GetCase()), true, actor, at)
	case *eventsv1.Envelope_CaseClosed:
		return svc.Rechecked(ctx, tx, caseIDOf(env, p.CaseClosed.GetCase()), false, actor, at)
	case *eventsv1.Envelope_CaseReopened:
		return svc.Rechecked(ctx, tx, caseIDOf(env, p.CaseReopened.GetCase()), false, actor, at)
	case *eventsv1.Envelope_PlaceUpserted:
		u := p.PlaceUpserted
		if u.GetPlaceKey() == "" {
			return consumer.Permanent(errors.New("place.upserted without a place key"))
		}
		return svc.PlaceUpserted(ctx, tx, worktasks.Place{Key: u.GetPlaceKey(), Name: u.GetName(), Kind: u.GetKind(),
			District: u.GetDistrict(), Street: u.GetStreet(), Community: u.GetCommunity(), Grid: u.GetGrid(), Version: u.GetVersion(),
			EveryMonths: int(u.GetInspectionEveryMonths()), Retired: u.GetRetired()})
	}
	return nil
}

func caseIDOf(env *eventsv1.Envelope, c *eventsv1.FeedbackCaseRef) string {
	if id := c.GetCaseId(); id != "" {
		return id
	}
	return env.GetCaseId()
}

// WorkTimers are the worker tasks' timer handlers (pkg/timer), run by
// dispatch's clock worker beside the departments' timers.
func WorkTimers(svc *worktasks.Service, bind WorkBinder) map[string]timer.Handler {
	return map[string]timer.Handler{
		worktasks.TimerWarn: func(ctx context.Context, tx pgx.Tx, t timer.Timer) error { return svc.Warn(ctx, bind(tx), t.Key) },
		worktasks.TimerDue:  func(ctx context.Context, tx pgx.Tx, t timer.Timer) error { return svc.Due(ctx, bind(tx), t.Key) },
		worktasks.TimerInspection: func(ctx context.Context, tx pgx.Tx, t timer.Timer) error {
			return svc.InspectionDue(ctx, bind(tx), t.Key)
		},
	}
}

// workRef is a worker task as task events state it: the unit "worker",
// the worker and the task's kind, its due time as the completion limit.
func workRef(t worktasks.Task) *eventsv1.TaskRef {
	state := eventsv1.TaskState_TASK_STATE_DISPATCHED
	switch t.State {
	case worktasks.Done:
		state = eventsv1.TaskState_TASK_STATE_COMPLETED
	case worktasks.Missed, worktasks.Withdrawn:
		state = eventsv1.TaskState_TASK_STATE_WITHDRAWN
	}
	return &eventsv1.TaskRef{TaskId: t.ID, CaseId: t.CaseID, CaseNumber: t.CaseNumber, DepartmentCode: worktasks.Unit,
		Role: eventsv1.TaskRole_TASK_ROLE_LEAD, State: state, DistrictCode: convert.Token(t.District), StreetCode: convert.Token(t.Street),
		Round: uint32(t.Round), Deadlines: &eventsv1.Deadlines{StartedAt: wire.TimeOut(t.OpenedAt),
			Complete: &eventsv1.Deadline{Due: wire.TimeOut(t.DueAt), WarnAt: wire.TimeOut(t.WarnAt)}},
		Warned: t.Warned, Overdue: t.Overdue, Escalated: t.Escalated, WorkerId: t.WorkerID, Kind: string(t.Kind)}
}

// EncodeWork builds the outbox message of a worker task event, on
// grid.task.<event>.worker.<district>.<street>.
func EncodeWork(e worktasks.Event) (outbox.Message, error) {
	id := dispatch.NewID()
	t := e.Task
	env := &eventsv1.Envelope{EventId: id, CaseId: t.CaseID, OccurredAt: wire.TimeOut(e.At), Actor: wire.PrincipalOut(e.Actor),
		Version: SchemaVersion}
	ref := workRef(t)
	step := &eventsv1.ClockStep{Limit: eventsv1.ClockLimit_CLOCK_LIMIT_COMPLETE, Due: wire.TimeOut(t.DueAt)}
	switch e.Name {
	case worktasks.EvDispatched:
		env.Payload = &eventsv1.Envelope_TaskDispatched{TaskDispatched: &eventsv1.TaskDispatched{Task: ref,
			Reason: eventsv1.DispatchReason_DISPATCH_REASON_ROUTED, Rule: "worker_of_grid",
			Summary: &eventsv1.CaseSummary{CaseNumber: t.CaseNumber, Area: &typesv1.Area{DistrictCode: t.District,
				StreetCode: t.Street, CommunityCode: t.Community, GridCode: t.Grid}}}}
	case worktasks.EvWarned:
		step.Action = eventsv1.EscalationAction_ESCALATION_ACTION_REMIND
		env.Payload = &eventsv1.Envelope_TaskWarned{TaskWarned: &eventsv1.TaskWarned{Task: ref, Step: step}}
	case worktasks.EvOverdue:
		env.Payload = &eventsv1.Envelope_TaskOverdue{TaskOverdue: &eventsv1.TaskOverdue{Task: ref, Step: step}}
	case worktasks.EvEscalated:
		step.Action, step.ToDepartmentCode = eventsv1.EscalationAction_ESCALATION_ACTION_ESCALATE, e.To
		env.Payload = &eventsv1.Envelope_TaskEscalated{TaskEscalated: &eventsv1.TaskEscalated{Task: ref, Step: step}}
	case worktasks.EvCompleted:
		env.Payload = &eventsv1.Envelope_TaskCompleted{TaskCompleted: &eventsv1.TaskCompleted{Task: ref, Result: "re-check recorded"}}
	case worktasks.EvWithdrawn:
		env.Payload = &eventsv1.Envelope_TaskWithdrawn{TaskWithdrawn: &eventsv1.TaskWithdrawn{Task: ref,
			Reason: eventsv1.WithdrawReason_WITHDRAW_REASON_NOT_DISPATCHABLE}}
	case worktasks.EvInspectionRecorded:
		env.Payload = &eventsv1.Envelope_TaskInspectionRecorded{TaskInspectionRecorded: &eventsv1.InspectionRecorded{InspectionId: t.ID,
			PlaceKey: t.PlaceKey, PlaceName: t.PlaceName, PlaceKind: t.PlaceKind, WorkerId: t.WorkerID, District: t.District,
			Street: t.Street, Community: t.Community, Grid: t.Grid, DueAt: wire.TimeOut(t.DueAt), DoneAt: wire.TimeOut(t.DoneAt),
			OnTime: t.OnTime(), Outcome: t.Outcome, Note: t.Note, CaseId: t.FindingCaseID}}
	case worktasks.EvInspectionMissed:
		env.Payload = &eventsv1.Envelope_TaskInspectionMissed{TaskInspectionMissed: &eventsv1.InspectionMissed{InspectionId: t.ID,
			PlaceKey: t.PlaceKey, PlaceName: t.PlaceName, PlaceKind: t.PlaceKind, WorkerId: t.WorkerID, District: t.District,
			Street: t.Street, Community: t.Community, Grid: t.Grid, DueAt: wire.TimeOut(t.DueAt)}}
	default:
		return outbox.Message{}, fmt.Errorf("events: no payload for worker task event %q", e.Name)
	}
	env.Type = envelope.Name(env)
	b, err := proto.Marshal(env)
	if err != nil {
		return outbox.Message{}, err
	}
	subject := fmt.Sprintf("grid.task.%s.%s.%s.%s", envelope.Event(env.Type), worktasks.Unit, convert.Token(t.District), convert.Token(t.Street))
	return outbox.Message{ID: id, Subject: subject, Data: b, Headers: map[string]string{HeaderEventType: env.Type}}, nil
}
