package feedback

import (
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
)

// Event is one stored event as the domain reads it: the envelope's common
// fields, what a timeline shows of it, and its Fact — what happened, one
// type per event. Raw keeps the envelope as it was stored, the source for
// rebuilding views.
type Event struct {
	ID  string
	Seq int64 // position in feedback's log; 0 until stored
	// Type is the event's name ("task.completed") as stored and shown. The
	// events adapter sets it from the payload; the domain never branches on
	// it, only on Fact.
	Type   string
	CaseID string
	At     time.Time
	Actor  string

	// The case as the event names it. Feedback's own events name it fully
	// for their consumers.
	CaseNumber     string
	Area           Area
	Source         Source
	HotlineOrderNo string
	PrimaryCaseID  string

	// Timeline details, taken from the payload.
	Summary      string
	Rule         string
	ModelVersion string
	ClassVersion int
	TaskID       string
	Department   string

	Fact Fact

	Raw []byte
}

// Fact is what an event says happened. Each event feedback stores has its own
// type, and each says how it changes a case's view (apply): a fact without
// apply does not compile, so Project cannot miss one.
type Fact interface {
	apply(c *Case, e *Event)
}

// Local reports whether e stays in feedback's log, never published.
func (e *Event) Local() bool {
	_, ok := e.Fact.(*CaseCallbackRetryDue)
	return ok
}

// Facts other services publish about a case.

// CaseReceived is what case.received (or, Answered, case.answered) says.
type CaseReceived struct {
	Number, HotlineOrderNo string
	Source                 Source
	Area                   Area
	AppealType             reference.AppealType
	Urgency                reference.Urgency
	Title, PlaceKey        string
	NoCallback             bool
	ReceivedAt             time.Time
	// Answered: a consultation answered on the call (case.answered).
	Answered bool
	// Worker is the grid worker who reported a patrol case.
	Worker string
	// Public is what the Open311 door shows of a public request (issue 19).
	Public *PublicFacts
	// SelfDisposal: the worker settled it on the spot (issue 20); its note
	// and photos, no verdict.
	SelfDisposal *SelfDisposal
}

// CaseContactRead: someone read the caller's full contact through intake's
// audited contact read; the timeline shows who, when and on which grant. It
// changes nothing else of the case.
type CaseContactRead struct{ Grant string }

// CaseFollowedUp is a hotline follow-up; Withdraw for a 撤单.
type CaseFollowedUp struct {
	ID       string
	Withdraw bool
	Text     string
}

// CaseClassified is one classification version.
type CaseClassified struct {
	Version                                 int
	ItemCode, ItemName, HotlineClass        string
	ModelVersion, IncidentID, PrimaryCaseID string
	Urgency                                 reference.Urgency
	Source                                  Source
	ReceivedAt                              time.Time
}

// CaseReviewNeeded: the classification waits for a dispatcher.
type CaseReviewNeeded struct{}

// IncidentGrouped is the case joining an incident.
type IncidentGrouped struct {
	IncidentID, PrimaryCaseID string
}

// IncidentLinked: the case's incident was linked to a source place (the
// timeline shows it).
type IncidentLinked struct{}

// SourcePlaceLeadChanged: the source place the case's incident is linked to
// got a lead unit, another one, or was closed or reopened (issue 20). The
// timeline shows it; replies, callbacks and figures do not change: every
// case still gets its own reply.
type SourcePlaceLeadChanged struct{ Lead, Change string }

// CaseCancelled is a dispatcher's cancellation.
type CaseCancelled struct{ Reason string }

// CaseParked is a dispatcher parking the case (挂账).
type CaseParked struct{ Reason string }

// CaseUnparked: the case's clock runs again.
type CaseUnparked struct{}

// CaseExcluded: not counted in assessment (不合理诉求).
type CaseExcluded struct{ Reason string }

// CaseArbitrationOpened: the case's ownership is disputed (the timeline
// shows it).
type CaseArbitrationOpened struct{}

// CaseArbitrated: a dispatcher decided who owns the case; its new lead
// task comes as task.dispatched.
type CaseArbitrated struct{}

// TaskSnapshot is what every task event says of its task, as it stood after
// the event. A task event that says nothing more changes the case only by
// its snapshot (the promoted apply).
type TaskSnapshot struct {
	ID, Department, Role, State, Review string
	Round                               int
	AckDue, CompleteDue                 time.Time
	Overdue                             bool
}

// Task events. Each embeds its task's snapshot; those with facts of their
// own say so in their apply.
type (
	TaskDispatched         struct{ TaskSnapshot }
	TaskAcknowledged       struct{ TaskSnapshot }
	TaskRejected           struct{ TaskSnapshot }
	TaskForwarded          struct{ TaskSnapshot }
	TaskExtensionRequested struct{ TaskSnapshot }
	TaskExtensionDecided   struct {
		TaskSnapshot
		Granted bool
		NewDue  time.Time
	}
	TaskProgressReported struct {
		TaskSnapshot
		Text string
	}
	TaskCompleted struct {
		TaskSnapshot
		Result   string
		Evidence []string
	}
	TaskCompletionApproved struct{ TaskSnapshot }
	TaskCompletionReturned struct{ TaskSnapshot }
	TaskWithdrawn          struct{ TaskSnapshot }
	TaskWarned             struct{ TaskSnapshot }
	TaskOverdue            struct{ TaskSnapshot }
	TaskUrged              struct{ TaskSnapshot }
	TaskSupervised         struct{ TaskSnapshot }
	TaskEscalated          struct{ TaskSnapshot }
	TaskDeadlineChanged    struct{ TaskSnapshot }
)

// Feedback's own facts: the closing half of the loop. Round is the case's
// round they belong to.

// CaseResolved: the round's lead completion (or, for a merged case, its
// primary's) resolved the case.
type CaseResolved struct {
	Round      int
	LeadTaskID string
	Results    []Result
}

// CaseReplied: the reply went out; the callback is due by CallbackDue
// (zero: the caller asked for none).
type CaseReplied struct {
	Reply       Reply
	CallbackDue time.Time
}

// CaseCallbackRecorded is a callback; an unreached one is due again at
// RetryAt.
type CaseCallbackRecorded struct {
	Callback Callback
	RetryAt  time.Time
}

// CaseRechecked is a patrol re-check.
type CaseRechecked struct {
	Round   int
	Recheck Recheck
}

// CaseReopened starts Round (rework); CauseCaseID is the merged case whose
// callback caused it.
type CaseReopened struct {
	Round        int
	Reason, Note string
	CauseCaseID  string
}

// CaseClosed closes Round; Satisfaction is the callback's rating when a
// callback closed it.
type CaseClosed struct {
	Round        int
	Reason       string
	Satisfaction Satisfaction
}

// CaseWithdrawn follows the hotline's 撤单 (FollowUpID).
type CaseWithdrawn struct {
	Round      int
	FollowUpID string
	Text       string
}

// CaseCallbackRetryDue notes that an unreached callback is due again; it
// stays in feedback's log (Local).
type CaseCallbackRetryDue struct{ Round int }

// Recheck is a patrol re-check.
type Recheck struct {
	ID, WorkerID, Note string
	Passed             bool
	Photos             []string
}
