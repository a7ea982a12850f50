package dispatch

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/workcal"
)

// The clock. Every open task has points in time where something happens:
// the warning (80 % of a limit), the due time (overdue), and the further
// steps of the escalation ladder (reference data: remind the unit, 督办 by
// the street desk, raise to the district desk). One durable timer per task
// stands at its next unfired point; firing it fires every point that is due
// and sets the timer to the next. Fired points are remembered by name, so a
// point fires once however often the timer fires, and a moved deadline
// forgets the points that now lie in the future again.
//
// Limits are live while they can still be missed: ack while the task waits
// to be acknowledged, on-site until the unit reports it is on site,
// complete while the task is open. A parked case's clock stands still.

type pointKind uint8

const (
	pointWarn pointKind = iota + 1
	pointOverdue
	pointStep
)

type point struct {
	name   string
	limit  LimitName
	kind   pointKind
	at     time.Time
	due    time.Time
	when   reference.Trigger
	action reference.Action
	to     reference.Recipient
	order  int
}

// live reports whether limit n of t can still be missed.
func (t *Task) live(n LimitName) bool {
	if !t.State.Open() || t.Deadlines.limit(n).IsZero() {
		return false
	}
	switch n {
	case AckLimit:
		return t.State == Dispatched
	case OnSiteLimit:
		return !t.OnSiteReported
	}
	return true
}

var limitNames = []LimitName{AckLimit, OnSiteLimit, CompleteLimit}

// points lists the clock points of t's live limits, in firing order.
func (c *Case) points(t *Task, ref *reference.Set) []point {
	esc := ref.Escalation()
	cal := ref.Calendar()
	var out []point
	for li, n := range limitNames {
		if !t.live(n) {
			continue
		}
		l := t.Deadlines.limit(n)
		warn := point{name: string(n) + ".warn", limit: n, kind: pointWarn, at: l.WarnAt, due: l.Due, when: reference.AtWarning, order: li * 100}
		over := point{name: string(n) + ".overdue", limit: n, kind: pointOverdue, at: l.Due, due: l.Due, when: reference.AtOverdue, order: li*100 + 1}
		var steps []reference.Step
		switch n {
		case AckLimit:
			steps = esc.Ack
		case CompleteLimit:
			steps = esc.Complete
		}
		for i, st := range steps {
			if st.After.IsZero() && st.Action == reference.Remind && st.To == reference.ToUnit {
				// The reminder at the warning or due time itself rides on
				// that point's event.
				if st.When == reference.AtWarning {
					warn.action, warn.to = st.Action, st.To
				} else {
					over.action, over.to = st.Action, st.To
				}
				continue
			}
			base := l.Due
			if st.When == reference.AtWarning {
				base = l.WarnAt
			}
			if base.IsZero() {
				continue
			}
			at := base
			if !st.After.IsZero() {
				at, _ = cal.AddWorking(base, st.After)
			}
			out = append(out, point{name: string(n) + ".step" + strconv.Itoa(i+1), limit: n, kind: pointStep, at: at, due: l.Due,
				when: st.When, action: st.Action, to: st.To, order: li*100 + 2 + i})
		}
		if !l.WarnAt.IsZero() && l.WarnAt.Before(l.Due) {
			out = append(out, warn)
		}
		out = append(out, over)
	}
	slices.SortStableFunc(out, func(a, b point) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.order - b.order
	})
	return out
}

func (t *Task) fired(name string) bool { return slices.Contains(t.Fired, name) }

// nextPoint is when t's timer must stand: its earliest unfired point, zero
// when none is left or the clock stands still.
func (c *Case) nextPoint(t *Task, ref *reference.Set) time.Time {
	if c.Status == Parked || c.Status.Closed() {
		return time.Time{}
	}
	for _, p := range c.points(t, ref) {
		if !t.fired(p.name) {
			return p.at
		}
	}
	return time.Time{}
}

// FireClock fires every point of the task's clock that is due by env.Now.
// A task that is gone, closed or parked fires nothing.
func (c *Case) FireClock(env *Env, taskID string) {
	t := c.task(taskID)
	if t == nil {
		return
	}
	t.Clock = nil // the timer that fired is gone: Finish sets it again
	c.touchQuiet(t)
	if c.Status == Parked || c.Status.Closed() || !t.State.Open() {
		return
	}
	changed := false
	for _, p := range c.points(t, env.Ref) {
		if p.at.After(env.Now) || t.fired(p.name) {
			continue
		}
		t.Fired = append(t.Fired, p.name)
		changed = true
		step := ClockStep{Limit: p.limit, Due: p.due, Action: p.action, ToDepartment: c.recipient(t, p.to, env.Ref)}
		// The flags are part of the snapshot the event carries.
		snap := func() TaskEvent { t.refreshFlags(); return snapshot(t) }
		var ev Event
		switch {
		case p.kind == pointOverdue, p.kind == pointStep && p.action == reference.Remind && p.when == reference.AtOverdue:
			ev = &TaskOverdue{TaskEvent: snap(), Step: step}
		case p.kind == pointStep && p.action == reference.Supervise:
			t.Supervised = true
			ev = &TaskSupervised{TaskEvent: snap(), Step: &step}
		case p.kind == pointStep && p.action == reference.Escalate:
			t.Escalated = true
			ev = &TaskEscalated{TaskEvent: snap(), Step: step}
		default:
			ev = &TaskWarned{TaskEvent: snap(), Step: step}
		}
		c.emit(env, ev)
	}
	if changed {
		c.touch(env, t)
	}
}

// recipient names the department an escalation step addresses.
func (c *Case) recipient(t *Task, r reference.Recipient, ref *reference.Set) string {
	switch r {
	case reference.ToUnit:
		return t.Department
	case reference.ToStreetDesk:
		if s := known(c.Area.Street); s != "" {
			if d, ok := ref.Desk(s); ok {
				return d.Code
			}
		}
		fallthrough
	case reference.ToDistrictDesk:
		if d, ok := ref.Desk(c.district(ref)); ok {
			return d.Code
		}
	}
	return ""
}

// district is the case's district, or the set's only one.
func (c *Case) district(ref *reference.Set) string {
	if d := known(c.Area.District); d != "" {
		return d
	}
	if ds := ref.Areas(reference.LevelDistrict); len(ds) == 1 {
		return ds[0].Code
	}
	return ""
}

// refreshFlags recomputes the flags that follow the live limits.
func (t *Task) refreshFlags() {
	if !t.State.Open() {
		return
	}
	t.Warned, t.Overdue = false, false
	for _, n := range limitNames {
		if !t.live(n) {
			continue
		}
		if t.fired(string(n) + ".overdue") {
			t.Warned, t.Overdue = true, true
		} else if t.fired(string(n) + ".warn") {
			t.Warned = true
		}
	}
}

// resetClock forgets the fired points of limit n that lie after now, after
// the limit moved.
func (c *Case) resetClock(t *Task, n LimitName, now time.Time, ref *reference.Set) {
	at := map[string]time.Time{}
	for _, p := range c.points(t, ref) {
		at[p.name] = p.at
	}
	prefix := string(n) + "."
	t.Fired = slices.DeleteFunc(t.Fired, func(name string) bool {
		if !strings.HasPrefix(name, prefix) {
			return false
		}
		a, ok := at[name]
		return ok && a.After(now)
	})
	t.refreshFlags()
}

// setLimit moves limit n of t to l, forgetting points now in the future;
// it reports whether anything changed.
func (c *Case) setLimit(t *Task, n LimitName, l Limit, now time.Time, ref *reference.Set) bool {
	cur := t.Deadlines.limit(n)
	if cur.Due.Equal(l.Due) && cur.WarnAt.Equal(l.WarnAt) {
		return false
	}
	*cur = l
	c.resetClock(t, n, now, ref)
	return true
}

// shift moves an instant that lay ahead of a parking by the time the case
// was parked: clock limits by the clock time, working limits so that the
// working time left at parking is left again at unparking.
func shift(cal *workcal.Calendar, kind workcal.Kind, t, parkedAt, now time.Time) time.Time {
	if t.IsZero() || !t.After(parkedAt) {
		return t
	}
	if kind == workcal.Clock {
		return t.Add(now.Sub(parkedAt))
	}
	left := cal.WorkingBetween(parkedAt, t)
	r, _ := cal.AddWorking(now, workcal.Working(left))
	return r
}

func shiftLimit(cal *workcal.Calendar, l Limit, parkedAt, now time.Time) Limit {
	if l.IsZero() {
		return l
	}
	l.Due = shift(cal, l.Duration.Kind, l.Due, parkedAt, now)
	l.WarnAt = shift(cal, l.Duration.Kind, l.WarnAt, parkedAt, now)
	return l
}

func known(code string) string {
	if code == reference.Unknown {
		return ""
	}
	return code
}
