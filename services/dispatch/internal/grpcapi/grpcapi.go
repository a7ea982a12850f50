// Package grpcapi serves gridflow.dispatch.v1: it translates requests into
// domain calls and results back, one domain call per method. Errors are
// domain faults; pkg/grpcserver maps them to codes.
package grpcapi

import (
	"context"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/dispatch/internal/convert"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// Server implements dispatchv1.DispatchServiceServer.
type Server struct {
	dispatchv1.UnimplementedDispatchServiceServer
	svc *dispatch.Service
	// issue 20 (work tasks): a grid worker's ListTasks (WithWorkerTasks).
	work *WorkerTasks
}

// New returns the gRPC face of svc.
func New(svc *dispatch.Service) *Server { return &Server{svc: svc} }

func invalid(field, format string, args ...any) error {
	var v fault.Violations
	v.Add(field, format, args...)
	return v.Err()
}

// WatchTasks implements dispatchv1.DispatchServiceServer.
func (s *Server) WatchTasks(req *dispatchv1.WatchTasksRequest, stream grpc.ServerStreamingServer[dispatchv1.WatchTasksResponse]) error {
	return s.svc.WatchTasks(stream.Context(), dispatch.WatchInput{Department: req.GetDepartmentCode(), Cursor: req.GetCursor()}, func(cursor string, data []byte) error {
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(data, env); err != nil {
			return err
		}
		return stream.Send(&dispatchv1.WatchTasksResponse{Cursor: cursor, Event: env})
	})
}

// ListTasks implements dispatchv1.DispatchServiceServer.
func (s *Server) ListTasks(ctx context.Context, req *dispatchv1.ListTasksRequest) (*dispatchv1.ListTasksResponse, error) {
	// issue 20 (work tasks): a grid worker's tasks are its re-checks and
	// inspections (worktasks.go).
	if s.work != nil && isPatrol(ctx) {
		return s.work.listAsTasks(ctx, req)
	}
	f := dispatch.TaskFilter{CaseID: req.GetCaseId(), CaseNumber: req.GetCaseNumber(), HotlineOrderNo: req.GetHotlineOrderNo(), Department: req.GetDepartmentCode(), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()}
	for _, st := range req.GetStates() {
		ds, ok := convert.StateIn(st)
		if !ok {
			return nil, invalid("states", "unknown state %v", st)
		}
		f.States = append(f.States, ds)
	}
	tasks, next, err := s.svc.ListTasks(ctx, f)
	if err != nil {
		return nil, err
	}
	out := convert.TasksOut(tasks)
	if err := s.withCoordination(ctx, tasks, out); err != nil { // issue 20
		return nil, err
	}
	return &dispatchv1.ListTasksResponse{Tasks: out, NextPageToken: next}, nil
}

// GetTask implements dispatchv1.DispatchServiceServer.
func (s *Server) GetTask(ctx context.Context, req *dispatchv1.GetTaskRequest) (*dispatchv1.GetTaskResponse, error) {
	t, c, co, err := s.svc.GetTask(ctx, req.GetTaskId())
	if err != nil {
		return nil, err
	}
	out := convert.TaskOut(t)
	out.Case = convert.CaseDetailOut(c, s.svc.Ref())
	out.Coordination = coordinationOut(co) // issue 20
	return &dispatchv1.GetTaskResponse{Task: out}, nil
}

// AcknowledgeTask implements dispatchv1.DispatchServiceServer.
func (s *Server) AcknowledgeTask(ctx context.Context, req *dispatchv1.AcknowledgeTaskRequest) (*dispatchv1.AcknowledgeTaskResponse, error) {
	t, err := s.svc.Acknowledge(ctx, dispatch.AckInput{RequestID: req.GetRequestId(), TaskID: req.GetTaskId(),
		ETA: wire.TimeIn(req.GetEta()), Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.AcknowledgeTaskResponse{Task: convert.TaskOut(t)}, nil
}

// RejectTask implements dispatchv1.DispatchServiceServer.
func (s *Server) RejectTask(ctx context.Context, req *dispatchv1.RejectTaskRequest) (*dispatchv1.RejectTaskResponse, error) {
	r, err := s.svc.Reject(ctx, dispatch.RejectInput{RequestID: req.GetRequestId(), TaskID: req.GetTaskId(),
		Reason: convert.RejectReasonIn(req.GetReason()), Note: req.GetNote(), Area: req.GetAreaCode()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.RejectTaskResponse{Task: convert.TaskOut(r.Task), Outcome: convert.RejectOutcomeOut(r.Outcome), NewTask: convert.TaskOut(r.NewTask)}, nil
}

// ForwardTask implements dispatchv1.DispatchServiceServer.
func (s *Server) ForwardTask(ctx context.Context, req *dispatchv1.ForwardTaskRequest) (*dispatchv1.ForwardTaskResponse, error) {
	r, err := s.svc.Forward(ctx, dispatch.ForwardInput{RequestID: req.GetRequestId(), TaskID: req.GetTaskId(),
		Department: req.GetDepartmentCode(), Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.ForwardTaskResponse{Task: convert.TaskOut(r.Task), NewTask: convert.TaskOut(r.NewTask)}, nil
}

// RequestExtension implements dispatchv1.DispatchServiceServer.
func (s *Server) RequestExtension(ctx context.Context, req *dispatchv1.RequestExtensionRequest) (*dispatchv1.RequestExtensionResponse, error) {
	t, err := s.svc.RequestExtension(ctx, dispatch.ExtensionInput{RequestID: req.GetRequestId(), TaskID: req.GetTaskId(),
		Due: wire.TimeIn(req.GetNewDue()), Reason: req.GetReason()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.RequestExtensionResponse{Task: convert.TaskOut(t)}, nil
}

// ReportProgress implements dispatchv1.DispatchServiceServer.
func (s *Server) ReportProgress(ctx context.Context, req *dispatchv1.ReportProgressRequest) (*dispatchv1.ReportProgressResponse, error) {
	t, err := s.svc.ReportProgress(ctx, dispatch.ProgressInput{RequestID: req.GetRequestId(), TaskID: req.GetTaskId(),
		Text: req.GetText(), OnSite: req.GetOnSite()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.ReportProgressResponse{Task: convert.TaskOut(t)}, nil
}

// CompleteTask implements dispatchv1.DispatchServiceServer.
func (s *Server) CompleteTask(ctx context.Context, req *dispatchv1.CompleteTaskRequest) (*dispatchv1.CompleteTaskResponse, error) {
	t, err := s.svc.Complete(ctx, dispatch.CompleteInput{RequestID: req.GetRequestId(), TaskID: req.GetTaskId(),
		Result: req.GetResult(), Evidence: req.GetEvidence()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.CompleteTaskResponse{Task: convert.TaskOut(t)}, nil
}

// ListDispatchQueue implements dispatchv1.DispatchServiceServer.
func (s *Server) ListDispatchQueue(ctx context.Context, req *dispatchv1.ListDispatchQueueRequest) (*dispatchv1.ListDispatchQueueResponse, error) {
	cases, next, err := s.svc.ListCases(ctx, dispatch.CaseFilter{PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &dispatchv1.ListDispatchQueueResponse{NextPageToken: next}
	for _, c := range cases {
		out.Entries = append(out.Entries, convert.QueueEntryOut(c))
	}
	return out, nil
}

// Reassign implements dispatchv1.DispatchServiceServer.
func (s *Server) Reassign(ctx context.Context, req *dispatchv1.ReassignRequest) (*dispatchv1.ReassignResponse, error) {
	t, err := s.svc.Reassign(ctx, dispatch.ReassignInput{RequestID: req.GetRequestId(), CaseID: req.GetCaseId(), TaskID: req.GetTaskId(),
		Department: req.GetDepartmentCode(), Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.ReassignResponse{Task: convert.TaskOut(t)}, nil
}

// DecideExtension implements dispatchv1.DispatchServiceServer.
func (s *Server) DecideExtension(ctx context.Context, req *dispatchv1.DecideExtensionRequest) (*dispatchv1.DecideExtensionResponse, error) {
	var grant bool
	switch req.GetDecision() {
	case dispatchv1.ExtensionDecision_EXTENSION_DECISION_GRANT:
		grant = true
	case dispatchv1.ExtensionDecision_EXTENSION_DECISION_DENY:
	default:
		return nil, invalid("decision", "is required (GRANT or DENY)")
	}
	t, err := s.svc.DecideExtension(ctx, dispatch.DecideExtensionInput{RequestID: req.GetRequestId(), TaskID: req.GetTaskId(),
		Grant: grant, Due: wire.TimeIn(req.GetNewDue()), Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.DecideExtensionResponse{Task: convert.TaskOut(t)}, nil
}

// ReviewCompletion implements dispatchv1.DispatchServiceServer.
func (s *Server) ReviewCompletion(ctx context.Context, req *dispatchv1.ReviewCompletionRequest) (*dispatchv1.ReviewCompletionResponse, error) {
	var approve bool
	switch req.GetDecision() {
	case dispatchv1.ReviewDecision_REVIEW_DECISION_APPROVE:
		approve = true
	case dispatchv1.ReviewDecision_REVIEW_DECISION_RETURN:
	default:
		return nil, invalid("decision", "is required (APPROVE or RETURN)")
	}
	t, err := s.svc.ReviewCompletion(ctx, dispatch.ReviewInput{RequestID: req.GetRequestId(), TaskID: req.GetTaskId(),
		Approve: approve, Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.ReviewCompletionResponse{Task: convert.TaskOut(t)}, nil
}

// Supervise implements dispatchv1.DispatchServiceServer.
func (s *Server) Supervise(ctx context.Context, req *dispatchv1.SuperviseRequest) (*dispatchv1.SuperviseResponse, error) {
	t, err := s.svc.Supervise(ctx, dispatch.SuperviseInput{RequestID: req.GetRequestId(), TaskID: req.GetTaskId(), Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.SuperviseResponse{Task: convert.TaskOut(t)}, nil
}

// ListArbitration implements dispatchv1.DispatchServiceServer.
func (s *Server) ListArbitration(ctx context.Context, req *dispatchv1.ListArbitrationRequest) (*dispatchv1.ListArbitrationResponse, error) {
	cases, next, err := s.svc.ListCases(ctx, dispatch.CaseFilter{Arbitration: true, PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &dispatchv1.ListArbitrationResponse{NextPageToken: next}
	for _, c := range cases {
		out.Arbitrations = append(out.Arbitrations, convert.ArbitrationOut(c))
	}
	return out, nil
}

// Arbitrate implements dispatchv1.DispatchServiceServer.
func (s *Server) Arbitrate(ctx context.Context, req *dispatchv1.ArbitrateRequest) (*dispatchv1.ArbitrateResponse, error) {
	t, err := s.svc.Arbitrate(ctx, dispatch.ArbitrateInput{RequestID: req.GetRequestId(), CaseID: req.GetCaseId(),
		Department: req.GetDepartmentCode(), Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.ArbitrateResponse{Task: convert.TaskOut(t)}, nil
}

// SimulateRoute implements dispatchv1.DispatchServiceServer.
func (s *Server) SimulateRoute(ctx context.Context, req *dispatchv1.SimulateRouteRequest) (*dispatchv1.SimulateRouteResponse, error) {
	in := dispatch.SimulateInput{CaseID: req.GetCaseId(), CaseNumber: req.GetCaseNumber(), HotlineOrderNo: req.GetHotlineOrderNo(),
		Redecide: req.GetRedecideAreaCode()}
	if req.GetFacts() != nil {
		in.Facts = convert.RouteFactsIn(req.GetFacts())
	}
	d, c, err := s.svc.SimulateRoute(ctx, in)
	if err != nil {
		return nil, err
	}
	return convert.DecisionOut(d, c, s.svc.Ref()), nil
}

// CancelCase implements dispatchv1.DispatchServiceServer.
func (s *Server) CancelCase(ctx context.Context, req *dispatchv1.CancelCaseRequest) (*dispatchv1.CancelCaseResponse, error) {
	c, err := s.svc.CancelCase(ctx, dispatch.CancelInput{RequestID: req.GetRequestId(), CaseID: req.GetCaseId(), Reason: req.GetReason()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.CancelCaseResponse{Case: convert.CaseOut(c)}, nil
}

// ParkCase implements dispatchv1.DispatchServiceServer.
func (s *Server) ParkCase(ctx context.Context, req *dispatchv1.ParkCaseRequest) (*dispatchv1.ParkCaseResponse, error) {
	c, err := s.svc.ParkCase(ctx, dispatch.ParkInput{RequestID: req.GetRequestId(), CaseID: req.GetCaseId(), Reason: req.GetReason(),
		ReviewDate: req.GetReviewDate()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.ParkCaseResponse{Case: convert.CaseOut(c)}, nil
}

// UnparkCase implements dispatchv1.DispatchServiceServer.
func (s *Server) UnparkCase(ctx context.Context, req *dispatchv1.UnparkCaseRequest) (*dispatchv1.UnparkCaseResponse, error) {
	c, err := s.svc.UnparkCase(ctx, dispatch.UnparkInput{RequestID: req.GetRequestId(), CaseID: req.GetCaseId(), Reason: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.UnparkCaseResponse{Case: convert.CaseOut(c)}, nil
}

// ExcludeCase implements dispatchv1.DispatchServiceServer.
func (s *Server) ExcludeCase(ctx context.Context, req *dispatchv1.ExcludeCaseRequest) (*dispatchv1.ExcludeCaseResponse, error) {
	c, err := s.svc.ExcludeCase(ctx, dispatch.ExcludeInput{RequestID: req.GetRequestId(), CaseID: req.GetCaseId(), Reason: req.GetReason()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.ExcludeCaseResponse{Case: convert.CaseOut(c)}, nil
}

// ListReferenceReloads implements dispatchv1.DispatchServiceServer.
func (s *Server) ListReferenceReloads(ctx context.Context, req *dispatchv1.ListReferenceReloadsRequest) (*dispatchv1.ListReferenceReloadsResponse, error) {
	rs, next, err := s.svc.ListReferenceReloads(ctx, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &dispatchv1.ListReferenceReloadsResponse{NextPageToken: next}
	for _, r := range rs {
		out.Reloads = append(out.Reloads, convert.ReloadOut(r))
	}
	return out, nil
}
