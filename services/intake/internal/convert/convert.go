// Package convert translates intake's domain values to and from the shared
// protobuf value types (gridflow.types.v1), for both the gRPC API and the
// events; proto types never enter the domain.
package convert

import (
	"github.com/gridflow/gridflow/services/intake/internal/intake"

	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

var appealTypes = map[typesv1.AppealType]intake.AppealType{
	typesv1.AppealType_APPEAL_TYPE_CONSULTATION: intake.AppealConsultation,
	typesv1.AppealType_APPEAL_TYPE_HELP:         intake.AppealHelp,
	typesv1.AppealType_APPEAL_TYPE_COMPLAINT:    intake.AppealComplaint,
	typesv1.AppealType_APPEAL_TYPE_REPORT:       intake.AppealReport,
	typesv1.AppealType_APPEAL_TYPE_SUGGESTION:   intake.AppealSuggestion,
	typesv1.AppealType_APPEAL_TYPE_PRAISE:       intake.AppealPraise,
}

// AppealTypeIn maps an enum; an unknown number becomes a value the domain
// rejects with a field violation, never a silent default.
func AppealTypeIn(a typesv1.AppealType) intake.AppealType {
	if a == typesv1.AppealType_APPEAL_TYPE_UNSPECIFIED {
		return ""
	}
	if v, ok := appealTypes[a]; ok {
		return v
	}
	return intake.AppealType("enum#" + a.String())
}

// AppealTypeOut maps back.
func AppealTypeOut(a intake.AppealType) typesv1.AppealType {
	for k, v := range appealTypes {
		if v == a {
			return k
		}
	}
	return typesv1.AppealType_APPEAL_TYPE_UNSPECIFIED
}

var urgencies = map[typesv1.Urgency]intake.Urgency{
	typesv1.Urgency_URGENCY_NORMAL:    intake.UrgencyNormal,
	typesv1.Urgency_URGENCY_URGENT:    intake.UrgencyUrgent,
	typesv1.Urgency_URGENCY_EMERGENCY: intake.UrgencyEmergency,
}

// UrgencyIn maps an enum; unspecified means normal.
func UrgencyIn(u typesv1.Urgency) intake.Urgency {
	if u == typesv1.Urgency_URGENCY_UNSPECIFIED {
		return ""
	}
	if v, ok := urgencies[u]; ok {
		return v
	}
	return intake.Urgency("enum#" + u.String())
}

// UrgencyOut maps back.
func UrgencyOut(u intake.Urgency) typesv1.Urgency {
	for k, v := range urgencies {
		if v == u {
			return k
		}
	}
	return typesv1.Urgency_URGENCY_UNSPECIFIED
}

// SourceOut maps a source.
func SourceOut(s intake.Source) typesv1.Source {
	switch s {
	case intake.SourceHotline:
		return typesv1.Source_SOURCE_HOTLINE
	case intake.SourcePatrol:
		return typesv1.Source_SOURCE_PATROL
	case intake.SourceSecretary:
		return typesv1.Source_SOURCE_SECRETARY
	}
	return typesv1.Source_SOURCE_UNSPECIFIED
}

// LatLngIn maps a point; nil stays nil.
func LatLngIn(p *typesv1.LatLng) *intake.LatLng {
	if p == nil {
		return nil
	}
	out := &intake.LatLng{Lat: p.GetLat(), Lng: p.GetLng()}
	switch p.GetDatum() {
	case typesv1.Datum_DATUM_WGS84:
		out.Datum = intake.WGS84
	case typesv1.Datum_DATUM_GCJ02:
		out.Datum = intake.GCJ02
	case typesv1.Datum_DATUM_UNSPECIFIED:
	default:
		out.Datum = intake.Datum("enum#" + p.GetDatum().String())
	}
	return out
}

// LatLngOut maps a point; nil stays nil.
func LatLngOut(p *intake.LatLng) *typesv1.LatLng {
	if p == nil {
		return nil
	}
	d := typesv1.Datum_DATUM_WGS84
	if p.Datum == intake.GCJ02 {
		d = typesv1.Datum_DATUM_GCJ02
	}
	return &typesv1.LatLng{Lat: p.Lat, Lng: p.Lng, Datum: d}
}

var resolutions = map[intake.Resolution]typesv1.AreaResolution{
	intake.ResolvedByCodes:       typesv1.AreaResolution_AREA_RESOLUTION_CODES,
	intake.ResolvedByCoordinates: typesv1.AreaResolution_AREA_RESOLUTION_COORDINATES,
	intake.ResolvedByAddress:     typesv1.AreaResolution_AREA_RESOLUTION_ADDRESS,
	intake.ResolvedPartly:        typesv1.AreaResolution_AREA_RESOLUTION_PARTIAL,
}

// AreaOut maps an area.
func AreaOut(a intake.Area) *typesv1.Area {
	return &typesv1.Area{DistrictCode: a.District, StreetCode: a.Street, CommunityCode: a.Community,
		GridCode: a.Grid, Resolution: resolutions[a.Resolution]}
}

// AddressOut maps an address.
func AddressOut(a intake.Address) *typesv1.Address {
	return &typesv1.Address{Raw: a.Raw, District: a.District, Street: a.Street, Road: a.Road,
		Lane: int32(a.Lane), Number: int32(a.Number), Building: a.Building, Room: a.Room,
		Compound: a.Compound, Shop: a.Shop, Key: a.Key}
}

// AttachmentsIn maps attachments.
func AttachmentsIn(as []*typesv1.Attachment) []intake.Attachment {
	var out []intake.Attachment
	for _, a := range as {
		out = append(out, intake.Attachment{URI: a.GetUri(), MediaType: a.GetMediaType(), Name: a.GetName()})
	}
	return out
}

// AttachmentsOut maps attachments.
func AttachmentsOut(as []intake.Attachment) []*typesv1.Attachment {
	var out []*typesv1.Attachment
	for _, a := range as {
		out = append(out, &typesv1.Attachment{Uri: a.URI, MediaType: a.MediaType, Name: a.Name})
	}
	return out
}
