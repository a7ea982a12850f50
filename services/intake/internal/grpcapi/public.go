package grpcapi

import (
	"context"

	"github.com/gridflow/gridflow/services/intake/internal/convert"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// Public implements intakev1.PublicIntakeServiceServer: the public's
// Open311 requests (issue 19).
type Public struct {
	intakev1.UnimplementedPublicIntakeServiceServer
	svc *intake.Service
}

// NewPublic returns the public door of svc.
func NewPublic(svc *intake.Service) *Public { return &Public{svc: svc} }

// SubmitPublicRequest implements intakev1.PublicIntakeServiceServer.
func (s *Public) SubmitPublicRequest(ctx context.Context, req *intakev1.SubmitPublicRequestRequest) (*intakev1.SubmitPublicRequestResponse, error) {
	r := req.GetRequest()
	if r == nil {
		return nil, required("request")
	}
	sub, err := s.svc.SubmitPublicRequest(ctx, intake.PublicRequest{RequestID: r.GetRequestId(), ServiceCode: r.GetServiceCode(),
		Description: r.GetDescription(), Location: convert.LatLngIn(r.GetLocation()), Address: r.GetAddress(), MediaURL: r.GetMediaUrl()})
	if err != nil {
		return nil, err
	}
	return &intakev1.SubmitPublicRequestResponse{CaseId: sub.CaseID, CaseNumber: sub.CaseNumber, AcceptedAt: timestamppb.New(sub.AcceptedAt)}, nil
}
