// Package events is dispatch's side of the event stream, and only that. It
// turns the domain's events into gridflow.events.v1 envelopes for the
// outbox: Envelope is the one place that maps each domain event type to its
// payload, and Envelope.type and the subject
// (grid.task.<event>.<dept>.<district>.<street> or
// grid.case.<event>.<district>.<street>) follow from the payload. It handles
// the events dispatch consumes (case.received, case.classified,
// case.followed_up, case.reopened; changeOf decides every payload of the
// oneof). The clock's timers fire in package clock; WatchTasks reads the
// stream in package feed.
package events

import (
	"errors"
	"fmt"

	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/dispatch/internal/convert"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// SchemaVersion of the events this package writes.
const SchemaVersion = 1

// HeaderEventType names the event type in a NATS header, as intake does.
const HeaderEventType = "Gridflow-Event-Type"

// TaskSubject is grid.task.<event>.<dept>.<district>.<street>.
func TaskSubject(event, dept string, a dispatch.Area) string {
	return fmt.Sprintf("grid.task.%s.%s.%s.%s", event, dept, convert.Token(a.District), convert.Token(a.Street))
}

// CaseSubject is grid.case.<event>.<district>.<street>.
func CaseSubject(event string, a dispatch.Area) string {
	return fmt.Sprintf("grid.case.%s.%s.%s", event, convert.Token(a.District), convert.Token(a.Street))
}

// DepartmentFilter is the subject filter of one department's task events.
func DepartmentFilter(dept string) string { return "grid.task.*." + dept + ".>" }

// Encode turns domain events into outbox messages, with new event ids (a
// dispatch.Encoder).
func Encode(evs []dispatch.Event) ([]dispatch.Message, error) {
	out := make([]dispatch.Message, 0, len(evs))
	for _, e := range evs {
		m, err := encode(e, dispatch.NewID())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Envelope builds the envelope of one domain event: the one place that maps
// each of dispatch's event types to its payload. Its type is the payload's
// name (package envelope).
func Envelope(e dispatch.Event, id string) (*eventsv1.Envelope, error) {
	if e == nil {
		return nil, errors.New("events: no event")
	}
	h := dispatch.Head(e)
	env := &eventsv1.Envelope{EventId: id, CaseId: h.CaseID, OccurredAt: wire.TimeOut(h.At), Actor: wire.PrincipalOut(h.Actor),
		Version: SchemaVersion}
	ref := func(te dispatch.TaskEvent) *eventsv1.TaskRef { return convert.TaskRefOut(te.Task, h.Area, h.Item) }
	caseRef := &eventsv1.DispatchCaseRef{CaseId: h.CaseID, CaseNumber: h.CaseNumber, Area: convert.AreaOut(h.Area)}
	switch e := e.(type) {
	case *dispatch.TaskDispatched:
		t := e.Task
		env.Payload = &eventsv1.Envelope_TaskDispatched{TaskDispatched: &eventsv1.TaskDispatched{Task: ref(e.TaskEvent),
			Reason: convert.DispatchReasonOut(t.Reason), Rule: t.Rule, Path: convert.PathOut(e.Path), Summary: convert.SummaryOut(e.Summary),
			ReplacesTaskId: t.Replaces, Whistle: t.Whistle, ReferenceDigest: e.ReferenceDigest}}
	case *dispatch.TaskAcknowledged:
		env.Payload = &eventsv1.Envelope_TaskAcknowledged{TaskAcknowledged: &eventsv1.TaskAcknowledged{Task: ref(e.TaskEvent),
			Eta: wire.TimeOut(e.ETA), Note: e.Note}}
	case *dispatch.TaskRejected:
		r := e.Rejection
		env.Payload = &eventsv1.Envelope_TaskRejected{TaskRejected: &eventsv1.TaskRejected{Task: ref(e.TaskEvent),
			Reason: convert.RejectReasonOut(r.Reason), Note: r.Note, AreaCode: r.Area, CaseRejections: uint32(e.CaseRejections)}}
	case *dispatch.TaskForwarded:
		env.Payload = &eventsv1.Envelope_TaskForwarded{TaskForwarded: &eventsv1.TaskForwarded{Task: ref(e.TaskEvent),
			ToDepartmentCode: e.ToDepartment, NewTaskId: e.NewTaskID, Note: e.Note}}
	case *dispatch.TaskExtensionRequested:
		env.Payload = &eventsv1.Envelope_TaskExtensionRequested{TaskExtensionRequested: &eventsv1.TaskExtensionRequested{
			Task: ref(e.TaskEvent), RequestedDue: wire.TimeOut(e.Due), Reason: e.Reason}}
	case *dispatch.TaskExtensionDecided:
		env.Payload = &eventsv1.Envelope_TaskExtensionDecided{TaskExtensionDecided: &eventsv1.TaskExtensionDecided{
			Task: ref(e.TaskEvent), Granted: e.Granted, Due: wire.TimeOut(e.Due), Note: e.Note}}
	case *dispatch.TaskProgressReported:
		env.Payload = &eventsv1.Envelope_TaskProgressReported{TaskProgressReported: &eventsv1.TaskProgressReported{
			Task: ref(e.TaskEvent), Text: e.Text, OnSite: e.OnSite}}
	case *dispatch.TaskCompleted:
		env.Payload = &eventsv1.Envelope_TaskCompleted{TaskCompleted: &eventsv1.TaskCompleted{Task: ref(e.TaskEvent),
			Result: e.Result, Evidence: e.Evidence, ReviewRequired: e.Task.ReviewRequired}}
	case *dispatch.TaskCompletionApproved:
		env.Payload = &eventsv1.Envelope_TaskCompletionApproved{TaskCompletionApproved: &eventsv1.TaskCompletionApproved{
			Task: ref(e.TaskEvent), Note: e.Note}}
	case *dispatch.TaskCompletionReturned:
		env.Payload = &eventsv1.Envelope_TaskCompletionReturned{TaskCompletionReturned: &eventsv1.TaskCompletionReturned{
			Task: ref(e.TaskEvent), Note: e.Note, Returns: uint32(e.Returns)}}
	case *dispatch.TaskWithdrawn:
		env.Payload = &eventsv1.Envelope_TaskWithdrawn{TaskWithdrawn: &eventsv1.TaskWithdrawn{Task: ref(e.TaskEvent),
			Reason: convert.WithdrawReasonOut(e.Reason), Note: e.Note}}
	case *dispatch.TaskWarned:
		env.Payload = &eventsv1.Envelope_TaskWarned{TaskWarned: &eventsv1.TaskWarned{Task: ref(e.TaskEvent),
			Step: convert.ClockStepOut(e.Step)}}
	case *dispatch.TaskOverdue:
		env.Payload = &eventsv1.Envelope_TaskOverdue{TaskOverdue: &eventsv1.TaskOverdue{Task: ref(e.TaskEvent),
			Step: convert.ClockStepOut(e.Step)}}
	case *dispatch.TaskUrged:
		env.Payload = &eventsv1.Envelope_TaskUrged{TaskUrged: &eventsv1.TaskUrged{Task: ref(e.TaskEvent), FollowUpId: e.FollowUpID,
			Urges: uint32(e.Urges)}}
	case *dispatch.TaskSupervised:
		p := &eventsv1.TaskSupervised{Task: ref(e.TaskEvent), Note: e.Note}
		if e.Step != nil {
			p.Step = convert.ClockStepOut(*e.Step)
		}
		env.Payload = &eventsv1.Envelope_TaskSupervised{TaskSupervised: p}
	case *dispatch.TaskEscalated:
		env.Payload = &eventsv1.Envelope_TaskEscalated{TaskEscalated: &eventsv1.TaskEscalated{Task: ref(e.TaskEvent),
			Step: convert.ClockStepOut(e.Step)}}
	case *dispatch.TaskDeadlineChanged:
		env.Payload = &eventsv1.Envelope_TaskDeadlineChanged{TaskDeadlineChanged: &eventsv1.TaskDeadlineChanged{
			Task: ref(e.TaskEvent), Reason: convert.ChangeReasonOut(e.Reason), Previous: convert.DeadlinesOut(e.Previous)}}
	case *dispatch.CaseCancelled:
		env.Payload = &eventsv1.Envelope_CaseCancelled{CaseCancelled: &eventsv1.CaseCancelled{Case: caseRef, Reason: e.Reason,
			WithdrawnTaskIds: e.Withdrawn}}
	case *dispatch.CaseParked:
		env.Payload = &eventsv1.Envelope_CaseParked{CaseParked: &eventsv1.CaseParked{Case: caseRef, Reason: e.Reason,
			ReviewDate: e.ReviewDate.String()}}
	case *dispatch.CaseUnparked:
		env.Payload = &eventsv1.Envelope_CaseUnparked{CaseUnparked: &eventsv1.CaseUnparked{Case: caseRef, Note: e.Note,
			ParkedAt: wire.TimeOut(e.ParkedAt)}}
	case *dispatch.CaseExcluded:
		env.Payload = &eventsv1.Envelope_CaseExcluded{CaseExcluded: &eventsv1.CaseExcluded{Case: caseRef, Reason: e.Reason}}
	case *dispatch.CaseArbitrationOpened:
		env.Payload = &eventsv1.Envelope_CaseArbitrationOpened{CaseArbitrationOpened: &eventsv1.CaseArbitrationOpened{
			Case: caseRef, Rejections: uint32(e.Rejections), RejectedBy: e.RejectedBy}}
	case *dispatch.CaseArbitrated:
		env.Payload = &eventsv1.Envelope_CaseArbitrated{CaseArbitrated: &eventsv1.CaseArbitrated{Case: caseRef,
			DepartmentCode: e.Department, NewTaskId: e.NewTaskID, Note: e.Note}}
	default:
		// Unreachable while TestEnvelopeMapsEveryEvent passes.
		return nil, fmt.Errorf("events: no payload for %T", e)
	}
	env.Type = envelope.Name(env)
	return env, nil
}

// encode builds the outbox message: task events go to their department's
// subject, case events to the case's.
func encode(e dispatch.Event, id string) (dispatch.Message, error) {
	env, err := Envelope(e, id)
	if err != nil {
		return dispatch.Message{}, err
	}
	data, err := proto.Marshal(env)
	if err != nil {
		return dispatch.Message{}, fmt.Errorf("marshal %s: %w", env.Type, err)
	}
	h := dispatch.Head(e)
	subject := CaseSubject(envelope.Event(env.Type), h.Area)
	if t := dispatch.TaskOf(e); t != nil {
		subject = TaskSubject(envelope.Event(env.Type), t.Department, h.Area)
	}
	return dispatch.Message{ID: id, Subject: subject, Data: data, Headers: map[string]string{HeaderEventType: env.Type}}, nil
}
