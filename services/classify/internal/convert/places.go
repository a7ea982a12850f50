package convert

import (
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/classify/internal/classify"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// Issue 20, places: the place registry to and from protobuf.

// PlaceUpsertedOut is place.upserted's payload: the whole place.
func PlaceUpsertedOut(p *classify.PlaceEntry) *eventsv1.PlaceUpserted {
	a := p.Area.OrUnknown()
	return &eventsv1.PlaceUpserted{PlaceKey: p.Key, LaneKey: p.Lane, Address: p.Address, Name: p.Name, Kind: p.Kind,
		Status: p.Status, District: a.District, Street: a.Street, Community: a.Community, Grid: a.Grid,
		InspectionEveryMonths: uint32(p.InspectEvery()), Version: uint64(p.Version), Retired: p.Retired,
		UpdatedAt: wire.TimeOut(p.UpdatedAt)}
}

// PlaceOut is the API's place.
func PlaceOut(p *classify.PlaceEntry) *classifyv1.Place {
	if p == nil {
		return nil
	}
	return &classifyv1.Place{PlaceKey: p.Key, LaneKey: p.Lane, Address: p.Address, Name: p.Name, Kind: p.Kind,
		Status: p.Status, DistrictCode: p.Area.District, StreetCode: p.Area.Street, CommunityCode: p.Area.Community,
		GridCode: p.Area.Grid, InspectionEveryMonths: uint32(p.InspectEvery()), InspectionOverridden: p.InspectOverride != nil,
		Version: uint64(p.Version), Retired: p.Retired, CreatedAt: wire.TimeOut(p.CreatedAt), UpdatedAt: wire.TimeOut(p.UpdatedAt)}
}

// PlaceRowsIn reads an import's rows.
func PlaceRowsIn(rows []*classifyv1.PlaceRow) []classify.PlaceRow {
	out := make([]classify.PlaceRow, len(rows))
	for i, r := range rows {
		out[i] = classify.PlaceRow{Row: int(r.GetRow()), Address: r.GetAddress(), Name: r.GetName(), Kind: r.GetKind(),
			Status: r.GetStatus(), Grid: r.GetGridCode(), Retired: r.GetRetired()}
		if r.InspectionEveryMonths != nil {
			n := int(min(r.GetInspectionEveryMonths(), 1<<20))
			out[i].InspectEvery = &n
		}
	}
	return out
}

// HistoryOut is GetPlaceHistory's answer.
func HistoryOut(h *classify.History) *classifyv1.GetPlaceHistoryResponse {
	resp := &classifyv1.GetPlaceHistoryResponse{Key: h.Key, Lane: h.Level == classify.LevelLane, Place: PlaceOut(h.Place),
		NextPageToken: h.Next}
	for _, c := range h.Cases {
		resp.Cases = append(resp.Cases, &classifyv1.PlaceCase{CaseId: c.CaseID, CaseNumber: c.CaseNumber, Source: c.Source,
			ItemCode: c.ItemCode, ItemName: c.ItemName, ClassificationVersion: uint32(c.Version), InReview: c.InReview,
			IncidentId: c.IncidentID, ReceivedAt: wire.TimeOut(c.ReceivedAt), PlaceKey: c.Place.Key,
			PrivateLocation: c.Place.Private, Title: c.Title})
	}
	for _, inc := range h.Incidents {
		resp.Incidents = append(resp.Incidents, &classifyv1.PlaceIncident{IncidentId: inc.ID, ItemCode: inc.ItemCode,
			Reports: uint32(inc.Reports()), FirstReportedAt: wire.TimeOut(inc.FirstAt), LastReportedAt: wire.TimeOut(inc.LastAt),
			SourcePlaceId: inc.SourcePlaceID})
	}
	for _, sp := range h.SourcePlaces {
		resp.SourcePlaces = append(resp.SourcePlaces, &classifyv1.PlaceSource{SourcePlaceId: sp.ID, IncidentIds: sp.IncidentIDs,
			ItemCodes: sp.ItemCodes, CreatedAt: wire.TimeOut(sp.CreatedAt)})
	}
	for _, ch := range h.Changes {
		resp.Changes = append(resp.Changes, &classifyv1.PlaceChange{PlaceKey: ch.Key, Version: uint64(ch.Version),
			Origin: ch.Origin, Actor: ch.Actor, Status: ch.Status, Kind: ch.Kind, Name: ch.Name, Note: ch.Note,
			At: wire.TimeOut(ch.At)})
	}
	return resp
}
