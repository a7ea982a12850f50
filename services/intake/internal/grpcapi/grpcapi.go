// Package grpcapi serves gridflow.intake.v1: it translates requests into
// domain calls and results back, one domain call per method. Errors are
// domain faults; pkg/grpcserver maps them to codes.
package grpcapi

import (
	"context"
	"github.com/gridflow/gridflow/pkg/reloadlog"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/intake/internal/convert"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// Server implements intakev1.IntakeServiceServer.
type Server struct {
	intakev1.UnimplementedIntakeServiceServer
	svc     *intake.Service
	reloads *reloadlog.Log
}

// New returns the gRPC face of svc.
func New(svc *intake.Service) *Server { return &Server{svc: svc} }

// SubmitWorkOrder implements intakev1.IntakeServiceServer.
func (s *Server) SubmitWorkOrder(ctx context.Context, req *intakev1.SubmitWorkOrderRequest) (*intakev1.SubmitWorkOrderResponse, error) {
	if req.GetWorkOrder() == nil {
		return nil, required("work_order")
	}
	sub, err := s.svc.SubmitWorkOrder(ctx, convert.WorkOrderIn(req.GetWorkOrder()))
	if err != nil {
		return nil, err
	}
	return &intakev1.SubmitWorkOrderResponse{Submission: convert.SubmissionOut(sub)}, nil
}

// GetSubmission implements intakev1.IntakeServiceServer.
func (s *Server) GetSubmission(ctx context.Context, req *intakev1.GetSubmissionRequest) (*intakev1.GetSubmissionResponse, error) {
	sub, err := s.svc.GetSubmission(ctx, intake.Key{
		CaseID: req.GetCaseId(), CaseNumber: req.GetCaseNumber(), HotlineOrderNo: req.GetHotlineOrderNo(),
	})
	if err != nil {
		return nil, err
	}
	return &intakev1.GetSubmissionResponse{Submission: convert.SubmissionOut(sub)}, nil
}

// SubmitPatrolReport implements intakev1.IntakeServiceServer.
func (s *Server) SubmitPatrolReport(ctx context.Context, req *intakev1.SubmitPatrolReportRequest) (*intakev1.SubmitPatrolReportResponse, error) {
	if req.GetReport() == nil {
		return nil, required("report")
	}
	sub, err := s.svc.SubmitReport(ctx, convert.PatrolIn(req.GetReport()), convert.SelfDisposalIn(req.GetReport()))
	if err != nil {
		return nil, err
	}
	return &intakev1.SubmitPatrolReportResponse{Submission: convert.SubmissionOut(sub)}, nil
}

// RaiseIssue implements intakev1.IntakeServiceServer.
func (s *Server) RaiseIssue(ctx context.Context, req *intakev1.RaiseIssueRequest) (*intakev1.RaiseIssueResponse, error) {
	if req.GetIssue() == nil {
		return nil, required("issue")
	}
	sub, err := s.svc.RaiseIssue(ctx, convert.IssueIn(req.GetIssue()))
	if err != nil {
		return nil, err
	}
	return &intakev1.RaiseIssueResponse{Submission: convert.SubmissionOut(sub)}, nil
}

// AddFollowUp implements intakev1.IntakeServiceServer.
func (s *Server) AddFollowUp(ctx context.Context, req *intakev1.AddFollowUpRequest) (*intakev1.AddFollowUpResponse, error) {
	f, err := s.svc.AddFollowUp(ctx, intake.Key{CaseNumber: req.GetCaseNumber(), HotlineOrderNo: req.GetHotlineOrderNo()},
		intake.FollowUp{RequestID: req.GetRequestId(), Kind: convert.FollowUpKindIn(req.GetKind()), Text: req.GetText()})
	if err != nil {
		return nil, err
	}
	return &intakev1.AddFollowUpResponse{FollowUp: convert.FollowUpOut(f)}, nil
}

// ListSubmissions implements intakev1.IntakeServiceServer.
func (s *Server) ListSubmissions(ctx context.Context, req *intakev1.ListSubmissionsRequest) (*intakev1.ListSubmissionsResponse, error) {
	f := intake.ListFilter{Source: wire.SourceIn(req.GetSource()), District: req.GetDistrictCode(), Street: req.GetStreetCode(),
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()}
	if req.GetAcceptedAfter() != nil {
		f.After = req.GetAcceptedAfter().AsTime()
	}
	if req.GetAcceptedBefore() != nil {
		f.Before = req.GetAcceptedBefore().AsTime()
	}
	subs, next, err := s.svc.ListSubmissions(ctx, f)
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListSubmissionsResponse{NextPageToken: next}
	for _, sub := range subs {
		resp.Submissions = append(resp.Submissions, convert.SubmissionOut(sub))
	}
	return resp, nil
}

// ReadContact implements intakev1.IntakeServiceServer.
func (s *Server) ReadContact(ctx context.Context, req *intakev1.ReadContactRequest) (*intakev1.ReadContactResponse, error) {
	sub, c, at, err := s.svc.ReadContact(ctx, req.GetCaseId(), req.GetCaseNumber(), req.GetHotlineOrderNo())
	if err != nil {
		return nil, err
	}
	return &intakev1.ReadContactResponse{CaseId: sub.CaseID, CaseNumber: sub.CaseNumber, Contact: convert.ContactOut(c),
		ReadAt: timestamppb.New(at)}, nil
}

func required(field string) error {
	var v fault.Violations
	v.Add(field, "is required")
	return v.Err()
}
