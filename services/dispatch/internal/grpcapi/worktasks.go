package grpcapi

import (
	"context"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"

	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/dispatch/internal/worktasks"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// WorkerTasks implements dispatchv1.WorkerTaskServiceServer (issue 20).
type WorkerTasks struct {
	dispatchv1.UnimplementedWorkerTaskServiceServer
	svc *worktasks.Service
	now func() time.Time
}

// NewWorkerTasks returns the gRPC face of svc; now tells the SLA light.
func NewWorkerTasks(svc *worktasks.Service, now func() time.Time) *WorkerTasks {
	return &WorkerTasks{svc: svc, now: now}
}

var (
	workKinds  = map[worktasks.Kind]dispatchv1.WorkerTaskKind{worktasks.Recheck: dispatchv1.WorkerTaskKind_WORKER_TASK_KIND_RECHECK, worktasks.Inspection: dispatchv1.WorkerTaskKind_WORKER_TASK_KIND_INSPECTION}
	workStates = map[worktasks.State]dispatchv1.WorkerTaskState{worktasks.Open: dispatchv1.WorkerTaskState_WORKER_TASK_STATE_OPEN,
		worktasks.Done: dispatchv1.WorkerTaskState_WORKER_TASK_STATE_DONE, worktasks.Missed: dispatchv1.WorkerTaskState_WORKER_TASK_STATE_MISSED,
		worktasks.Withdrawn: dispatchv1.WorkerTaskState_WORKER_TASK_STATE_WITHDRAWN}
	lights   = map[string]dispatchv1.SlaLight{"green": dispatchv1.SlaLight_SLA_LIGHT_GREEN, "yellow": dispatchv1.SlaLight_SLA_LIGHT_YELLOW, "red": dispatchv1.SlaLight_SLA_LIGHT_RED}
	outcomes = map[string]dispatchv1.InspectionOutcome{worktasks.OutcomeOK: dispatchv1.InspectionOutcome_INSPECTION_OUTCOME_OK,
		worktasks.OutcomeFinding: dispatchv1.InspectionOutcome_INSPECTION_OUTCOME_FINDING}
)

func workTaskOut(t worktasks.Task, now time.Time) *dispatchv1.WorkerTask {
	out := &dispatchv1.WorkerTask{TaskId: t.ID, Kind: workKinds[t.Kind], State: workStates[t.State], WorkerId: t.WorkerID,
		CaseId: t.CaseID, CaseNumber: t.CaseNumber, PlaceKey: t.PlaceKey, PlaceName: t.PlaceName, PlaceKind: t.PlaceKind,
		DistrictCode: t.District, StreetCode: t.Street, CommunityCode: t.Community, GridCode: t.Grid,
		OpenedAt: wire.TimeOut(t.OpenedAt), WarnAt: wire.TimeOut(t.WarnAt), DueAt: wire.TimeOut(t.DueAt), Warned: t.Warned,
		Overdue: t.Overdue, Escalated: t.Escalated, SlaLight: lights[t.Light(now)], OnTime: t.OnTime(), Outcome: outcomes[t.Outcome],
		Note: t.Note, FindingCaseId: t.FindingCaseID}
	if !t.DoneAt.IsZero() {
		out.DoneAt = wire.TimeOut(t.DoneAt)
	}
	return out
}

// ListWorkerTasks implements dispatchv1.WorkerTaskServiceServer.
func (s *WorkerTasks) ListWorkerTasks(ctx context.Context, req *dispatchv1.ListWorkerTasksRequest) (*dispatchv1.ListWorkerTasksResponse, error) {
	p, sc, err := policy.Authorize(ctx, policy.Method(worktasks.ServiceName, "ListWorkerTasks"))
	if err != nil {
		return nil, err
	}
	ts, next, err := s.svc.List(ctx, p, sc, worktasks.Filter{WorkerID: req.GetWorkerId(), IncludeClosed: req.GetIncludeClosed(),
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := &dispatchv1.ListWorkerTasksResponse{NextPageToken: next}
	for _, t := range ts {
		out.Tasks = append(out.Tasks, workTaskOut(t, now))
	}
	return out, nil
}

// RecordInspection implements dispatchv1.WorkerTaskServiceServer.
func (s *WorkerTasks) RecordInspection(ctx context.Context, req *dispatchv1.RecordInspectionRequest) (*dispatchv1.RecordInspectionResponse, error) {
	p, _, err := policy.Authorize(ctx, policy.Method(worktasks.ServiceName, "RecordInspection"))
	if err != nil {
		return nil, err
	}
	outcome := ""
	for k, v := range outcomes {
		if v == req.GetOutcome() {
			outcome = k
		}
	}
	t, err := s.svc.RecordInspection(ctx, p, worktasks.InspectionInput{RequestID: req.GetRequestId(), TaskID: req.GetTaskId(),
		Outcome: outcome, Note: req.GetNote(), CaseID: req.GetCaseId()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.RecordInspectionResponse{Task: workTaskOut(t, s.now())}, nil
}

// WithWorkerTasks lets a grid worker's ListTasks answer its own worker
// tasks (issue 20): DESIGN.md's patrol:<worker> reads "the re-checks
// assigned to it".
func (s *Server) WithWorkerTasks(w *WorkerTasks) *Server { s.work = w; return s }

func isPatrol(ctx context.Context) bool {
	p, ok := auth.FromContext(ctx)
	return ok && p.Role == auth.RolePatrol
}

// workTaskStates are the task states a worker task stands in.
var workTaskStates = map[worktasks.State]eventsv1.TaskState{worktasks.Open: eventsv1.TaskState_TASK_STATE_DISPATCHED,
	worktasks.Done: eventsv1.TaskState_TASK_STATE_COMPLETED, worktasks.Missed: eventsv1.TaskState_TASK_STATE_WITHDRAWN,
	worktasks.Withdrawn: eventsv1.TaskState_TASK_STATE_WITHDRAWN}

// listAsTasks is ListTasks for a grid worker: its worker tasks as tasks of
// the unit "worker" (ListWorkerTasks says more: the kind, the place, the
// light). The request's state and case filters apply; a department filter
// other than "worker" matches nothing.
func (s *WorkerTasks) listAsTasks(ctx context.Context, req *dispatchv1.ListTasksRequest) (*dispatchv1.ListTasksResponse, error) {
	p, sc, err := policy.Authorize(ctx, policy.Method(policy.DispatchService, "ListTasks"))
	if err != nil {
		return nil, err
	}
	states := map[eventsv1.TaskState]bool{}
	closed := len(req.GetStates()) == 0
	for _, st := range req.GetStates() {
		states[st] = true
		closed = closed || st != eventsv1.TaskState_TASK_STATE_DISPATCHED
	}
	ts, next, err := s.svc.List(ctx, p, sc, worktasks.Filter{IncludeClosed: closed, PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &dispatchv1.ListTasksResponse{NextPageToken: next}
	for _, t := range ts {
		st := workTaskStates[t.State]
		if (len(states) > 0 && !states[st]) || (req.GetCaseId() != "" && !strings.EqualFold(req.GetCaseId(), t.CaseID)) ||
			(req.GetCaseNumber() != "" && req.GetCaseNumber() != t.CaseNumber) || req.GetHotlineOrderNo() != "" ||
			(req.GetDepartmentCode() != "" && req.GetDepartmentCode() != worktasks.Unit) {
			continue
		}
		out.Tasks = append(out.Tasks, &dispatchv1.Task{TaskId: t.ID, CaseId: t.CaseID, CaseNumber: t.CaseNumber,
			DepartmentCode: worktasks.Unit, Role: eventsv1.TaskRole_TASK_ROLE_LEAD, State: st, Round: uint32(t.Round),
			Deadlines: &eventsv1.Deadlines{StartedAt: wire.TimeOut(t.OpenedAt),
				Complete: &eventsv1.Deadline{Due: wire.TimeOut(t.DueAt), WarnAt: wire.TimeOut(t.WarnAt)}},
			Warned: t.Warned, Overdue: t.Overdue, Escalated: t.Escalated, Rule: "worker_of_grid", DispatchedAt: wire.TimeOut(t.OpenedAt),
			UpdatedAt: wire.TimeOut(t.OpenedAt)})
	}
	return out, nil
}
