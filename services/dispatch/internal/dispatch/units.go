package dispatch

import (
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
)

// A case's units: creating their tasks, taking them back, and their
// deadlines (the case's, with a unit's own on-site limit) moving in place.

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
	ev := &TaskDispatched{Summary: c.summary(env.Ref)}
	if reason == Routed || reason == Rerouted || reason == Redecided {
		ev.Path, ev.ReferenceDigest = c.Path, c.Digest
	}
	c.taskChanged(env, t, ev)
	return t
}

func (c *Case) withdraw(env *Env, t *Task, reason WithdrawReason, note string) {
	if err := t.withdraw(env.Now); err != nil {
		return
	}
	c.taskChanged(env, t, &TaskWithdrawn{Reason: reason, Note: note})
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
	c.taskChanged(env, t, &TaskDeadlineChanged{Reason: why, Previous: prev})
}
