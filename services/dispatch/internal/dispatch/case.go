package dispatch

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/workcal"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"
)

// The case aggregate: the operation environment, what an operation changed
// (Finish), how a case's tasks are found, and the case's lifecycle from the
// events dispatch consumes (received, classified, withdrawn, urged, reopened).

// Policy holds the local choices of the task table (DESIGN.md defaults).
type Policy struct {
	// RejectWindow: an acknowledged task may still be rejected this long
	// after acknowledging (1 working hour).
	RejectWindow workcal.Duration
	// MaxExtensions a task may request (1).
	MaxExtensions int
	// AwaitFacts is how long a dispatchable classification waits for its
	// case.received before it is routed without the case text (30 s).
	AwaitFacts time.Duration
}

// DefaultPolicy is DESIGN.md's defaults.
func DefaultPolicy() Policy {
	return Policy{RejectWindow: workcal.Working(time.Hour), MaxExtensions: 1, AwaitFacts: 30 * time.Second}
}

// Env is what an operation on a case needs besides the case.
type Env struct {
	Now    time.Time
	Actor  string // the principal acting; SystemActor for routing and the clock
	Ref    *reference.Set
	Policy Policy
	NewID  func() string
	// Encode encodes the operation's events for the outbox (Commit).
	Encode Encoder
}

// SystemActor is the actor of what dispatch does by itself.
const SystemActor = "system:dispatch"

// NewCase returns an empty case; facts and classification come with events.
func NewCase(id string, now time.Time) *Case {
	return &Case{ID: id, Status: Awaiting, CreatedAt: now, UpdatedAt: now}
}

// Changes is what one operation did to a case; Commit makes them what the
// store writes in the operation's transaction.
type Changes struct {
	Events []Event
	// Tasks changed or created.
	Tasks []*Task
	// Timers to set (At) or clear (Cancel), task clocks included.
	Timers []TimerOp
}

// Finish returns the operation's changes and resets the tracking: every
// changed task's clock timer is set to its next point or cleared, unless
// it stands there already (Task.Clock): most changes of a task (a sign-for
// note, a case's status) leave its next point where it was.
func (c *Case) Finish(ref *reference.Set) Changes {
	ch := Changes{Events: c.events, Timers: c.timerOps}
	for _, t := range c.Tasks {
		if !c.dirty[t.ID] {
			continue
		}
		ch.Tasks = append(ch.Tasks, t)
		next := c.nextPoint(t, ref)
		if t.Clock != nil && t.Clock.Equal(next) {
			continue
		}
		t.Clock = &next
		if next.IsZero() {
			ch.Timers = append(ch.Timers, TimerOp{Kind: TimerTaskClock, Key: t.ID, Cancel: true})
		} else {
			ch.Timers = append(ch.Timers, TimerOp{Kind: TimerTaskClock, Key: t.ID, At: next})
		}
	}
	c.events, c.dirty, c.timerOps = nil, nil, nil
	return ch
}

func (c *Case) markDirty(t *Task) {
	if c.dirty == nil {
		c.dirty = map[string]bool{}
	}
	c.dirty[t.ID] = true
}

// touchQuiet marks t for saving and re-timing without counting it changed.
func (c *Case) touchQuiet(t *Task) { c.markDirty(t) }

func (c *Case) touch(env *Env, t *Task) {
	t.UpdatedAt = env.Now
	t.refreshFlags()
	c.markDirty(t)
}

// taskChanged records that t changed: stamped, its flags refreshed, marked
// for saving, and e emitted with t's snapshot as it now stands.
func (c *Case) taskChanged(env *Env, t *Task, e taskEvent) {
	c.touch(env, t)
	e.setTask(t)
	c.emit(env, e)
}

// act moves one of the case's tasks: move applies the transition and
// returns the event it caused, which act records (taskChanged).
func (c *Case) act(env *Env, taskID string, move func(t *Task) (taskEvent, error)) (*Task, error) {
	t := c.task(taskID)
	if t == nil {
		return nil, errNoTask(taskID)
	}
	e, err := move(t)
	if err != nil {
		return nil, err
	}
	c.taskChanged(env, t, e)
	return t, nil
}

// emit records e with its header: now, the actor, the case as it stands.
func (c *Case) emit(env *Env, e Event) {
	h := e.header()
	h.At, h.Actor = env.Now, env.Actor
	h.CaseID, h.CaseNumber, h.Area = c.ID, c.Number, c.Area
	if c.Class != nil {
		h.Item = c.Class.Item
	}
	c.events = append(c.events, e)
	c.UpdatedAt = env.Now
}

func (c *Case) task(id string) *Task {
	for _, t := range c.Tasks {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// Task returns the case's task with the given id, or nil.
func (c *Case) Task(id string) *Task { return c.task(id) }

// active is dept's task of the current round that still counts: open or
// completed.
func (c *Case) active(dept string) *Task {
	for _, t := range c.Tasks {
		if t.Department == dept && t.Round == c.Round && !t.State.Final() {
			return t
		}
	}
	return nil
}

// lead is the current round's lead task that still counts, or nil.
func (c *Case) lead() *Task {
	for _, t := range c.Tasks {
		if t.Role == Lead && t.Round == c.Round && !t.State.Final() {
			return t
		}
	}
	return nil
}

func (c *Case) open() []*Task {
	var out []*Task
	for _, t := range c.Tasks {
		if t.State.Open() {
			out = append(out, t)
		}
	}
	return out
}

// rejectedBy reports whether dept rejected the case's lead in this round.
func (c *Case) rejectedBy(dept string) bool {
	return slices.ContainsFunc(c.LeadRejections, func(r Rejection) bool { return r.Department == dept })
}

// clockStart is when the case's clock started: its receipt.
func (c *Case) clockStart() time.Time {
	switch {
	case c.Class != nil && !c.Class.ReceivedAt.IsZero():
		return c.Class.ReceivedAt
	case c.Facts != nil && !c.Facts.ReceivedAt.IsZero():
		return c.Facts.ReceivedAt
	}
	return c.CreatedAt
}

// RoutingCase is the case as routing sees it.
func (c *Case) RoutingCase() routing.Case {
	rc := routing.Case{Received: c.clockStart(), District: c.Area.District, Street: c.Area.Street,
		Community: c.Area.Community, Grid: c.Area.Grid}
	if f := c.Facts; f != nil {
		rc.AppealType, rc.Source, rc.Urgency, rc.Item = f.AppealType, f.Source, f.Urgency, f.CatalogueCode
		rc.Text = strings.TrimSpace(f.Title + "\n" + f.Content)
		rc.Named = f.Whistle
	}
	if cl := c.Class; cl != nil {
		rc.Item, rc.Label, rc.Labels = cl.Item, cl.Label, cl.Labels
		if cl.Urgency != "" {
			rc.Urgency = cl.Urgency
		}
		if cl.AppealType != "" {
			rc.AppealType = cl.AppealType
		}
		if cl.Source != "" {
			rc.Source = cl.Source
		}
	}
	return rc
}

// SummaryOf describes a case to a unit without personal data.
func SummaryOf(c *Case, ref *reference.Set) *Summary { return c.summary(ref) }

func (c *Case) summary(ref *reference.Set) *Summary {
	s := &Summary{CaseNumber: c.Number, Area: c.Area, ReceivedAt: c.clockStart()}
	if f := c.Facts; f != nil {
		s.AppealType, s.Source, s.Urgency = f.AppealType, f.Source, f.Urgency
		s.Address = f.Address
		s.Address.Raw, s.Address.Room = "", ""
	}
	if cl := c.Class; cl != nil {
		s.Item, s.ItemName, s.IncidentID, s.ClassificationVersion = cl.Item, cl.ItemName, cl.IncidentID, cl.Version
		if cl.Urgency != "" {
			s.Urgency = cl.Urgency
		}
		if cl.AppealType != "" {
			s.AppealType = cl.AppealType
		}
		if cl.Source != "" {
			s.Source = cl.Source
		}
	}
	if s.ItemName == "" && s.Item != "" {
		if it, ok := ref.Item(s.Item); ok {
			s.ItemName = it.Name
		}
	}
	return s
}

// Received records case.received's facts. A classification waiting for
// them is routed now.
func (c *Case) Received(env *Env, number string, f Facts) {
	if c.Number == "" {
		c.Number = number
	}
	if c.Facts != nil {
		return
	}
	c.Facts = &f
	if c.Class == nil && isZeroArea(c.Area) {
		c.Area = f.Area
	}
	if c.AwaitingFacts && c.RoutedWith == nil && !c.Status.Closed() && c.Status != Parked {
		c.timerOps = append(c.timerOps, TimerOp{Kind: TimerAwaitFacts, Key: c.ID, Cancel: true})
		if c.hold() { // self-disposal (issue 20)
			return
		}
		c.route(env)
	}
}

// AwaitedTooLong routes a case whose case.received never came, without its
// text (the await timer fired).
func (c *Case) AwaitedTooLong(env *Env) {
	if !c.AwaitingFacts || c.RoutedWith != nil || c.Status.Closed() || c.Status == Parked || c.Class == nil {
		return
	}
	c.route(env)
	c.Path = append([]routing.Step{{Rule: "facts", Why: "case.received did not arrive in time: routed without the case text"}}, c.Path...)
}

func isZeroArea(a Area) bool { return a == Area{} }

// Classified applies a classification version. An older or equal version
// is ignored (events arrive out of order). The first dispatchable version
// is routed; a newer one re-routes, or, when the units stay the same,
// changes the deadlines in place (urgency rose). A version that is not
// dispatchable withdraws what was dispatched (the case became a duplicate).
func (c *Case) Classified(env *Env, number string, cl Classification) {
	if c.Number == "" {
		c.Number = number
	}
	if c.Class != nil && cl.Version <= c.Class.Version {
		return
	}
	prevClass := c.Class
	c.Class = &cl
	if c.Status.Closed() {
		return
	}
	if c.RoutedWith == nil || (prevClass != nil && prevClass.Area != cl.Area) {
		// The classification's area is the case's until a rejection names
		// another; a reclassification to another area moves it.
		if !isZeroArea(cl.Area) {
			c.Area = cl.Area
		}
	}
	if !cl.Dispatchable {
		for _, t := range c.open() {
			c.withdraw(env, t, WithdrawNotDispatchable, "")
		}
		c.Queue, c.Arbitration = nil, nil
		if c.Status != Parked {
			c.Status = NotDispatchable
		} else {
			c.Parking.Resume = NotDispatchable
		}
		return
	}
	if c.Status == Parked {
		// Parked cases keep their tasks; the newest classification is
		// applied when a dispatcher reassigns.
		return
	}
	if c.RoutedWith == nil || c.Status == NotDispatchable {
		if c.Facts == nil && c.RoutedWith == nil {
			c.Status = Awaiting
			if !c.AwaitingFacts {
				c.AwaitingFacts = true
				c.timerOps = append(c.timerOps, TimerOp{Kind: TimerAwaitFacts, Key: c.ID, At: env.Now.Add(env.Policy.AwaitFacts)})
			}
			return
		}
		if c.hold() { // self-disposal (issue 20)
			return
		}
		c.route(env)
		return
	}
	c.reroute(env)
}

// Withdrawn applies the hotline's withdrawal (撤单).
func (c *Case) Withdrawn(env *Env) {
	if c.Status.Closed() {
		return
	}
	for _, t := range c.open() {
		c.withdraw(env, t, WithdrawHotline, "")
	}
	c.Status, c.Queue, c.Arbitration, c.Parking = CaseWithdrawn, nil, nil, nil
	if c.AwaitingFacts {
		c.AwaitingFacts = false
		c.timerOps = append(c.timerOps, TimerOp{Kind: TimerAwaitFacts, Key: c.ID, Cancel: true})
	}
}

// Urged applies the hotline's urging (催单): every open task is told.
func (c *Case) Urged(env *Env, followUpID string) {
	for _, t := range c.open() {
		t.Urges++
		c.taskChanged(env, t, &TaskUrged{FollowUpID: followUpID, Urges: t.Urges})
	}
}

func (c *Case) label() string {
	if c.Number != "" {
		return c.Number
	}
	return c.ID
}

// Reopen starts a new round for the case's lead unit after a bad callback
// or a failed re-check (counted as rework): a new lead task with limits
// running from now.
func (c *Case) Reopen(env *Env) (*Task, error) {
	var last *Task
	for _, t := range c.Tasks {
		if t.Role == Lead && t.Round == c.Round && t.State == Completed {
			last = t
		}
	}
	if last == nil {
		return nil, fault.New(fault.FailedPrecondition, "case %s has no completed lead task to reopen", c.label())
	}
	rc := c.RoutingCase()
	q := reference.SLAQuery{Urgency: rc.Urgency, AppealType: rc.AppealType, Received: env.Now}
	if _, ok := env.Ref.Item(rc.Item); ok {
		q.Item = rc.Item
	}
	sla, err := env.Ref.ResolveSLA(q)
	if err != nil {
		return nil, fmt.Errorf("reopen: %w", err)
	}
	c.Round++
	c.Deadlines = deadlinesOf(sla, env.Now)
	c.LeadRejections, c.Queue, c.Arbitration = nil, nil, nil
	return c.newTask(env, last.Department, Lead, c.Deadlines, Reopened, last.Rule, false, last.ID), nil
}

// ErrBadCaseID is returned for a case id that is not a uuid (a poison
// event).
var ErrBadCaseID = errors.New("case id is not a uuid")

func errNoTask(id string) error {
	return fault.NotFoundf("tasks/"+id, "no task %q", id)
}

func invalid(field, format string, args ...any) error {
	var v fault.Violations
	v.Add(field, format, args...)
	return v.Err()
}
