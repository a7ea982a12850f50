package convert

import (
	"strings"
	"testing"

	"github.com/gridflow/gridflow/services/intake/internal/intake"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// The API's follow-up kinds and case.followed_up's are two enums with one
// domain vocabulary: every kind either names maps to the domain kind of the
// same name, and out again to both.
func TestFollowUpKindsBothWays(t *testing.T) {
	t.Parallel()
	kinds := intakev1.FollowUpKind(0).Descriptor().Values()
	events := eventsv1.FollowUpKind(0).Descriptor().Values()
	if kinds.Len() != events.Len() {
		t.Fatalf("intake.v1 has %d follow-up kinds, events.v1 %d", kinds.Len(), events.Len())
	}
	for i := range kinds.Len() {
		v := kinds.Get(i)
		if v.Number() == 0 {
			continue
		}
		want := intake.FollowUpKind(strings.ToLower(strings.TrimPrefix(string(v.Name()), "FOLLOW_UP_KIND_")))
		k := FollowUpKindIn(intakev1.FollowUpKind(v.Number()))
		if k != want {
			t.Errorf("FollowUpKindIn(%s) = %q, want %q", v.Name(), k, want)
		}
		if got := FollowUpOut(&intake.FollowUp{Kind: k}).GetKind(); got.Number() != v.Number() {
			t.Errorf("%q out to the API = %v, want %s", k, got, v.Name())
		}
		if got := FollowUpKindOut(k); got.String() != string(v.Name()) {
			t.Errorf("%q out to the event = %v, want %s", k, got, v.Name())
		}
	}
	if got := FollowUpKindIn(intakev1.FollowUpKind_FOLLOW_UP_KIND_UNSPECIFIED); got != "" {
		t.Errorf("FollowUpKindIn(UNSPECIFIED) = %q, want \"\"", got)
	}
	if got := FollowUpKindIn(9); got != "enum#9" {
		t.Errorf("FollowUpKindIn(9) = %q, want enum#9", got)
	}
}
