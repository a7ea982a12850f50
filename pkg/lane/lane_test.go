package lane_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/gridflow/gridflow/pkg/lane"
)

// TestLanesPartTheSubjects: a routine subject matches only the routine
// filter, an emergency subject only the emergency one, and a filter ending
// in ">" takes both (what feedback and every subscriber of everything use).
func TestLanesPartTheSubjects(t *testing.T) {
	t.Parallel()
	const event = "grid.case.received"
	routine := event + ".310106.310106022"
	unknown := event + ".0.0"
	emergency := lane.Subject(routine, true)
	if got := lane.Subject(routine, false); got != routine {
		t.Errorf("Subject(routine, false) = %q, want it unchanged", got)
	}
	if emergency != routine+".emergency" {
		t.Errorf("Subject(routine, true) = %q", emergency)
	}
	for _, c := range []struct {
		subject, filter string
		want            bool
	}{
		{routine, lane.Routine(event), true},
		{unknown, lane.Routine(event), true},
		{emergency, lane.Routine(event), false},
		{routine, lane.Emergency(event), false},
		{emergency, lane.Emergency(event), true},
		{lane.Subject(unknown, true), lane.Emergency(event), true},
		{routine, event + ".>", true},
		{emergency, event + ".>", true},
		{emergency, "grid.case.>", true},
	} {
		if got := server.SubjectMatchesFilter(c.subject, c.filter); got != c.want {
			t.Errorf("%s matches %s: %v, want %v", c.subject, c.filter, got, c.want)
		}
	}
	if !lane.IsEmergency(emergency) || lane.IsEmergency(routine) {
		t.Errorf("IsEmergency: %v for %s, %v for %s", lane.IsEmergency(emergency), emergency, lane.IsEmergency(routine), routine)
	}
}

func TestRunDecodes(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]lane.Run{
		"":          {Routine: true, Emergency: true},
		"all":       {Routine: true, Emergency: true},
		"routine":   {Routine: true},
		"emergency": {Emergency: true},
	} {
		var got lane.Run
		if err := got.EnvDecode(s); err != nil || got != want {
			t.Errorf("EnvDecode(%q) = %+v, %v; want %+v", s, got, err, want)
		}
		if s != "" && got.String() != s {
			t.Errorf("Run decoded from %q prints %q", s, got.String())
		}
	}
	for _, s := range []string{"none", "Emergency", "routine,emergency", " all"} {
		var got lane.Run
		if err := got.EnvDecode(s); err == nil || !strings.Contains(err.Error(), "emergency") || !strings.Contains(err.Error(), strconv.Quote(s)) {
			t.Errorf("EnvDecode(%q) = %v, want an error naming the value and the choices", s, err)
		}
	}
}
