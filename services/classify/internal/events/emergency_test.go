package events

import (
	"slices"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

// TestEmergencyDurableDeclared: the emergency lane's durable is declared
// from pkg/natsauth's table with the filter the service binds with.
func TestEmergencyDurableDeclared(t *testing.T) {
	t.Parallel()
	if got, want := natsauth.FilterOf(ConsumerEmergencies), []string{SubjectsEmergencies}; !slices.Equal(got, want) {
		t.Errorf("natsauth declares %s with %v; the service consumes %v", ConsumerEmergencies, got, want)
	}
	if SubjectsEmergencies != lane.Emergency("grid.case.received") || SubjectsReceived != lane.Routine("grid.case.received") {
		t.Errorf("classify's filters %q and %q are not pkg/lane's", SubjectsReceived, SubjectsEmergencies)
	}
}

// TestEmergencyClassificationInItsLane: a classification of emergency
// urgency leaves on the emergency subject, every other on the routine one.
func TestEmergencyClassificationInItsLane(t *testing.T) {
	t.Parallel()
	area := reference.AreaCodes{District: "310106", Street: "310106022"}
	for _, c := range []struct {
		urgency reference.Urgency
		want    string
	}{
		{reference.Emergency, "grid.case.classified.310106.310106022.emergency"},
		{"", "grid.case.classified.310106.310106022"},
	} {
		var e classify.Classified
		e.CaseID = "0190f0a0-0000-7000-8000-000000000001"
		e.Case.ID, e.Case.Area = e.CaseID, area
		e.Classification.Urgency = c.urgency
		m, err := Message(e, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != c.want {
			t.Errorf("urgency %q: subject %s, want %s", c.urgency, m.Subject, c.want)
		}
	}
}
