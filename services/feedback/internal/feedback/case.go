// Package feedback is the case lifecycle: the authoritative state of a case,
// derived by folding every event feedback stored about it, the decisions
// that close the loop (resolve, reply, close, reopen, withdraw), callbacks
// and re-checks, and the figures that measure how well the loop closes.
//
// A case's view is a pure function of its stored events (Project): state is
// derived from facts (the latest classification version, each task's latest
// snapshot, the rounds feedback resolved, replied, closed or reopened), not
// from the order events arrived in, so late and out-of-order events land
// where they belong and rebuilding the views from the log gives the same
// figures.
package feedback

import (
	"cmp"
	"slices"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
)

// State is a case's lifecycle state (DESIGN.md "States").
type State string

// The case states.
const (
	Received        State = "received"
	ReviewNeeded    State = "review_needed"
	Classified      State = "classified"
	Dispatched      State = "dispatched"
	InProgress      State = "in_progress"
	Resolved        State = "resolved"
	Replied         State = "replied"
	AwaitingRecheck State = "awaiting_recheck"
	Closed          State = "closed"
	Withdrawn       State = "withdrawn"
	Answered        State = "answered"
	Merged          State = "merged"
	Cancelled       State = "cancelled"
	Parked          State = "parked"
	// SelfDisposed (issue 20): a patrol report settled on the spot, waiting
	// for the grid leader's check (selfdisposal.go).
	SelfDisposed State = "self_disposed"
)

// Source is where a case came from: the shared vocabulary, under the
// names feedback's code and tests have always used.
type Source = reference.Source

// Sources.
const (
	Hotline   = reference.FromHotline
	Patrol    = reference.FromPatrol
	Secretary = reference.FromSecretary
)

// Satisfaction is a callback's rating.
type Satisfaction string

// Ratings.
const (
	Satisfied   Satisfaction = "satisfied"
	Basic       Satisfaction = "basic"
	Unsatisfied Satisfaction = "unsatisfied"
)

// Task states as dispatch names them.
const (
	TaskStateDispatched         = "dispatched"
	TaskStateAcknowledged       = "acknowledged"
	TaskStateRejected           = "rejected"
	TaskStateForwarded          = "forwarded"
	TaskStateExtensionRequested = "extension_requested"
	TaskStateCompleted          = "completed"
	TaskStateWithdrawn          = "withdrawn"
)

// Roles and review states of tasks.
const (
	RoleLead      = "lead"
	RoleCoHandler = "co_handler"

	ReviewNotRequired = "not_required"
	ReviewPending     = "pending"
	ReviewApproved    = "approved"
)

// Area is a case's place in the area tree (the shared area codes); unknown
// levels are "" or "0", as the events said.
type Area = reference.AreaCodes

// Task is one unit's task as the latest of its events states it.
type Task struct {
	ID           string    `json:"ID"`
	Department   string    `json:"Department"`
	Role         string    `json:"Role"`
	State        string    `json:"State"`
	Round        int       `json:"Round"`
	Review       string    `json:"Review"`
	DispatchedAt time.Time `json:"DispatchedAt"`
	AckedAt      time.Time `json:"AckedAt,omitzero"`
	CompletedAt  time.Time `json:"CompletedAt,omitzero"`
	AckDue       time.Time `json:"AckDue,omitzero"`
	CompleteDue  time.Time `json:"CompleteDue,omitzero"`
	Overdue      bool      `json:"Overdue"`
	Extended     bool      `json:"Extended"`
	Result       string    `json:"Result"`
	Evidence     []string  `json:"Evidence"`
	// At is when the snapshot was taken: an older event never overwrites a
	// newer one.
	At time.Time `json:"At"`
}

// open reports whether the task still counts for its case.
func (t *Task) counts() bool {
	return t.State != TaskStateRejected && t.State != TaskStateForwarded && t.State != TaskStateWithdrawn
}

// Callback is one recorded callback.
type Callback struct {
	ID              string       `json:"ID"`
	Round           int          `json:"Round"`
	Reached         bool         `json:"Reached"`
	ContactedByUnit bool         `json:"ContactedByUnit"`
	Solved          bool         `json:"Solved"`
	Satisfaction    Satisfaction `json:"Satisfaction"`
	Note            string       `json:"Note"`
	At              time.Time    `json:"At"`
}

// Reply is a reply composed for a case.
type Reply struct {
	ID      string    `json:"ID"`
	Round   int       `json:"Round"`
	Text    string    `json:"Text"`
	Results []Result  `json:"Results"`
	At      time.Time `json:"At"`
}

// Result is one unit's completion, part of a resolution.
type Result struct {
	TaskID      string    `json:"TaskID"`
	Department  string    `json:"Department"`
	Role        string    `json:"Role"`
	Text        string    `json:"Text"`
	Evidence    []string  `json:"Evidence"`
	CompletedAt time.Time `json:"CompletedAt"`
}

// Case is a case's view: facts gathered from its events and the state they
// imply.
type Case struct {
	ID             string               `json:"ID"`
	Number         string               `json:"Number"`
	HotlineOrderNo string               `json:"HotlineOrderNo"`
	Source         Source               `json:"Source"`
	Area           Area                 `json:"Area"`
	AppealType     reference.AppealType `json:"AppealType"`
	Urgency        reference.Urgency    `json:"Urgency"`
	Title          string               `json:"Title"`
	PlaceKey       string               `json:"PlaceKey"`
	NoCallback     bool                 `json:"NoCallback"`
	Answered       bool                 `json:"Answered"`
	// Worker is the grid worker who reported a patrol case: the re-check
	// is theirs, and so is reading the case (pkg/policy).
	Worker     string    `json:"Worker,omitempty"`
	ReceivedAt time.Time `json:"ReceivedAt"`
	// Public is set for a public request (Open311, issue 19).
	Public *PublicFacts `json:"Public,omitempty"`
	// SelfDisposal is set for a patrol report settled on the spot (issue 20).
	SelfDisposal *SelfDisposal `json:"SelfDisposal,omitempty"`

	ClassVersion  int    `json:"ClassVersion"`
	ItemCode      string `json:"ItemCode"`
	ItemName      string `json:"ItemName"`
	HotlineClass  string `json:"HotlineClass"`
	ModelVersion  string `json:"ModelVersion"`
	IncidentID    string `json:"IncidentID"`
	PrimaryCaseID string `json:"PrimaryCaseID"`
	ReviewNeeded  bool   `json:"ReviewNeeded"`

	Tasks []*Task `json:"Tasks"`

	// Round counts reopenings (rework).
	Round         int        `json:"Round"`
	ResolvedRound []int      `json:"ResolvedRound"` // rounds feedback resolved
	ResolvedAt    time.Time  `json:"ResolvedAt,omitzero"`
	Replies       []Reply    `json:"Replies"`
	CallbackDue   time.Time  `json:"CallbackDue,omitzero"`
	RetryAt       time.Time  `json:"RetryAt,omitzero"`
	Callbacks     []Callback `json:"Callbacks"`
	Rechecks      int        `json:"Rechecks"`
	ClosedRound   int        `json:"ClosedRound"` // valid when Closed
	IsClosed      bool       `json:"IsClosed"`
	CloseReason   string     `json:"CloseReason"`
	ClosedAt      time.Time  `json:"ClosedAt,omitzero"`

	WithdrawRequested string `json:"WithdrawRequested"` // the follow-up id of the hotline's 撤单
	IsWithdrawn       bool   `json:"IsWithdrawn"`
	IsCancelled       bool   `json:"IsCancelled"`
	CancelReason      string `json:"CancelReason"`
	IsParked          bool   `json:"IsParked"`
	ParkReason        string `json:"ParkReason"`
	Excluded          bool   `json:"Excluded"`
	ExcludeReason     string `json:"ExcludeReason"`

	State     State     `json:"State"`
	UpdatedAt time.Time `json:"UpdatedAt"`
}

// Merged reports whether the case is a duplicate mirroring its incident's
// primary case.
func (c *Case) Merged() bool { return c.PrimaryCaseID != "" && c.PrimaryCaseID != c.ID }

// LeadDepartment is the department of the case's latest lead task.
func (c *Case) LeadDepartment() string {
	var lead *Task
	for _, t := range c.Tasks {
		if t.Role == RoleLead && (lead == nil || t.Round > lead.Round || (t.Round == lead.Round && t.DispatchedAt.After(lead.DispatchedAt))) {
			lead = t
		}
	}
	if lead == nil {
		return ""
	}
	return lead.Department
}

// resolved reports whether feedback resolved round r.
func (c *Case) resolved(r int) bool { return slices.Contains(c.ResolvedRound, r) }

// replied reports whether a reply went out for round r.
func (c *Case) replied(r int) bool {
	return slices.ContainsFunc(c.Replies, func(rp Reply) bool { return rp.Round == r })
}

// roundTasks are the tasks of the current round that still count.
func (c *Case) roundTasks() []*Task {
	var out []*Task
	for _, t := range c.Tasks {
		if t.Round == c.Round && t.counts() {
			out = append(out, t)
		}
	}
	return out
}

// Final reports whether the case takes no more work.
func (c *Case) Final() bool {
	switch c.State {
	case Closed, Withdrawn, Cancelled, Answered:
		return true
	}
	return false
}

// Project folds a case's stored events into its view. Events are applied
// in time order (then log order), and every fact is kept so that order does
// not change the outcome: classification versions and task snapshots only
// move forward.
func Project(id string, evs []Event) *Case {
	evs = slices.Clone(evs)
	slices.SortStableFunc(evs, func(a, b Event) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Seq, b.Seq))
	})
	c := &Case{ID: id}
	for i := range evs {
		c.apply(&evs[i])
	}
	c.State = c.derive()
	return c
}

func (c *Case) apply(e *Event) {
	if e.At.After(c.UpdatedAt) {
		c.UpdatedAt = e.At
	}
	if e.CaseNumber != "" && c.Number == "" {
		c.Number = e.CaseNumber
	}
	if e.Area != (Area{}) && c.Area == (Area{}) {
		c.Area = e.Area
	}
	if e.Fact != nil {
		e.Fact.apply(c, e)
	}
}

func (f *CaseReceived) apply(c *Case, _ *Event) {
	c.Number, c.HotlineOrderNo, c.Source = f.Number, f.HotlineOrderNo, f.Source
	c.Area, c.AppealType, c.Urgency, c.Title, c.PlaceKey = f.Area, f.AppealType, f.Urgency, f.Title, f.PlaceKey
	c.NoCallback, c.ReceivedAt = f.NoCallback, f.ReceivedAt
	c.Answered, c.Worker = f.Answered, f.Worker
	c.Public = f.Public
	if f.SelfDisposal != nil { // issue 20; a check stored earlier keeps its verdict
		sd := *f.SelfDisposal
		if c.SelfDisposal != nil {
			sd.Verdict, sd.CheckID, sd.CheckedBy, sd.CheckedAt, sd.CheckNote = c.SelfDisposal.Verdict, c.SelfDisposal.CheckID,
				c.SelfDisposal.CheckedBy, c.SelfDisposal.CheckedAt, c.SelfDisposal.CheckNote
		}
		c.SelfDisposal = &sd
	}
}

func (f *CaseClassified) apply(c *Case, _ *Event) {
	if f.Version < c.ClassVersion {
		return
	}
	c.ClassVersion, c.ItemCode, c.ItemName, c.HotlineClass = f.Version, f.ItemCode, f.ItemName, f.HotlineClass
	c.ModelVersion, c.IncidentID, c.PrimaryCaseID = f.ModelVersion, f.IncidentID, f.PrimaryCaseID
	if f.Urgency != "" {
		c.Urgency = f.Urgency
	}
	if c.Source == "" {
		c.Source = f.Source
	}
	if c.ReceivedAt.IsZero() {
		c.ReceivedAt = f.ReceivedAt
	}
}

func (f *CaseReviewNeeded) apply(c *Case, _ *Event) { c.ReviewNeeded = true }

func (f *IncidentGrouped) apply(c *Case, _ *Event) {
	if c.IncidentID == "" {
		c.IncidentID, c.PrimaryCaseID = f.IncidentID, f.PrimaryCaseID
	}
}

func (f *CaseFollowedUp) apply(c *Case, _ *Event) {
	if f.Withdraw {
		c.WithdrawRequested = f.ID
	}
}

func (f *CaseCancelled) apply(c *Case, _ *Event) { c.IsCancelled, c.CancelReason = true, f.Reason }
func (f *CaseParked) apply(c *Case, _ *Event)    { c.IsParked, c.ParkReason = true, f.Reason }
func (f *CaseUnparked) apply(c *Case, _ *Event)  { c.IsParked, c.ParkReason = false, "" }
func (f *CaseExcluded) apply(c *Case, _ *Event)  { c.Excluded, c.ExcludeReason = true, f.Reason }

// Shown in the timeline; they change nothing feedback derives.
func (f *IncidentLinked) apply(*Case, *Event)        {}
func (f *CaseContactRead) apply(*Case, *Event)       {}
func (f *CaseArbitrationOpened) apply(*Case, *Event) {}
func (f *CaseArbitrated) apply(*Case, *Event)        {}

// Source place coordination (issue 20): shown in the timeline only.
func (f *SourcePlaceLeadChanged) apply(*Case, *Event) {}

func (f *CaseResolved) apply(c *Case, e *Event) {
	if !c.resolved(f.Round) {
		c.ResolvedRound = append(c.ResolvedRound, f.Round)
	}
	c.ResolvedAt = e.At
}

func (f *CaseReplied) apply(c *Case, _ *Event) {
	if !c.replied(f.Reply.Round) {
		c.Replies = append(c.Replies, f.Reply)
		c.CallbackDue, c.RetryAt = f.CallbackDue, time.Time{}
	}
}

func (f *CaseCallbackRecorded) apply(c *Case, _ *Event) {
	c.Callbacks = append(c.Callbacks, f.Callback)
	c.RetryAt = f.RetryAt
}

func (f *CaseCallbackRetryDue) apply(c *Case, _ *Event) { c.RetryAt = time.Time{} }

func (f *CaseRechecked) apply(c *Case, _ *Event) { c.Rechecks++ }

func (f *CaseReopened) apply(c *Case, _ *Event) {
	c.Round = max(c.Round, f.Round)
	c.CallbackDue, c.RetryAt = time.Time{}, time.Time{}
	if c.IsClosed && c.ClosedRound < c.Round {
		c.IsClosed = false
	}
}

func (f *CaseClosed) apply(c *Case, e *Event) {
	if f.Round >= c.Round {
		c.IsClosed, c.ClosedRound, c.CloseReason, c.ClosedAt = true, f.Round, f.Reason, e.At
		c.CallbackDue, c.RetryAt = time.Time{}, time.Time{}
	}
}

func (f *CaseWithdrawn) apply(c *Case, _ *Event) { c.IsWithdrawn = true }

// Task events. Times and results are facts whatever the order; the state
// and flags come from the newest snapshot.

// task finds the task a snapshot names, adding it when new.
func (c *Case) task(s *TaskSnapshot) *Task {
	for _, t := range c.Tasks {
		if t.ID == s.ID {
			return t
		}
	}
	t := &Task{ID: s.ID}
	c.Tasks = append(c.Tasks, t)
	return t
}

// take applies s, taken at at, unless a newer snapshot was; it reports
// whether it did.
func (t *Task) take(s *TaskSnapshot, at time.Time) bool {
	if at.Before(t.At) {
		return false
	}
	t.At = at
	t.Department, t.Role, t.State, t.Round, t.Review = s.Department, s.Role, s.State, s.Round, s.Review
	t.AckDue, t.CompleteDue = s.AckDue, s.CompleteDue
	t.Overdue = t.Overdue || s.Overdue
	return true
}

// apply is that of a task event with no facts of its own.
func (s *TaskSnapshot) apply(c *Case, e *Event) { c.task(s).take(s, e.At) }

func (f *TaskDispatched) apply(c *Case, e *Event) {
	t := c.task(&f.TaskSnapshot)
	t.DispatchedAt = e.At
	t.take(&f.TaskSnapshot, e.At)
}

func (f *TaskAcknowledged) apply(c *Case, e *Event) {
	t := c.task(&f.TaskSnapshot)
	if t.AckedAt.IsZero() || e.At.Before(t.AckedAt) {
		t.AckedAt = e.At
	}
	t.take(&f.TaskSnapshot, e.At)
}

func (f *TaskCompleted) apply(c *Case, e *Event) {
	t := c.task(&f.TaskSnapshot)
	t.CompletedAt, t.Result, t.Evidence = e.At, f.Result, f.Evidence
	t.take(&f.TaskSnapshot, e.At)
}

func (f *TaskExtensionDecided) apply(c *Case, e *Event) {
	t := c.task(&f.TaskSnapshot)
	if f.Granted {
		t.Extended = true
	}
	t.take(&f.TaskSnapshot, e.At)
}

func (f *TaskCompletionReturned) apply(c *Case, e *Event) {
	t := c.task(&f.TaskSnapshot)
	if t.take(&f.TaskSnapshot, e.At) {
		t.CompletedAt = time.Time{}
	}
}

// derive computes the state from the facts.
func (c *Case) derive() State {
	switch {
	case c.IsWithdrawn:
		return Withdrawn
	case c.IsCancelled:
		return Cancelled
	case c.Answered:
		return Answered
	case c.IsClosed:
		return Closed
	case c.SelfDisposal.pending(): // issue 20
		return SelfDisposed
	case c.IsParked:
		return Parked
	case c.resolved(c.Round):
		switch {
		case c.Source == Patrol:
			return AwaitingRecheck
		case c.replied(c.Round):
			return Replied
		}
		return Resolved
	}
	if ts := c.roundTasks(); len(ts) > 0 {
		for _, t := range ts {
			if t.State != TaskStateDispatched {
				return InProgress
			}
		}
		return Dispatched
	}
	switch {
	case c.Merged():
		return Merged
	case c.Round > 0:
		return Dispatched
	case c.ClassVersion > 0:
		return Classified
	case c.ReviewNeeded:
		return ReviewNeeded
	}
	return Received
}

// resolvingLead returns the current round's lead task when its completion
// resolves the case: completed without review, or approved.
func (c *Case) resolvingLead() *Task {
	for _, t := range c.roundTasks() {
		if t.Role == RoleLead && t.State == TaskStateCompleted && t.Review != ReviewPending {
			return t
		}
	}
	return nil
}

// Results are the current round's completions, the lead's first.
func (c *Case) Results() []Result {
	var out []Result
	for _, t := range c.roundTasks() {
		if t.State == TaskStateCompleted || !t.CompletedAt.IsZero() {
			out = append(out, Result{TaskID: t.ID, Department: t.Department, Role: t.Role, Text: t.Result,
				Evidence: t.Evidence, CompletedAt: t.CompletedAt})
		}
	}
	slices.SortStableFunc(out, func(a, b Result) int {
		return cmp.Or(cmp.Compare(leadFirst(a.Role), leadFirst(b.Role)), a.CompletedAt.Compare(b.CompletedAt))
	})
	return out
}

func leadFirst(role string) int {
	if role == RoleLead {
		return 0
	}
	return 1
}
