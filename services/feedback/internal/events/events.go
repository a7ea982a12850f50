// Package events is feedback's side of the stream: it consumes every case,
// incident and task event (durable consumer feedback-events), turns
// envelopes into the domain's events and back, and builds the envelopes of
// feedback's own events — grid.case.{resolved,replied,callback_recorded,
// rechecked,reopened,closed,withdrawn}.<district>.<street>.
package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// SchemaVersion of the events this package writes.
const SchemaVersion = 1

// The consumer and what it reads.
const ConsumerName = "feedback-events"

// Subjects feedback consumes.
var Subjects = []string{"grid.case.>", "grid.incident.>", "grid.task.>"}

// Binder gives the domain's view of the runner's transaction.
type Binder func(tx pgx.Tx) feedback.Tx

// Handler stores and applies every event. Envelopes that do not decode or
// name no case are poison.
func Handler(svc *feedback.Service, bind Binder) consumer.Handler {
	return func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		e, err := Decode(msg.Data)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("%s: %w", msg.Subject, err))
		}
		if e.ID == "" {
			e.ID = msg.EventID
		}
		if e.At.IsZero() {
			e.At = msg.Published
		}
		if e.CaseID == "" {
			return consumer.Permanent(fmt.Errorf("%s: event %s names no case", msg.Subject, e.ID))
		}
		return svc.Handle(ctx, bind(tx), e)
	}
}

// Decode reads a stored or delivered envelope into a domain event.
func Decode(b []byte) (feedback.Event, error) {
	env := &eventsv1.Envelope{}
	if err := proto.Unmarshal(b, env); err != nil {
		return feedback.Event{}, err
	}
	if env.GetPayload() == nil && env.GetType() != "case.callback_retry_due" {
		return feedback.Event{}, errors.New("envelope without payload")
	}
	e := feedback.Event{ID: env.GetEventId(), Type: env.GetType(), CaseID: env.GetCaseId(), Actor: principal(env.GetActor()), Raw: b}
	if env.GetOccurredAt() != nil {
		e.At = env.GetOccurredAt().AsTime()
	}
	fill(&e, env)
	return e, nil
}

func principal(p *typesv1.Principal) string {
	if p == nil {
		return ""
	}
	if p.GetSubject() == "" {
		return p.GetRole()
	}
	return p.GetRole() + ":" + p.GetSubject()
}

func ts(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

func areaIn(a *typesv1.Area) feedback.Area {
	if a == nil {
		return feedback.Area{}
	}
	return feedback.Area{District: a.GetDistrictCode(), Street: a.GetStreetCode(), Community: a.GetCommunityCode(), Grid: a.GetGridCode()}
}

func areaOut(a feedback.Area) *typesv1.Area {
	return &typesv1.Area{DistrictCode: a.District, StreetCode: a.Street, CommunityCode: a.Community, GridCode: a.Grid}
}

// SourceIn names a source.
func SourceIn(s typesv1.Source) feedback.Source {
	switch s {
	case typesv1.Source_SOURCE_HOTLINE:
		return feedback.Hotline
	case typesv1.Source_SOURCE_PATROL:
		return feedback.Patrol
	case typesv1.Source_SOURCE_SECRETARY:
		return feedback.Secretary
	}
	return ""
}

// SourceOut is SourceIn's inverse.
func SourceOut(s feedback.Source) typesv1.Source {
	switch s {
	case feedback.Hotline:
		return typesv1.Source_SOURCE_HOTLINE
	case feedback.Patrol:
		return typesv1.Source_SOURCE_PATROL
	case feedback.Secretary:
		return typesv1.Source_SOURCE_SECRETARY
	}
	return typesv1.Source_SOURCE_UNSPECIFIED
}

func enumName(s fmt.Stringer, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), prefix))
}

func task(e *feedback.Event, r *eventsv1.TaskRef) *feedback.TaskFact {
	f := &feedback.TaskFact{ID: r.GetTaskId(), Department: r.GetDepartmentCode(), Role: enumName(r.GetRole(), "TASK_ROLE_"),
		State: enumName(r.GetState(), "TASK_STATE_"), Review: enumName(r.GetReview(), "REVIEW_STATE_"), Round: int(r.GetRound()),
		AckDue: ts(r.GetDeadlines().GetAck().GetDue()), CompleteDue: ts(r.GetDeadlines().GetComplete().GetDue()), Overdue: r.GetOverdue()}
	if f.Review == "unspecified" {
		f.Review = ""
	}
	if e.CaseID == "" {
		e.CaseID = r.GetCaseId()
	}
	e.CaseNumber, e.TaskID, e.Department = r.GetCaseNumber(), r.GetTaskId(), r.GetDepartmentCode()
	e.Area = feedback.Area{District: r.GetDistrictCode(), Street: r.GetStreetCode()}
	e.Task = f
	return f
}

func dispatchCase(e *feedback.Event, c *eventsv1.DispatchCaseRef) {
	e.CaseNumber, e.Area = c.GetCaseNumber(), areaIn(c.GetArea())
	if e.CaseID == "" {
		e.CaseID = c.GetCaseId()
	}
}

func feedbackCase(e *feedback.Event, c *eventsv1.FeedbackCaseRef) {
	e.CaseNumber, e.Area, e.Round = c.GetCaseNumber(), areaIn(c.GetArea()), int(c.GetRound())
	e.Source, e.HotlineOrderNo, e.PrimaryCaseID = SourceIn(c.GetSource()), c.GetHotlineOrderNo(), c.GetPrimaryCaseId()
	if e.CaseID == "" {
		e.CaseID = c.GetCaseId()
	}
}

func resultsIn(rs []*eventsv1.TaskResult) []feedback.Result {
	var out []feedback.Result
	for _, r := range rs {
		out = append(out, feedback.Result{TaskID: r.GetTaskId(), Department: r.GetDepartmentCode(), Role: enumName(r.GetRole(), "TASK_ROLE_"),
			Text: r.GetResult(), Evidence: r.GetEvidence(), CompletedAt: ts(r.GetCompletedAt())})
	}
	return out
}

func resultsOut(rs []feedback.Result) []*eventsv1.TaskResult {
	var out []*eventsv1.TaskResult
	for _, r := range rs {
		role := eventsv1.TaskRole_TASK_ROLE_CO_HANDLER
		if r.Role == feedback.RoleLead {
			role = eventsv1.TaskRole_TASK_ROLE_LEAD
		}
		out = append(out, &eventsv1.TaskResult{TaskId: r.TaskID, DepartmentCode: r.Department, Role: role, Result: r.Text,
			Evidence: r.Evidence, CompletedAt: timestamppb.New(r.CompletedAt)})
	}
	return out
}

// SatisfactionIn names a rating.
func SatisfactionIn(s eventsv1.Satisfaction) feedback.Satisfaction {
	switch s {
	case eventsv1.Satisfaction_SATISFACTION_SATISFIED:
		return feedback.Satisfied
	case eventsv1.Satisfaction_SATISFACTION_BASIC:
		return feedback.Basic
	case eventsv1.Satisfaction_SATISFACTION_UNSATISFIED:
		return feedback.Unsatisfied
	}
	return ""
}

// SatisfactionOut is SatisfactionIn's inverse.
func SatisfactionOut(s feedback.Satisfaction) eventsv1.Satisfaction {
	switch s {
	case feedback.Satisfied:
		return eventsv1.Satisfaction_SATISFACTION_SATISFIED
	case feedback.Basic:
		return eventsv1.Satisfaction_SATISFACTION_BASIC
	case feedback.Unsatisfied:
		return eventsv1.Satisfaction_SATISFACTION_UNSATISFIED
	}
	return eventsv1.Satisfaction_SATISFACTION_UNSPECIFIED
}

// fill copies the payload's facts into e, with a summary for the timeline.
func fill(e *feedback.Event, env *eventsv1.Envelope) {
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_CaseReceived:
		received(e, p.CaseReceived)
	case *eventsv1.Envelope_CaseAnswered:
		received(e, p.CaseAnswered)
		e.Summary = "answered on the call"
	case *eventsv1.Envelope_CaseFollowedUp:
		f := p.CaseFollowedUp
		e.CaseNumber, e.Area = f.GetCaseNumber(), areaIn(f.GetArea())
		e.FollowUp = &feedback.FollowUpFact{ID: f.GetFollowUpId(), Withdraw: f.GetKind() == eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW, Text: f.GetText()}
		e.Summary = "hotline follow-up: " + enumName(f.GetKind(), "FOLLOW_UP_KIND_")
	case *eventsv1.Envelope_CaseClassified:
		k := p.CaseClassified
		e.CaseNumber, e.Area = k.GetCaseNumber(), areaIn(k.GetArea())
		e.ModelVersion, e.ClassVersion = k.GetModelVersion(), int(k.GetClassificationVersion())
		e.Classified = &feedback.ClassifiedFact{Version: int(k.GetClassificationVersion()), ItemCode: k.GetItemCode(), ItemName: k.GetItemName(),
			HotlineClass: k.GetHotlineClass(), ModelVersion: k.GetModelVersion(), IncidentID: k.GetIncidentId(), PrimaryCaseID: k.GetPrimaryCaseId(),
			Urgency: enumName(k.GetUrgency(), "URGENCY_"), Source: SourceIn(k.GetSource()), ReceivedAt: ts(k.GetReceivedAt())}
		e.Summary = fmt.Sprintf("classified v%d as %s %s (%s, confidence %.2f)", k.GetClassificationVersion(), k.GetItemCode(), k.GetItemName(),
			enumName(k.GetMethod(), "CLASSIFICATION_METHOD_"), k.GetConfidence())
	case *eventsv1.Envelope_CaseReviewNeeded:
		r := p.CaseReviewNeeded
		e.CaseNumber, e.Area, e.ModelVersion = r.GetCaseNumber(), areaIn(r.GetArea()), r.GetModelVersion()
		e.Summary = "waits for a dispatcher's review"
	case *eventsv1.Envelope_IncidentGrouped:
		g := p.IncidentGrouped
		e.CaseNumber, e.Area = g.GetCaseNumber(), areaIn(g.GetArea())
		e.Grouped = &feedback.GroupedFact{IncidentID: g.GetIncidentId(), PrimaryCaseID: g.GetPrimaryCaseId()}
		e.Summary = fmt.Sprintf("joined incident %s (%d reports)", g.GetIncidentId(), g.GetReports())
	case *eventsv1.Envelope_IncidentLinked:
		e.Area = areaIn(p.IncidentLinked.GetArea())
		e.Summary = "incident linked to source place " + p.IncidentLinked.GetSourcePlaceId()
	case *eventsv1.Envelope_TaskDispatched:
		task(e, p.TaskDispatched.GetTask())
		e.Rule = p.TaskDispatched.GetRule()
		e.Summary = fmt.Sprintf("task for %s (%s, %s)", e.Department, e.Task.Role, enumName(p.TaskDispatched.GetReason(), "DISPATCH_REASON_"))
	case *eventsv1.Envelope_TaskAcknowledged:
		task(e, p.TaskAcknowledged.GetTask())
		e.Summary = e.Department + " signed for the task (签收)"
	case *eventsv1.Envelope_TaskRejected:
		task(e, p.TaskRejected.GetTask())
		e.Summary = fmt.Sprintf("%s returned the task (%s)", e.Department, enumName(p.TaskRejected.GetReason(), "REJECT_REASON_"))
	case *eventsv1.Envelope_TaskForwarded:
		task(e, p.TaskForwarded.GetTask())
		e.Summary = "forwarded to " + p.TaskForwarded.GetToDepartmentCode()
	case *eventsv1.Envelope_TaskExtensionRequested:
		task(e, p.TaskExtensionRequested.GetTask())
		e.Summary = e.Department + " asked for more time"
	case *eventsv1.Envelope_TaskExtensionDecided:
		f := task(e, p.TaskExtensionDecided.GetTask())
		f.Granted, f.NewDue = p.TaskExtensionDecided.GetGranted(), ts(p.TaskExtensionDecided.GetDue())
		e.Summary = fmt.Sprintf("extension granted: %v", f.Granted)
	case *eventsv1.Envelope_TaskProgressReported:
		f := task(e, p.TaskProgressReported.GetTask())
		f.Text = p.TaskProgressReported.GetText()
		e.Summary = e.Department + " reported progress"
	case *eventsv1.Envelope_TaskCompleted:
		f := task(e, p.TaskCompleted.GetTask())
		f.Result, f.Evidence = p.TaskCompleted.GetResult(), p.TaskCompleted.GetEvidence()
		e.Summary = fmt.Sprintf("%s completed the task (review required %v)", e.Department, p.TaskCompleted.GetReviewRequired())
	case *eventsv1.Envelope_TaskCompletionApproved:
		task(e, p.TaskCompletionApproved.GetTask())
		e.Summary = "completion approved"
	case *eventsv1.Envelope_TaskCompletionReturned:
		task(e, p.TaskCompletionReturned.GetTask())
		e.Summary = "completion returned for rework"
	case *eventsv1.Envelope_TaskWithdrawn:
		task(e, p.TaskWithdrawn.GetTask())
		e.Summary = "task withdrawn (" + enumName(p.TaskWithdrawn.GetReason(), "WITHDRAW_REASON_") + ")"
	case *eventsv1.Envelope_TaskWarned:
		task(e, p.TaskWarned.GetTask())
		e.Summary = "warned: 80 % of a limit has run"
	case *eventsv1.Envelope_TaskOverdue:
		task(e, p.TaskOverdue.GetTask())
		e.Summary = "overdue"
	case *eventsv1.Envelope_TaskUrged:
		task(e, p.TaskUrged.GetTask())
		e.Summary = "urged by the hotline (催单)"
	case *eventsv1.Envelope_TaskSupervised:
		task(e, p.TaskSupervised.GetTask())
		e.Summary = "supervised (督办)"
	case *eventsv1.Envelope_TaskEscalated:
		task(e, p.TaskEscalated.GetTask())
		e.Summary = "escalated"
	case *eventsv1.Envelope_TaskDeadlineChanged:
		task(e, p.TaskDeadlineChanged.GetTask())
		e.Summary = "deadlines changed (" + enumName(p.TaskDeadlineChanged.GetReason(), "DEADLINE_CHANGE_REASON_") + ")"
	case *eventsv1.Envelope_CaseCancelled:
		dispatchCase(e, p.CaseCancelled.GetCase())
		e.Reason, e.Summary = p.CaseCancelled.GetReason(), "cancelled: "+p.CaseCancelled.GetReason()
	case *eventsv1.Envelope_CaseParked:
		dispatchCase(e, p.CaseParked.GetCase())
		e.Reason, e.Summary = p.CaseParked.GetReason(), "parked (挂账) until "+p.CaseParked.GetReviewDate()
	case *eventsv1.Envelope_CaseUnparked:
		dispatchCase(e, p.CaseUnparked.GetCase())
		e.Summary = "unparked"
	case *eventsv1.Envelope_CaseExcluded:
		dispatchCase(e, p.CaseExcluded.GetCase())
		e.Reason, e.Summary = p.CaseExcluded.GetReason(), "excluded from assessment (不合理诉求)"
	case *eventsv1.Envelope_CaseArbitrationOpened:
		dispatchCase(e, p.CaseArbitrationOpened.GetCase())
		e.Summary = "arbitration opened"
	case *eventsv1.Envelope_CaseArbitrated:
		dispatchCase(e, p.CaseArbitrated.GetCase())
		e.Department, e.Summary = p.CaseArbitrated.GetDepartmentCode(), "arbitrated to "+p.CaseArbitrated.GetDepartmentCode()
	case *eventsv1.Envelope_CaseResolved:
		r := p.CaseResolved
		feedbackCase(e, r.GetCase())
		e.LeadTaskID, e.Results = r.GetLeadTaskId(), resultsIn(r.GetResults())
		e.Summary = fmt.Sprintf("resolved (round %d)", e.Round)
	case *eventsv1.Envelope_CaseReplied:
		r := p.CaseReplied
		feedbackCase(e, r.GetCase())
		e.Reply = &feedback.Reply{ID: r.GetReplyId(), Round: e.Round, Text: r.GetText(), Results: resultsIn(r.GetResults()), At: e.At}
		e.CallbackDue = ts(r.GetCallbackDue())
		e.Summary = "replied to the citizen"
	case *eventsv1.Envelope_CaseCallbackRecorded:
		r := p.CaseCallbackRecorded
		feedbackCase(e, r.GetCase())
		e.Callback = &feedback.Callback{ID: r.GetCallbackId(), Round: e.Round, Reached: r.GetReached(), ContactedByUnit: r.GetContactedByUnit(),
			Solved: r.GetSolved(), Satisfaction: SatisfactionIn(r.GetSatisfaction()), Note: r.GetNote(), At: e.At}
		e.RetryAt = ts(r.GetRetryAt())
		e.Summary = "callback recorded"
	case *eventsv1.Envelope_CaseRechecked:
		r := p.CaseRechecked
		feedbackCase(e, r.GetCase())
		e.Recheck = &feedback.Recheck{ID: r.GetRecheckId(), WorkerID: r.GetWorkerId(), Note: r.GetNote(), Passed: r.GetPassed(), Photos: r.GetPhotos()}
		e.Summary = fmt.Sprintf("re-checked: passed %v", r.GetPassed())
	case *eventsv1.Envelope_CaseReopened:
		r := p.CaseReopened
		feedbackCase(e, r.GetCase())
		e.Reason, e.Note, e.CauseCaseID = enumName(r.GetReason(), "REOPEN_REASON_"), r.GetNote(), r.GetCauseCaseId()
		e.Summary = fmt.Sprintf("reopened (%s): round %d", e.Reason, e.Round)
	case *eventsv1.Envelope_CaseClosed:
		r := p.CaseClosed
		feedbackCase(e, r.GetCase())
		e.Reason, e.Satisfaction = enumName(r.GetReason(), "CLOSE_REASON_"), SatisfactionIn(r.GetSatisfaction())
		e.Summary = "closed (" + e.Reason + ")"
	case *eventsv1.Envelope_CaseWithdrawn:
		feedbackCase(e, p.CaseWithdrawn.GetCase())
		e.Note, e.Reason = p.CaseWithdrawn.GetFollowUpId(), p.CaseWithdrawn.GetText()
		e.Summary = "withdrawn by the hotline (撤单)"
	}
}

func received(e *feedback.Event, r *eventsv1.CaseReceived) {
	e.CaseNumber, e.Area = r.GetCaseNumber(), areaIn(r.GetArea())
	f := &feedback.ReceivedFact{Number: r.GetCaseNumber(), HotlineOrderNo: r.GetHotlineOrderNo(), Source: SourceIn(r.GetSource()),
		Area: areaIn(r.GetArea()), AppealType: enumName(r.GetAppealType(), "APPEAL_TYPE_"), Urgency: enumName(r.GetUrgency(), "URGENCY_"),
		Title: r.GetTitle(), PlaceKey: r.GetAddress().GetKey(), NoCallback: r.GetNoCallback(), ReceivedAt: ts(r.GetReceivedAt())}
	if f.ReceivedAt.IsZero() {
		f.ReceivedAt = ts(r.GetAcceptedAt())
	}
	e.Received = f
	e.Summary = "received from " + string(f.Source)
}

// Subject builds grid.case.<event>.<district>.<street>; unknown areas are "0".
func Subject(typ string, a feedback.Area) string {
	d, s := a.District, a.Street
	if d == "" {
		d = "0"
	}
	if s == "" {
		s = "0"
	}
	return fmt.Sprintf("grid.%s.%s.%s", typ, d, s)
}

var closeReasons = map[string]eventsv1.CloseReason{
	"callback": eventsv1.CloseReason_CLOSE_REASON_CALLBACK, "no_callback": eventsv1.CloseReason_CLOSE_REASON_NO_CALLBACK,
	"callback_window_passed": eventsv1.CloseReason_CLOSE_REASON_CALLBACK_WINDOW_PASSED, "recheck_passed": eventsv1.CloseReason_CLOSE_REASON_RECHECK_PASSED,
}

var reopenReasons = map[string]eventsv1.ReopenReason{
	"unsatisfied": eventsv1.ReopenReason_REOPEN_REASON_UNSATISFIED, "unsolved": eventsv1.ReopenReason_REOPEN_REASON_UNSOLVED,
	"recheck_failed": eventsv1.ReopenReason_REOPEN_REASON_RECHECK_FAILED, "merged_case_callback": eventsv1.ReopenReason_REOPEN_REASON_MERGED_CASE_CALLBACK,
}

// Encode builds the envelope of one of feedback's own events.
func Encode(e *feedback.Event) ([]byte, error) {
	role, subject, _ := strings.Cut(e.Actor, ":")
	env := &eventsv1.Envelope{EventId: e.ID, Type: e.Type, CaseId: e.CaseID, OccurredAt: timestamppb.New(e.At),
		Actor: &typesv1.Principal{Role: role, Subject: subject}, Version: SchemaVersion}
	ref := &eventsv1.FeedbackCaseRef{CaseId: e.CaseID, CaseNumber: e.CaseNumber, Area: areaOut(e.Area), Source: SourceOut(e.Source),
		HotlineOrderNo: e.HotlineOrderNo, Round: uint32(e.Round), PrimaryCaseId: e.PrimaryCaseID}
	opt := func(t time.Time) *timestamppb.Timestamp {
		if t.IsZero() {
			return nil
		}
		return timestamppb.New(t)
	}
	switch e.Type {
	case "case.resolved":
		env.Payload = &eventsv1.Envelope_CaseResolved{CaseResolved: &eventsv1.CaseResolved{Case: ref, LeadTaskId: e.LeadTaskID,
			Results: resultsOut(e.Results), AwaitingRecheck: e.Source == feedback.Patrol}}
	case "case.replied":
		env.Payload = &eventsv1.Envelope_CaseReplied{CaseReplied: &eventsv1.CaseReplied{Case: ref, ReplyId: e.Reply.ID, Text: e.Reply.Text,
			Results: resultsOut(e.Reply.Results), CallbackDue: opt(e.CallbackDue)}}
	case "case.callback_recorded":
		cb := e.Callback
		env.Payload = &eventsv1.Envelope_CaseCallbackRecorded{CaseCallbackRecorded: &eventsv1.CaseCallbackRecorded{Case: ref, CallbackId: cb.ID,
			Reached: cb.Reached, ContactedByUnit: cb.ContactedByUnit, Solved: cb.Solved, Satisfaction: SatisfactionOut(cb.Satisfaction),
			Note: cb.Note, RetryAt: opt(e.RetryAt)}}
	case "case.rechecked":
		r := e.Recheck
		env.Payload = &eventsv1.Envelope_CaseRechecked{CaseRechecked: &eventsv1.CaseRechecked{Case: ref, RecheckId: r.ID, Passed: r.Passed,
			Photos: r.Photos, Note: r.Note, WorkerId: r.WorkerID}}
	case "case.reopened":
		env.Payload = &eventsv1.Envelope_CaseReopened{CaseReopened: &eventsv1.CaseReopened{Case: ref, Reason: reopenReasons[e.Reason],
			Note: e.Note, CauseCaseId: e.CauseCaseID}}
	case "case.closed":
		env.Payload = &eventsv1.Envelope_CaseClosed{CaseClosed: &eventsv1.CaseClosed{Case: ref, Reason: closeReasons[e.Reason],
			Satisfaction: SatisfactionOut(e.Satisfaction)}}
	case "case.withdrawn":
		env.Payload = &eventsv1.Envelope_CaseWithdrawn{CaseWithdrawn: &eventsv1.CaseWithdrawn{Case: ref, FollowUpId: e.Note, Text: e.Reason}}
	case "case.callback_retry_due":
		// Local: the envelope alone, kept in the log.
	default:
		return nil, fmt.Errorf("events: feedback does not write %s", e.Type)
	}
	return proto.Marshal(env)
}

// Message builds the outbox message of an encoded event.
func Message(e *feedback.Event) outbox.Message {
	return outbox.Message{ID: e.ID, Subject: Subject(e.Type, e.Area), Data: e.Raw}
}
