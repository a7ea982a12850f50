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
}

// SystemActor is the actor of what dispatch does by itself.
const SystemActor = "system:dispatch"

// NewCase returns an empty case; facts and classification come with events.
func NewCase(id string, now time.Time) *Case {
	return &Case{ID: id, Status: Awaiting, CreatedAt: now, UpdatedAt: now}
}

// Changes is what one operation did to a case, for the store to persist in
// the operation's transaction.
type Changes struct {
	Events []Event
	// Tasks changed or created.
	Tasks []*Task
	// Timers to set (At) or clear (Cancel), task clocks included.
	Timers []TimerOp
}

// Finish returns the operation's changes and resets the tracking: every
// changed task's clock timer is set to its next point or cleared.
func (c *Case) Finish(ref *reference.Set) Changes {
	ch := Changes{Events: c.events, Timers: c.timerOps}
	for _, t := range c.Tasks {
		if !c.dirty[t.ID] {
			continue
		}
		ch.Tasks = append(ch.Tasks, t)
		if next := c.nextPoint(t, ref); next.IsZero() {
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

func reviewRequired(c *Case, ref *reference.Set) bool {
	if c.Class == nil || c.Class.Item == "" {
		return false
	}
	it, ok := ref.Item(c.Class.Item)
	return ok && it.ReviewRequired
}

func limitOf(l reference.Limit) Limit {
	if l.IsZero() {
		return Limit{}
	}
	return Limit{Due: l.Due, WarnAt: l.WarnAt, Duration: l.Duration, Source: l.Source, Unconfirmed: l.Flags.Unconfirmed()}
}

func deadlinesOf(sla reference.SLA, start time.Time) Deadlines {
	return Deadlines{Start: start, Ack: limitOf(sla.Ack), OnSite: limitOf(sla.OnSite), Complete: limitOf(sla.Complete), Warn: sla.Warn}
}

// taskDeadlines are the case's deadlines with a unit's own on-site limit.
func (c *Case) taskDeadlines(onSite reference.Limit) Deadlines {
	d := c.Deadlines
	d.OnSite = limitOf(onSite)
	return d
}

// newTask creates and dispatches a task, emitting task.dispatched.
func (c *Case) newTask(env *Env, dept string, role Role, dl Deadlines, reason DispatchReason, rule string, whistle bool, replaces string) *Task {
	return c.newTaskID(env, env.NewID(), dept, role, dl, reason, rule, whistle, replaces)
}

func (c *Case) newTaskID(env *Env, id, dept string, role Role, dl Deadlines, reason DispatchReason, rule string, whistle bool, replaces string) *Task {
	t := &Task{
		ID: id, CaseID: c.ID, CaseNumber: c.Number, Department: dept, Role: role, State: Dispatched,
		ReviewRequired: reviewRequired(c, env.Ref), Deadlines: dl, Round: c.Round, Reason: reason, Rule: rule,
		Whistle: whistle, Replaces: replaces, DispatchedAt: env.Now,
	}
	c.Tasks = append(c.Tasks, t)
	c.touch(env, t)
	ev := &TaskDispatched{TaskEvent: snapshot(t), Summary: c.summary(env.Ref)}
	if reason == Routed || reason == Rerouted || reason == Redecided {
		ev.Path, ev.ReferenceDigest = c.Path, c.Digest
	}
	c.emit(env, ev)
	return t
}

func (c *Case) withdraw(env *Env, t *Task, reason WithdrawReason, note string) {
	if err := t.withdraw(env.Now); err != nil {
		return
	}
	c.touch(env, t)
	c.emit(env, &TaskWithdrawn{TaskEvent: snapshot(t), Reason: reason, Note: note})
}

func (c *Case) enqueue(env *Env, reason QueueReason, detail string, r *Rejection) {
	c.Queue = &QueueEntry{Reason: reason, Since: env.Now, Detail: detail, Rejection: r}
}

// applyDecision makes the case's tasks match a routing decision: open tasks
// of units the decision no longer names are withdrawn, units it names that
// have no task get one. Routed and Rerouted take the decision's deadlines;
// every other reason keeps the case's (the clock belongs to the case). A
// unit that rejected the case's lead is not given the lead again: the case
// stays in the queue for a dispatcher.
func (c *Case) applyDecision(env *Env, d routing.Decision, reason DispatchReason, replaces string) {
	if reason == Routed || reason == Rerouted {
		c.Deadlines = deadlinesOf(d.SLA, c.clockStart())
	}
	c.Path, c.Digest = d.Path, d.Digest
	want := append([]routing.Assignment{d.Lead}, d.CoHandlers...)
	for _, t := range c.open() {
		if !slices.ContainsFunc(want, func(a routing.Assignment) bool { return a.Department == t.Department }) {
			c.withdraw(env, t, WithdrawRerouted, "")
		}
	}
	for _, a := range want {
		dl := c.taskDeadlines(a.OnSite)
		if t := c.active(a.Department); t != nil {
			if t.State.Open() && reason == Rerouted {
				c.moveDeadlines(env, t, dl, Reclassified, false)
			}
			continue
		}
		if a.Role == Lead && c.rejectedBy(a.Department) {
			c.enqueue(env, QueueRedecisionFailed, "routing names "+a.Department+", which rejected the case", nil)
			continue
		}
		rep := ""
		if a.Role == Lead {
			rep = replaces
		}
		c.newTask(env, a.Department, a.Role, dl, reason, a.Rule, a.Whistle, rep)
	}
	if c.lead() != nil {
		c.Queue = nil
	}
}

// moveDeadlines moves t's ack and completion limits (and its on-site limit
// when dl has one) to dl's. onlyEarlier keeps limits that would get later.
// A granted extension's later completion due time is kept.
func (c *Case) moveDeadlines(env *Env, t *Task, dl Deadlines, why ChangeReason, onlyEarlier bool) {
	prev := t.Deadlines
	changed := false
	for _, n := range limitNames {
		nl := *dl.limit(n)
		cur := *t.Deadlines.limit(n)
		switch {
		case n == OnSiteLimit && nl.IsZero():
			continue
		case nl.IsZero() || cur.IsZero():
			if nl.IsZero() && cur.IsZero() {
				continue
			}
		case onlyEarlier && !nl.Due.Before(cur.Due):
			continue
		case n == CompleteLimit && t.Extension != nil && t.Extension.Granted && cur.Due.After(nl.Due):
			continue
		}
		if c.setLimit(t, n, nl, env.Now, env.Ref) {
			changed = true
		}
	}
	if !changed {
		return
	}
	t.Deadlines.Warn = dl.Warn
	c.touch(env, t)
	c.emit(env, &TaskDeadlineChanged{TaskEvent: snapshot(t), Reason: why, Previous: prev})
}

// route routes a case for the first time.
func (c *Case) route(env *Env) {
	c.Status = CaseRouted
	c.AwaitingFacts = false
	cl := *c.Class
	c.RoutedWith = &cl
	d, err := routing.Decide(env.Ref, c.RoutingCase())
	if err != nil {
		c.fallbackDeadlines(env)
		c.enqueue(env, QueueUnrouted, err.Error(), nil)
		return
	}
	c.applyDecision(env, d, Routed, "")
}

// fallbackDeadlines gives an unrouted case its limits without a rule, so
// the clock runs while it waits for a dispatcher.
func (c *Case) fallbackDeadlines(env *Env) {
	rc := c.RoutingCase()
	q := reference.SLAQuery{Urgency: rc.Urgency, AppealType: rc.AppealType, Received: rc.Received}
	if _, ok := env.Ref.Item(rc.Item); ok {
		q.Item = rc.Item
	}
	if !q.Urgency.Valid() {
		q.Urgency = ""
	}
	if !q.AppealType.Valid() {
		q.AppealType = ""
	}
	if sla, err := env.Ref.ResolveSLA(q); err == nil {
		c.Deadlines = deadlinesOf(sla, rc.Received)
	}
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

// sameRouting reports whether two classifications route alike apart from
// urgency.
func sameRouting(a, b *Classification) bool {
	return a.Item == b.Item && a.Label == b.Label && slices.Equal(a.Labels, b.Labels) && a.Area == b.Area &&
		a.Source == b.Source && a.AppealType == b.AppealType
}

var urgencyRank = map[reference.Urgency]int{"": 0, reference.Normal: 0, reference.Urgent: 1, reference.Emergency: 2}

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
		c.route(env)
		return
	}
	old := c.RoutedWith
	c.RoutedWith = &cl
	d, err := routing.Decide(env.Ref, c.RoutingCase())
	if err != nil {
		if c.lead() == nil {
			c.enqueue(env, QueueUnrouted, err.Error(), nil)
		}
		return
	}
	if sameRouting(old, &cl) {
		if urgencyRank[cl.Urgency] == urgencyRank[old.Urgency] {
			return
		}
		if c.sameUnits(d) {
			if urgencyRank[cl.Urgency] > urgencyRank[old.Urgency] {
				c.Deadlines = deadlinesOf(d.SLA, c.clockStart())
				for _, t := range c.open() {
					c.moveDeadlines(env, t, c.taskDeadlines(onSiteOf(d, t.Department)), UrgencyRaised, true)
				}
			}
			return
		}
	}
	c.applyDecision(env, d, Rerouted, "")
}

func onSiteOf(d routing.Decision, dept string) reference.Limit {
	for _, a := range append([]routing.Assignment{d.Lead}, d.CoHandlers...) {
		if a.Department == dept {
			return a.OnSite
		}
	}
	return reference.Limit{}
}

// sameUnits reports whether the decision names exactly the units that hold
// the case's current tasks.
func (c *Case) sameUnits(d routing.Decision) bool {
	var have []string
	for _, t := range c.Tasks {
		if t.Round == c.Round && !t.State.Final() {
			have = append(have, t.Department)
		}
	}
	want := []string{d.Lead.Department}
	for _, a := range d.CoHandlers {
		want = append(want, a.Department)
	}
	slices.Sort(have)
	slices.Sort(want)
	return slices.Equal(have, want)
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
		c.touch(env, t)
		c.emit(env, &TaskUrged{TaskEvent: snapshot(t), FollowUpID: followUpID, Urges: t.Urges})
	}
}

// RejectOutcome is what became of the case after a rejection.
type RejectOutcome string

// Reject outcomes.
const (
	OutcomeRedecided   RejectOutcome = "redecided"
	OutcomeQueued      RejectOutcome = "queued"
	OutcomeArbitration RejectOutcome = "arbitration"
)

// Reject applies a unit's 退单 and what follows for the case: the second
// rejection of the lead opens arbitration; not_my_area naming an area is
// re-decided for that area automatically; anything else waits in the queue.
func (c *Case) Reject(env *Env, taskID string, r Rejection) (RejectOutcome, *Task, error) {
	t := c.task(taskID)
	if t == nil {
		return "", nil, errNoTask(taskID)
	}
	windowEnd, _ := env.Ref.Calendar().AddWorking(t.AcknowledgedAt, env.Policy.RejectWindow)
	if err := t.reject(env.Now, r, windowEnd); err != nil {
		return "", nil, err
	}
	c.touch(env, t)
	if t.Role != Lead {
		c.emit(env, &TaskRejected{TaskEvent: snapshot(t), Rejection: *t.Rejection, CaseRejections: len(c.LeadRejections)})
		if c.Queue == nil {
			c.enqueue(env, QueueCoHandlerRejected, t.Department+" returned its part", t.Rejection)
		}
		return OutcomeQueued, nil, nil
	}
	c.LeadRejections = append(c.LeadRejections, *t.Rejection)
	c.emit(env, &TaskRejected{TaskEvent: snapshot(t), Rejection: *t.Rejection, CaseRejections: len(c.LeadRejections)})
	if len(c.LeadRejections) >= 2 {
		c.Queue = nil
		if c.Arbitration == nil {
			c.Arbitration = &Arbitration{OpenedAt: env.Now}
			var by []string
			for _, rj := range c.LeadRejections {
				by = append(by, rj.Department)
			}
			c.emit(env, &CaseArbitrationOpened{Rejections: len(c.LeadRejections), RejectedBy: by})
		}
		return OutcomeArbitration, nil, nil
	}
	if r.Reason == NotMyArea && r.Area != "" {
		d, err := routing.Redecide(env.Ref, c.RoutingCase(), r.Area)
		switch {
		case err != nil:
			c.enqueue(env, QueueRedecisionFailed, "re-deciding for "+r.Area+": "+err.Error(), t.Rejection)
		case d.Lead.Department == t.Department:
			c.enqueue(env, QueueRedecisionFailed, "re-deciding for "+r.Area+" names "+t.Department+" again", t.Rejection)
		default:
			if a, ok := env.Ref.Area(r.Area); ok {
				c.Area = Area{District: a.District, Street: a.Street, Community: a.Community}
				if a.Level == reference.LevelGrid {
					c.Area.Grid = a.Code
				}
			}
			c.applyDecision(env, d, Redecided, t.ID)
			if nt := c.lead(); nt != nil && nt.Reason == Redecided && nt.Replaces == t.ID {
				return OutcomeRedecided, nt, nil
			}
		}
		return OutcomeQueued, nil, nil
	}
	c.enqueue(env, QueueRejected, string(r.Reason)+": "+r.Note, t.Rejection)
	return OutcomeQueued, nil, nil
}

// Acknowledge signs for a task.
func (c *Case) Acknowledge(env *Env, taskID string, eta time.Time, note string) (*Task, error) {
	t := c.task(taskID)
	if t == nil {
		return nil, errNoTask(taskID)
	}
	if err := t.acknowledge(env.Now, eta, note); err != nil {
		return nil, err
	}
	c.touch(env, t)
	c.emit(env, &TaskAcknowledged{TaskEvent: snapshot(t), ETA: eta, Note: note})
	return t, nil
}

// Forward hands a district bureau's acknowledged task on to one of its
// street offices or teams, which gets a new task with the same deadlines.
func (c *Case) Forward(env *Env, taskID, to, note string) (*Task, *Task, error) {
	t := c.task(taskID)
	if t == nil {
		return nil, nil, errNoTask(taskID)
	}
	from, _ := env.Ref.Department(t.Department)
	target, ok := env.Ref.Department(to)
	switch {
	case !ok:
		return nil, nil, invalid("department_code", "no department %q", to)
	case from.Level != reference.LevelDistrict:
		return nil, nil, fault.New(fault.FailedPrecondition, "only a district bureau forwards: %s is a street unit", t.Department)
	case target.Parent != t.Department:
		return nil, nil, fault.New(fault.FailedPrecondition, "%s is not a street office or team of %s", to, t.Department)
	case c.active(to) != nil:
		return nil, nil, fault.New(fault.FailedPrecondition, "%s already has a task for this case", to)
	}
	if err := t.forward(env.Now); err != nil {
		return nil, nil, err
	}
	t.ForwardedTo = env.NewID()
	c.touch(env, t)
	c.emit(env, &TaskForwarded{TaskEvent: snapshot(t), ToDepartment: to, NewTaskID: t.ForwardedTo, Note: note})
	// The sub-unit inherits the task's deadlines, a granted extension
	// included: the clock belongs to the case.
	nt := c.newTaskID(env, t.ForwardedTo, to, t.Role, t.Deadlines, Forwarding, t.Rule, t.Whistle, t.ID)
	return t, nt, nil
}

// RequestExtension asks for a later completion due time.
func (c *Case) RequestExtension(env *Env, taskID string, due time.Time, reason string) (*Task, error) {
	t := c.task(taskID)
	if t == nil {
		return nil, errNoTask(taskID)
	}
	if err := t.requestExtension(env.Now, due, reason, env.Policy.MaxExtensions); err != nil {
		return nil, err
	}
	c.touch(env, t)
	c.emit(env, &TaskExtensionRequested{TaskEvent: snapshot(t), Due: due, Reason: reason})
	return t, nil
}

// DecideExtension grants (with due, or the requested time when zero) or
// denies a requested extension. A grant moves the completion limit in place.
func (c *Case) DecideExtension(env *Env, taskID string, grant bool, due time.Time, note string) (*Task, error) {
	t := c.task(taskID)
	if t == nil {
		return nil, errNoTask(taskID)
	}
	newDue, err := t.decideExtension(env.Now, grant, due, note)
	if err != nil {
		return nil, err
	}
	c.touch(env, t)
	c.emit(env, &TaskExtensionDecided{TaskEvent: snapshot(t), Granted: grant, Due: newDue, Note: note})
	if grant {
		prev := t.Deadlines
		l := t.Deadlines.Complete
		l.Due = newDue
		l.WarnAt = env.Ref.Calendar().WarningAt(t.Deadlines.Start, newDue, t.Deadlines.Warn, l.Duration.Kind)
		l.Source += " (extended)"
		c.setLimit(t, CompleteLimit, l, env.Now, env.Ref)
		c.touch(env, t)
		c.emit(env, &TaskDeadlineChanged{TaskEvent: snapshot(t), Reason: ExtensionGranted, Previous: prev})
	}
	return t, nil
}

// ReportProgress records a 阶段性答复 or that the unit is on site.
func (c *Case) ReportProgress(env *Env, taskID, text string, onSite bool) (*Task, error) {
	t := c.task(taskID)
	if t == nil {
		return nil, errNoTask(taskID)
	}
	if err := t.reportProgress(env.Now, text, onSite); err != nil {
		return nil, err
	}
	c.touch(env, t)
	c.emit(env, &TaskProgressReported{TaskEvent: snapshot(t), Text: text, OnSite: onSite})
	return t, nil
}

// Complete records a unit's 办结.
func (c *Case) Complete(env *Env, taskID, result string, evidence []string) (*Task, error) {
	t := c.task(taskID)
	if t == nil {
		return nil, errNoTask(taskID)
	}
	if err := t.complete(env.Now, result, evidence); err != nil {
		return nil, err
	}
	c.touch(env, t)
	c.emit(env, &TaskCompleted{TaskEvent: snapshot(t), Result: result, Evidence: evidence})
	return t, nil
}

// ReviewCompletion approves a completion or returns it for rework.
func (c *Case) ReviewCompletion(env *Env, taskID string, approve bool, note string) (*Task, error) {
	t := c.task(taskID)
	if t == nil {
		return nil, errNoTask(taskID)
	}
	if approve {
		if err := t.approve(env.Now, note); err != nil {
			return nil, err
		}
		c.touch(env, t)
		c.emit(env, &TaskCompletionApproved{TaskEvent: snapshot(t), Note: note})
		return t, nil
	}
	if err := t.returnCompletion(env.Now, note); err != nil {
		return nil, err
	}
	c.touch(env, t)
	c.emit(env, &TaskCompletionReturned{TaskEvent: snapshot(t), Note: note, Returns: t.Returns})
	return t, nil
}

// Supervise puts an open task under a dispatcher's supervision (督办).
func (c *Case) Supervise(env *Env, taskID, note string) (*Task, error) {
	t := c.task(taskID)
	if t == nil {
		return nil, errNoTask(taskID)
	}
	if err := t.supervise(); err != nil {
		return nil, err
	}
	c.touch(env, t)
	c.emit(env, &TaskSupervised{TaskEvent: snapshot(t), Note: note})
	return t, nil
}

func (c *Case) checkSteerable(what string) error {
	switch c.Status {
	case Cancelled, CaseWithdrawn:
		return fault.New(fault.FailedPrecondition, "case %s is %s: cannot %s", c.label(), c.Status, what)
	case NotDispatchable:
		return fault.New(fault.FailedPrecondition, "case %s is not dispatchable (answered or a duplicate): cannot %s", c.label(), what)
	}
	if c.Class == nil {
		return fault.New(fault.FailedPrecondition, "case %s is not classified yet: cannot %s", c.label(), what)
	}
	return nil
}

func (c *Case) label() string {
	if c.Number != "" {
		return c.Number
	}
	return c.ID
}

// Reassign gives the case's lead (taskID empty) or one of its tasks to
// another unit; the replaced task is withdrawn if still open. The case's
// deadlines stay.
func (c *Case) Reassign(env *Env, taskID, dept, note string) (*Task, error) {
	if err := c.checkSteerable("reassign"); err != nil {
		return nil, err
	}
	if c.Arbitration != nil {
		return nil, fault.New(fault.FailedPrecondition, "case %s is in arbitration: decide it with Arbitrate", c.label())
	}
	if _, ok := env.Ref.Department(dept); !ok {
		return nil, invalid("department_code", "no department %q", dept)
	}
	var old *Task
	role := Lead
	if taskID != "" {
		if old = c.task(taskID); old == nil {
			return nil, errNoTask(taskID)
		}
		role = old.Role
		if old.State == Completed {
			return nil, fault.New(fault.FailedPrecondition, "task %s is completed: return the completion instead", old.ID)
		}
	} else {
		old = c.lead()
		if old != nil && old.State == Completed {
			return nil, fault.New(fault.FailedPrecondition, "the lead task %s is completed: return the completion instead", old.ID)
		}
	}
	if t := c.active(dept); t != nil && t != old {
		return nil, fault.New(fault.FailedPrecondition, "%s already has a task for this case", dept)
	}
	if old != nil && old.Department == dept && old.State.Open() {
		return nil, fault.New(fault.FailedPrecondition, "task %s is already %s's", old.ID, dept)
	}
	dl := c.Deadlines
	replaces := ""
	if old != nil {
		replaces = old.ID
		dl.OnSite = old.Deadlines.OnSite
		if old.State.Open() {
			c.withdraw(env, old, WithdrawReassigned, note)
		}
	}
	nt := c.newTask(env, dept, role, dl, Reassigned, "", false, replaces)
	if role == Lead || (c.Queue != nil && c.Queue.Reason == QueueCoHandlerRejected) {
		c.Queue = nil
	}
	if c.Status == Awaiting {
		c.Status = CaseRouted
	}
	return nt, nil
}

// Arbitrate decides who owns a case in arbitration and dispatches its lead
// there, with the case's deadlines.
func (c *Case) Arbitrate(env *Env, dept, note string) (*Task, error) {
	if err := c.checkSteerable("arbitrate"); err != nil {
		return nil, err
	}
	if c.Arbitration == nil {
		return nil, fault.New(fault.FailedPrecondition, "case %s is not in arbitration", c.label())
	}
	if _, ok := env.Ref.Department(dept); !ok {
		return nil, invalid("department_code", "no department %q", dept)
	}
	if old := c.lead(); old != nil {
		if old.Department == dept {
			return nil, fault.New(fault.FailedPrecondition, "%s already leads the case", dept)
		}
		c.withdraw(env, old, WithdrawReassigned, note)
	}
	if t := c.active(dept); t != nil {
		// A co-handler made lead gives up its part.
		c.withdraw(env, t, WithdrawReassigned, "made lead by arbitration")
	}
	replaces := ""
	if n := len(c.LeadRejections); n > 0 {
		replaces = c.LeadRejections[n-1].TaskID
	}
	nt := c.newTask(env, dept, Lead, c.Deadlines, Arbitrated, "", false, replaces)
	c.Arbitration, c.Queue = nil, nil
	c.emit(env, &CaseArbitrated{Department: dept, NewTaskID: nt.ID, Note: note})
	return nt, nil
}

// Cancel cancels an invalid case: every open task is withdrawn.
func (c *Case) Cancel(env *Env, reason string) error {
	if c.Status.Closed() {
		return fault.New(fault.FailedPrecondition, "case %s is already %s", c.label(), c.Status)
	}
	var ids []string
	for _, t := range c.open() {
		c.withdraw(env, t, WithdrawCancelled, reason)
		ids = append(ids, t.ID)
	}
	c.Status, c.CancelReason, c.Queue, c.Arbitration, c.Parking = Cancelled, reason, nil, nil, nil
	if c.AwaitingFacts {
		c.AwaitingFacts = false
		c.timerOps = append(c.timerOps, TimerOp{Kind: TimerAwaitFacts, Key: c.ID, Cancel: true})
	}
	c.emit(env, &CaseCancelled{Reason: reason, Withdrawn: ids})
	return nil
}

// Park parks a case (挂账): its clock stops until unparked.
func (c *Case) Park(env *Env, reason string, review workcal.Date) error {
	switch {
	case c.Status == Parked:
		return fault.New(fault.FailedPrecondition, "case %s is already parked", c.label())
	case c.Status != CaseRouted:
		return fault.New(fault.FailedPrecondition, "case %s is %s: only a routed case can be parked", c.label(), c.Status)
	}
	c.Parking = &Parking{At: env.Now, Reason: reason, ReviewDate: review, Resume: c.Status}
	c.Status = Parked
	for _, t := range c.open() {
		c.markDirty(t) // their clocks stop
	}
	c.emit(env, &CaseParked{Reason: reason, ReviewDate: review})
	return nil
}

// Unpark resumes a parked case. Every deadline that lay ahead when the case
// was parked moves by the time it was parked (task.deadline_changed).
func (c *Case) Unpark(env *Env, note string) error {
	if c.Status != Parked || c.Parking == nil {
		return fault.New(fault.FailedPrecondition, "case %s is not parked", c.label())
	}
	p := *c.Parking
	cal := env.Ref.Calendar()
	c.Status, c.Parking = p.Resume, nil
	shiftAll := func(d Deadlines) Deadlines {
		d.Ack = shiftLimit(cal, d.Ack, p.At, env.Now)
		d.OnSite = shiftLimit(cal, d.OnSite, p.At, env.Now)
		d.Complete = shiftLimit(cal, d.Complete, p.At, env.Now)
		return d
	}
	c.Deadlines = shiftAll(c.Deadlines)
	for _, t := range c.open() {
		prev := t.Deadlines
		next := shiftAll(t.Deadlines)
		changed := false
		for _, n := range limitNames {
			if c.setLimit(t, n, *next.limit(n), env.Now, env.Ref) {
				changed = true
			}
		}
		c.touch(env, t)
		if changed {
			c.emit(env, &TaskDeadlineChanged{TaskEvent: snapshot(t), Reason: Unparked, Previous: prev})
		}
	}
	c.emit(env, &CaseUnparked{Note: note, ParkedAt: p.At})
	return nil
}

// Exclude marks the case 不合理诉求: not counted in assessment.
func (c *Case) Exclude(env *Env, reason string) error {
	if c.Excluded {
		return fault.New(fault.FailedPrecondition, "case %s is already excluded", c.label())
	}
	c.Excluded, c.ExcludedReason = true, reason
	c.emit(env, &CaseExcluded{Reason: reason})
	return nil
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

// IsRoutingError reports whether err comes from routing a case.
func IsRoutingError(err error) bool {
	return errors.Is(err, routing.ErrBadCase) || errors.Is(err, routing.ErrNoRoute) ||
		errors.Is(err, routing.ErrUnknownArea) || errors.Is(err, routing.ErrUnknownItem)
}
