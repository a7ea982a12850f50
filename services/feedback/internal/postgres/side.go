package postgres

import (
	"slices"
	"time"

	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
)

// The rows a case's view derives beside its own (issue 17): its
// figure_cases and figure_tasks rows, its patrol report, its replies and
// its callback timers. A transaction that read a case's stored view knows
// the rows that view derived, since both are written together (queueViews);
// saving the case again writes only the rows that differ. Most events
// change a case's view but none of its figures (a classification, a
// sign-for, a reply, a callback's note), and rewriting an unchanged row
// still gave every index of its table a new entry.

// sideRows are the rows one view derives, as queueViews writes them.
type sideRows struct {
	figure  *figureCase // nil: no receipt time, so no figures
	tasks   []figureTask
	patrol  *patrolReport // nil: not a patrol case with a receipt time
	replies []string      // reply ids (a reply, once written, never changes)
	timers  []timer.Op
}

// figureCase is a figure_cases row but its case id; times in Unix
// nanoseconds, so that == compares what is written.
type figureCase struct {
	received                                              int64
	district, street, community, grid, source, place      string
	item, name, lead, appeal                              string
	excluded, closed, reworked, selfDisposed              bool
	valid, unreached, contacted, solved, satisfied, basic int32
}

// figureTask is a figure_tasks row but its case id.
type figureTask struct {
	id, dept, district, street, grid          string
	received, due                             int64 // due 0: none
	excluded, counted, done, onTime, extended bool
	sign, complete                            int64
	hasSign, hasComplete                      bool
}

// patrolReport is a patrol_reports row but its case id.
type patrolReport struct {
	received                                           int64
	district, street, community, grid, worker, verdict string
	selfDisposed                                       bool
}

// sideRowsOf derives c's side rows.
func sideRowsOf(c *feedback.Case) *sideRows {
	s := &sideRows{timers: callbackTimers(c)}
	for _, r := range c.Replies {
		s.replies = append(s.replies, r.ID)
	}
	if c.ReceivedAt.IsZero() {
		return s
	}
	received := c.ReceivedAt.UnixNano()
	f := c.Facts()
	cb := f.Callbacks
	s.figure = &figureCase{received: received, district: c.Area.District, street: c.Area.Street, community: c.Area.Community,
		grid: c.Area.Grid, source: string(c.Source), place: f.Place, item: c.ItemCode, name: c.ItemName, lead: f.Lead,
		appeal: string(c.AppealType), excluded: f.Excluded, closed: f.Closed, reworked: f.Reworked, selfDisposed: c.SelfDisposal != nil,
		valid: int32(cb.Valid), unreached: int32(cb.Unreached), contacted: int32(cb.Contacted), solved: int32(cb.Solved),
		satisfied: int32(cb.Satisfied), basic: int32(cb.Basic)}
	for _, t := range f.Tasks {
		ft := figureTask{id: t.ID, dept: t.Department, district: c.Area.District, street: c.Area.Street, grid: c.Area.Grid,
			received: received, excluded: f.Excluded, counted: t.Counted, done: t.Done, onTime: t.OnTime, extended: t.Extended}
		if !t.CompleteDue.IsZero() {
			ft.due = t.CompleteDue.UnixNano()
		}
		if t.ToSignFor != nil {
			ft.sign, ft.hasSign = t.ToSignFor.Nanoseconds(), true
		}
		if t.ToComplete != nil {
			ft.complete, ft.hasComplete = t.ToComplete.Nanoseconds(), true
		}
		s.tasks = append(s.tasks, ft)
	}
	if c.Source == feedback.Patrol {
		verdict := ""
		if c.SelfDisposal != nil {
			verdict = string(c.SelfDisposal.Verdict)
		}
		s.patrol = &patrolReport{received: received, district: c.Area.District, street: c.Area.Street,
			community: c.Area.Community, grid: c.Area.Grid, worker: c.Worker, verdict: verdict, selfDisposed: c.SelfDisposal != nil}
	}
	return s
}

// noRows are the side rows of a case with no stored view: none, and its
// timers cancelled.
func noRows(id string) *sideRows { return sideRowsOf(&feedback.Case{ID: id}) }

// sideWrites are what queueViews writes beside the views, once compared
// with what the stored views derived.
type sideWrites struct {
	figures      []caseFigure // upserted
	figuresGone  []string     // case ids whose figure_cases row goes
	tasks        []caseTask   // upserted
	tasksGone    []string     // case ids whose figure_tasks rows all go, before the upserts
	taskRowsGone []caseTask   // single rows that go (only their case and task ids are read)
	patrols      []casePatrol // upserted
	patrolsGone  []string     // case ids whose patrol report goes
	replies      []feedback.Reply
	replyCases   []string
	timers       []timer.Op
}

type caseFigure struct {
	id string
	figureCase
}

type caseTask struct {
	caseID string
	figureTask
}

type casePatrol struct {
	id string
	patrolReport
}

// add adds what c, whose view derives now, and whose stored view derived
// was (nil: not known, so everything is written), needs written.
func (w *sideWrites) add(c *feedback.Case, now, was *sideRows) {
	if was == nil || !equalPtr(was.figure, now.figure) {
		if now.figure != nil {
			w.figures = append(w.figures, caseFigure{c.ID, *now.figure})
		} else if was == nil || was.figure != nil {
			w.figuresGone = append(w.figuresGone, c.ID)
		}
	}
	w.addTasks(c.ID, now.tasks, was)
	if was == nil || !equalPtr(was.patrol, now.patrol) {
		if now.patrol != nil {
			w.patrols = append(w.patrols, casePatrol{c.ID, *now.patrol})
		} else if was == nil || was.patrol != nil {
			w.patrolsGone = append(w.patrolsGone, c.ID)
		}
	}
	for _, r := range c.Replies {
		if was == nil || !slices.Contains(was.replies, r.ID) {
			w.replies, w.replyCases = append(w.replies, r), append(w.replyCases, c.ID)
		}
	}
	for _, op := range now.timers {
		if was == nil || !slices.ContainsFunc(was.timers, func(o timer.Op) bool { return sameTimer(o, op) }) {
			w.timers = append(w.timers, op)
		}
	}
}

// addTasks adds the figure_tasks writes of case id, whose tasks derive
// now, against what was (nil: not known) derived. Only a task row that
// changed is written, in place (issue 17): a sign-for or a completion
// changes one task's row, and writing every task of the case again, after a
// DELETE of them all, left dead rows behind that every later DELETE's scan
// of the growing table walked. When what was stored is not known, the
// case's rows all go first.
func (w *sideWrites) addTasks(id string, now []figureTask, was *sideRows) {
	if was == nil {
		w.tasksGone = append(w.tasksGone, id)
	}
	for _, t := range now { // a case's tasks are one per id (Case.task)
		if was != nil && slices.Contains(was.tasks, t) {
			continue
		}
		w.tasks = append(w.tasks, caseTask{id, t})
	}
	if was == nil {
		return
	}
	for _, o := range was.tasks {
		if !slices.ContainsFunc(now, func(t figureTask) bool { return t.id == o.id }) {
			w.taskRowsGone = append(w.taskRowsGone, caseTask{id, o})
		}
	}
}

func equalPtr[T comparable](a, b *T) bool {
	return a == b || a != nil && b != nil && *a == *b
}

// sameTimer reports whether a and b leave the same timer row: both
// cancelled, or both set to one time (callback timers carry no payload).
func sameTimer(a, b timer.Op) bool {
	if a.Kind != b.Kind || a.Key != b.Key || a.Cancel != b.Cancel {
		return false
	}
	return a.Cancel || a.At.Equal(b.At) && slices.Equal(a.Payload, b.Payload)
}

func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }
