// Package events is dispatch's side of the event stream: it turns the
// domain's events into gridflow.events.v1 envelopes for the outbox
// (grid.task.<event>.<dept>.<district>.<street> and
// grid.case.<event>.<district>.<street>), handles the events dispatch
// consumes (case.received, case.classified, case.followed_up) and fires the
// clock's timers, and streams a department's task events (WatchTasks).
package events

import (
	"fmt"
	"strings"

	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// SchemaVersion of the events this package writes.
const SchemaVersion = 1

// HeaderEventType names the event type in a NATS header, as intake does.
const HeaderEventType = "Gridflow-Event-Type"

// TaskSubject is grid.task.<event>.<dept>.<district>.<street>.
func TaskSubject(event, dept string, a dispatch.Area) string {
	return fmt.Sprintf("grid.task.%s.%s.%s.%s", event, dept, token(a.District), token(a.Street))
}

// CaseSubject is grid.case.<event>.<district>.<street>.
func CaseSubject(event string, a dispatch.Area) string {
	return fmt.Sprintf("grid.case.%s.%s.%s", event, token(a.District), token(a.Street))
}

// DepartmentFilter is the subject filter of one department's task events.
func DepartmentFilter(dept string) string { return "grid.task.*." + dept + ".>" }

// Encode turns domain events into outbox messages, with new event ids.
func Encode(evs []dispatch.Event) ([]outbox.Message, error) {
	out := make([]outbox.Message, 0, len(evs))
	for _, e := range evs {
		m, err := encode(e, dispatch.NewID())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func principal(s string) *typesv1.Principal {
	role, subject, _ := strings.Cut(s, ":")
	return &typesv1.Principal{Role: role, Subject: subject}
}

// Envelope builds the envelope of one domain event.
func Envelope(e dispatch.Event, id string) (*eventsv1.Envelope, error) {
	env := &eventsv1.Envelope{EventId: id, Type: e.Type, CaseId: e.CaseID, OccurredAt: Timestamp(e.At),
		Actor: principal(e.Actor), Version: SchemaVersion}
	var ref *eventsv1.TaskRef
	if e.Task != nil {
		ref = TaskRefOut(e.Task, e.Area, e.Item)
	}
	caseRef := &eventsv1.DispatchCaseRef{CaseId: e.CaseID, CaseNumber: e.CaseNumber, Area: AreaOut(e.Area)}
	step := func() *eventsv1.ClockStep {
		if e.Step == nil {
			return nil
		}
		return &eventsv1.ClockStep{Limit: limits[e.Step.Limit], Due: Timestamp(e.Step.Due), Action: actions[e.Step.Action],
			ToDepartmentCode: e.Step.ToDepartment}
	}
	switch e.Type {
	case "task.dispatched":
		env.Payload = &eventsv1.Envelope_TaskDispatched{TaskDispatched: &eventsv1.TaskDispatched{Task: ref,
			Reason: DispatchReasonOut(e.Task.Reason), Rule: e.Task.Rule, Path: PathOut(e.Path), Summary: SummaryOut(e.Summary),
			ReplacesTaskId: e.Task.Replaces, Whistle: e.Task.Whistle, ReferenceDigest: e.ReferenceDigest}}
	case "task.acknowledged":
		env.Payload = &eventsv1.Envelope_TaskAcknowledged{TaskAcknowledged: &eventsv1.TaskAcknowledged{Task: ref, Eta: Timestamp(e.Due), Note: e.Note}}
	case "task.rejected":
		r := e.Rejection
		env.Payload = &eventsv1.Envelope_TaskRejected{TaskRejected: &eventsv1.TaskRejected{Task: ref, Reason: RejectReasonOut(r.Reason),
			Note: r.Note, AreaCode: r.Area, CaseRejections: uint32(e.Count)}}
	case "task.forwarded":
		env.Payload = &eventsv1.Envelope_TaskForwarded{TaskForwarded: &eventsv1.TaskForwarded{Task: ref, ToDepartmentCode: e.ToDepartment,
			NewTaskId: e.NewTaskID, Note: e.Note}}
	case "task.extension_requested":
		env.Payload = &eventsv1.Envelope_TaskExtensionRequested{TaskExtensionRequested: &eventsv1.TaskExtensionRequested{Task: ref,
			RequestedDue: Timestamp(e.Due), Reason: e.Reason}}
	case "task.extension_decided":
		env.Payload = &eventsv1.Envelope_TaskExtensionDecided{TaskExtensionDecided: &eventsv1.TaskExtensionDecided{Task: ref,
			Granted: e.Granted, Due: Timestamp(e.Due), Note: e.Note}}
	case "task.progress_reported":
		env.Payload = &eventsv1.Envelope_TaskProgressReported{TaskProgressReported: &eventsv1.TaskProgressReported{Task: ref, Text: e.Text, OnSite: e.OnSite}}
	case "task.completed":
		env.Payload = &eventsv1.Envelope_TaskCompleted{TaskCompleted: &eventsv1.TaskCompleted{Task: ref, Result: e.Text, Evidence: e.Evidence,
			ReviewRequired: e.Task.ReviewRequired}}
	case "task.completion_approved":
		env.Payload = &eventsv1.Envelope_TaskCompletionApproved{TaskCompletionApproved: &eventsv1.TaskCompletionApproved{Task: ref, Note: e.Note}}
	case "task.completion_returned":
		env.Payload = &eventsv1.Envelope_TaskCompletionReturned{TaskCompletionReturned: &eventsv1.TaskCompletionReturned{Task: ref, Note: e.Note,
			Returns: uint32(e.Count)}}
	case "task.withdrawn":
		env.Payload = &eventsv1.Envelope_TaskWithdrawn{TaskWithdrawn: &eventsv1.TaskWithdrawn{Task: ref,
			Reason: withdrawReasons[dispatch.WithdrawReason(e.Reason)], Note: e.Note}}
	case "task.warned":
		env.Payload = &eventsv1.Envelope_TaskWarned{TaskWarned: &eventsv1.TaskWarned{Task: ref, Step: step()}}
	case "task.overdue":
		env.Payload = &eventsv1.Envelope_TaskOverdue{TaskOverdue: &eventsv1.TaskOverdue{Task: ref, Step: step()}}
	case "task.urged":
		env.Payload = &eventsv1.Envelope_TaskUrged{TaskUrged: &eventsv1.TaskUrged{Task: ref, FollowUpId: e.FollowUpID, Urges: uint32(e.Count)}}
	case "task.supervised":
		env.Payload = &eventsv1.Envelope_TaskSupervised{TaskSupervised: &eventsv1.TaskSupervised{Task: ref, Step: step(), Note: e.Note}}
	case "task.escalated":
		env.Payload = &eventsv1.Envelope_TaskEscalated{TaskEscalated: &eventsv1.TaskEscalated{Task: ref, Step: step()}}
	case "task.deadline_changed":
		var prev *eventsv1.Deadlines
		if e.Previous != nil {
			prev = DeadlinesOut(*e.Previous)
		}
		env.Payload = &eventsv1.Envelope_TaskDeadlineChanged{TaskDeadlineChanged: &eventsv1.TaskDeadlineChanged{Task: ref,
			Reason: changeReasons[dispatch.ChangeReason(e.Reason)], Previous: prev}}
	case "case.cancelled":
		env.Payload = &eventsv1.Envelope_CaseCancelled{CaseCancelled: &eventsv1.CaseCancelled{Case: caseRef, Reason: e.Reason, WithdrawnTaskIds: e.Withdrawn}}
	case "case.parked":
		env.Payload = &eventsv1.Envelope_CaseParked{CaseParked: &eventsv1.CaseParked{Case: caseRef, Reason: e.Reason, ReviewDate: e.ReviewDate}}
	case "case.unparked":
		env.Payload = &eventsv1.Envelope_CaseUnparked{CaseUnparked: &eventsv1.CaseUnparked{Case: caseRef, Note: e.Note, ParkedAt: Timestamp(e.ParkedAt)}}
	case "case.excluded":
		env.Payload = &eventsv1.Envelope_CaseExcluded{CaseExcluded: &eventsv1.CaseExcluded{Case: caseRef, Reason: e.Reason}}
	case "case.arbitration_opened":
		env.Payload = &eventsv1.Envelope_CaseArbitrationOpened{CaseArbitrationOpened: &eventsv1.CaseArbitrationOpened{Case: caseRef,
			Rejections: uint32(e.Count), RejectedBy: e.RejectedBy}}
	case "case.arbitrated":
		env.Payload = &eventsv1.Envelope_CaseArbitrated{CaseArbitrated: &eventsv1.CaseArbitrated{Case: caseRef, DepartmentCode: e.ToDepartment,
			NewTaskId: e.NewTaskID, Note: e.Note}}
	default:
		return nil, fmt.Errorf("events: unknown event type %q", e.Type)
	}
	return env, nil
}

func encode(e dispatch.Event, id string) (outbox.Message, error) {
	env, err := Envelope(e, id)
	if err != nil {
		return outbox.Message{}, err
	}
	data, err := proto.Marshal(env)
	if err != nil {
		return outbox.Message{}, fmt.Errorf("marshal %s: %w", e.Type, err)
	}
	kind, event, _ := strings.Cut(e.Type, ".")
	subject := CaseSubject(event, e.Area)
	if kind == "task" {
		subject = TaskSubject(event, e.Task.Department, e.Area)
	}
	return outbox.Message{ID: id, Subject: subject, Data: data, Headers: map[string]string{HeaderEventType: e.Type}}, nil
}
