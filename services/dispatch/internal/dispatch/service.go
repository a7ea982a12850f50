package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/workcal"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"
)

// Target names the case an operation locks: by its id, or by one of its
// tasks.
type Target struct {
	CaseID string
	TaskID string
}

// Request makes a write idempotent: the caller's request id, the method and
// its content (plain data; the store fingerprints it with pkg/idempotency).
type Request struct {
	Principal string
	ID        string
	Method    string
	Content   any
}

// Result is what a write returns, stored with its request so that a repeat
// returns the first result.
type Result struct {
	Task    *Task         `json:"task,omitempty"`
	NewTask *Task         `json:"new_task,omitempty"`
	Outcome RejectOutcome `json:"outcome,omitempty"`
	Case    *Case         `json:"case,omitempty"`
	Tasks   []*Task       `json:"tasks,omitempty"`
}

// Store keeps cases with their tasks.
type Store interface {
	// Update locks the target's case for a transaction, runs op on it and
	// writes the Commit op returns (nil: nothing to write) with the result.
	// With a request, a repeat returns the stored result instead, or
	// ALREADY_EXISTS when the same id came with other content.
	Update(ctx context.Context, t Target, req *Request, op func(c *Case) (*Result, *Commit, error)) (*Result, error)
	// FindCase reads a case with its tasks by id, case number or hotline
	// order number; NotFound naming the reference when there is none.
	FindCase(ctx context.Context, r caseref.Ref) (*Case, error)
	// CaseOfTask reads the case holding a task, with its tasks.
	CaseOfTask(ctx context.Context, taskID string) (*Case, error)
	ListTasks(ctx context.Context, f TaskFilter) ([]*Task, string, error)
	// ListCases lists cases in the dispatch queue or in arbitration.
	ListCases(ctx context.Context, f CaseFilter) ([]*Case, string, error)
}

// ReloadHistory lists the service's loads of reference data, newest first
// (pkg/reloadlog); a token it did not issue is pagetoken.ErrInvalid.
type ReloadHistory interface {
	List(ctx context.Context, pageSize int, token string) ([]reference.Reload, string, error)
}

// Feed streams a department's task events from a cursor.
type Feed interface {
	Watch(ctx context.Context, dept, cursor string, send func(cursor string, event []byte) error) error
}

// Service is the dispatch service's API, scoped by the caller's credential.
type Service struct {
	store  Store
	encode Encoder
	feed   Feed
	ref    func() *reference.Set
	now    func() time.Time
	policy Policy
	// reloads is where the service's reference-data loads are recorded.
	reloads ReloadHistory
	// coord reads source places' coordinations (issue 20).
	coord CoordinationStore
}

// ListsReloadsFrom tells the service where its reference-data loads are
// recorded, for ListReferenceReloads.
func (s *Service) ListsReloadsFrom(h ReloadHistory) { s.reloads = h }

// ListReferenceReloads lists the service's loads of reference data, newest
// first.
func (s *Service) ListReferenceReloads(ctx context.Context, size int, token string) ([]reference.Reload, string, error) {
	if _, _, err := authorize(ctx, OpListReferenceReloads); err != nil {
		return nil, "", err
	}
	var v fault.Violations
	checkPageSize(size, &v)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if s.reloads == nil {
		return nil, "", fault.New(fault.Unavailable, "reference reloads are not recorded by this process")
	}
	rs, next, err := s.reloads.List(ctx, pageSize(size), token)
	if errors.Is(err, pagetoken.ErrInvalid) {
		return nil, "", invalid("page_token", "%v", err)
	}
	return rs, next, err
}

// New returns a service. encode turns the events of an operation into
// outbox messages; ref returns the reference set in force (it changes on
// SIGHUP); now is the clock (a test clock in tests and end-to-end runs).
func New(store Store, encode Encoder, feed Feed, ref func() *reference.Set, now func() time.Time, policy Policy) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, encode: encode, feed: feed, ref: ref, now: now, policy: policy}
}

// NewID returns a new task id.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// Env returns an operation environment for actor at the service's now.
func (s *Service) Env(actor string) *Env {
	return &Env{Now: s.now().UTC(), Actor: actor, Ref: s.ref(), Policy: s.policy, NewID: NewID, Encode: s.encode}
}

// Ref is the reference set in force.
func (s *Service) Ref() *reference.Set { return s.ref() }

// input is a request that validates itself.
type input interface{ Validate() error }

// referenced is a request naming reference data, checked against the set in
// force after the request's own validation.
type referenced interface {
	validateRef(ref *reference.Set) error
}

// write runs one write, always in this order: who may call op (access),
// the request's own validity, then fn on the target's case in one store
// transaction, within the caller's scope (a department's own task, a
// dispatcher's case), idempotent by the request id; the store writes what
// fn finished.
func (s *Service) write(ctx context.Context, op Operation, requestID string, target Target, in input, fn func(env *Env, sc Scope, c *Case) (*Result, error)) (*Result, error) {
	p, sc, err := authorize(ctx, op)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if r, ok := in.(referenced); ok {
		if err := r.validateRef(s.ref()); err != nil {
			return nil, err
		}
	}
	req := &Request{Principal: p.String(), ID: requestID, Method: string(op), Content: in}
	loaded := false
	res, err := s.store.Update(ctx, target, req, func(c *Case) (*Result, *Commit, error) {
		loaded = true
		if err := inScope(sc, c, target); err != nil {
			return nil, nil, err
		}
		env := s.Env(p.Actor()) // the audit names the person; the request id stays the principal's
		res, err := fn(env, sc, c)
		if err != nil {
			return nil, nil, err
		}
		cm, err := env.Commit(c)
		if err != nil {
			return nil, nil, err
		}
		return res, cm, nil
	})
	if !loaded && fault.KindOf(err) == fault.NotFound {
		// The target does not exist: a scoped caller hears what it would
		// hear for another's case, and learns nothing.
		return nil, sc.Missing(targetName(target), err)
	}
	return res, err
}

// withTask is an op's result when the op changed one task.
func withTask(t *Task, err error) (*Result, error) { return &Result{Task: t}, err }

// taskOf is the task an op changed.
func taskOf(r *Result, err error) (*Task, error) {
	if err != nil {
		return nil, err
	}
	return r.Task, nil
}

// Acknowledge signs for a task (签收).
func (s *Service) Acknowledge(ctx context.Context, in AckInput) (*Task, error) {
	return taskOf(s.write(ctx, OpAcknowledgeTask, in.RequestID, Target{TaskID: in.TaskID}, in, func(env *Env, _ Scope, c *Case) (*Result, error) {
		if !in.ETA.IsZero() && !in.ETA.After(env.Now) {
			return nil, invalid("eta", "must be in the future")
		}
		return withTask(c.Acknowledge(env, in.TaskID, in.ETA, in.Note))
	}))
}

// Reject returns a task (退单).
func (s *Service) Reject(ctx context.Context, in RejectInput) (*Result, error) {
	return s.write(ctx, OpRejectTask, in.RequestID, Target{TaskID: in.TaskID}, in, func(env *Env, _ Scope, c *Case) (*Result, error) {
		out, nt, err := c.Reject(env, in.TaskID, Rejection{Reason: in.Reason, Note: in.Note, Area: in.Area})
		return &Result{Task: c.task(in.TaskID), NewTask: nt, Outcome: out}, err
	})
}

// Forward hands a district bureau's task on to its street office.
func (s *Service) Forward(ctx context.Context, in ForwardInput) (*Result, error) {
	return s.write(ctx, OpForwardTask, in.RequestID, Target{TaskID: in.TaskID}, in, func(env *Env, _ Scope, c *Case) (*Result, error) {
		t, nt, err := c.Forward(env, in.TaskID, in.Department, in.Note)
		return &Result{Task: t, NewTask: nt}, err
	})
}

// RequestExtension asks for more time (延期).
func (s *Service) RequestExtension(ctx context.Context, in ExtensionInput) (*Task, error) {
	return taskOf(s.write(ctx, OpRequestExtension, in.RequestID, Target{TaskID: in.TaskID}, in, func(env *Env, _ Scope, c *Case) (*Result, error) {
		return withTask(c.RequestExtension(env, in.TaskID, in.Due, in.Reason))
	}))
}

// ReportProgress records a 阶段性答复 or that the unit is on site.
func (s *Service) ReportProgress(ctx context.Context, in ProgressInput) (*Task, error) {
	return taskOf(s.write(ctx, OpReportProgress, in.RequestID, Target{TaskID: in.TaskID}, in, func(env *Env, _ Scope, c *Case) (*Result, error) {
		return withTask(c.ReportProgress(env, in.TaskID, in.Text, in.OnSite))
	}))
}

// Complete reports a task done (办结).
func (s *Service) Complete(ctx context.Context, in CompleteInput) (*Task, error) {
	return taskOf(s.write(ctx, OpCompleteTask, in.RequestID, Target{TaskID: in.TaskID}, in, func(env *Env, _ Scope, c *Case) (*Result, error) {
		return withTask(c.Complete(env, in.TaskID, in.Result, in.Evidence))
	}))
}

// GetTask reads a task the caller may see, with its case and the case's
// coordination (nil: none), read once for the caller's scope and the
// answer (issue 17: GetTask read it twice).
func (s *Service) GetTask(ctx context.Context, taskID string) (*Task, *Case, *Coordination, error) {
	_, sc, err := authorize(ctx, OpGetTask)
	if err != nil {
		return nil, nil, nil, err
	}
	var v fault.Violations
	checkID("task_id", taskID, &v)
	if err := v.Err(); err != nil {
		return nil, nil, nil, err
	}
	c, err := s.store.CaseOfTask(ctx, taskID)
	if fault.KindOf(err) == fault.NotFound {
		return nil, nil, nil, sc.Missing(targetName(Target{TaskID: taskID}), err)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	// The lead of an open source place reads its linked tasks (issue 20).
	co, err := s.coordinationOf(ctx, c.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := inScopeLed(sc, c, Target{TaskID: taskID}, co.Leads()); err != nil {
		return nil, nil, nil, err
	}
	return c.task(taskID), c, co, nil
}

// ListTasks lists the tasks the caller may see.
func (s *Service) ListTasks(ctx context.Context, f TaskFilter) ([]*Task, string, error) {
	_, sc, err := authorize(ctx, OpListTasks)
	if err != nil {
		return nil, "", err
	}
	if err := f.Validate(); err != nil {
		return nil, "", err
	}
	if sc.Kind == policy.Department && f.Department != "" && f.Department != sc.Code {
		return nil, "", invalid("department_code", "a department lists only its own tasks")
	}
	f.Scope, f.PageSize = sc, pageSize(f.PageSize)
	f.Case, _ = caseref.OptionalFromFields("", f.CaseID, f.CaseNumber, f.HotlineOrderNo) // valid: checked above
	return s.store.ListTasks(ctx, f)
}

// WatchTasks streams the department's task events from the input's
// cursor. Admin names the department to watch.
func (s *Service) WatchTasks(ctx context.Context, in WatchInput, send func(cursor string, event []byte) error) error {
	_, sc, err := authorize(ctx, OpWatchTasks)
	if err != nil {
		return err
	}
	if err := in.Validate(); err != nil {
		return err
	}
	dept := in.Department
	switch {
	case sc.Kind == policy.Department:
		if dept != "" && dept != sc.Code {
			return policy.ErrDenied("department " + dept)
		}
		dept = sc.Code
	case dept == "":
		return invalid("department_code", "admin must name the department to watch")
	}
	if _, ok := s.ref().Department(dept); !ok {
		return fault.NotFoundf("departments/"+dept, "no department %q", dept)
	}
	return s.feed.Watch(ctx, dept, in.Cursor, send)
}

// Reassign gives a case or one of its tasks to another unit.
func (s *Service) Reassign(ctx context.Context, in ReassignInput) (*Task, error) {
	return taskOf(s.write(ctx, OpReassign, in.RequestID, Target{CaseID: in.CaseID}, in, func(env *Env, sc Scope, c *Case) (*Result, error) {
		if err := mayName(sc, env.Ref, in.Department); err != nil {
			return nil, err
		}
		return withTask(c.Reassign(env, in.TaskID, in.Department, in.Note))
	}))
}

// DecideExtension grants or denies a requested extension.
func (s *Service) DecideExtension(ctx context.Context, in DecideExtensionInput) (*Task, error) {
	return taskOf(s.write(ctx, OpDecideExtension, in.RequestID, Target{TaskID: in.TaskID}, in, func(env *Env, _ Scope, c *Case) (*Result, error) {
		return withTask(c.DecideExtension(env, in.TaskID, in.Grant, in.Due, in.Note))
	}))
}

// ReviewCompletion approves or returns a completion.
func (s *Service) ReviewCompletion(ctx context.Context, in ReviewInput) (*Task, error) {
	return taskOf(s.write(ctx, OpReviewCompletion, in.RequestID, Target{TaskID: in.TaskID}, in, func(env *Env, _ Scope, c *Case) (*Result, error) {
		return withTask(c.ReviewCompletion(env, in.TaskID, in.Approve, in.Note))
	}))
}

// Supervise puts a task under supervision (督办).
func (s *Service) Supervise(ctx context.Context, in SuperviseInput) (*Task, error) {
	return taskOf(s.write(ctx, OpSupervise, in.RequestID, Target{TaskID: in.TaskID}, in, func(env *Env, _ Scope, c *Case) (*Result, error) {
		return withTask(c.Supervise(env, in.TaskID, in.Note))
	}))
}

// ListCases lists the cases in the dispatch queue, or in arbitration,
// within the caller's scope.
func (s *Service) ListCases(ctx context.Context, f CaseFilter) ([]*Case, string, error) {
	op := OpListDispatchQueue
	if f.Arbitration {
		op = OpListArbitration
	}
	_, sc, err := authorize(ctx, op)
	if err != nil {
		return nil, "", err
	}
	if err := f.Validate(); err != nil {
		return nil, "", err
	}
	f.Scope, f.PageSize = sc, pageSize(f.PageSize)
	return s.store.ListCases(ctx, f)
}

// Arbitrate decides who owns a case in arbitration.
func (s *Service) Arbitrate(ctx context.Context, in ArbitrateInput) (*Task, error) {
	return taskOf(s.write(ctx, OpArbitrate, in.RequestID, Target{CaseID: in.CaseID}, in, func(env *Env, sc Scope, c *Case) (*Result, error) {
		if err := mayName(sc, env.Ref, in.Department); err != nil {
			return nil, err
		}
		return withTask(c.Arbitrate(env, in.Department, in.Note))
	}))
}

// SimulateRoute decides without changing anything and returns the decision
// with the facts decided on.
func (s *Service) SimulateRoute(ctx context.Context, in SimulateInput) (routing.Decision, routing.Case, error) {
	_, sc, err := authorize(ctx, OpSimulateRoute)
	if err != nil {
		return routing.Decision{}, routing.Case{}, err
	}
	var rc routing.Case
	if err := in.Validate(); err != nil {
		return routing.Decision{}, rc, err
	}
	if in.byCase() {
		ref, _ := caseref.FromFields("", in.CaseID, in.CaseNumber, in.HotlineOrderNo) // valid: checked above
		c, err := s.store.FindCase(ctx, ref)
		if fault.KindOf(err) == fault.NotFound {
			return routing.Decision{}, rc, sc.Missing("case "+ref.Value, err)
		}
		if err != nil {
			return routing.Decision{}, rc, err
		}
		if !sc.AllowsCase(facts(c)) {
			return routing.Decision{}, rc, policy.ErrDenied("case " + ref.Value)
		}
		rc = c.RoutingCase()
	} else {
		rc = *in.Facts
		if rc.Received.IsZero() {
			rc.Received = s.now()
		}
	}
	ref := s.ref()
	var d routing.Decision
	if in.Redecide != "" {
		d, err = routing.Redecide(ref, rc, in.Redecide)
	} else {
		d, err = routing.Decide(ref, rc)
	}
	if err != nil {
		if IsRoutingError(err) {
			return routing.Decision{}, rc, fault.New(fault.InvalidArgument, "%s", err.Error())
		}
		return routing.Decision{}, rc, err
	}
	return d, rc, nil
}

// decide runs a dispatcher's decision on a whole case and returns the case
// with its tasks.
func (s *Service) decide(ctx context.Context, op Operation, in input, req CaseInput, fn func(env *Env, c *Case) error) (*Case, error) {
	r, err := s.write(ctx, op, req.RequestID, Target{CaseID: req.CaseID}, in, func(env *Env, _ Scope, c *Case) (*Result, error) {
		if err := fn(env, c); err != nil {
			return nil, err
		}
		return &Result{Case: c, Tasks: c.Tasks}, nil
	})
	if err != nil {
		return nil, err
	}
	r.Case.Tasks = r.Tasks
	return r.Case, nil
}

// CancelCase cancels an invalid case.
func (s *Service) CancelCase(ctx context.Context, in CancelInput) (*Case, error) {
	return s.decide(ctx, OpCancelCase, in, CaseInput(in), func(env *Env, c *Case) error { return c.Cancel(env, in.Reason) })
}

// ParkCase parks a case (挂账) until its review date.
func (s *Service) ParkCase(ctx context.Context, in ParkInput) (*Case, error) {
	return s.decide(ctx, OpParkCase, in, CaseInput(in), func(env *Env, c *Case) error {
		review, _ := workcal.ParseDate(in.ReviewDate) // valid: checked by write
		today := workcal.DateOf(env.Now.In(env.Ref.Calendar().Location()))
		if review.Compare(today) <= 0 {
			return invalid("review_date", "must be after today (%s)", today)
		}
		return c.Park(env, in.Reason, review)
	})
}

// UnparkCase resumes a parked case.
func (s *Service) UnparkCase(ctx context.Context, in UnparkInput) (*Case, error) {
	return s.decide(ctx, OpUnparkCase, in, CaseInput(in), func(env *Env, c *Case) error { return c.Unpark(env, in.Reason) })
}

// ExcludeCase marks a case 不合理诉求.
func (s *Service) ExcludeCase(ctx context.Context, in ExcludeInput) (*Case, error) {
	return s.decide(ctx, OpExcludeCase, in, CaseInput(in), func(env *Env, c *Case) error { return c.Exclude(env, in.Reason) })
}
