package events

import (
	"testing"

	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/convert"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// FuzzDecode: whatever arrives on grid.case.received is decoded and turned
// into a case, or refused, without a panic.
func FuzzDecode(f *testing.F) {
	good, _ := proto.Marshal(&eventsv1.Envelope{EventId: "e", Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{
		CaseId: "c", Content: "噪声", Address: &typesv1.Address{Raw: "共和新路1234号"},
		Location: &typesv1.LatLng{Lat: 31.2, Lng: 121.4, Datum: typesv1.Datum_DATUM_GCJ02}}}})
	f.Add(good)
	f.Add([]byte("not protobuf"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := decode(b)
		if err != nil {
			return
		}
		if p := env.GetCaseReceived(); p != nil {
			c := convert.CaseIn(p, false)
			_ = classify.PlaceOf(&c, "静安区", classify.DefaultCellSize)
		}
	})
}
