// Package grpcapi serves gridflow.classify.v1: it translates requests into
// domain calls and results back, one domain call per method. Errors are
// domain faults; pkg/grpcserver maps them to codes.
package grpcapi

import (
	"context"
	"github.com/gridflow/gridflow/pkg/reloadlog"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/convert"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
)

// Server implements classifyv1.ClassifyServiceServer.
type Server struct {
	classifyv1.UnimplementedClassifyServiceServer
	svc     *classify.Service
	reloads *reloadlog.Log
	ref     func() *reference.Set
	now     func() time.Time
}

// New returns the gRPC face of svc; ref names catalogue entries in answers.
func New(svc *classify.Service, ref func() *reference.Set, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	return &Server{svc: svc, ref: ref, now: now}
}

// ListCatalogue implements classifyv1.ClassifyServiceServer.
func (s *Server) ListCatalogue(ctx context.Context, req *classifyv1.ListCatalogueRequest) (*classifyv1.ListCatalogueResponse, error) {
	tree, ok := convert.TreeIn(req.GetTree())
	if !ok {
		return nil, invalid("tree", "is not a known tree")
	}
	items, next, digest, err := s.svc.ListCatalogue(ctx, classify.CatalogueFilter{Tree: tree, Class: req.GetClassCode(),
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &classifyv1.ListCatalogueResponse{NextPageToken: next, ReferenceDigest: digest}
	for _, it := range items {
		resp.Items = append(resp.Items, convert.ItemOut(it))
	}
	return resp, nil
}

// GetCatalogueItem implements classifyv1.ClassifyServiceServer.
func (s *Server) GetCatalogueItem(ctx context.Context, req *classifyv1.GetCatalogueItemRequest) (*classifyv1.GetCatalogueItemResponse, error) {
	it, err := s.svc.GetCatalogueItem(ctx, req.GetCode(), req.GetName())
	if err != nil {
		return nil, err
	}
	return &classifyv1.GetCatalogueItemResponse{Item: convert.ItemOut(it)}, nil
}

// ListReviewQueue implements classifyv1.ClassifyServiceServer.
func (s *Server) ListReviewQueue(ctx context.Context, req *classifyv1.ListReviewQueueRequest) (*classifyv1.ListReviewQueueResponse, error) {
	recs, next, err := s.svc.ListReviewQueue(ctx, classify.ReviewFilter{District: req.GetDistrictCode(), Street: req.GetStreetCode(),
		IncludeResolved: req.GetIncludeResolved(), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &classifyv1.ListReviewQueueResponse{NextPageToken: next}
	for _, r := range recs {
		resp.Reviews = append(resp.Reviews, convert.ReviewOut(r))
	}
	return resp, nil
}

func decisionIn(requestID, caseID, item string, u reference.Urgency, note string) classify.Decision {
	return classify.Decision{RequestID: requestID, CaseID: caseID, ItemCode: item, Urgency: u, Note: note}
}

// ResolveReview implements classifyv1.ClassifyServiceServer.
func (s *Server) ResolveReview(ctx context.Context, req *classifyv1.ResolveReviewRequest) (*classifyv1.ResolveReviewResponse, error) {
	c, err := s.svc.ResolveReview(ctx, decisionIn(req.GetRequestId(), req.GetCaseId(), req.GetItemCode(),
		wire.UrgencyIn(req.GetUrgency()), req.GetNote()))
	if err != nil {
		return nil, err
	}
	return &classifyv1.ResolveReviewResponse{Classification: convert.ClassificationOut(c)}, nil
}

// Reclassify implements classifyv1.ClassifyServiceServer.
func (s *Server) Reclassify(ctx context.Context, req *classifyv1.ReclassifyRequest) (*classifyv1.ReclassifyResponse, error) {
	c, err := s.svc.Reclassify(ctx, decisionIn(req.GetRequestId(), req.GetCaseId(), req.GetItemCode(),
		wire.UrgencyIn(req.GetUrgency()), req.GetNote()))
	if err != nil {
		return nil, err
	}
	return &classifyv1.ReclassifyResponse{Classification: convert.ClassificationOut(c)}, nil
}

// GetClassification implements classifyv1.ClassifyServiceServer.
func (s *Server) GetClassification(ctx context.Context, req *classifyv1.GetClassificationRequest) (*classifyv1.GetClassificationResponse, error) {
	rec, vs, err := s.svc.GetClassification(ctx, req.GetCaseId(), req.GetCaseNumber(), req.GetHotlineOrderNo())
	if err != nil {
		return nil, err
	}
	resp := &classifyv1.GetClassificationResponse{Review: convert.ReviewOut(rec)}
	for i := range vs {
		resp.Versions = append(resp.Versions, convert.ClassificationOut(&vs[i]))
	}
	return resp, nil
}

func (s *Server) incidentOut(inc *classify.Incident, sp *classify.SourcePlace) *classifyv1.Incident {
	name, window := "", reference.DefaultDuplicateWindow
	if it, ok := s.ref().Item(inc.ItemCode); ok {
		name, window = it.Name, it.DuplicateWindow
	}
	return convert.IncidentOut(inc, sp, name, window, s.now())
}

// GetIncident implements classifyv1.ClassifyServiceServer.
func (s *Server) GetIncident(ctx context.Context, req *classifyv1.GetIncidentRequest) (*classifyv1.GetIncidentResponse, error) {
	inc, sp, err := s.svc.GetIncident(ctx, req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	return &classifyv1.GetIncidentResponse{Incident: s.incidentOut(inc, sp)}, nil
}

// ListIncidents implements classifyv1.ClassifyServiceServer.
func (s *Server) ListIncidents(ctx context.Context, req *classifyv1.ListIncidentsRequest) (*classifyv1.ListIncidentsResponse, error) {
	incs, next, err := s.svc.ListIncidents(ctx, classify.IncidentFilter{District: req.GetDistrictCode(), Street: req.GetStreetCode(),
		MinReports: int(req.GetMinReports()), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &classifyv1.ListIncidentsResponse{NextPageToken: next}
	for _, inc := range incs {
		resp.Incidents = append(resp.Incidents, s.incidentOut(inc, nil))
	}
	return resp, nil
}

// ListCorrections implements classifyv1.ClassifyServiceServer.
func (s *Server) ListCorrections(ctx context.Context, req *classifyv1.ListCorrectionsRequest) (*classifyv1.ListCorrectionsResponse, error) {
	f := classify.CorrectionFilter{PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()}
	if t := req.GetCorrectedAfter(); t != nil {
		f.After = t.AsTime()
	}
	cs, next, err := s.svc.ListCorrections(ctx, f)
	if err != nil {
		return nil, err
	}
	ref := s.ref()
	resp := &classifyv1.ListCorrectionsResponse{NextPageToken: next}
	for i := range cs {
		fl := ""
		if it, ok := ref.FirstLevel(cs[i].ItemCode); ok {
			fl = it.Name
		}
		resp.Corrections = append(resp.Corrections, convert.CorrectionOut(&cs[i], fl))
	}
	return resp, nil
}

// ReloadModel implements classifyv1.ClassifyServiceServer.
func (s *Server) ReloadModel(ctx context.Context, _ *classifyv1.ReloadModelRequest) (*classifyv1.ReloadModelResponse, error) {
	r, err := s.svc.Reload(ctx)
	if err != nil {
		return nil, err
	}
	return &classifyv1.ReloadModelResponse{ModelVersion: r.ModelVersion, PreviousModelVersion: r.PreviousModelVersion,
		Source: r.Source, Labels: uint32(r.Labels), ReferenceDigest: r.ReferenceDigest, KeywordRules: uint32(r.KeywordRules),
		Figures: convert.FiguresOut(r.Figures), PreviousFigures: convert.FiguresOut(r.Against),
		ItemModelVersion: r.ItemModelVersion, PreviousItemModelVersion: r.PreviousItemModelVersion,
		ItemFigures: convert.FiguresOut(r.ItemFigures), PreviousItemFigures: convert.FiguresOut(r.ItemAgainst)}, nil
}

// RetrainModel implements classifyv1.ClassifyServiceServer.
func (s *Server) RetrainModel(ctx context.Context, _ *classifyv1.RetrainModelRequest) (*classifyv1.RetrainModelResponse, error) {
	r, err := s.svc.Retrain(ctx)
	if err != nil {
		return nil, err
	}
	return &classifyv1.RetrainModelResponse{ModelVersion: r.ModelVersion, PreviousModelVersion: r.PreviousModelVersion,
		Figures: convert.FiguresOut(r.Figures), PreviousFigures: convert.FiguresOut(r.Against),
		ItemModelVersion: r.ItemModelVersion, PreviousItemModelVersion: r.PreviousItemModelVersion,
		ItemFigures: convert.FiguresOut(r.ItemFigures), PreviousItemFigures: convert.FiguresOut(r.ItemAgainst)}, nil
}

// ListModels implements classifyv1.ClassifyServiceServer.
func (s *Server) ListModels(ctx context.Context, req *classifyv1.ListModelsRequest) (*classifyv1.ListModelsResponse, error) {
	ms, next, err := s.svc.ListModels(ctx, classify.ModelFilter{PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &classifyv1.ListModelsResponse{NextPageToken: next}
	for i := range ms {
		resp.Models = append(resp.Models, convert.ModelOut(&ms[i]))
	}
	return resp, nil
}

func invalid(field, reason string) error {
	var v fault.Violations
	v.Add(field, "%s", reason)
	return v.Err()
}
