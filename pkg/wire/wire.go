// Package wire maps gridflow's shared vocabulary to and from its protobuf
// form (gridflow.types.v1), once for every service and gridctl: sources,
// appeal types and urgencies (pkg/reference's), area codes
// (reference.AreaCodes), addresses (address.Record), WGS-84 points
// (geo.Point), principals ("role[:subject]", as auth.Principal writes them)
// and timestamps. A service's own convert package keeps only what is its
// own.
//
// The enum mappings share one rule. Out: a known value maps to its enum
// value; "" and anything unknown to the UNSPECIFIED zero value. In:
// UNSPECIFIED maps to "" (the domain's "not said": normal urgency, no
// filter); a number this build does not know maps to "enum#<n>", a value the
// type's Valid rejects, so a request carrying it is refused with its field
// named instead of being read as a silent default.
package wire

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/address"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/geo"
	"github.com/gridflow/gridflow/pkg/reference"
	"google.golang.org/protobuf/types/known/timestamppb"

	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Enum is a one-to-one table between a domain vocabulary and a proto enum,
// read both ways by the package's rule. The shared vocabulary's tables are
// here; a service's convert package builds its own (task states, follow-up
// kinds …) with NewEnum rather than writing the reverse lookup again.
type Enum[D ~string, P ~int32] struct {
	out map[D]P
	in  map[P]D
}

// NewEnum builds the table from the domain's side. It panics when two domain
// values share a proto value or one maps to UNSPECIFIED: such a table cannot
// be read back, and it is a programming error found at start.
func NewEnum[D ~string, P ~int32](out map[D]P) Enum[D, P] {
	e := Enum[D, P]{out: out, in: make(map[P]D, len(out))}
	for d, p := range out {
		if p == 0 {
			panic(fmt.Sprintf("wire: %q maps to UNSPECIFIED", d))
		}
		if prev, dup := e.in[p]; dup {
			panic(fmt.Sprintf("wire: %q and %q both map to %d", prev, d, p))
		}
		e.in[p] = d
	}
	return e
}

// Out maps a domain value; "" and anything unknown are the UNSPECIFIED zero
// value.
func (e Enum[D, P]) Out(d D) P { return e.out[d] }

// In maps a proto value: UNSPECIFIED is "", a number the table does not know
// "enum#<n>" (see the package doc).
func (e Enum[D, P]) In(p P) D {
	if p == 0 {
		return ""
	}
	if d, ok := e.in[p]; ok {
		return d
	}
	return D("enum#" + strconv.Itoa(int(p)))
}

// Lookup maps a proto value the table knows; false for UNSPECIFIED and for
// numbers it does not know, for callers that refuse or default those
// themselves.
func (e Enum[D, P]) Lookup(p P) (D, bool) {
	d, ok := e.in[p]
	return d, ok
}

var (
	sources = NewEnum(map[reference.Source]typesv1.Source{
		reference.FromHotline:   typesv1.Source_SOURCE_HOTLINE,
		reference.FromPatrol:    typesv1.Source_SOURCE_PATROL,
		reference.FromSecretary: typesv1.Source_SOURCE_SECRETARY,
		reference.FromPublic:    typesv1.Source_SOURCE_PUBLIC,
	})
	appealTypes = NewEnum(map[reference.AppealType]typesv1.AppealType{
		reference.Consultation: typesv1.AppealType_APPEAL_TYPE_CONSULTATION,
		reference.Help:         typesv1.AppealType_APPEAL_TYPE_HELP,
		reference.Complaint:    typesv1.AppealType_APPEAL_TYPE_COMPLAINT,
		reference.Report:       typesv1.AppealType_APPEAL_TYPE_REPORT,
		reference.Suggestion:   typesv1.AppealType_APPEAL_TYPE_SUGGESTION,
		reference.Praise:       typesv1.AppealType_APPEAL_TYPE_PRAISE,
	})
	urgencies = NewEnum(map[reference.Urgency]typesv1.Urgency{
		reference.Normal:    typesv1.Urgency_URGENCY_NORMAL,
		reference.Urgent:    typesv1.Urgency_URGENCY_URGENT,
		reference.Emergency: typesv1.Urgency_URGENCY_EMERGENCY,
	})
)

// SourceIn maps a source; see the package doc for UNSPECIFIED and unknown
// numbers.
func SourceIn(s typesv1.Source) reference.Source { return sources.In(s) }

// SourceOut maps a source back; "" and unknown are SOURCE_UNSPECIFIED.
func SourceOut(s reference.Source) typesv1.Source { return sources.Out(s) }

// AppealTypeIn maps an appeal type; see the package doc for UNSPECIFIED and
// unknown numbers.
func AppealTypeIn(a typesv1.AppealType) reference.AppealType { return appealTypes.In(a) }

// AppealTypeOut maps an appeal type back; "" and unknown are
// APPEAL_TYPE_UNSPECIFIED.
func AppealTypeOut(a reference.AppealType) typesv1.AppealType { return appealTypes.Out(a) }

// UrgencyIn maps an urgency; UNSPECIFIED is "", which the domain reads as
// normal (or, in a decision, "keep"). See the package doc for unknown
// numbers.
func UrgencyIn(u typesv1.Urgency) reference.Urgency { return urgencies.In(u) }

// UrgencyOut maps an urgency back; "" and unknown are URGENCY_UNSPECIFIED.
// Where "" means normal and the reader must see it, say so first:
// UrgencyOut(u.OrNormal()).
func UrgencyOut(u reference.Urgency) typesv1.Urgency { return urgencies.Out(u) }

// AreaIn maps area codes as they are ("0" stays "0"); an absent area is the
// zero AreaCodes. The area's resolution is intake's own and not read here.
func AreaIn(a *typesv1.Area) reference.AreaCodes {
	return reference.AreaCodes{District: a.GetDistrictCode(), Street: a.GetStreetCode(),
		Community: a.GetCommunityCode(), Grid: a.GetGridCode()}
}

// AreaOut maps area codes as they are; use AreaCodes.OrUnknown first where
// an empty level must go out as "0".
func AreaOut(a reference.AreaCodes) *typesv1.Area {
	return &typesv1.Area{DistrictCode: a.District, StreetCode: a.Street, CommunityCode: a.Community, GridCode: a.Grid}
}

// AddressIn maps an address; an absent one is the zero Record.
func AddressIn(a *typesv1.Address) address.Record {
	return address.Record{Raw: a.GetRaw(), District: a.GetDistrict(), Street: a.GetStreet(), Road: a.GetRoad(),
		Lane: int(a.GetLane()), Number: int(a.GetNumber()), Building: a.GetBuilding(), Room: a.GetRoom(),
		Compound: a.GetCompound(), Shop: a.GetShop(), Key: a.GetKey()}
}

// AddressOut maps an address back.
func AddressOut(a address.Record) *typesv1.Address {
	return &typesv1.Address{Raw: a.Raw, District: a.District, Street: a.Street, Road: a.Road,
		Lane: int32(a.Lane), Number: int32(a.Number), Building: a.Building, Room: a.Room,
		Compound: a.Compound, Shop: a.Shop, Key: a.Key}
}

// PointIn maps a point to WGS-84, converting GCJ-02 (an unspecified datum is
// taken as WGS-84); nil for an absent point or coordinates geo.Valid rejects.
// It is for points other services published; intake reads a submitter's
// point with its datum as given, to refuse a bad one with its field named.
func PointIn(p *typesv1.LatLng) *geo.Point {
	if p == nil {
		return nil
	}
	lat, lng := p.GetLat(), p.GetLng()
	if p.GetDatum() == typesv1.Datum_DATUM_GCJ02 {
		lat, lng = geo.GCJ02ToWGS84(lat, lng)
	}
	if geo.Valid(lat, lng) != nil {
		return nil
	}
	return &geo.Point{Lat: lat, Lng: lng}
}

// PointOut maps a WGS-84 point; nil stays nil.
func PointOut(p *geo.Point) *typesv1.LatLng {
	if p == nil {
		return nil
	}
	return &typesv1.LatLng{Lat: p.Lat, Lng: p.Lng, Datum: typesv1.Datum_DATUM_WGS84}
}

// PrincipalOut maps an actor, "role" or "role:subject" as auth.Principal's
// Actor writes it (followed by " (<person id> <name>)" when the credential
// named a person), to the Principal every envelope, timeline entry and
// review names; "" (no actor) is nil, not an empty principal.
func PrincipalOut(s string) *typesv1.Principal {
	if s == "" {
		return nil
	}
	principal, person := auth.SplitActor(s)
	role, subject, _ := strings.Cut(principal, ":")
	out := &typesv1.Principal{Role: role, Subject: subject}
	if !person.IsZero() {
		out.Person = &typesv1.Person{Id: person.ID, Name: person.Name}
	}
	return out
}

// PrincipalIn is PrincipalOut's inverse: "role" when there is no subject,
// "role:subject" otherwise, with the person as Actor writes it, and "" for
// an absent principal.
func PrincipalIn(p *typesv1.Principal) string {
	if p == nil {
		return ""
	}
	ap := auth.Principal{Role: auth.Role(p.GetRole()), Subject: p.GetSubject(),
		Person: auth.Person{ID: p.GetPerson().GetId(), Name: p.GetPerson().GetName()}}
	if ap.Person.ID == "" {
		ap.Person = auth.Person{} // a name without an id is no one the audit can name
	}
	return ap.Actor()
}

// TimeOut maps a time; the zero time (not known, not yet) is nil.
func TimeOut(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// TimeIn is TimeOut's inverse: nil is the zero time.
func TimeIn(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

var reloadOutcomes = NewEnum(map[reference.ReloadOutcome]typesv1.ReferenceReloadOutcome{
	reference.Started:   typesv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_STARTED,
	reference.Reloaded:  typesv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_RELOADED,
	reference.Unchanged: typesv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_UNCHANGED,
	reference.Failed:    typesv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_FAILED,
})

// ReloadOut is one recorded load of reference data (pkg/reloadlog).
func ReloadOut(r reference.Reload) *typesv1.ReferenceReload {
	return &typesv1.ReferenceReload{Service: r.Service, Instance: r.Instance, Time: TimeOut(r.At), By: r.By,
		Digest: r.Digest, PreviousDigest: r.Previous, Outcome: reloadOutcomes.Out(r.Outcome), Error: r.Error}
}
