// Package worktasks is dispatch's work for grid workers (issue 20): re-checks
// (核查) of patrol cases and inspections (巡检) of registered places, each a
// task whose assignee is a grid worker of the register (pkg/reference),
// beside the departments' tasks.
//
// A re-check opens when feedback resolves a patrol case (case.resolved with
// awaiting_recheck), assigned by reference.RecheckAssignee (the grid's
// worker, else the reporter), due after Config.RecheckLimit on the
// working-day clock. At Config.Warn of its limit it is warned (task.warned),
// at its due time it is overdue and escalated to the street desk
// (task.overdue, task.escalated). It closes when feedback records the
// re-check (case.rechecked: task.completed) or the case closes or reopens
// without one (task.withdrawn).
//
// Inspections: a place with inspection_every_months > 0 comes due first at
// its registration + the interval, and then every interval after the
// previous due time (a regular cadence, whether or not the last was done
// late). When one comes due an inspection task opens for the worker of the
// place's grid, to be recorded within its period (until the next comes
// due): recorded, it publishes task.inspection_recorded; still open when the
// next comes due, it is counted missed once (task.inspection_missed) and the
// next opens. A retired place, or one whose schedule is removed, stops.
//
// Worker tasks' events travel on grid.task.<event>.worker.<district>.<street>;
// what is assigned, due soon or escalated is also notified to the worker's
// Notify URL from the register, through the webhook deliveries (pkg/notify).
package worktasks

import (
	"time"

	"github.com/gridflow/gridflow/pkg/workcal"
)

// Kind is what a worker task is.
type Kind string

// Kinds.
const (
	Recheck    Kind = "recheck"
	Inspection Kind = "inspection"
)

// State is where a worker task stands.
type State string

// States.
const (
	Open      State = "open"
	Done      State = "done"
	Missed    State = "missed"
	Withdrawn State = "withdrawn"
)

// Unit is the token worker tasks' events carry where a department's carry
// its code: grid.task.<event>.worker.<district>.<street>.
const Unit = "worker"

// Outcomes of an inspection.
const (
	OutcomeOK      = "ok"
	OutcomeFinding = "finding"
)

// Timer kinds (pkg/timer): a task's warning and due time (key: task id),
// and a place's next inspection (key: place key).
const (
	TimerWarn       = "worker.warn"
	TimerDue        = "worker.due"
	TimerInspection = "inspection.due"
)

// Task is one worker task.
type Task struct {
	ID         string
	Kind       Kind
	State      State
	WorkerID   string
	CaseID     string
	CaseNumber string
	Round      int
	PlaceKey   string
	PlaceName  string
	PlaceKind  string
	District   string
	Street     string
	Community  string
	Grid       string
	OpenedAt   time.Time
	WarnAt     time.Time
	DueAt      time.Time
	DoneAt     time.Time // zero while open
	Warned     bool
	Overdue    bool
	Escalated  bool
	Outcome    string
	Note       string
	// FindingCaseID is the patrol case raised for an inspection's finding.
	FindingCaseID string
}

// OnTime reports whether a done task was done by its due time.
func (t Task) OnTime() bool { return t.State == Done && !t.DoneAt.After(t.DueAt) }

// Light is an open task's SLA light at now: green before its warning,
// yellow to its due time, red past it; "" once it is not open.
func (t Task) Light(now time.Time) string {
	switch {
	case t.State != Open:
		return ""
	case now.After(t.DueAt):
		return workcal.Red.String()
	case !now.Before(t.WarnAt):
		return workcal.Yellow.String()
	}
	return workcal.Green.String()
}

// PatrolCase is what a re-check needs of a patrol report: who reported it
// and where.
type PatrolCase struct {
	CaseID, CaseNumber, WorkerID      string
	District, Street, Community, Grid string
}

// Place is a registered place's inspection schedule.
type Place struct {
	Key, Name, Kind                   string
	District, Street, Community, Grid string
	Version                           uint64
	EveryMonths                       int
	Retired                           bool
	RegisteredAt                      time.Time
	NextDue                           time.Time // zero: none scheduled
}

// Scheduled reports whether the place is inspected.
func (p Place) Scheduled() bool { return p.EveryMonths > 0 && !p.Retired }

// Config is the data the clock of worker tasks runs on.
type Config struct {
	// RecheckLimit is how long a re-check may take (1 working day).
	RecheckLimit workcal.Duration
	// Warn is the fraction of a limit at which a task is warned (0.8).
	Warn float64
	// Month, when set, is the length of an inspection month (tests: a few
	// seconds); zero: calendar months in Asia/Shanghai.
	Month time.Duration
}

// Interval adds n inspection months to t.
func (c Config) Interval(t time.Time, n int, loc *time.Location) time.Time {
	if c.Month > 0 {
		return t.Add(time.Duration(n) * c.Month)
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).AddDate(0, n, 0).UTC()
}
