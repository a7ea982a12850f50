package grpcapi

import (
	"context"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/feedback/internal/convert"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Public implements feedbackv1.PublicCaseServiceServer: the public cases
// for the Open311 door (issue 19).
type Public struct {
	feedbackv1.UnimplementedPublicCaseServiceServer
	svc *feedback.Service
}

// NewPublic returns the public read of svc.
func NewPublic(svc *feedback.Service) *Public { return &Public{svc: svc} }

func publicCaseOut(v *feedback.PublicView) *feedbackv1.PublicCase {
	c := v.Case
	out := &feedbackv1.PublicCase{CaseId: c.ID, CaseNumber: c.Number, State: convert.StateOut(c.State), Closed: feedback.IsPublicClosed(c),
		ItemCode: c.ItemCode, ItemName: c.ItemName, Area: wire.AreaOut(c.Area), Reply: feedback.PublicReply(c),
		LeadDepartmentCode: v.Lead, ReceivedAt: wire.TimeOut(c.ReceivedAt), UpdatedAt: wire.TimeOut(c.UpdatedAt)}
	if p := c.Public; p != nil {
		out.ServiceCode, out.Description, out.MediaUrl = p.ServiceCode, p.Description, p.MediaURL
		if p.Located {
			out.Location = &typesv1.LatLng{Lat: p.Lat, Lng: p.Lng, Datum: typesv1.Datum_DATUM_WGS84}
		}
	}
	switch {
	case c.IsCancelled:
		out.StateReason = c.CancelReason
	case c.IsParked:
		out.StateReason = c.ParkReason
	case c.IsClosed:
		out.StateReason = c.CloseReason
	}
	return out
}

// ListPublicCases implements feedbackv1.PublicCaseServiceServer.
func (s *Public) ListPublicCases(ctx context.Context, req *feedbackv1.ListPublicCasesRequest) (*feedbackv1.ListPublicCasesResponse, error) {
	f := feedback.PublicFilter{CaseIDs: req.GetCaseIds(), ServiceCode: req.GetServiceCode(), From: wire.TimeIn(req.GetReceivedFrom()),
		To: wire.TimeIn(req.GetReceivedTo()), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()}
	switch req.GetStatus() {
	case feedbackv1.PublicStatus_PUBLIC_STATUS_OPEN:
		f.Closed = new(bool)
	case feedbackv1.PublicStatus_PUBLIC_STATUS_CLOSED:
		closed := true
		f.Closed = &closed
	case feedbackv1.PublicStatus_PUBLIC_STATUS_UNSPECIFIED:
	default:
		var vs fault.Violations
		vs.Add("status", "unknown status %v", req.GetStatus())
		return nil, vs.Err()
	}
	cs, next, err := s.svc.ListPublicCases(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &feedbackv1.ListPublicCasesResponse{NextPageToken: next}
	for _, c := range cs {
		out.Cases = append(out.Cases, publicCaseOut(c))
	}
	return out, nil
}

// GetPublicCase implements feedbackv1.PublicCaseServiceServer.
func (s *Public) GetPublicCase(ctx context.Context, req *feedbackv1.GetPublicCaseRequest) (*feedbackv1.GetPublicCaseResponse, error) {
	c, err := s.svc.GetPublicCase(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	return &feedbackv1.GetPublicCaseResponse{Case: publicCaseOut(c)}, nil
}
