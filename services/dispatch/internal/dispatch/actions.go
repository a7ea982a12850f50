package dispatch

import (
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"
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
