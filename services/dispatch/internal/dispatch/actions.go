package dispatch

import (
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reference"
)

// What a unit does with its task (DESIGN.md's task table): sign for it,
// return it, forward it, ask for time, report progress, complete it.

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
	if t.Role == Lead {
		c.LeadRejections = append(c.LeadRejections, *t.Rejection)
	}
	c.taskChanged(env, t, &TaskRejected{Rejection: *t.Rejection, CaseRejections: len(c.LeadRejections)})
	switch {
	case t.Role != Lead:
		if c.Queue == nil {
			c.enqueue(env, QueueCoHandlerRejected, t.Department+" returned its part", t.Rejection)
		}
	case len(c.LeadRejections) >= 2:
		c.openArbitration(env)
		return OutcomeArbitration, nil, nil
	case r.Reason == NotMyArea && r.Area != "":
		if nt := c.redecide(env, t, r.Area); nt != nil {
			return OutcomeRedecided, nt, nil
		}
	default:
		c.enqueue(env, QueueRejected, string(r.Reason)+": "+r.Note, t.Rejection)
	}
	return OutcomeQueued, nil, nil
}

// Acknowledge signs for a task.
func (c *Case) Acknowledge(env *Env, taskID string, eta time.Time, note string) (*Task, error) {
	return c.act(env, taskID, func(t *Task) (taskEvent, error) {
		return &TaskAcknowledged{ETA: eta, Note: note}, t.acknowledge(env.Now, eta, note)
	})
}

// Forward hands a district bureau's acknowledged task on to one of its
// street offices or teams, which gets a new task with the same deadlines. A
// lead task goes only to a sub-unit holding the power the case's item needs.
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
	// The sub-unit takes the task's role: leading the case, it needs the
	// item's power like any lead; a co-handler's part needs none.
	if t.Role == Lead {
		if err := c.checkLeadPower(env, to, "forward"); err != nil {
			return nil, nil, err
		}
	}
	if err := t.forward(env.Now); err != nil {
		return nil, nil, err
	}
	t.ForwardedTo = env.NewID()
	c.taskChanged(env, t, &TaskForwarded{ToDepartment: to, NewTaskID: t.ForwardedTo, Note: note})
	// The sub-unit inherits the task's deadlines, a granted extension
	// included: the clock belongs to the case.
	nt := c.newTaskID(env, t.ForwardedTo, to, t.Role, t.Deadlines, Forwarding, t.Rule, t.Whistle, t.ID)
	return t, nt, nil
}

// RequestExtension asks for a later completion due time.
func (c *Case) RequestExtension(env *Env, taskID string, due time.Time, reason string) (*Task, error) {
	return c.act(env, taskID, func(t *Task) (taskEvent, error) {
		return &TaskExtensionRequested{Due: due, Reason: reason}, t.requestExtension(env.Now, due, reason, env.Policy.MaxExtensions)
	})
}

// ReportProgress records a 阶段性答复 or that the unit is on site.
func (c *Case) ReportProgress(env *Env, taskID, text string, onSite bool) (*Task, error) {
	return c.act(env, taskID, func(t *Task) (taskEvent, error) {
		return &TaskProgressReported{Text: text, OnSite: onSite}, t.reportProgress(env.Now, text, onSite)
	})
}

// Complete records a unit's 办结.
func (c *Case) Complete(env *Env, taskID, result string, evidence []string) (*Task, error) {
	return c.act(env, taskID, func(t *Task) (taskEvent, error) {
		return &TaskCompleted{Result: result, Evidence: evidence}, t.complete(env.Now, result, evidence)
	})
}
