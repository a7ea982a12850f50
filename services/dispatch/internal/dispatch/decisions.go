package dispatch

import (
	"errors"
	"slices"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"
)

// Applying routing: the first decision for a case, the decision a
// reclassification or a rejection brings, and the dispatch queue a case
// waits in when routing cannot decide.

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

// reroute applies a newer classification to a routed case: routing
// decides again; when only the urgency changed and the units stay, the
// deadlines move in place (earlier only); otherwise the tasks follow the
// new decision, keeping the case's clock start. A decision that fails
// queues the case only if it has no lead.
func (c *Case) reroute(env *Env) {
	old, cl := c.RoutedWith, c.Class
	c.RoutedWith = cl
	d, err := routing.Decide(env.Ref, c.RoutingCase())
	if err != nil {
		if c.lead() == nil {
			c.enqueue(env, QueueUnrouted, err.Error(), nil)
		}
		return
	}
	if sameRouting(old, cl) {
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

// redecide re-decides the case for the area a not_my_area rejection of t
// named and dispatches the new lead there, with the case's deadlines. It
// returns the new lead task, or nil when the case waits in the queue
// instead (routing failed, or named t's unit again).
func (c *Case) redecide(env *Env, t *Task, area string) *Task {
	d, err := routing.Redecide(env.Ref, c.RoutingCase(), area)
	switch {
	case err != nil:
		c.enqueue(env, QueueRedecisionFailed, "re-deciding for "+area+": "+err.Error(), t.Rejection)
		return nil
	case d.Lead.Department == t.Department:
		c.enqueue(env, QueueRedecisionFailed, "re-deciding for "+area+" names "+t.Department+" again", t.Rejection)
		return nil
	}
	if a, ok := env.Ref.Area(area); ok {
		c.Area = Area{District: a.District, Street: a.Street, Community: a.Community}
		if a.Level == reference.LevelGrid {
			c.Area.Grid = a.Code
		}
	}
	c.applyDecision(env, d, Redecided, t.ID)
	if nt := c.lead(); nt != nil && nt.Reason == Redecided && nt.Replaces == t.ID {
		return nt
	}
	return nil
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

// sameRouting reports whether two classifications route alike apart from
// urgency.
func sameRouting(a, b *Classification) bool {
	return a.Item == b.Item && a.Label == b.Label && slices.Equal(a.Labels, b.Labels) && a.Area == b.Area &&
		a.Source == b.Source && a.AppealType == b.AppealType
}

var urgencyRank = map[reference.Urgency]int{"": 0, reference.Normal: 0, reference.Urgent: 1, reference.Emergency: 2}

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

// IsRoutingError reports whether err comes from routing a case.
func IsRoutingError(err error) bool {
	return errors.Is(err, routing.ErrBadCase) || errors.Is(err, routing.ErrNoRoute) ||
		errors.Is(err, routing.ErrUnknownArea) || errors.Is(err, routing.ErrUnknownItem)
}
