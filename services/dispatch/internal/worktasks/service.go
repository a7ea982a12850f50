package worktasks

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/requestid"
	"github.com/gridflow/gridflow/pkg/workcal"
)

// ServiceName is the gRPC service whose methods the access policy lists.
const ServiceName = "gridflow.dispatch.v1.WorkerTaskService"

// SystemActor acts for dispatch itself (the clock, consumed events).
const SystemActor = "system:dispatch"

// Event is one event about a worker task, named as its payload is
// ("task.dispatched", "task.inspection_recorded" …; package events maps each
// name to its payload).
type Event struct {
	Name  string
	Task  Task
	Actor string
	At    time.Time
	// Escalated to (the street desk), for task.escalated.
	To string
}

// Event names.
const (
	EvDispatched         = "task.dispatched"
	EvWarned             = "task.warned"
	EvOverdue            = "task.overdue"
	EvEscalated          = "task.escalated"
	EvCompleted          = "task.completed"
	EvWithdrawn          = "task.withdrawn"
	EvInspectionRecorded = "task.inspection_recorded"
	EvInspectionMissed   = "task.inspection_missed"
)

// notified are the events the worker is notified of: what is assigned,
// due soon or escalated.
var notified = map[string]bool{EvDispatched: true, EvWarned: true, EvEscalated: true}

// Filter narrows a list.
type Filter struct {
	WorkerID      string
	Scope         policy.Scope
	IncludeClosed bool
	PageSize      int
	PageToken     string
}

// Tx is the store inside one transaction.
type Tx interface {
	SavePatrolCase(ctx context.Context, c PatrolCase) error
	PatrolCase(ctx context.Context, caseID string) (PatrolCase, bool, error)
	// InsertTask adds t; false when its unique key (a case's round, a
	// place's due time) already has one.
	InsertTask(ctx context.Context, t Task) (bool, error)
	UpdateTask(ctx context.Context, t Task) error
	// LockTask locks and reads a task; NotFound when there is none.
	LockTask(ctx context.Context, id string) (Task, error)
	// OpenTasks locks the open tasks of a case (re-checks) or a place
	// (inspections).
	OpenTasks(ctx context.Context, kind Kind, key string) ([]Task, error)
	LockPlace(ctx context.Context, key string) (Place, bool, error)
	SavePlace(ctx context.Context, p Place) error
	Schedule(ctx context.Context, kind, key string, at time.Time) error
	Cancel(ctx context.Context, kind, key string) error
	// Emit enqueues the event and, when notifyURL is set, its notification.
	Emit(ctx context.Context, e Event, notifyURL string) error
	// Begin starts an idempotent request: the first one's task id when it
	// is a repeat.
	Begin(ctx context.Context, principal, requestID, method string, content any) (string, bool, error)
	Save(ctx context.Context, principal, requestID, method string, content any, taskID string) error
}

// Store runs transactions and lists.
type Store interface {
	InWorkTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	ListWorkerTasks(ctx context.Context, f Filter) ([]Task, string, error)
}

// Service is the worker tasks' domain.
type Service struct {
	store Store
	ref   func() *reference.Set
	now   func() time.Time
	cfg   Config
}

// New returns the service.
func New(store Store, ref func() *reference.Set, now func() time.Time, cfg Config) *Service {
	if cfg.Warn <= 0 || cfg.Warn >= 1 {
		cfg.Warn = 0.8
	}
	if cfg.RecheckLimit.IsZero() {
		cfg.RecheckLimit = workcal.Days(1)
	}
	return &Service{store: store, ref: ref, now: now, cfg: cfg}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func (s *Service) emit(ctx context.Context, tx Tx, e Event) error {
	if e.At.IsZero() {
		e.At = s.now().UTC()
	}
	if e.Actor == "" {
		e.Actor = SystemActor
	}
	url := ""
	if notified[e.Name] {
		if w, ok := s.ref().GridWorker(e.Task.WorkerID); ok {
			url = w.Notify
		}
	}
	return tx.Emit(ctx, e, url)
}

// open adds a task, schedules its clock and announces it. false: it was
// there already.
func (s *Service) open(ctx context.Context, tx Tx, t Task) (bool, error) {
	ok, err := tx.InsertTask(ctx, t)
	if err != nil || !ok {
		return false, err
	}
	if t.WarnAt.Before(t.DueAt) {
		if err := tx.Schedule(ctx, TimerWarn, t.ID, t.WarnAt); err != nil {
			return false, err
		}
	}
	if t.Kind == Recheck { // an inspection's period end is its place's next due
		if err := tx.Schedule(ctx, TimerDue, t.ID, t.DueAt); err != nil {
			return false, err
		}
	}
	return true, s.emit(ctx, tx, Event{Name: EvDispatched, Task: t})
}

// close ends an open task in state st and clears its clock.
func (s *Service) close(ctx context.Context, tx Tx, t *Task, st State, at time.Time) error {
	t.State, t.DoneAt = st, at
	if err := tx.UpdateTask(ctx, *t); err != nil {
		return err
	}
	if err := tx.Cancel(ctx, TimerWarn, t.ID); err != nil {
		return err
	}
	return tx.Cancel(ctx, TimerDue, t.ID)
}

// PatrolReported records who reported a patrol case, and where.
func (s *Service) PatrolReported(ctx context.Context, tx Tx, c PatrolCase) error {
	if c.CaseID == "" || c.WorkerID == "" {
		return nil
	}
	return tx.SavePatrolCase(ctx, c)
}

// Resolved opens the re-check of a patrol case feedback resolved, for the
// case's round. A case dispatch never heard reported by a worker needs none.
func (s *Service) Resolved(ctx context.Context, tx Tx, caseID, caseNumber string, round int, at time.Time) error {
	pc, ok, err := tx.PatrolCase(ctx, caseID)
	if err != nil || !ok {
		return err
	}
	set := s.ref()
	cal := set.Calendar()
	start := s.now().UTC()
	due, _ := cal.AddWorking(start, s.cfg.RecheckLimit)
	warn := cal.WarningAt(start, due, s.cfg.Warn, s.cfg.RecheckLimit.Kind)
	if caseNumber == "" {
		caseNumber = pc.CaseNumber
	}
	t := Task{ID: newID(), Kind: Recheck, State: Open, WorkerID: set.RecheckAssignee(pc.Grid, pc.WorkerID), CaseID: caseID,
		CaseNumber: caseNumber, Round: round, District: pc.District, Street: pc.Street, Community: pc.Community, Grid: pc.Grid,
		OpenedAt: start, WarnAt: warn.UTC(), DueAt: due.UTC()}
	_, err = s.open(ctx, tx, t)
	return err
}

// Rechecked closes a case's open re-checks: done when feedback recorded the
// re-check, withdrawn when the case closed or reopened without one.
func (s *Service) Rechecked(ctx context.Context, tx Tx, caseID string, recorded bool, actor string, at time.Time) error {
	open, err := tx.OpenTasks(ctx, Recheck, caseID)
	if err != nil {
		return err
	}
	for i := range open {
		t := &open[i]
		st, name := Withdrawn, EvWithdrawn
		if recorded {
			st, name = Done, EvCompleted
		}
		if at.IsZero() {
			at = s.now().UTC()
		}
		if err := s.close(ctx, tx, t, st, at.UTC()); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, Event{Name: name, Task: *t, Actor: actor}); err != nil {
			return err
		}
	}
	return nil
}

// Warn fires a task's warning (80 % of its limit).
func (s *Service) Warn(ctx context.Context, tx Tx, id string) error {
	t, err := tx.LockTask(ctx, id)
	if fault.KindOf(err) == fault.NotFound {
		return nil
	}
	if err != nil || t.State != Open || t.Warned {
		return err
	}
	t.Warned = true
	if err := tx.UpdateTask(ctx, t); err != nil {
		return err
	}
	return s.emit(ctx, tx, Event{Name: EvWarned, Task: t})
}

// Due fires a re-check's due time: overdue, and escalated to the street's
// desk (the street dispatcher; the district's where the street is unknown).
func (s *Service) Due(ctx context.Context, tx Tx, id string) error {
	t, err := tx.LockTask(ctx, id)
	if fault.KindOf(err) == fault.NotFound {
		return nil
	}
	if err != nil || t.State != Open || t.Overdue {
		return err
	}
	t.Overdue, t.Escalated = true, true
	if err := tx.UpdateTask(ctx, t); err != nil {
		return err
	}
	if err := s.emit(ctx, tx, Event{Name: EvOverdue, Task: t}); err != nil {
		return err
	}
	desk := "dispatcher:" + t.Street
	if t.Street == "" || t.Street == "0" {
		desk = "district:" + t.District
	}
	return s.emit(ctx, tx, Event{Name: EvEscalated, Task: t, To: desk})
}

// PlaceUpserted keeps a place's schedule: the newest version wins; a new
// schedule's first inspection comes due at registration + its interval; a
// retired place or a removed schedule stops (its open inspection is
// withdrawn).
func (s *Service) PlaceUpserted(ctx context.Context, tx Tx, p Place) error {
	old, found, err := tx.LockPlace(ctx, p.Key)
	if err != nil {
		return err
	}
	if found && old.Version >= p.Version {
		return nil // an older or repeated version
	}
	if found {
		p.RegisteredAt = old.RegisteredAt
		p.NextDue = old.NextDue
	}
	if p.RegisteredAt.IsZero() {
		p.RegisteredAt = s.now().UTC()
	}
	switch {
	case !p.Scheduled():
		p.NextDue = time.Time{}
		if err := tx.Cancel(ctx, TimerInspection, p.Key); err != nil {
			return err
		}
		if err := s.withdrawInspections(ctx, tx, p.Key); err != nil {
			return err
		}
	case p.NextDue.IsZero() || !found || old.EveryMonths != p.EveryMonths || !old.Scheduled():
		from := p.RegisteredAt
		if found && old.Scheduled() && !old.NextDue.IsZero() {
			from = s.cfg.Interval(old.NextDue, -old.EveryMonths, s.loc())
		} else if found {
			from = s.now().UTC() // a schedule added later counts from now
		}
		p.NextDue = s.cfg.Interval(from, p.EveryMonths, s.loc())
		if err := tx.Schedule(ctx, TimerInspection, p.Key, p.NextDue); err != nil {
			return err
		}
	}
	return tx.SavePlace(ctx, p)
}

func (s *Service) loc() *time.Location { return s.ref().Calendar().Location() }

func (s *Service) withdrawInspections(ctx context.Context, tx Tx, placeKey string) error {
	open, err := tx.OpenTasks(ctx, Inspection, placeKey)
	if err != nil {
		return err
	}
	for i := range open {
		if err := s.close(ctx, tx, &open[i], Withdrawn, s.now().UTC()); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, Event{Name: EvWithdrawn, Task: open[i]}); err != nil {
			return err
		}
	}
	return nil
}

// InspectionDue fires a place's due time: the previous inspection, still
// open, is missed (counted once); a new one opens for the worker of the
// place's grid, to be done before the next comes due.
func (s *Service) InspectionDue(ctx context.Context, tx Tx, placeKey string) error {
	p, found, err := tx.LockPlace(ctx, placeKey)
	if err != nil || !found || !p.Scheduled() || p.NextDue.IsZero() {
		return err
	}
	open, err := tx.OpenTasks(ctx, Inspection, placeKey)
	if err != nil {
		return err
	}
	for i := range open {
		t := &open[i]
		t.Overdue = true
		if err := s.close(ctx, tx, t, Missed, p.NextDue); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, Event{Name: EvInspectionMissed, Task: *t}); err != nil {
			return err
		}
	}
	due := p.NextDue
	next := s.cfg.Interval(due, p.EveryMonths, s.loc())
	p.NextDue = next
	if err := tx.SavePlace(ctx, p); err != nil {
		return err
	}
	if err := tx.Schedule(ctx, TimerInspection, p.Key, next); err != nil {
		return err
	}
	w, ok := s.ref().WorkerOfGrid(p.Grid)
	if !ok {
		return nil // a grid with no worker: nobody to inspect it (the register says so)
	}
	// The task is due at the end of its period, when the next comes due;
	// warned at Warn of the period.
	warn := due.Add(time.Duration(float64(next.Sub(due)) * s.cfg.Warn))
	t := Task{ID: newID(), Kind: Inspection, State: Open, WorkerID: w.ID, PlaceKey: p.Key, PlaceName: p.Name, PlaceKind: p.Kind,
		District: p.District, Street: p.Street, Community: p.Community, Grid: p.Grid, OpenedAt: due, WarnAt: warn, DueAt: next}
	_, err = s.open(ctx, tx, t)
	return err
}

// InspectionInput is a worker's record of an inspection.
type InspectionInput struct {
	RequestID string `json:"request_id"`
	TaskID    string `json:"task_id"`
	Outcome   string `json:"outcome"`
	Note      string `json:"note"`
	CaseID    string `json:"case_id"`
}

// MaxNoteBytes bounds an inspection's note.
const MaxNoteBytes = 2000

// Validate checks the input; every fault names its field.
func (in InspectionInput) Validate() error {
	var vs fault.Violations
	requestid.Check(in.RequestID, &vs)
	if _, err := uuid.Parse(in.TaskID); err != nil {
		vs.Add("task_id", "must be a task id (a uuid)")
	}
	if in.Outcome != OutcomeOK && in.Outcome != OutcomeFinding {
		vs.Add("outcome", "must be ok or finding")
	}
	if !utf8.ValidString(in.Note) || len(in.Note) > MaxNoteBytes || strings.IndexFunc(in.Note, freetext.Control) >= 0 {
		vs.Add("note", "must be UTF-8 text of at most %d bytes without control characters", MaxNoteBytes)
	}
	if in.CaseID != "" {
		if _, err := uuid.Parse(in.CaseID); err != nil {
			vs.Add("case_id", "must be a case id (a uuid) or empty")
		}
	}
	if in.CaseID != "" && in.Outcome == OutcomeOK {
		vs.Add("case_id", "names a finding's patrol report; an ok inspection has none")
	}
	return vs.Err()
}

// RecordInspection records an open inspection as done. Only the worker it
// is assigned to (or admin) records it.
func (s *Service) RecordInspection(ctx context.Context, p auth.Principal, in InspectionInput) (Task, error) {
	if err := in.Validate(); err != nil {
		return Task{}, err
	}
	in.TaskID, in.CaseID = strings.ToLower(in.TaskID), strings.ToLower(in.CaseID)
	var out Task
	const method = "RecordInspection"
	err := s.store.InWorkTx(ctx, func(ctx context.Context, tx Tx) error {
		prior, repeat, err := tx.Begin(ctx, p.String(), in.RequestID, method, in)
		if err != nil {
			return err
		}
		id := in.TaskID
		if repeat {
			id = prior
		}
		t, err := tx.LockTask(ctx, id)
		if fault.KindOf(err) == fault.NotFound || (err == nil && (t.Kind != Inspection || !mayAct(p, t))) {
			return fault.NotFoundf("tasks/"+in.TaskID, "no inspection %s of yours", in.TaskID)
		}
		if err != nil || repeat {
			out = t
			return err
		}
		if t.State != Open {
			return fault.New(fault.FailedPrecondition, "inspection %s is %s: only an open one is recorded", t.ID, t.State)
		}
		t.Outcome, t.Note, t.FindingCaseID = in.Outcome, in.Note, in.CaseID
		if err := s.close(ctx, tx, &t, Done, s.now().UTC()); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, Event{Name: EvInspectionRecorded, Task: t, Actor: p.Actor()}); err != nil {
			return err
		}
		out = t
		return tx.Save(ctx, p.String(), in.RequestID, method, in, t.ID)
	})
	return out, err
}

func mayAct(p auth.Principal, t Task) bool {
	return p.Role == auth.RoleAdmin || (p.Role == auth.RolePatrol && p.Subject == t.WorkerID)
}

// List lists worker tasks within the caller's reach: a worker its own, a
// street's or district's dispatcher those of its area, admin all.
func (s *Service) List(ctx context.Context, p auth.Principal, sc policy.Scope, f Filter) ([]Task, string, error) {
	if f.PageSize < 0 {
		var vs fault.Violations
		vs.Add("page_size", "must not be negative")
		return nil, "", vs.Err()
	}
	switch p.Role {
	case auth.RolePatrol:
		if f.WorkerID != "" && f.WorkerID != p.Subject {
			return nil, "", policy.ErrDenied(fmt.Sprintf("the tasks of worker %s", f.WorkerID))
		}
		f.WorkerID = p.Subject
	}
	f.Scope = sc
	return s.store.ListWorkerTasks(ctx, f)
}
