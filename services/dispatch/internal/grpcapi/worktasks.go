package grpcapi

import (
	"context"
	"time"

	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/dispatch/internal/worktasks"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
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
