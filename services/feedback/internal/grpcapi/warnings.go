package grpcapi

import (
	"context"
	"strings"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/feedback/internal/events"
	"github.com/gridflow/gridflow/services/feedback/internal/warning"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// Early warning (issue 20): WarningService over internal/warning.

// WarningServer implements feedbackv1.WarningServiceServer.
type WarningServer struct {
	feedbackv1.UnimplementedWarningServiceServer
	svc *warning.Service
}

// NewWarnings returns the warning server.
func NewWarnings(svc *warning.Service) *WarningServer { return &WarningServer{svc: svc} }

func authorizeWarnings(ctx context.Context, rpc string) (auth.Principal, policy.Scope, error) {
	return policy.Authorize(ctx, policy.Method(policy.WarningService, rpc))
}

var warningStates = map[warning.State]feedbackv1.WarningState{
	warning.Raised: feedbackv1.WarningState_WARNING_STATE_RAISED, warning.Acknowledged: feedbackv1.WarningState_WARNING_STATE_ACKNOWLEDGED,
	warning.Dismissed: feedbackv1.WarningState_WARNING_STATE_DISMISSED,
}

// WarningOut is a warning as the API answers it.
func WarningOut(w *warning.Warning) *feedbackv1.Warning {
	return &feedbackv1.Warning{Key: events.WarningKeyOut(w), Reasons: events.WarningReasonsOut(w.Reasons), State: warningStates[w.State],
		Level: uint32(w.Level), RaisedAt: wire.TimeOut(w.RaisedAt), ActedBy: wire.PrincipalOut(w.ActedBy), ActedAt: wire.TimeOut(w.ActedAt),
		Note: w.Note, DismissedRise: w.DismissedRise}
}

func stateIn(s feedbackv1.WarningState) warning.State {
	for k, v := range warningStates {
		if v == s {
			return k
		}
	}
	if s == feedbackv1.WarningState_WARNING_STATE_UNSPECIFIED {
		return ""
	}
	// A number this build does not know: the domain refuses it by name.
	return warning.State(strings.ToLower(s.String()))
}

// ListWarnings implements feedbackv1.WarningServiceServer.
func (s *WarningServer) ListWarnings(ctx context.Context, req *feedbackv1.ListWarningsRequest) (*feedbackv1.ListWarningsResponse, error) {
	_, sc, err := authorizeWarnings(ctx, "ListWarnings")
	if err != nil {
		return nil, err
	}
	ws, next, err := s.svc.List(ctx, sc, warning.Filter{State: stateIn(req.GetState()), Kind: warning.Kind(req.GetKind()),
		Area: req.GetAreaCode(), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &feedbackv1.ListWarningsResponse{NextPageToken: next}
	for i := range ws {
		resp.Warnings = append(resp.Warnings, WarningOut(&ws[i]))
	}
	return resp, nil
}

// GetWarning implements feedbackv1.WarningServiceServer.
func (s *WarningServer) GetWarning(ctx context.Context, req *feedbackv1.GetWarningRequest) (*feedbackv1.GetWarningResponse, error) {
	_, sc, err := authorizeWarnings(ctx, "GetWarning")
	if err != nil {
		return nil, err
	}
	w, err := s.svc.Get(ctx, sc, req.GetWarningId())
	if err != nil {
		return nil, err
	}
	return &feedbackv1.GetWarningResponse{Warning: WarningOut(w)}, nil
}

// AcknowledgeWarning implements feedbackv1.WarningServiceServer.
func (s *WarningServer) AcknowledgeWarning(ctx context.Context, req *feedbackv1.AcknowledgeWarningRequest) (*feedbackv1.AcknowledgeWarningResponse, error) {
	p, sc, err := authorizeWarnings(ctx, "AcknowledgeWarning")
	if err != nil {
		return nil, err
	}
	w, err := s.svc.Acknowledge(ctx, p, sc, req.GetRequestId(), req.GetWarningId(), req.GetNote())
	if err != nil {
		return nil, err
	}
	return &feedbackv1.AcknowledgeWarningResponse{Warning: WarningOut(w)}, nil
}

// DismissWarning implements feedbackv1.WarningServiceServer.
func (s *WarningServer) DismissWarning(ctx context.Context, req *feedbackv1.DismissWarningRequest) (*feedbackv1.DismissWarningResponse, error) {
	p, sc, err := authorizeWarnings(ctx, "DismissWarning")
	if err != nil {
		return nil, err
	}
	w, err := s.svc.Dismiss(ctx, p, sc, req.GetRequestId(), req.GetWarningId(), req.GetNote())
	if err != nil {
		return nil, err
	}
	return &feedbackv1.DismissWarningResponse{Warning: WarningOut(w)}, nil
}
