// Package events is feedback's side of the stream: it consumes every case,
// incident and task event but its own (durable consumer feedback-events), turns
// envelopes into the domain's events and back, and builds the envelopes of
// feedback's own events — grid.case.{resolved,replied,callback_recorded,
// rechecked,reopened,closed,withdrawn}.<district>.<street>.
package events

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/feedback/internal/convert"
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

// Subjects feedback consumes: every case, incident and task event except
// those feedback publishes itself (issue 17). Its own events are in the log
// already — written in the transaction that published them, by whichever
// replica did — so reading them back cost a delivery, a decode, a place in
// the batch's reads and an ack each, only to be skipped. Incidents and
// tasks are no one's but classify's and dispatch's, so their wildcards
// stay: an event added there reaches feedback without a change here.
// Feedback's own events are pkg/natsauth's table's Publish for feedback
// (what nats-server lets it publish); TestSubjectsAreWhatFeedbackDoesNotPublish
// walks the envelope's every event and fails unless each case, incident
// and task event is either here or one feedback publishes, not both.
var Subjects = []string{
	// intake
	"grid.case.received.>", "grid.case.answered.>", "grid.case.followed_up.>", "grid.case.contact_read.>",
	// classify
	"grid.case.classified.>", "grid.case.review_needed.>", "grid.incident.>",
	// dispatch
	"grid.case.cancelled.>", "grid.case.parked.>", "grid.case.unparked.>", "grid.case.excluded.>",
	"grid.case.arbitration_opened.>", "grid.case.arbitrated.>", "grid.task.>",
}

// Binder gives the domain's view of the runner's transaction.
type Binder func(tx pgx.Tx) feedback.Tx

// Handler stores and applies every event. Envelopes that do not decode or
// name no case are poison.
func Handler(svc *feedback.Service, bind Binder) consumer.Handler {
	return func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		if inspectionEvent(msg.Subject) { // issue 20: counted by feedback-inspections, no case's event
			return nil
		}
		e, err := eventOf(msg)
		if err != nil || notCaseWork(e) {
			return err
		}
		return svc.Handle(ctx, bind(tx), e)
	}
}

// retryDue names feedback's one local event: it has no payload (it is
// never published), so its stored envelope names it by type alone.
const retryDue = "case.callback_retry_due"

// Decode reads a stored or delivered envelope into a domain event: its Fact
// is the payload's, one domain type per payload (TestDecodeEveryPayload).
func Decode(b []byte) (feedback.Event, error) {
	return decode(b, true)
}

// DecodeStored reads an envelope from feedback's own log: Decode without
// the check of its times, which the event passed when it was delivered
// (or which feedback wrote itself); the log is read again at every event
// of the case, and that check was a tenth of the stage's CPU (issue 17).
func DecodeStored(b []byte) (feedback.Event, error) {
	return decode(b, false)
}

func decode(b []byte, checkTimes bool) (feedback.Event, error) {
	env := &eventsv1.Envelope{}
	if err := proto.Unmarshal(b, env); err != nil {
		return feedback.Event{}, err
	}
	// A time no store can keep would fail the consumer's transaction at
	// every delivery: poison, like an envelope that does not decode.
	if checkTimes {
		if err := envelope.CheckTimes(env); err != nil {
			return feedback.Event{}, err
		}
	}
	e := feedback.Event{ID: env.GetEventId(), Type: envelope.Name(env), CaseID: env.GetCaseId(), Actor: wire.PrincipalIn(env.GetActor()), Raw: b}
	switch {
	case e.Type != "":
	case env.GetType() == retryDue:
		e.Type = retryDue
	default:
		return feedback.Event{}, errors.New("envelope without payload")
	}
	if env.GetOccurredAt() != nil {
		e.At = env.GetOccurredAt().AsTime()
	}
	// Early warning (issue 20): feedback's own warnings are no case's
	// events; its consumer's subjects never carry them.
	if IsWarning(env) {
		return feedback.Event{}, fmt.Errorf("%s is feedback's own warning, not a case event", e.Type)
	}
	e.Fact = fact(&e, env)
	return e, nil
}

// task reads a task event's snapshot of its task; the event names the case
// and the department through it.
func task(e *feedback.Event, r *eventsv1.TaskRef) feedback.TaskSnapshot {
	s := feedback.TaskSnapshot{ID: r.GetTaskId(), Department: r.GetDepartmentCode(), Role: convert.EnumName(r.GetRole(), "TASK_ROLE_"),
		State: convert.EnumName(r.GetState(), "TASK_STATE_"), Review: convert.EnumName(r.GetReview(), "REVIEW_STATE_"), Round: int(r.GetRound()),
		AckDue: wire.TimeIn(r.GetDeadlines().GetAck().GetDue()), CompleteDue: wire.TimeIn(r.GetDeadlines().GetComplete().GetDue()), Overdue: r.GetOverdue()}
	if s.Review == "unspecified" {
		s.Review = ""
	}
	if e.CaseID == "" {
		e.CaseID = r.GetCaseId()
	}
	e.CaseNumber, e.TaskID, e.Department = r.GetCaseNumber(), r.GetTaskId(), r.GetDepartmentCode()
	e.Area = feedback.Area{District: r.GetDistrictCode(), Street: r.GetStreetCode()}
	return s
}

func dispatchCase(e *feedback.Event, c *eventsv1.DispatchCaseRef) {
	e.CaseNumber, e.Area = c.GetCaseNumber(), wire.AreaIn(c.GetArea())
	if e.CaseID == "" {
		e.CaseID = c.GetCaseId()
	}
}

// feedbackCase reads the case one of feedback's own events names, and
// returns its round.
func feedbackCase(e *feedback.Event, c *eventsv1.FeedbackCaseRef) int {
	e.CaseNumber, e.Area = c.GetCaseNumber(), wire.AreaIn(c.GetArea())
	e.Source, e.HotlineOrderNo, e.PrimaryCaseID = wire.SourceIn(c.GetSource()), c.GetHotlineOrderNo(), c.GetPrimaryCaseId()
	if e.CaseID == "" {
		e.CaseID = c.GetCaseId()
	}
	return int(c.GetRound())
}

// fact turns the payload into its domain fact, and fills in what e's header
// and timeline take from it (the case, the task, a summary).
func fact(e *feedback.Event, env *eventsv1.Envelope) feedback.Fact {
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_CaseReceived:
		return received(e, p.CaseReceived, false)
	case *eventsv1.Envelope_CaseAnswered:
		f := received(e, p.CaseAnswered, true)
		e.Summary = "answered on the call"
		return f
	case *eventsv1.Envelope_CaseFollowedUp:
		f := p.CaseFollowedUp
		e.CaseNumber, e.Area = f.GetCaseNumber(), wire.AreaIn(f.GetArea())
		e.Summary = "hotline follow-up: " + convert.EnumName(f.GetKind(), "FOLLOW_UP_KIND_")
		return &feedback.CaseFollowedUp{ID: f.GetFollowUpId(), Withdraw: f.GetKind() == eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW, Text: f.GetText()}
	case *eventsv1.Envelope_CaseContactRead:
		r := p.CaseContactRead
		e.CaseNumber, e.Area = r.GetCaseNumber(), wire.AreaIn(r.GetArea())
		e.Summary = "caller's contact read by " + wire.PrincipalIn(r.GetReader()) + " (" + r.GetGrant() + ")"
		return &feedback.CaseContactRead{Grant: r.GetGrant()}
	case *eventsv1.Envelope_CaseClassified:
		k := p.CaseClassified
		e.CaseNumber, e.Area = k.GetCaseNumber(), wire.AreaIn(k.GetArea())
		e.ModelVersion, e.ClassVersion = k.GetModelVersion(), int(k.GetClassificationVersion())
		e.Summary = fmt.Sprintf("classified v%d as %s %s (%s, confidence %.2f)", k.GetClassificationVersion(), k.GetItemCode(), k.GetItemName(),
			convert.EnumName(k.GetMethod(), "CLASSIFICATION_METHOD_"), k.GetConfidence())
		return &feedback.CaseClassified{Version: int(k.GetClassificationVersion()), ItemCode: k.GetItemCode(), ItemName: k.GetItemName(),
			HotlineClass: k.GetHotlineClass(), ModelVersion: k.GetModelVersion(), IncidentID: k.GetIncidentId(), PrimaryCaseID: k.GetPrimaryCaseId(),
			Urgency: wire.UrgencyIn(k.GetUrgency()), Source: wire.SourceIn(k.GetSource()), ReceivedAt: wire.TimeIn(k.GetReceivedAt())}
	case *eventsv1.Envelope_CaseReviewNeeded:
		r := p.CaseReviewNeeded
		e.CaseNumber, e.Area, e.ModelVersion = r.GetCaseNumber(), wire.AreaIn(r.GetArea()), r.GetModelVersion()
		e.Summary = "waits for a dispatcher's review"
		return &feedback.CaseReviewNeeded{}
	case *eventsv1.Envelope_IncidentGrouped:
		g := p.IncidentGrouped
		e.CaseNumber, e.Area = g.GetCaseNumber(), wire.AreaIn(g.GetArea())
		e.Summary = fmt.Sprintf("joined incident %s (%d reports)", g.GetIncidentId(), g.GetReports())
		return &feedback.IncidentGrouped{IncidentID: g.GetIncidentId(), PrimaryCaseID: g.GetPrimaryCaseId()}
	case *eventsv1.Envelope_IncidentLinked:
		e.Area = wire.AreaIn(p.IncidentLinked.GetArea())
		e.Summary = "incident linked to source place " + p.IncidentLinked.GetSourcePlaceId()
		return &feedback.IncidentLinked{}
	case *eventsv1.Envelope_IncidentSourcePlaceLead:
		// Source place coordination (issue 20).
		l := p.IncidentSourcePlaceLead
		e.Area = wire.AreaIn(l.GetArea())
		e.Summary = fmt.Sprintf("source place %s: %s (lead %s)", l.GetSourcePlaceId(), l.GetChange(), l.GetLeadDepartmentCode())
		return &feedback.SourcePlaceLeadChanged{Lead: l.GetLeadDepartmentCode(), Change: l.GetChange()}
	case *eventsv1.Envelope_TaskDispatched:
		f := &feedback.TaskDispatched{TaskSnapshot: task(e, p.TaskDispatched.GetTask())}
		e.Rule = p.TaskDispatched.GetRule()
		e.Summary = fmt.Sprintf("task for %s (%s, %s)", e.Department, f.Role, convert.EnumName(p.TaskDispatched.GetReason(), "DISPATCH_REASON_"))
		return f
	case *eventsv1.Envelope_TaskAcknowledged:
		f := &feedback.TaskAcknowledged{TaskSnapshot: task(e, p.TaskAcknowledged.GetTask())}
		e.Summary = e.Department + " signed for the task (签收)"
		return f
	case *eventsv1.Envelope_TaskRejected:
		f := &feedback.TaskRejected{TaskSnapshot: task(e, p.TaskRejected.GetTask())}
		e.Summary = fmt.Sprintf("%s returned the task (%s)", e.Department, convert.EnumName(p.TaskRejected.GetReason(), "REJECT_REASON_"))
		return f
	case *eventsv1.Envelope_TaskForwarded:
		f := &feedback.TaskForwarded{TaskSnapshot: task(e, p.TaskForwarded.GetTask())}
		e.Summary = "forwarded to " + p.TaskForwarded.GetToDepartmentCode()
		return f
	case *eventsv1.Envelope_TaskExtensionRequested:
		f := &feedback.TaskExtensionRequested{TaskSnapshot: task(e, p.TaskExtensionRequested.GetTask())}
		e.Summary = e.Department + " asked for more time"
		return f
	case *eventsv1.Envelope_TaskExtensionDecided:
		d := p.TaskExtensionDecided
		f := &feedback.TaskExtensionDecided{TaskSnapshot: task(e, d.GetTask()), Granted: d.GetGranted(), NewDue: wire.TimeIn(d.GetDue())}
		e.Summary = fmt.Sprintf("extension granted: %v", f.Granted)
		return f
	case *eventsv1.Envelope_TaskProgressReported:
		f := &feedback.TaskProgressReported{TaskSnapshot: task(e, p.TaskProgressReported.GetTask()), Text: p.TaskProgressReported.GetText()}
		e.Summary = e.Department + " reported progress"
		return f
	case *eventsv1.Envelope_TaskCompleted:
		c := p.TaskCompleted
		f := &feedback.TaskCompleted{TaskSnapshot: task(e, c.GetTask()), Result: c.GetResult(), Evidence: c.GetEvidence()}
		e.Summary = fmt.Sprintf("%s completed the task (review required %v)", e.Department, c.GetReviewRequired())
		return f
	case *eventsv1.Envelope_TaskCompletionApproved:
		f := &feedback.TaskCompletionApproved{TaskSnapshot: task(e, p.TaskCompletionApproved.GetTask())}
		e.Summary = "completion approved"
		return f
	case *eventsv1.Envelope_TaskCompletionReturned:
		f := &feedback.TaskCompletionReturned{TaskSnapshot: task(e, p.TaskCompletionReturned.GetTask())}
		e.Summary = "completion returned for rework"
		return f
	case *eventsv1.Envelope_TaskWithdrawn:
		f := &feedback.TaskWithdrawn{TaskSnapshot: task(e, p.TaskWithdrawn.GetTask())}
		e.Summary = "task withdrawn (" + convert.EnumName(p.TaskWithdrawn.GetReason(), "WITHDRAW_REASON_") + ")"
		return f
	case *eventsv1.Envelope_TaskWarned:
		f := &feedback.TaskWarned{TaskSnapshot: task(e, p.TaskWarned.GetTask())}
		e.Summary = "warned: 80 % of a limit has run"
		return f
	case *eventsv1.Envelope_TaskOverdue:
		f := &feedback.TaskOverdue{TaskSnapshot: task(e, p.TaskOverdue.GetTask())}
		e.Summary = "overdue"
		return f
	case *eventsv1.Envelope_TaskUrged:
		f := &feedback.TaskUrged{TaskSnapshot: task(e, p.TaskUrged.GetTask())}
		e.Summary = "urged by the hotline (催单)"
		return f
	case *eventsv1.Envelope_TaskSupervised:
		f := &feedback.TaskSupervised{TaskSnapshot: task(e, p.TaskSupervised.GetTask())}
		e.Summary = "supervised (督办)"
		return f
	case *eventsv1.Envelope_TaskEscalated:
		f := &feedback.TaskEscalated{TaskSnapshot: task(e, p.TaskEscalated.GetTask())}
		e.Summary = "escalated"
		return f
	case *eventsv1.Envelope_TaskDeadlineChanged:
		f := &feedback.TaskDeadlineChanged{TaskSnapshot: task(e, p.TaskDeadlineChanged.GetTask())}
		e.Summary = "deadlines changed (" + convert.EnumName(p.TaskDeadlineChanged.GetReason(), "DEADLINE_CHANGE_REASON_") + ")"
		return f
	case *eventsv1.Envelope_CaseCancelled:
		dispatchCase(e, p.CaseCancelled.GetCase())
		e.Summary = "cancelled: " + p.CaseCancelled.GetReason()
		return &feedback.CaseCancelled{Reason: p.CaseCancelled.GetReason()}
	case *eventsv1.Envelope_CaseParked:
		dispatchCase(e, p.CaseParked.GetCase())
		e.Summary = "parked (挂账) until " + p.CaseParked.GetReviewDate()
		return &feedback.CaseParked{Reason: p.CaseParked.GetReason()}
	case *eventsv1.Envelope_CaseUnparked:
		dispatchCase(e, p.CaseUnparked.GetCase())
		e.Summary = "unparked"
		return &feedback.CaseUnparked{}
	case *eventsv1.Envelope_CaseExcluded:
		dispatchCase(e, p.CaseExcluded.GetCase())
		e.Summary = "excluded from assessment (不合理诉求)"
		return &feedback.CaseExcluded{Reason: p.CaseExcluded.GetReason()}
	case *eventsv1.Envelope_CaseArbitrationOpened:
		dispatchCase(e, p.CaseArbitrationOpened.GetCase())
		e.Summary = "arbitration opened"
		return &feedback.CaseArbitrationOpened{}
	case *eventsv1.Envelope_CaseArbitrated:
		dispatchCase(e, p.CaseArbitrated.GetCase())
		e.Department, e.Summary = p.CaseArbitrated.GetDepartmentCode(), "arbitrated to "+p.CaseArbitrated.GetDepartmentCode()
		return &feedback.CaseArbitrated{}
	case *eventsv1.Envelope_CaseResolved:
		r := p.CaseResolved
		round := feedbackCase(e, r.GetCase())
		e.Summary = fmt.Sprintf("resolved (round %d)", round)
		return &feedback.CaseResolved{Round: round, LeadTaskID: r.GetLeadTaskId(), Results: convert.ResultsIn(r.GetResults())}
	case *eventsv1.Envelope_CaseReplied:
		r := p.CaseReplied
		round := feedbackCase(e, r.GetCase())
		e.Summary = "replied to the citizen"
		return &feedback.CaseReplied{Reply: feedback.Reply{ID: r.GetReplyId(), Round: round, Text: r.GetText(), Results: convert.ResultsIn(r.GetResults()),
			At: e.At}, CallbackDue: wire.TimeIn(r.GetCallbackDue())}
	case *eventsv1.Envelope_CaseCallbackRecorded:
		r := p.CaseCallbackRecorded
		round := feedbackCase(e, r.GetCase())
		e.Summary = "callback recorded"
		return &feedback.CaseCallbackRecorded{Callback: feedback.Callback{ID: r.GetCallbackId(), Round: round, Reached: r.GetReached(),
			ContactedByUnit: r.GetContactedByUnit(), Solved: r.GetSolved(), Satisfaction: convert.SatisfactionIn(r.GetSatisfaction()), Note: r.GetNote(),
			At: e.At}, RetryAt: wire.TimeIn(r.GetRetryAt())}
	case *eventsv1.Envelope_CaseRechecked:
		r := p.CaseRechecked
		round := feedbackCase(e, r.GetCase())
		e.Summary = fmt.Sprintf("re-checked: passed %v", r.GetPassed())
		return &feedback.CaseRechecked{Round: round, Recheck: feedback.Recheck{ID: r.GetRecheckId(), WorkerID: r.GetWorkerId(), Note: r.GetNote(),
			Passed: r.GetPassed(), Photos: r.GetPhotos()}}
	case *eventsv1.Envelope_CaseReopened:
		r := p.CaseReopened
		f := &feedback.CaseReopened{Round: feedbackCase(e, r.GetCase()), Reason: convert.EnumName(r.GetReason(), "REOPEN_REASON_"), Note: r.GetNote(),
			CauseCaseID: r.GetCauseCaseId()}
		e.Summary = fmt.Sprintf("reopened (%s): round %d", f.Reason, f.Round)
		return f
	case *eventsv1.Envelope_CaseClosed:
		r := p.CaseClosed
		f := &feedback.CaseClosed{Round: feedbackCase(e, r.GetCase()), Reason: convert.EnumName(r.GetReason(), "CLOSE_REASON_"),
			Satisfaction: convert.SatisfactionIn(r.GetSatisfaction())}
		e.Summary = "closed (" + f.Reason + ")"
		return f
	case *eventsv1.Envelope_CaseWithdrawn:
		r := p.CaseWithdrawn
		round := feedbackCase(e, r.GetCase())
		e.Summary = "withdrawn by the hotline (撤单)"
		return &feedback.CaseWithdrawn{Round: round, FollowUpID: r.GetFollowUpId(), Text: r.GetText()}
	// issue 20 (work tasks): a grid worker's inspections and classify's
	// places are no case's work (notCaseWork); decoded for their names.
	case *eventsv1.Envelope_PlaceUpserted:
		e.Summary = "place " + p.PlaceUpserted.GetPlaceKey() + " registered"
		return &feedback.PlaceUpserted{}
	case *eventsv1.Envelope_TaskInspectionRecorded:
		e.Summary = "inspection recorded by " + p.TaskInspectionRecorded.GetWorkerId()
		return &feedback.InspectionRecorded{}
	case *eventsv1.Envelope_TaskInspectionMissed:
		e.Summary = "inspection missed by " + p.TaskInspectionMissed.GetWorkerId()
		return &feedback.InspectionMissed{}
	case *eventsv1.Envelope_CaseSelfDisposalChecked: // self-disposal (issue 20)
		r := p.CaseSelfDisposalChecked
		f := &feedback.CaseSelfDisposalChecked{Round: feedbackCase(e, r.GetCase()), CheckID: r.GetCheckId(),
			Verdict: feedback.Verdict(convert.EnumName(r.GetVerdict(), "SELF_DISPOSAL_VERDICT_")), Note: r.GetNote(),
			Worker: r.GetWorkerId(), Grid: r.GetGrid()}
		e.Summary = "self-disposal checked: " + string(f.Verdict)
		return f
	case nil:
		// The local retry note has no payload; feedbackCase is not there
		// to name its round, which the case's view does not need.
		return &feedback.CaseCallbackRetryDue{}
	}
	// Unreachable while TestDecodeEveryPayload passes: a payload newer
	// than this build decodes as nil and is refused by Decode.
	return nil
}

func received(e *feedback.Event, r *eventsv1.CaseReceived, answered bool) *feedback.CaseReceived {
	e.CaseNumber, e.Area = r.GetCaseNumber(), wire.AreaIn(r.GetArea())
	f := &feedback.CaseReceived{Number: r.GetCaseNumber(), HotlineOrderNo: r.GetHotlineOrderNo(), Source: wire.SourceIn(r.GetSource()),
		Area: wire.AreaIn(r.GetArea()), AppealType: wire.AppealTypeIn(r.GetAppealType()), Urgency: wire.UrgencyIn(r.GetUrgency()),
		Title: r.GetTitle(), PlaceKey: r.GetAddress().GetKey(), NoCallback: r.GetNoCallback(), ReceivedAt: wire.TimeIn(r.GetReceivedAt()),
		Answered: answered, Worker: r.GetWorkerId()}
	// Issue 20: a private location's place stops at the lane; the month's
	// figures count self-disposals.
	if r.GetPrivateLocation() {
		f.PlaceKey = feedback.LaneKey(f.PlaceKey)
	}
	if f.ReceivedAt.IsZero() {
		f.ReceivedAt = wire.TimeIn(r.GetAcceptedAt())
	}
	if r.GetSelfDisposed() { // self-disposal (issue 20): what was done, and the evidence
		f.SelfDisposal = &feedback.SelfDisposal{Note: redact.Text(r.GetSelfDisposalNote())}
		for _, a := range r.GetAttachments() {
			f.SelfDisposal.Photos = append(f.SelfDisposal.Photos, a.GetUri())
		}
	}
	if f.Source == reference.FromPublic { // Open311 (issue 19)
		f.Public = &feedback.PublicFacts{ServiceCode: r.GetCatalogueCode(), Description: redact.Text(r.GetContent())}
		if l := r.GetLocation(); l != nil {
			f.Public.Lat, f.Public.Lng = redact.AnonymousPoint(l.GetLat(), l.GetLng())
			f.Public.Located = true
		}
		f.Public.MediaURL = publicMediaURL(r.GetAttachments())
	}
	e.Summary = "received from " + string(f.Source)
	return f
}

// Subject builds grid.<name>.<district>.<street> (name: case.resolved …);
// unknown areas are "0".
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
	feedback.CloseSelfDisposalConfirmed: eventsv1.CloseReason_CLOSE_REASON_SELF_DISPOSAL_CONFIRMED, // issue 20
}

// verdicts are the self-disposal check's verdicts (issue 20).
var verdicts = map[feedback.Verdict]eventsv1.SelfDisposalVerdict{
	feedback.VerdictConfirmed: eventsv1.SelfDisposalVerdict_SELF_DISPOSAL_VERDICT_CONFIRMED,
	feedback.VerdictSentBack:  eventsv1.SelfDisposalVerdict_SELF_DISPOSAL_VERDICT_SENT_BACK,
}

var reopenReasons = map[string]eventsv1.ReopenReason{
	"unsatisfied": eventsv1.ReopenReason_REOPEN_REASON_UNSATISFIED, "unsolved": eventsv1.ReopenReason_REOPEN_REASON_UNSOLVED,
	"recheck_failed": eventsv1.ReopenReason_REOPEN_REASON_RECHECK_FAILED, "merged_case_callback": eventsv1.ReopenReason_REOPEN_REASON_MERGED_CASE_CALLBACK,
}

// Encode builds the envelope of one of feedback's own events: the one place
// that maps each of its own facts to a payload. It returns the event's name
// too, the payload's (TestEncodeEveryOwnFact).
func Encode(e *feedback.Event) ([]byte, string, error) {
	env := &eventsv1.Envelope{EventId: e.ID, CaseId: e.CaseID, OccurredAt: timestamppb.New(e.At),
		Actor: wire.PrincipalOut(e.Actor), Version: SchemaVersion}
	ref := func(round int) *eventsv1.FeedbackCaseRef {
		return &eventsv1.FeedbackCaseRef{CaseId: e.CaseID, CaseNumber: e.CaseNumber, Area: wire.AreaOut(e.Area), Source: wire.SourceOut(e.Source),
			HotlineOrderNo: e.HotlineOrderNo, Round: uint32(round), PrimaryCaseId: e.PrimaryCaseID}
	}
	switch f := e.Fact.(type) {
	case *feedback.CaseResolved:
		env.Payload = &eventsv1.Envelope_CaseResolved{CaseResolved: &eventsv1.CaseResolved{Case: ref(f.Round), LeadTaskId: f.LeadTaskID,
			Results: convert.ResultsOut(f.Results), AwaitingRecheck: e.Source == feedback.Patrol}}
	case *feedback.CaseReplied:
		r := f.Reply
		env.Payload = &eventsv1.Envelope_CaseReplied{CaseReplied: &eventsv1.CaseReplied{Case: ref(r.Round), ReplyId: r.ID, Text: r.Text,
			Results: convert.ResultsOut(r.Results), CallbackDue: wire.TimeOut(f.CallbackDue)}}
	case *feedback.CaseCallbackRecorded:
		cb := f.Callback
		env.Payload = &eventsv1.Envelope_CaseCallbackRecorded{CaseCallbackRecorded: &eventsv1.CaseCallbackRecorded{Case: ref(cb.Round),
			CallbackId: cb.ID, Reached: cb.Reached, ContactedByUnit: cb.ContactedByUnit, Solved: cb.Solved,
			Satisfaction: convert.SatisfactionOut(cb.Satisfaction), Note: cb.Note, RetryAt: wire.TimeOut(f.RetryAt)}}
	case *feedback.CaseRechecked:
		r := f.Recheck
		env.Payload = &eventsv1.Envelope_CaseRechecked{CaseRechecked: &eventsv1.CaseRechecked{Case: ref(f.Round), RecheckId: r.ID,
			Passed: r.Passed, Photos: r.Photos, Note: r.Note, WorkerId: r.WorkerID}}
	case *feedback.CaseReopened:
		env.Payload = &eventsv1.Envelope_CaseReopened{CaseReopened: &eventsv1.CaseReopened{Case: ref(f.Round), Reason: reopenReasons[f.Reason],
			Note: f.Note, CauseCaseId: f.CauseCaseID}}
	case *feedback.CaseClosed:
		env.Payload = &eventsv1.Envelope_CaseClosed{CaseClosed: &eventsv1.CaseClosed{Case: ref(f.Round), Reason: closeReasons[f.Reason],
			Satisfaction: convert.SatisfactionOut(f.Satisfaction)}}
	case *feedback.CaseWithdrawn:
		env.Payload = &eventsv1.Envelope_CaseWithdrawn{CaseWithdrawn: &eventsv1.CaseWithdrawn{Case: ref(f.Round), FollowUpId: f.FollowUpID,
			Text: f.Text}}
	case *feedback.CaseSelfDisposalChecked: // self-disposal (issue 20)
		env.Payload = &eventsv1.Envelope_CaseSelfDisposalChecked{CaseSelfDisposalChecked: &eventsv1.CaseSelfDisposalChecked{Case: ref(f.Round),
			Verdict: verdicts[f.Verdict], Note: f.Note, WorkerId: f.Worker, Grid: f.Grid, CheckId: f.CheckID}}
	case *feedback.CaseCallbackRetryDue:
		// Local: the envelope alone, kept in the log and named by its type.
		env.Type = retryDue
	default:
		return nil, "", fmt.Errorf("events: feedback does not write %T", e.Fact)
	}
	if env.Type == "" {
		env.Type = envelope.Name(env)
	}
	b, err := proto.Marshal(env)
	return b, env.Type, err
}

// Message builds the outbox message of an encoded event.
func Message(e *feedback.Event) outbox.Message {
	return outbox.Message{ID: e.ID, Subject: Subject(e.Type, e.Area), Data: e.Raw}
}

// publicMediaURL is the Open311 media_url of a public request: intake
// carries it as the attachment named media_url. Only an http(s) URL is kept
// (intake accepts no other), so nothing else is ever shown to the public.
func publicMediaURL(as []*typesv1.Attachment) string {
	for _, a := range as {
		if a.GetName() != "media_url" {
			continue
		}
		if u, err := url.Parse(a.GetUri()); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			return a.GetUri()
		}
	}
	return ""
}
