// Package convert translates intake's domain values to and from protobuf:
// the shared value types (gridflow.types.v1) and the events' for both the
// gRPC API and the events (convert.go), the API's own messages
// (gridflow.intake.v1, api.go). It is intake's one place for converters;
// the shared vocabulary (source, appeal type, urgency, area codes, address,
// principal, timestamps) maps through pkg/wire. Proto types never enter the
// domain.
package convert

import (
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/intake/internal/intake"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

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

// AreaOut maps an area: the shared codes, and how intake found them.
func AreaOut(a intake.Area) *typesv1.Area {
	out := wire.AreaOut(a.AreaCodes)
	out.Resolution = resolutions[a.Resolution]
	return out
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

var followUpKinds = map[intake.FollowUpKind]eventsv1.FollowUpKind{
	intake.FollowUpSupplement: eventsv1.FollowUpKind_FOLLOW_UP_KIND_SUPPLEMENT,
	intake.FollowUpUrge:       eventsv1.FollowUpKind_FOLLOW_UP_KIND_URGE,
	intake.FollowUpWithdraw:   eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW,
}

// FollowUpKindOut maps a follow-up's kind as case.followed_up carries it
// (the API's own enum is in api.go).
func FollowUpKindOut(k intake.FollowUpKind) eventsv1.FollowUpKind { return followUpKinds[k] }
