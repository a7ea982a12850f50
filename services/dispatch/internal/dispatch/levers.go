package dispatch

import (
	"errors"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/workcal"
)

// The dispatchers' levers: on a task (decide an extension, review a
// completion, supervise) and on the whole case (reassign, arbitrate, cancel,
// park, unpark, exclude from assessment).

// DecideExtension grants (with due, or the requested time when zero) or
// denies a requested extension. A grant moves the completion limit in place.
func (c *Case) DecideExtension(env *Env, taskID string, grant bool, due time.Time, note string) (*Task, error) {
	var newDue time.Time
	t, err := c.act(env, taskID, func(t *Task) (taskEvent, error) {
		var err error
		newDue, err = t.decideExtension(env.Now, grant, due, note)
		return &TaskExtensionDecided{Granted: grant, Due: newDue, Note: note}, err
	})
	if err != nil {
		return nil, err
	}
	if grant {
		prev := t.Deadlines
		l := t.Deadlines.Complete
		l.Due = newDue
		l.WarnAt = env.Ref.Calendar().WarningAt(t.Deadlines.Start, newDue, t.Deadlines.Warn, l.Duration.Kind)
		l.Source += " (extended)"
		c.setLimit(t, CompleteLimit, l, env.Now, env.Ref)
		c.taskChanged(env, t, &TaskDeadlineChanged{Reason: ExtensionGranted, Previous: prev})
	}
	return t, nil
}

// ReviewCompletion approves a completion or returns it for rework.
func (c *Case) ReviewCompletion(env *Env, taskID string, approve bool, note string) (*Task, error) {
	return c.act(env, taskID, func(t *Task) (taskEvent, error) {
		if approve {
			return &TaskCompletionApproved{Note: note}, t.approve(env.Now, note)
		}
		if err := t.returnCompletion(env.Now, note); err != nil {
			return nil, err
		}
		return &TaskCompletionReturned{Note: note, Returns: t.Returns}, nil
	})
}

// Supervise puts an open task under a dispatcher's supervision (督办).
func (c *Case) Supervise(env *Env, taskID, note string) (*Task, error) {
	return c.act(env, taskID, func(t *Task) (taskEvent, error) {
		return &TaskSupervised{Note: note}, t.supervise()
	})
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

// checkLeadPower refuses to make dept the lead of the case when it lacks the
// enforcement power the case's item needs (the guarantee routing keeps for
// its decisions): FAILED_PRECONDITION naming the missing power. The desks
// hold no powers, so a dispatcher cannot hand an item needing one back to a
// desk either; co-handlers need no power and are not checked.
func (c *Case) checkLeadPower(env *Env, dept, what string) error {
	item := ""
	if c.Class != nil {
		item = c.Class.Item
	}
	err := env.Ref.CanLead(dept, item)
	var mp *reference.MissingPowerError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mp):
		return fault.New(fault.FailedPrecondition, "cannot %s: %s may not lead case %s: it lacks power %s (%s) needed by %s %s",
			what, dept, c.label(), mp.Power, mp.PowerName, mp.Item, mp.ItemName)
	case item != "":
		if _, ok := env.Ref.Item(item); !ok {
			return fault.New(fault.FailedPrecondition, "cannot %s: case %s is classified as %s, which the reference data in force does not know: reclassify it first",
				what, c.label(), item)
		}
	}
	return err
}

// Reassign gives the case's lead (taskID empty) or one of its tasks to
// another unit; the replaced task is withdrawn if still open. The case's
// deadlines stay. A new lead must hold the power the case's item needs; a
// co-handler's part may go to any unit.
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
	if role == Lead {
		if err := c.checkLeadPower(env, dept, "reassign"); err != nil {
			return nil, err
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

// openArbitration puts a case whose lead was rejected again in arbitration
// (once) and takes it out of the queue.
func (c *Case) openArbitration(env *Env) {
	c.Queue = nil
	if c.Arbitration != nil {
		return
	}
	c.Arbitration = &Arbitration{OpenedAt: env.Now}
	var by []string
	for _, rj := range c.LeadRejections {
		by = append(by, rj.Department)
	}
	c.emit(env, &CaseArbitrationOpened{Rejections: len(c.LeadRejections), RejectedBy: by})
}

// Arbitrate decides who owns a case in arbitration and dispatches its lead
// there, with the case's deadlines. The owner must hold the power the case's
// item needs.
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
	if err := c.checkLeadPower(env, dept, "arbitrate"); err != nil {
		return nil, err
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
		if changed {
			c.taskChanged(env, t, &TaskDeadlineChanged{Reason: Unparked, Previous: prev})
		} else {
			c.touch(env, t)
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
