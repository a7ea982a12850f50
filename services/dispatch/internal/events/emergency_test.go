package events

import (
	"slices"
	"testing"

	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/natsauth"
)

// TestEmergencyDurableDeclared: the emergency lane's durable is declared
// from pkg/natsauth's table with the filter the service binds with, and it
// is the emergency twin of the routine lane's received and classified.
func TestEmergencyDurableDeclared(t *testing.T) {
	t.Parallel()
	if got := natsauth.FilterOf(ConsumerEmergencies); !slices.Equal(got, EmergencySubjects) {
		t.Errorf("natsauth declares %s with %v; the service consumes %v", ConsumerEmergencies, got, EmergencySubjects)
	}
	for _, event := range []string{"grid.case.received", "grid.case.classified"} {
		if !slices.Contains(ConsumerSubjects, lane.Routine(event)) || !slices.Contains(EmergencySubjects, lane.Emergency(event)) {
			t.Errorf("%s: want %s on %s and %s on %s", event, lane.Routine(event), ConsumerName, lane.Emergency(event), ConsumerEmergencies)
		}
	}
}
