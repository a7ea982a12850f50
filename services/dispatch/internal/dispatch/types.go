// Package dispatch is the domain of the dispatch service: tasks for the
// units that must act on a case, the state machine they move through
// (DESIGN.md's task table), the clock that warns and escalates, and the
// dispatchers' decisions on tasks and whole cases. It knows no gRPC, SQL or
// NATS; adapters translate to and from it.
//
// A Case is the aggregate: it holds the case's facts, its classification,
// its deadlines (the clock belongs to the case) and every task of it. Each
// change loads one case, applies one operation and records the events it
// caused; the store persists the case, its changed tasks, the events
// (outbox) and the timers in one transaction.
package dispatch

import (
	"time"

	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/workcal"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"
)

// TaskState is where a task stands.
type TaskState string

// Task states (DESIGN.md).
const (
	Dispatched         TaskState = "dispatched"
	Acknowledged       TaskState = "acknowledged"
	Rejected           TaskState = "rejected"
	Forwarded          TaskState = "forwarded"
	ExtensionRequested TaskState = "extension_requested"
	Completed          TaskState = "completed"
	Withdrawn          TaskState = "withdrawn"
)

// Open reports whether the task still waits for its unit: the clock runs
// and it may be withdrawn.
func (s TaskState) Open() bool {
	return s == Dispatched || s == Acknowledged || s == ExtensionRequested
}

// Final reports whether nothing more can happen to the task.
func (s TaskState) Final() bool { return s == Rejected || s == Forwarded || s == Withdrawn }

// Role of a unit in a case.
type Role = routing.Role

// Roles.
const (
	Lead      = routing.Lead
	CoHandler = routing.CoHandler
)

// ReviewState is a completion's review.
type ReviewState string

// Review states; "" before completion.
const (
	ReviewNotRequired ReviewState = "not_required"
	ReviewPending     ReviewState = "pending"
	ReviewApproved    ReviewState = "approved"
)

// RejectReason is why a unit returned a task.
type RejectReason string

// Reject reasons (退单).
const (
	NotMyArea        RejectReason = "not_my_area"
	NotMyDuty        RejectReason = "not_my_duty"
	UnclearOwnership RejectReason = "unclear_ownership"
	OtherReason      RejectReason = "other"
)

// DispatchReason is why a task was created.
type DispatchReason string

// Dispatch reasons.
const (
	Routed     DispatchReason = "routed"
	Rerouted   DispatchReason = "rerouted"
	Redecided  DispatchReason = "redecided"
	Reassigned DispatchReason = "reassigned"
	Forwarding DispatchReason = "forwarded"
	Arbitrated DispatchReason = "arbitrated"
	Reopened   DispatchReason = "reopened"
)

// WithdrawReason is why a task was taken back.
type WithdrawReason string

// Withdraw reasons.
const (
	WithdrawRerouted        WithdrawReason = "rerouted"
	WithdrawReassigned      WithdrawReason = "reassigned"
	WithdrawCancelled       WithdrawReason = "cancelled"
	WithdrawHotline         WithdrawReason = "hotline_withdrew"
	WithdrawNotDispatchable WithdrawReason = "not_dispatchable"
)

// ChangeReason is why deadlines moved in place.
type ChangeReason string

// Deadline change reasons.
const (
	UrgencyRaised    ChangeReason = "urgency_raised"
	ExtensionGranted ChangeReason = "extension_granted"
	Unparked         ChangeReason = "unparked"
	Reclassified     ChangeReason = "reclassified"
)

// CaseStatus is where dispatch's part of a case stands.
type CaseStatus string

// Case statuses.
const (
	Awaiting        CaseStatus = "awaiting"
	CaseRouted      CaseStatus = "routed"
	NotDispatchable CaseStatus = "not_dispatchable"
	Parked          CaseStatus = "parked"
	Cancelled       CaseStatus = "cancelled"
	CaseWithdrawn   CaseStatus = "withdrawn"
	// SelfDisposed (issue 20): settled on the spot by a grid worker; held
	// from routing until the grid's leader sends it back (selfdisposal.go).
	SelfDisposed CaseStatus = "self_disposed"
)

// Closed reports whether the case takes no more routing or tasks.
func (s CaseStatus) Closed() bool { return s == Cancelled || s == CaseWithdrawn }

// QueueReason is why a case waits for a dispatcher.
type QueueReason string

// Queue reasons.
const (
	QueueRejected          QueueReason = "rejected"
	QueueUnrouted          QueueReason = "unrouted"
	QueueRedecisionFailed  QueueReason = "redecision_failed"
	QueueCoHandlerRejected QueueReason = "co_handler_rejected"
)

// LimitName names one of a task's limits.
type LimitName string

// Limits.
const (
	AckLimit      LimitName = "ack"
	OnSiteLimit   LimitName = "on_site"
	CompleteLimit LimitName = "complete"
)

// Limit is one deadline. A zero Due means the limit does not apply.
type Limit struct {
	Due         time.Time        `json:"due,omitzero"`
	WarnAt      time.Time        `json:"warn_at,omitzero"`
	Duration    workcal.Duration `json:"duration,omitzero"`
	Source      string           `json:"source,omitempty"`
	Unconfirmed bool             `json:"unconfirmed,omitempty"`
}

// IsZero reports whether the limit does not apply.
func (l Limit) IsZero() bool { return l.Due.IsZero() }

// Deadlines are the limits of a case or task. Start is when the clock
// started: the case's receipt.
type Deadlines struct {
	Start    time.Time `json:"start,omitzero"`
	Ack      Limit     `json:"ack,omitzero"`
	OnSite   Limit     `json:"on_site,omitzero"`
	Complete Limit     `json:"complete,omitzero"`
	// Warn is the warning fraction (0.8): a moved due time moves its
	// warning with it.
	Warn float64 `json:"warn,omitempty"`
}

func (d *Deadlines) limit(n LimitName) *Limit {
	switch n {
	case AckLimit:
		return &d.Ack
	case OnSiteLimit:
		return &d.OnSite
	default:
		return &d.Complete
	}
}

// Area is a case's area codes; "" or "0" where unknown. Address is a case's
// address as intake normalised it. Both are the shared vocabulary (same
// stored shape as before).
type (
	Area    = reference.AreaCodes
	Address = address.Record
)

// Attachment refers to a stored object.
type Attachment struct {
	URI       string `json:"uri"`
	MediaType string `json:"media_type,omitempty"`
	Name      string `json:"name,omitempty"`
}

// Facts are what case.received told about a case, kept for routing (the
// text keyword rules search, the departments a secretary named) and for the
// unit working it. The caller is never kept.
type Facts struct {
	Title         string               `json:"title,omitempty"`
	Content       string               `json:"content,omitempty"`
	Address       Address              `json:"address,omitzero"`
	Attachments   []Attachment         `json:"attachments,omitempty"`
	Source        reference.Source     `json:"source,omitempty"`
	AppealType    reference.AppealType `json:"appeal_type,omitempty"`
	Urgency       reference.Urgency    `json:"urgency,omitempty"`
	ReceivedAt    time.Time            `json:"received_at,omitzero"`
	Area          Area                 `json:"area,omitzero"`
	Whistle       []string             `json:"whistle,omitempty"`
	CatalogueCode string               `json:"catalogue_code,omitempty"`
	// HotlineOrderNo is the hotline's order number of a work order: people
	// look the case up by it.
	HotlineOrderNo string `json:"hotline_order_no,omitempty"`
	// SelfDisposed: a grid worker settled it on the spot (issue 20); the
	// case is not routed unless the grid's leader sends it back.
	SelfDisposed bool `json:"self_disposed,omitempty"`
}

// Classification is one version of a case's classification.
type Classification struct {
	Version      int                  `json:"version"`
	Item         string               `json:"item,omitempty"`
	ItemName     string               `json:"item_name,omitempty"`
	Label        string               `json:"label,omitempty"`
	Labels       []string             `json:"labels,omitempty"`
	Urgency      reference.Urgency    `json:"urgency,omitempty"`
	IncidentID   string               `json:"incident_id,omitempty"`
	Dispatchable bool                 `json:"dispatchable"`
	Area         Area                 `json:"area,omitzero"`
	Source       reference.Source     `json:"source,omitempty"`
	AppealType   reference.AppealType `json:"appeal_type,omitempty"`
	ReceivedAt   time.Time            `json:"received_at,omitzero"`
	ClassifiedAt time.Time            `json:"classified_at,omitzero"`
}

// Rejection is one 退单.
type Rejection struct {
	TaskID     string       `json:"task_id"`
	Department string       `json:"department"`
	Reason     RejectReason `json:"reason"`
	Note       string       `json:"note,omitempty"`
	Area       string       `json:"area,omitempty"`
	At         time.Time    `json:"at"`
}

// Extension is a unit's request for time and its decision.
type Extension struct {
	RequestedDue time.Time `json:"requested_due"`
	Reason       string    `json:"reason"`
	RequestedAt  time.Time `json:"requested_at"`
	Decided      bool      `json:"decided,omitempty"`
	Granted      bool      `json:"granted,omitempty"`
	Note         string    `json:"note,omitempty"`
}

// Progress is one 阶段性答复 or on-site report.
type Progress struct {
	Text   string    `json:"text,omitempty"`
	OnSite bool      `json:"on_site,omitempty"`
	At     time.Time `json:"at"`
}

// Completion is a unit's 办结 report.
type Completion struct {
	Result     string    `json:"result"`
	Evidence   []string  `json:"evidence,omitempty"`
	At         time.Time `json:"at"`
	ReviewNote string    `json:"review_note,omitempty"`
}

// Task is one unit's part in a case.
type Task struct {
	ID             string         `json:"id"`
	CaseID         string         `json:"case_id"`
	CaseNumber     string         `json:"case_number,omitempty"`
	Department     string         `json:"department"`
	Role           Role           `json:"role"`
	State          TaskState      `json:"state"`
	Review         ReviewState    `json:"review,omitempty"`
	ReviewRequired bool           `json:"review_required,omitempty"`
	Deadlines      Deadlines      `json:"deadlines"`
	Round          int            `json:"round,omitempty"`
	Reason         DispatchReason `json:"reason"`
	Rule           string         `json:"rule,omitempty"`
	Whistle        bool           `json:"whistle,omitempty"`
	Replaces       string         `json:"replaces,omitempty"`
	ForwardedTo    string         `json:"forwarded_to,omitempty"`
	DispatchedAt   time.Time      `json:"dispatched_at"`
	AcknowledgedAt time.Time      `json:"acknowledged_at,omitzero"`
	ETA            time.Time      `json:"eta,omitzero"`
	AckNote        string         `json:"ack_note,omitempty"`
	Rejection      *Rejection     `json:"rejection,omitempty"`
	Extension      *Extension     `json:"extension,omitempty"`
	Extensions     int            `json:"extensions,omitempty"` // requests made
	Progress       []Progress     `json:"progress,omitempty"`
	OnSiteReported bool           `json:"on_site_reported,omitempty"`
	Completion     *Completion    `json:"completion,omitempty"`
	Returns        int            `json:"returns,omitempty"`
	Urges          int            `json:"urges,omitempty"`
	UpdatedAt      time.Time      `json:"updated_at"`
	// Flags on open tasks. Warned and Overdue follow the live limits;
	// Supervised and Escalated stay once set.
	Warned     bool `json:"warned,omitempty"`
	Overdue    bool `json:"overdue,omitempty"`
	Supervised bool `json:"supervised,omitempty"`
	Escalated  bool `json:"escalated,omitempty"`
	// Fired names the clock points that have fired (see clock.go).
	Fired []string `json:"fired,omitempty"`
	// Clock is when the task's clock timer stands, as the last operation
	// that re-timed the task left it (zero: cleared). Nil when not known —
	// a body stored before it was kept, or a timer just fired — and the
	// timer is then written whatever it was (Case.Finish; issue 17).
	Clock *time.Time `json:"clock,omitempty"`
}

// Arbitration is an open ownership dispute.
type Arbitration struct {
	OpenedAt time.Time `json:"opened_at"`
}

// Parking is a parked case (挂账).
type Parking struct {
	At         time.Time    `json:"at"`
	Reason     string       `json:"reason"`
	ReviewDate workcal.Date `json:"review_date"`
	// Resume is the status to return to when unparked.
	Resume CaseStatus `json:"resume"`
}

// QueueEntry is a case waiting for a dispatcher.
type QueueEntry struct {
	Reason    QueueReason `json:"reason"`
	Since     time.Time   `json:"since"`
	Detail    string      `json:"detail,omitempty"`
	Rejection *Rejection  `json:"rejection,omitempty"`
}

// Case is dispatch's aggregate: one case with its tasks.
type Case struct {
	ID     string `json:"id"`
	Number string `json:"number,omitempty"`
	// Area is where the case is routed: the classification's area, or the
	// area a not_my_area rejection named.
	Area   Area            `json:"area"`
	Facts  *Facts          `json:"facts,omitempty"`
	Class  *Classification `json:"class,omitempty"`
	Status CaseStatus      `json:"status"`
	// RoutedWith is the classification the current routing used.
	RoutedWith  *Classification `json:"routed_with,omitempty"`
	Deadlines   Deadlines       `json:"deadlines,omitzero"`
	Path        []routing.Step  `json:"path,omitempty"`
	Digest      string          `json:"digest,omitempty"`
	Queue       *QueueEntry     `json:"queue,omitempty"`
	Arbitration *Arbitration    `json:"arbitration,omitempty"`
	// LeadRejections are the rejections of the case's lead, in order.
	LeadRejections []Rejection `json:"lead_rejections,omitempty"`
	Excluded       bool        `json:"excluded,omitempty"`
	ExcludedReason string      `json:"excluded_reason,omitempty"`
	Parking        *Parking    `json:"parking,omitempty"`
	CancelReason   string      `json:"cancel_reason,omitempty"`
	Round          int         `json:"round,omitempty"`
	// AwaitingFacts: a dispatchable classification came before case.received;
	// routing waits for it until a fallback timer fires.
	AwaitingFacts bool      `json:"awaiting_facts,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`

	// SentBack: the grid's leader sent a self-disposal back (issue 20), so
	// the case is routed as any patrol case.
	SentBack bool `json:"sent_back,omitempty"`

	Tasks []*Task `json:"-"`

	// What the current operation changed; Finish hands it on (Commit).
	events   []Event
	dirty    map[string]bool
	timerOps []TimerOp
}

// Summary describes a case to a unit without personal data.
type Summary struct {
	CaseNumber            string
	Item, ItemName        string
	Urgency               reference.Urgency
	AppealType            reference.AppealType
	Source                reference.Source
	Area                  Area
	Address               Address // Raw and Room cleared
	ReceivedAt            time.Time
	IncidentID            string
	ClassificationVersion int
}

// ClockStep is a point of a task's clock that fired.
type ClockStep struct {
	Limit        LimitName
	Due          time.Time
	Action       reference.Action
	ToDepartment string
}

// TimerOp asks the store to schedule or cancel a case-level timer.
type TimerOp struct {
	Kind   string
	Key    string
	At     time.Time // zero: cancel
	Cancel bool
}

// Timer kinds the domain asks for.
const (
	// TimerTaskClock fires a task's next clock point; key: task id.
	TimerTaskClock = "dispatch.task_clock"
	// TimerAwaitFacts routes a classified case whose case.received has not
	// come; key: case id.
	TimerAwaitFacts = "dispatch.await_facts"
)
