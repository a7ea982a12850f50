package events

import (
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// TestReceivedCarriesPrivateLocation (issue 20, places): the hotline's
// private_location reaches case.received, for a named caller as for an
// anonymous one; an order without it says false.
func TestReceivedCarriesPrivateLocation(t *testing.T) {
	t.Parallel()
	for _, private := range []bool{true, false} {
		sub := &intake.Submission{CaseID: "c1", CaseNumber: "GF-20261203-000001", Source: reference.FromHotline,
			AcceptedAt: time.Now(), WorkOrder: &intake.WorkOrder{HotlineOrderNo: "o1", CallerName: "李女士",
				CallerPhone: "13912345678", Address: "芷江西路61弄7号302室", PrivateLocation: private}}
		m, err := Received(sub, "hotline", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(m.Data, &env); err != nil {
			t.Fatal(err)
		}
		if got := env.GetCaseReceived().GetPrivateLocation(); got != private {
			t.Errorf("private_location = %v, want %v", got, private)
		}
	}
}
