package grpcapi

// Issue 20, places (以房管人): the gRPC face of the place registry.

import (
	"context"

	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/convert"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
)

// PlaceServer implements classifyv1.PlaceServiceServer.
type PlaceServer struct {
	classifyv1.UnimplementedPlaceServiceServer
	places *classify.Places
}

// NewPlaces returns the gRPC face of the place registry.
func NewPlaces(places *classify.Places) *PlaceServer { return &PlaceServer{places: places} }

// ImportPlaces implements classifyv1.PlaceServiceServer.
func (s *PlaceServer) ImportPlaces(ctx context.Context, req *classifyv1.ImportPlacesRequest) (*classifyv1.ImportPlacesResponse, error) {
	res, err := s.places.ImportPlaces(ctx, req.GetRequestId(), convert.PlaceRowsIn(req.GetRows()))
	if err != nil {
		return nil, err
	}
	resp := &classifyv1.ImportPlacesResponse{Created: uint32(res.Created), Updated: uint32(res.Updated),
		Unchanged: uint32(res.Unchanged), Refused: uint32(res.Refused)}
	for _, r := range res.Refusals {
		resp.Refusals = append(resp.Refusals, &classifyv1.RowRefusal{Row: uint32(r.Row), Field: r.Field, Reason: r.Reason})
	}
	return resp, nil
}

// RecordPlaceFinding implements classifyv1.PlaceServiceServer.
func (s *PlaceServer) RecordPlaceFinding(ctx context.Context, req *classifyv1.RecordPlaceFindingRequest) (*classifyv1.RecordPlaceFindingResponse, error) {
	p, changed, err := s.places.RecordFinding(ctx, classify.Finding{RequestID: req.GetRequestId(), Key: req.GetPlaceKey(),
		Address: req.GetAddress(), Status: req.GetStatus(), Kind: req.GetKind(), Name: req.GetName(), Note: req.GetNote()})
	if err != nil {
		return nil, err
	}
	return &classifyv1.RecordPlaceFindingResponse{Place: convert.PlaceOut(p), Changed: changed}, nil
}

// GetPlace implements classifyv1.PlaceServiceServer.
func (s *PlaceServer) GetPlace(ctx context.Context, req *classifyv1.GetPlaceRequest) (*classifyv1.GetPlaceResponse, error) {
	p, err := s.places.GetPlace(ctx, req.GetPlaceKey(), req.GetAddress())
	if err != nil {
		return nil, err
	}
	return &classifyv1.GetPlaceResponse{Place: convert.PlaceOut(p)}, nil
}

// ListPlaces implements classifyv1.PlaceServiceServer.
func (s *PlaceServer) ListPlaces(ctx context.Context, req *classifyv1.ListPlacesRequest) (*classifyv1.ListPlacesResponse, error) {
	ps, next, err := s.places.ListPlaces(ctx, classify.PlaceFilter{Kind: req.GetKind(), Status: req.GetStatus(),
		Street: req.GetStreetCode(), Community: req.GetCommunityCode(), Grid: req.GetGridCode(),
		IncludeRetired: req.GetIncludeRetired(), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &classifyv1.ListPlacesResponse{NextPageToken: next}
	for _, p := range ps {
		resp.Places = append(resp.Places, convert.PlaceOut(p))
	}
	return resp, nil
}

// GetPlaceHistory implements classifyv1.PlaceServiceServer.
func (s *PlaceServer) GetPlaceHistory(ctx context.Context, req *classifyv1.GetPlaceHistoryRequest) (*classifyv1.GetPlaceHistoryResponse, error) {
	hr := classify.HistoryRequest{Key: req.GetPlaceKey(), Address: req.GetAddress(), CaseID: req.GetCaseId(), Lane: req.GetLane(),
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()}
	if t := req.GetFrom(); t != nil {
		hr.From = t.AsTime()
	}
	if t := req.GetTo(); t != nil {
		hr.To = t.AsTime()
	}
	h, err := s.places.GetPlaceHistory(ctx, hr)
	if err != nil {
		return nil, err
	}
	return convert.HistoryOut(h), nil
}
