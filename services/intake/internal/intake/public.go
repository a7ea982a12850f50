package intake

import (
	"context"
	"fmt"
	"net/url"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/freetext"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
)

// PublicRequest is a member of the public's request through the Open311
// door (issue 19): source public, no operator, no contact kept. The
// credential is the key the door was called with (public:<key>); nobody
// calls the submitter back, who reads the answer through Open311.
type PublicRequest struct {
	RequestID   string  `json:"RequestID"`
	ServiceCode string  `json:"ServiceCode"`
	Description string  `json:"Description"`
	Location    *LatLng `json:"Location"`
	// Address is the place in the submitter's words, kept as written.
	Address  string `json:"Address"`
	MediaURL string `json:"MediaURL"`
}

var opSubmitPublicRequest = policy.Method(policy.PublicIntakeService, "SubmitPublicRequest")

// MaxPublicDescription is Open311's limit on a request's description.
const MaxPublicDescription = 4000

// SubmitPublicRequest validates and stores a public request. Its location
// is required (the door resolves the street from it, as for a patrol
// report) and must lie in a grid of the city; the service code must be a
// catalogue item.
func (s *Service) SubmitPublicRequest(ctx context.Context, r PublicRequest) (*Submission, error) {
	p, _, err := policy.Authorize(ctx, opSubmitPublicRequest)
	if err != nil {
		return nil, err
	}
	normaliseStrings(&r.RequestID, &r.ServiceCode, &r.Description, &r.Address, &r.MediaURL)
	const f = "request."
	var v fault.Violations
	checkRequestID(f+"request_id", r.RequestID, &v)
	switch {
	case r.ServiceCode == "":
		v.Add(f+"service_code", "is required")
	case !s.catalogue.KnownItem(r.ServiceCode):
		v.Add(f+"service_code", "unknown service %q", r.ServiceCode)
	}
	freetext.Check(f+"description", r.Description, MaxPublicDescription, true, &v)
	freetext.Check(f+"address", r.Address, MaxTitleRunes, false, &v)
	if r.MediaURL != "" {
		if u, err := url.Parse(r.MediaURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			!utf8.ValidString(r.MediaURL) || len(r.MediaURL) > 2048 {
			v.Add(f+"media_url", "must be an http or https URL of at most 2048 bytes")
		}
	}
	sub := &Submission{Source: reference.FromPublic, AcceptedAt: s.now().UTC(), Public: &r, Principal: p.String(), Actor: p.Actor(),
		RequestID: r.RequestID}
	if r.Location == nil {
		v.Add(f+"location", "is required: lat and long of the place")
	} else {
		checkLocation(f+"location", *r.Location, &v)
	}
	if len(v) == 0 {
		wgs := s.places.ToWGS84(*r.Location)
		sub.Location = &wgs
		located, found := s.places.Locate(wgs)
		switch {
		case !s.places.InCity(wgs):
			v.Add(f+"location", "(%.6f, %.6f) lies outside the city served", r.Location.Lat, r.Location.Lng)
		case !found:
			v.Add(f+"location", "(%.6f, %.6f) lies in no grid of the city", r.Location.Lat, r.Location.Lng)
		default:
			sub.Area = located
		}
		sub.Address.Raw = r.Address
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	sub, err = s.create(ctx, sub, r)
	if err != nil {
		return nil, fmt.Errorf("public request: %w", err)
	}
	return sub, nil
}
