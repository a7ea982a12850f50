package grpcapi

import (
	"context"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/feedback/internal/convert"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// SelfDisposals implements feedbackv1.SelfDisposalServiceServer (issue 20):
// the grid leader's list and check of self-disposals, and 自处率.
type SelfDisposals struct {
	feedbackv1.UnimplementedSelfDisposalServiceServer
	svc   *feedback.Service
	reads *feedback.SelfDisposals
}

// NewSelfDisposals returns the server.
func NewSelfDisposals(svc *feedback.Service, reads *feedback.SelfDisposals) *SelfDisposals {
	return &SelfDisposals{svc: svc, reads: reads}
}

func authorizeSelfDisposal(ctx context.Context, rpc string) (auth.Principal, policy.Scope, error) {
	return policy.Authorize(ctx, policy.Method(policy.SelfDisposalService, rpc))
}

var statuses = map[feedbackv1.SelfDisposalStatus]feedback.SelfDisposalStatus{
	feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_UNSPECIFIED: "",
	feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_PENDING:     feedback.StatusPending,
	feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_CONFIRMED:   feedback.StatusConfirmed,
	feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_SENT_BACK:   feedback.StatusSentBack,
}

// ListSelfDisposals lists the self-disposals within the caller's reach.
func (s *SelfDisposals) ListSelfDisposals(ctx context.Context, req *feedbackv1.ListSelfDisposalsRequest) (*feedbackv1.ListSelfDisposalsResponse, error) {
	_, sc, err := authorizeSelfDisposal(ctx, "ListSelfDisposals")
	if err != nil {
		return nil, err
	}
	st, ok := statuses[req.GetStatus()]
	if !ok {
		st = "unknown" // refused by the domain, naming the field
	}
	cases, next, err := s.reads.List(ctx, feedback.SelfDisposalFilter{Scope: sc, Area: req.GetAreaCode(), Status: st,
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &feedbackv1.ListSelfDisposalsResponse{NextPageToken: next}
	for _, c := range cases {
		out.SelfDisposals = append(out.SelfDisposals, convert.SelfDisposalOut(c))
	}
	return out, nil
}

// CheckSelfDisposal records the grid leader's check.
func (s *SelfDisposals) CheckSelfDisposal(ctx context.Context, req *feedbackv1.CheckSelfDisposalRequest) (*feedbackv1.CheckSelfDisposalResponse, error) {
	p, sc, err := authorizeSelfDisposal(ctx, "CheckSelfDisposal")
	if err != nil {
		return nil, err
	}
	v := feedback.Verdict("unknown") // refused by the domain, naming the field
	switch req.GetVerdict() {
	case feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_CONFIRMED:
		v = feedback.VerdictConfirmed
	case feedbackv1.SelfDisposalStatus_SELF_DISPOSAL_STATUS_SENT_BACK:
		v = feedback.VerdictSentBack
	}
	c, err := s.svc.CheckSelfDisposal(ctx, sc, p.Actor(), feedback.CheckInput{RequestID: req.GetRequestId(), CaseID: req.GetCaseId(),
		Verdict: v, Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &feedbackv1.CheckSelfDisposalResponse{SelfDisposal: convert.SelfDisposalOut(c), Case: convert.CaseOut(c, nil)}, nil
}

// GetSelfDisposalFigures computes 自处率 per grid and worker.
func (s *SelfDisposals) GetSelfDisposalFigures(ctx context.Context, req *feedbackv1.GetSelfDisposalFiguresRequest) (*feedbackv1.GetSelfDisposalFiguresResponse, error) {
	_, sc, err := authorizeSelfDisposal(ctx, "GetSelfDisposalFigures")
	if err != nil {
		return nil, err
	}
	f, err := s.reads.Figures(ctx, sc, req.GetAreaCode(), convert.PeriodIn(req.GetPeriod()))
	if err != nil {
		return nil, err
	}
	out := &feedbackv1.GetSelfDisposalFiguresResponse{AreaCode: f.Area, Period: req.GetPeriod(), Total: convert.SelfDisposalCountOut(f.Total)}
	for _, g := range f.Grids {
		out.Grids = append(out.Grids, convert.SelfDisposalCountOut(g))
	}
	for _, w := range f.Workers {
		out.Workers = append(out.Workers, convert.SelfDisposalCountOut(w))
	}
	return out, nil
}
