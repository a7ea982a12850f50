package grpcapi

import (
	"context"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reloadlog"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// ListsReloadsFrom tells the server where the service's loads of reference
// data are recorded (pkg/reloadlog), for ListReferenceReloads, and returns
// it.
func (s *Server) ListsReloadsFrom(l *reloadlog.Log) *Server {
	s.reloads = l
	return s
}

// ListReferenceReloads implements feedbackv1.FeedbackServiceServer: which
// reference data the service ran on, and who put it in force — for the
// people answerable for routing (pkg/policy: admin, dispatchers,
// districts).
func (s *Server) ListReferenceReloads(ctx context.Context, req *feedbackv1.ListReferenceReloadsRequest) (*feedbackv1.ListReferenceReloadsResponse, error) {
	if s.reloads == nil {
		return nil, fault.New(fault.Unavailable, "reference reloads are not recorded by this process")
	}
	rs, next, err := s.reloads.Page(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &feedbackv1.ListReferenceReloadsResponse{Reloads: rs, NextPageToken: next}, nil
}
