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
)

// Source is where a case came from.
type Source string

// Sources.
const (
	Hotline   Source = "hotline"
	Patrol    Source = "patrol"
	Secretary Source = "secretary"
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
	TaskDispatched         = "dispatched"
	TaskAcknowledged       = "acknowledged"
	TaskRejected           = "rejected"
	TaskForwarded          = "forwarded"
	TaskExtensionRequested = "extension_requested"
	TaskCompleted          = "completed"
	TaskWithdrawn          = "withdrawn"
)

// Roles and review states of tasks.
const (
	RoleLead      = "lead"
	RoleCoHandler = "co_handler"

	ReviewNotRequired = "not_required"
	ReviewPending     = "pending"
	ReviewApproved    = "approved"
)

// Area is a case's place in the area tree; unknown levels are "".
type Area struct {
	District  string `json:"District"`
	Street    string `json:"Street"`
	Community string `json:"Community"`
	Grid      string `json:"Grid"`
}

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
	return t.State != TaskRejected && t.State != TaskForwarded && t.State != TaskWithdrawn
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
	ID             string    `json:"ID"`
	Number         string    `json:"Number"`
	HotlineOrderNo string    `json:"HotlineOrderNo"`
	Source         Source    `json:"Source"`
	Area           Area      `json:"Area"`
	AppealType     string    `json:"AppealType"`
	Urgency        string    `json:"Urgency"`
	Title          string    `json:"Title"`
	PlaceKey       string    `json:"PlaceKey"`
	NoCallback     bool      `json:"NoCallback"`
	Answered       bool      `json:"Answered"`
	ReceivedAt     time.Time `json:"ReceivedAt"`

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
	switch e.Type {
	case "case.received", "case.answered":
		r := e.Received
		if r == nil {
			return
		}
		c.Number, c.HotlineOrderNo, c.Source = r.Number, r.HotlineOrderNo, r.Source
		c.Area, c.AppealType, c.Urgency, c.Title, c.PlaceKey = r.Area, r.AppealType, r.Urgency, r.Title, r.PlaceKey
		c.NoCallback, c.ReceivedAt = r.NoCallback, r.ReceivedAt
		c.Answered = e.Type == "case.answered"
	case "case.classified":
		k := e.Classified
		if k == nil || k.Version < c.ClassVersion {
			return
		}
		c.ClassVersion, c.ItemCode, c.ItemName, c.HotlineClass = k.Version, k.ItemCode, k.ItemName, k.HotlineClass
		c.ModelVersion, c.IncidentID, c.PrimaryCaseID = k.ModelVersion, k.IncidentID, k.PrimaryCaseID
		if k.Urgency != "" {
			c.Urgency = k.Urgency
		}
		if c.Source == "" {
			c.Source = k.Source
		}
		if c.ReceivedAt.IsZero() {
			c.ReceivedAt = k.ReceivedAt
		}
	case "case.review_needed":
		c.ReviewNeeded = true
	case "incident.grouped":
		if g := e.Grouped; g != nil && c.IncidentID == "" {
			c.IncidentID, c.PrimaryCaseID = g.IncidentID, g.PrimaryCaseID
		}
	case "case.followed_up":
		if f := e.FollowUp; f != nil && f.Withdraw {
			c.WithdrawRequested = f.ID
		}
	case "case.cancelled":
		c.IsCancelled, c.CancelReason = true, e.Reason
	case "case.parked":
		c.IsParked, c.ParkReason = true, e.Reason
	case "case.unparked":
		c.IsParked, c.ParkReason = false, ""
	case "case.excluded":
		c.Excluded, c.ExcludeReason = true, e.Reason
	case "case.resolved":
		if !c.resolved(e.Round) {
			c.ResolvedRound = append(c.ResolvedRound, e.Round)
		}
		c.ResolvedAt = e.At
	case "case.replied":
		if rp := e.Reply; rp != nil && !c.replied(rp.Round) {
			c.Replies = append(c.Replies, *rp)
			c.CallbackDue, c.RetryAt = e.CallbackDue, time.Time{}
		}
	case "case.callback_recorded":
		if cb := e.Callback; cb != nil {
			c.Callbacks = append(c.Callbacks, *cb)
			c.RetryAt = e.RetryAt
		}
	case "case.callback_retry_due":
		c.RetryAt = time.Time{}
	case "case.rechecked":
		c.Rechecks++
	case "case.reopened":
		c.Round = max(c.Round, e.Round)
		c.CallbackDue, c.RetryAt = time.Time{}, time.Time{}
		if c.IsClosed && c.ClosedRound < c.Round {
			c.IsClosed = false
		}
	case "case.closed":
		if e.Round >= c.Round {
			c.IsClosed, c.ClosedRound, c.CloseReason, c.ClosedAt = true, e.Round, e.Reason, e.At
			c.CallbackDue, c.RetryAt = time.Time{}, time.Time{}
		}
	case "case.withdrawn":
		c.IsWithdrawn = true
	default:
		if e.Task != nil {
			c.applyTask(e)
		}
	}
}

func (c *Case) applyTask(e *Event) {
	f := e.Task
	var t *Task
	for _, x := range c.Tasks {
		if x.ID == f.ID {
			t = x
		}
	}
	if t == nil {
		t = &Task{ID: f.ID}
		c.Tasks = append(c.Tasks, t)
	}
	// Times and results are facts whatever the order; the state and flags
	// come from the newest snapshot.
	switch e.Type {
	case "task.dispatched":
		t.DispatchedAt = e.At
	case "task.acknowledged":
		if t.AckedAt.IsZero() || e.At.Before(t.AckedAt) {
			t.AckedAt = e.At
		}
	case "task.completed":
		t.CompletedAt, t.Result, t.Evidence = e.At, f.Result, f.Evidence
	case "task.extension_decided":
		if f.Granted {
			t.Extended = true
		}
	}
	if e.At.Before(t.At) {
		return
	}
	t.At = e.At
	t.Department, t.Role, t.State, t.Round, t.Review = f.Department, f.Role, f.State, f.Round, f.Review
	t.AckDue, t.CompleteDue = f.AckDue, f.CompleteDue
	t.Overdue = t.Overdue || f.Overdue
	if e.Type == "task.completion_returned" {
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
			if t.State != TaskDispatched {
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
		if t.Role == RoleLead && t.State == TaskCompleted && t.Review != ReviewPending {
			return t
		}
	}
	return nil
}

// Results are the current round's completions, the lead's first.
func (c *Case) Results() []Result {
	var out []Result
	for _, t := range c.roundTasks() {
		if t.State == TaskCompleted || !t.CompletedAt.IsZero() {
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
