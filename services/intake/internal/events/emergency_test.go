package events

import (
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
)

// TestEmergencyReceivedInItsLane: a work order of emergency urgency is
// received on the emergency lane's subject (pkg/lane), every other on the
// routine one; its follow-ups stay routine.
func TestEmergencyReceivedInItsLane(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	area := intake.Area{AreaCodes: reference.AreaCodes{District: "310106", Street: "310106022"}}
	for _, c := range []struct {
		urgency reference.Urgency
		want    string
	}{
		{reference.Emergency, "grid.case.received.310106.310106022.emergency"},
		{reference.Urgent, "grid.case.received.310106.310106022"},
		{reference.Normal, "grid.case.received.310106.310106022"},
	} {
		sub := &intake.Submission{CaseID: "c1", CaseNumber: "GF-20260302-000001", Area: area, AcceptedAt: at,
			WorkOrder: &intake.WorkOrder{HotlineOrderNo: "HL-1", ReceivedAt: at, Urgency: c.urgency}}
		m, err := Received(sub, "hotline", at)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != c.want {
			t.Errorf("urgency %q: received on %s, want %s", c.urgency, m.Subject, c.want)
		}
		f, err := FollowedUp(sub, &intake.FollowUp{ID: "fu-1", Kind: intake.FollowUpUrge, AddedAt: at, Principal: "hotline"})
		if err != nil {
			t.Fatal(err)
		}
		if f.Subject != "grid.case.followed_up.310106.310106022" {
			t.Errorf("urgency %q: followed up on %s", c.urgency, f.Subject)
		}
	}
}
