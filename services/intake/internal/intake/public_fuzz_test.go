package intake

import (
	"math"
	"testing"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/reference"
)

// FuzzPublicRequest drives the public's Open311 request (issue 19) through
// the service, as FuzzPatrolReport does the worker's: no panic, no internal
// error, a refusal names only the request's fields, and what is kept is
// clean text, a known service and a point in a grid.
func FuzzPublicRequest(f *testing.F) {
	f.Add("o311-1", "06022", "路口露天烧烤，电话13812345678", 31.2980, 121.4500, "WGS84", "临汾路375号", "https://p.example/1.jpg")
	f.Add("", "", "\xff", math.NaN(), math.Inf(1), "", "\x00", "javascript:x")
	f.Fuzz(func(t *testing.T, requestID, service, description string, lat, lng float64, datum, address, media string) {
		r := PublicRequest{RequestID: requestID, ServiceCode: service, Description: description,
			Location: &LatLng{Lat: lat, Lng: lng, Datum: Datum(datum)}, Address: address, MediaURL: media}
		svc := New(&memStore{}, fakePlaces{}, fakePlaces{}, fuzzNow)
		sub, err := svc.SubmitPublicRequest(as(auth.RolePublic, "k0123456789ab"), r)
		if refused(t, err, "request.request_id", "request.service_code", "request.description", "request.address", "request.media_url",
			"request.location", "request.location.datum", "request.location.lat", "request.location.lng") {
			return
		}
		p := sub.Public
		kept(t, "description", p.Description)
		kept(t, "address", p.Address)
		if sub.Source != reference.FromPublic || p.Description == "" || p.ServiceCode == "" || sub.Area.Grid == "" ||
			sub.Area.Grid == reference.Unknown || math.IsNaN(sub.Location.Lat) {
			t.Fatalf("accepted %+v as %+v", r, sub)
		}
	})
}
