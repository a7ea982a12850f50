package grpcapi

import (
	"context"

	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/classify/internal/classify"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
)

// SourcePlaces implements classifyv1.SourcePlaceServiceServer: a source
// place's coordination (issue 20).
type SourcePlaces struct {
	classifyv1.UnimplementedSourcePlaceServiceServer
	svc *classify.Service
}

// NewSourcePlaces returns the gRPC face of svc's source places.
func NewSourcePlaces(svc *classify.Service) *SourcePlaces { return &SourcePlaces{svc: svc} }

// SetSourcePlaceLead implements classifyv1.SourcePlaceServiceServer.
func (s *SourcePlaces) SetSourcePlaceLead(ctx context.Context, req *classifyv1.SetSourcePlaceLeadRequest) (*classifyv1.SetSourcePlaceLeadResponse, error) {
	sp, err := s.svc.SetSourcePlaceLead(ctx, classify.PlaceCommand{RequestID: req.GetRequestId(), SourcePlaceID: req.GetSourcePlaceId(),
		Department: req.GetDepartmentCode(), Reason: req.GetReason()})
	if err != nil {
		return nil, err
	}
	out, err := s.placeOut(ctx, sp)
	return &classifyv1.SetSourcePlaceLeadResponse{SourcePlace: out}, err
}

// GetSourcePlace implements classifyv1.SourcePlaceServiceServer.
func (s *SourcePlaces) GetSourcePlace(ctx context.Context, req *classifyv1.GetSourcePlaceRequest) (*classifyv1.GetSourcePlaceResponse, error) {
	sp, incs, err := s.svc.GetSourcePlace(ctx, req.GetSourcePlaceId())
	if err != nil {
		return nil, err
	}
	return &classifyv1.GetSourcePlaceResponse{SourcePlace: SourcePlaceOut(sp, incs)}, nil
}

// ListSourcePlaces implements classifyv1.SourcePlaceServiceServer. The
// listed places carry their incident ids; GetSourcePlace adds each one's
// primary case and reports.
func (s *SourcePlaces) ListSourcePlaces(ctx context.Context, req *classifyv1.ListSourcePlacesRequest) (*classifyv1.ListSourcePlacesResponse, error) {
	sps, next, err := s.svc.ListSourcePlaces(ctx, classify.SourcePlaceFilter{District: req.GetDistrictCode(), Street: req.GetStreetCode(),
		OpenOnly: req.GetOpenOnly(), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &classifyv1.ListSourcePlacesResponse{NextPageToken: next}
	for _, sp := range sps {
		incs := make([]classify.PlaceIncident, len(sp.IncidentIDs))
		for i, id := range sp.IncidentIDs {
			incs[i] = classify.PlaceIncident{ID: id}
		}
		resp.SourcePlaces = append(resp.SourcePlaces, SourcePlaceOut(sp, incs))
	}
	return resp, nil
}

// CloseSourcePlace implements classifyv1.SourcePlaceServiceServer.
func (s *SourcePlaces) CloseSourcePlace(ctx context.Context, req *classifyv1.CloseSourcePlaceRequest) (*classifyv1.CloseSourcePlaceResponse, error) {
	sp, err := s.svc.CloseSourcePlace(ctx, classify.PlaceCommand{RequestID: req.GetRequestId(), SourcePlaceID: req.GetSourcePlaceId(), Reason: req.GetReason()})
	if err != nil {
		return nil, err
	}
	out, err := s.placeOut(ctx, sp)
	return &classifyv1.CloseSourcePlaceResponse{SourcePlace: out}, err
}

// ReopenSourcePlace implements classifyv1.SourcePlaceServiceServer.
func (s *SourcePlaces) ReopenSourcePlace(ctx context.Context, req *classifyv1.ReopenSourcePlaceRequest) (*classifyv1.ReopenSourcePlaceResponse, error) {
	sp, err := s.svc.ReopenSourcePlace(ctx, classify.PlaceCommand{RequestID: req.GetRequestId(), SourcePlaceID: req.GetSourcePlaceId(), Reason: req.GetReason()})
	if err != nil {
		return nil, err
	}
	out, err := s.placeOut(ctx, sp)
	return &classifyv1.ReopenSourcePlaceResponse{SourcePlace: out}, err
}

// placeOut answers a write with the place and its incidents, read again in
// the caller's scope.
func (s *SourcePlaces) placeOut(ctx context.Context, sp *classify.SourcePlace) (*classifyv1.SourcePlace, error) {
	incs, err := s.svc.PlaceIncidents(ctx, sp)
	if err != nil {
		return nil, err
	}
	return SourcePlaceOut(sp, incs), nil
}

// SourcePlaceOut translates a source place.
func SourcePlaceOut(sp *classify.SourcePlace, incs []classify.PlaceIncident) *classifyv1.SourcePlace {
	out := &classifyv1.SourcePlace{SourcePlaceId: sp.ID, PlaceKey: sp.Place.Key, Location: wire.PointOut(sp.Place.Point),
		Area: wire.AreaOut(sp.Area), ItemCodes: sp.ItemCodes, LeadDepartmentCode: sp.Lead, Open: sp.Open(),
		Version: uint64(sp.Version), CreatedAt: wire.TimeOut(sp.CreatedAt), UpdatedAt: wire.TimeOut(sp.UpdatedAt)}
	if sp.UpdatedAt.IsZero() {
		out.UpdatedAt = wire.TimeOut(sp.CreatedAt)
	}
	for _, i := range incs {
		out.Incidents = append(out.Incidents, &classifyv1.SourcePlaceIncident{IncidentId: i.ID, ItemCode: i.ItemCode,
			PrimaryCaseId: i.PrimaryCaseID, Reports: uint32(i.Reports)})
	}
	for _, h := range sp.History {
		out.History = append(out.History, &classifyv1.SourcePlaceChange{Change: h.Change, LeadDepartmentCode: h.Lead,
			PreviousLeadDepartmentCode: h.PreviousLead, Actor: h.Actor, Reason: h.Reason, At: wire.TimeOut(h.At)})
	}
	return out
}
