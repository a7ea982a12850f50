package grpcapi

import (
	"context"

	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/dispatch/internal/convert"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Coordination implements dispatchv1.CoordinationServiceServer: a source
// place's coordinated work (issue 20).
type Coordination struct {
	dispatchv1.UnimplementedCoordinationServiceServer
	svc *dispatch.Service
}

// NewCoordination returns the gRPC face of svc's coordinations.
func NewCoordination(svc *dispatch.Service) *Coordination { return &Coordination{svc: svc} }

// GetCoordination implements dispatchv1.CoordinationServiceServer.
func (s *Coordination) GetCoordination(ctx context.Context, req *dispatchv1.GetCoordinationRequest) (*dispatchv1.GetCoordinationResponse, error) {
	co, tasks, err := s.svc.GetCoordination(ctx, req.GetSourcePlaceId())
	if err != nil {
		return nil, err
	}
	out := &dispatchv1.GetCoordinationResponse{Coordination: coordinationOut(co), Version: uint64(co.Version), IncidentIds: co.IncidentIDs,
		Area: &typesv1.Area{DistrictCode: co.District, StreetCode: co.Street}}
	for _, ct := range tasks {
		t := ct.Task
		out.Tasks = append(out.Tasks, &dispatchv1.CoordinatedTask{TaskId: t.ID, CaseId: t.CaseID, CaseNumber: t.CaseNumber,
			IncidentId: ct.IncidentID, ItemCode: ct.ItemCode, DepartmentCode: t.Department, Role: convert.RoleOut(t.Role),
			State: convert.StateOut(t.State), Deadlines: convert.DeadlinesOut(t.Deadlines), Warned: t.Warned, Overdue: t.Overdue,
			Escalated: t.Escalated, DispatchedAt: wire.TimeOut(t.DispatchedAt), UpdatedAt: wire.TimeOut(t.UpdatedAt)})
	}
	return out, nil
}

func coordinationOut(co *dispatch.Coordination) *dispatchv1.Coordination {
	if co == nil {
		return nil
	}
	return &dispatchv1.Coordination{SourcePlaceId: co.SourcePlaceID, LeadDepartmentCode: co.Lead, Open: co.Open, PlaceKey: co.PlaceKey}
}

// withCoordination fills each task's coordination (GetTask, ListTasks).
func (s *Server) withCoordination(ctx context.Context, tasks []*dispatch.Task, out []*dispatchv1.Task) error {
	cos, err := s.svc.Coordinations(ctx, tasks...)
	if err != nil {
		return err
	}
	for i, t := range tasks {
		out[i].Coordination = coordinationOut(cos[t.CaseID])
	}
	return nil
}
