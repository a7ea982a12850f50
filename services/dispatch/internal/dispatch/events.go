package dispatch

import (
	"time"

	"github.com/gridflow/gridflow/pkg/workcal"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"
)

// Event is one event an operation caused, created where the domain decides
// it. The set is closed: only this package's types implement it, each named
// as the gridflow.events.v1 payload it becomes, and the events adapter maps
// every one of them (a test there fails on a type it does not map).
type Event interface {
	// header is the part every event shares; emit fills it.
	header() *Header
}

// Header is what every event carries: when and by whom, and the case as it
// stood.
type Header struct {
	At    time.Time
	Actor string // principal; SystemActor for routing and the clock
	// The case the event belongs to.
	CaseID, CaseNumber string
	Area               Area
	Item               string
}

func (h *Header) header() *Header { return h }

// Head returns the event's header.
func Head(e Event) Header { return *e.header() }

// TaskEvent is embedded by every task event: a snapshot of the task after
// the change.
type TaskEvent struct {
	Header
	Task *Task
}

func (e *TaskEvent) taskEvent() *TaskEvent { return e }

// TaskOf is the task snapshot a task event carries, nil for a case event.
func TaskOf(e Event) *Task {
	if te, ok := e.(interface{ taskEvent() *TaskEvent }); ok {
		return te.taskEvent().Task
	}
	return nil
}

// taskEvent is a task event not yet recorded: Case.taskChanged gives it
// the task's snapshot.
type taskEvent interface {
	Event
	setTask(t *Task)
}

func (e *TaskEvent) setTask(t *Task) { *e = snapshot(t) }

// snapshot copies t as it stands now: later changes in the same operation
// must not rewrite what an earlier event said.
func snapshot(t *Task) TaskEvent {
	s := *t
	return TaskEvent{Task: &s}
}

// TaskDispatched: a task for a unit. Path and ReferenceDigest are set when
// routing decided it (routed, rerouted, redecided).
type TaskDispatched struct {
	TaskEvent
	Summary         *Summary
	Path            []routing.Step
	ReferenceDigest string
}

// TaskAcknowledged: the unit signed for its task (签收).
type TaskAcknowledged struct {
	TaskEvent
	ETA  time.Time
	Note string
}

// TaskRejected: the unit returned its task (退单). CaseRejections counts the
// rejections of the case's lead so far.
type TaskRejected struct {
	TaskEvent
	Rejection      Rejection
	CaseRejections int
}

// TaskForwarded: a district bureau handed its task on to a sub-unit.
type TaskForwarded struct {
	TaskEvent
	ToDepartment, NewTaskID, Note string
}

// TaskExtensionRequested: the unit asked for a later completion due time.
type TaskExtensionRequested struct {
	TaskEvent
	Due    time.Time
	Reason string
}

// TaskExtensionDecided: a dispatcher granted (Due: the new due time) or
// denied an extension.
type TaskExtensionDecided struct {
	TaskEvent
	Granted bool
	Due     time.Time
	Note    string
}

// TaskProgressReported: a 阶段性答复, or the unit is on site.
type TaskProgressReported struct {
	TaskEvent
	Text   string
	OnSite bool
}

// TaskCompleted: the unit's 办结.
type TaskCompleted struct {
	TaskEvent
	Result   string
	Evidence []string
}

// TaskCompletionApproved: a dispatcher approved a completion under review.
type TaskCompletionApproved struct {
	TaskEvent
	Note string
}

// TaskCompletionReturned: a dispatcher returned a completion for rework.
type TaskCompletionReturned struct {
	TaskEvent
	Note    string
	Returns int
}

// TaskWithdrawn: the task was taken back.
type TaskWithdrawn struct {
	TaskEvent
	Reason WithdrawReason
	Note   string
}

// TaskWarned: 80 % of a limit has run.
type TaskWarned struct {
	TaskEvent
	Step ClockStep
}

// TaskOverdue: a limit has passed.
type TaskOverdue struct {
	TaskEvent
	Step ClockStep
}

// TaskUrged: the hotline urged the case (催单); Urges counts the task's.
type TaskUrged struct {
	TaskEvent
	FollowUpID string
	Urges      int
}

// TaskSupervised: the task is under supervision (督办), by the clock (Step)
// or a dispatcher (Note, no Step).
type TaskSupervised struct {
	TaskEvent
	Step *ClockStep
	Note string
}

// TaskEscalated: the clock escalated the task.
type TaskEscalated struct {
	TaskEvent
	Step ClockStep
}

// TaskDeadlineChanged: the task's limits moved in place.
type TaskDeadlineChanged struct {
	TaskEvent
	Reason   ChangeReason
	Previous Deadlines
}

// CaseCancelled: a dispatcher cancelled the case; Withdrawn are the tasks
// that were open.
type CaseCancelled struct {
	Header
	Reason    string
	Withdrawn []string
}

// CaseParked: a dispatcher parked the case (挂账) until ReviewDate.
type CaseParked struct {
	Header
	Reason     string
	ReviewDate workcal.Date
}

// CaseUnparked: the case's clock runs again.
type CaseUnparked struct {
	Header
	Note     string
	ParkedAt time.Time
}

// CaseExcluded: the case is not counted in assessment (不合理诉求).
type CaseExcluded struct {
	Header
	Reason string
}

// CaseArbitrationOpened: the case's lead was rejected again.
type CaseArbitrationOpened struct {
	Header
	Rejections int
	RejectedBy []string
}

// CaseArbitrated: a dispatcher decided who owns the case.
type CaseArbitrated struct {
	Header
	Department, NewTaskID, Note string
}
