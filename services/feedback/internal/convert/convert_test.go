package convert

import (
	"strings"
	"testing"

	"github.com/gridflow/gridflow/services/feedback/internal/feedback"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// Every case state and rating the protos name maps to the domain value of
// the same name and back; UNSPECIFIED and unknown numbers map to nothing.
func TestEnumsBothWays(t *testing.T) {
	t.Parallel()
	values := feedbackv1.CaseState(0).Descriptor().Values()
	for i := range values.Len() {
		v := values.Get(i)
		n := feedbackv1.CaseState(v.Number())
		s, ok := StateIn(n)
		if n == 0 {
			if ok {
				t.Errorf("StateIn(UNSPECIFIED) = %q, true", s)
			}
			continue
		}
		if want := feedback.State(strings.ToLower(strings.TrimPrefix(string(v.Name()), "CASE_STATE_"))); !ok || s != want {
			t.Errorf("StateIn(%s) = %q, %v, want %q", v.Name(), s, ok, want)
		}
		if back := states.Out(s); back != n {
			t.Errorf("%s out again = %v", v.Name(), back)
		}
	}
	if s, ok := StateIn(99); ok {
		t.Errorf("StateIn(99) = %q, true", s)
	}
	ratings := eventsv1.Satisfaction(0).Descriptor().Values()
	for i := range ratings.Len() {
		v := ratings.Get(i)
		n := eventsv1.Satisfaction(v.Number())
		want := feedback.Satisfaction(strings.ToLower(strings.TrimPrefix(string(v.Name()), "SATISFACTION_")))
		if n == 0 {
			want = ""
		}
		if got := SatisfactionIn(n); got != want {
			t.Errorf("SatisfactionIn(%s) = %q, want %q", v.Name(), got, want)
		}
		if back := SatisfactionOut(want); back != n {
			t.Errorf("SatisfactionOut(%q) = %v, want %v", want, back, n)
		}
	}
	if got := SatisfactionIn(99); got != "" {
		t.Errorf("SatisfactionIn(99) = %q, want \"\"", got)
	}
}
