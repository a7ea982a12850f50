package dispatch

import (
	"slices"
	"strconv"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
)

// The task state machine, exactly DESIGN.md's table. Each method checks the
// transition and changes only the task; what follows for the case (a
// re-decision, the queue, arbitration, a new task) is the Case's business.
// Any transition not listed is FAILED_PRECONDITION.

// Action names a task transition (for messages and tests).
type Action string

// Task actions.
const (
	ActAcknowledge      Action = "acknowledge"
	ActReject           Action = "reject"
	ActForward          Action = "forward"
	ActRequestExtension Action = "request extension"
	ActDecideExtension  Action = "decide extension"
	ActReportProgress   Action = "report progress"
	ActComplete         Action = "complete"
	ActApprove          Action = "approve completion"
	ActReturn           Action = "return completion"
	ActWithdraw         Action = "withdraw"
	ActSupervise        Action = "supervise"
)

func notAllowed(t *Task, a Action, why string) error {
	if why != "" {
		why = ": " + why
	}
	return fault.New(fault.FailedPrecondition, "task %s is %s: cannot %s%s", t.ID, t.State, a, why)
}

func (t *Task) acknowledge(now time.Time, eta time.Time, note string) error {
	if t.State != Dispatched {
		return notAllowed(t, ActAcknowledge, "")
	}
	t.State, t.AcknowledgedAt, t.ETA, t.AckNote = Acknowledged, now, eta, note
	return nil
}

// reject applies a 退单. windowEnd is when the reject window after the
// acknowledgement closes.
func (t *Task) reject(now time.Time, r Rejection, windowEnd time.Time) error {
	switch t.State {
	case Dispatched:
	case Acknowledged:
		if now.After(windowEnd) {
			return notAllowed(t, ActReject, "the reject window after acknowledging closed at "+windowEnd.Format(time.RFC3339))
		}
	default:
		return notAllowed(t, ActReject, "")
	}
	r.TaskID, r.Department, r.At = t.ID, t.Department, now
	t.State, t.Rejection = Rejected, &r
	return nil
}

// forward checks that a district bureau hands its acknowledged task on;
// the caller creates the sub-unit's task and sets ForwardedTo.
func (t *Task) forward(now time.Time) error {
	if t.State != Acknowledged {
		return notAllowed(t, ActForward, "only an acknowledged task can be forwarded")
	}
	t.State = Forwarded
	return nil
}

func (t *Task) requestExtension(now, due time.Time, reason string, max int) error {
	if t.State != Acknowledged {
		return notAllowed(t, ActRequestExtension, "")
	}
	if t.Deadlines.Complete.IsZero() {
		return notAllowed(t, ActRequestExtension, "the task has no completion limit")
	}
	if !now.Before(t.Deadlines.Complete.Due) {
		return notAllowed(t, ActRequestExtension, "the completion due time "+t.Deadlines.Complete.Due.Format(time.RFC3339)+" has passed")
	}
	if t.Extensions >= max {
		return notAllowed(t, ActRequestExtension, "extensions may be requested at most "+strconv.Itoa(max)+" time(s)")
	}
	if !due.After(t.Deadlines.Complete.Due) {
		return fault.New(fault.InvalidArgument, "new_due must be after the current completion due time %s", t.Deadlines.Complete.Due.Format(time.RFC3339))
	}
	t.State = ExtensionRequested
	t.Extensions++
	t.Extension = &Extension{RequestedDue: due, Reason: reason, RequestedAt: now}
	return nil
}

// decideExtension grants (moving the completion due time to due, or to the
// requested one when due is zero) or denies; it returns the new due time.
func (t *Task) decideExtension(now time.Time, grant bool, due time.Time, note string) (time.Time, error) {
	if t.State != ExtensionRequested || t.Extension == nil {
		return time.Time{}, notAllowed(t, ActDecideExtension, "no extension was requested")
	}
	e := t.Extension
	e.Decided, e.Granted, e.Note = true, grant, note
	t.State = Acknowledged
	if !grant {
		return t.Deadlines.Complete.Due, nil
	}
	if due.IsZero() {
		due = e.RequestedDue
	}
	if !due.After(t.Deadlines.Complete.Due) {
		return time.Time{}, fault.New(fault.InvalidArgument, "new_due must be after the current completion due time %s", t.Deadlines.Complete.Due.Format(time.RFC3339))
	}
	return due, nil
}

func (t *Task) reportProgress(now time.Time, text string, onSite bool) error {
	if t.State != Acknowledged {
		return notAllowed(t, ActReportProgress, "")
	}
	t.Progress = append(t.Progress, Progress{Text: text, OnSite: onSite, At: now})
	if onSite {
		t.OnSiteReported = true
	}
	return nil
}

func (t *Task) complete(now time.Time, result string, evidence []string) error {
	if t.State != Acknowledged {
		return notAllowed(t, ActComplete, "")
	}
	t.State = Completed
	t.Completion = &Completion{Result: result, Evidence: slices.Clone(evidence), At: now}
	t.Review = ReviewNotRequired
	if t.ReviewRequired {
		t.Review = ReviewPending
	}
	return nil
}

func (t *Task) approve(now time.Time, note string) error {
	if t.State != Completed || t.Review != ReviewPending {
		return notAllowed(t, ActApprove, "no completion awaits review")
	}
	t.Review = ReviewApproved
	t.Completion.ReviewNote = note
	return nil
}

func (t *Task) returnCompletion(now time.Time, note string) error {
	if t.State != Completed || t.Review != ReviewPending {
		return notAllowed(t, ActReturn, "no completion awaits review")
	}
	t.Completion.ReviewNote = note
	t.State, t.Review = Acknowledged, ""
	t.Returns++
	return nil
}

func (t *Task) withdraw(now time.Time) error {
	if !t.State.Open() {
		return notAllowed(t, ActWithdraw, "")
	}
	t.State = Withdrawn
	return nil
}

func (t *Task) supervise() error {
	if !t.State.Open() {
		return notAllowed(t, ActSupervise, "only an open task can be supervised")
	}
	t.Supervised = true
	return nil
}
