package events

import (
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/envelope"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// TestEveryPayloadIsDecided walks every payload of the envelope's oneof:
// dispatch either acts on it or names it as one it does not act on. A payload
// added to the schema fails here until changeOf decides it.
func TestEveryPayloadIsDecided(t *testing.T) {
	t.Parallel()
	acted := map[string]bool{}
	for _, f := range envelope.Payloads(&eventsv1.Envelope{}) {
		env := envelope.New(&eventsv1.Envelope{}, f).(*eventsv1.Envelope)
		env.CaseId = "c1"
		_, ok, err := changeOf(env)
		if err != nil {
			t.Errorf("%s: %v", f.Name(), err)
		}
		acted[envelope.FieldName(f)] = ok
	}
	// What dispatch acts on is what it subscribes to; a follow-up only when
	// it urges or withdraws (below), so an empty one is not acted on.
	acted["case.followed_up"] = true
	// Self-disposal (issue 20): a check only when it sends the case back.
	acted["case.self_disposal_checked"] = true
	sentBack := &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseSelfDisposalChecked{CaseSelfDisposalChecked: &eventsv1.CaseSelfDisposalChecked{
		Case: &eventsv1.FeedbackCaseRef{CaseId: "c1"}, Verdict: eventsv1.SelfDisposalVerdict_SELF_DISPOSAL_VERDICT_SENT_BACK}}}
	if ch, ok, err := changeOf(sentBack); !ok || err != nil || ch.caseID != "c1" {
		t.Errorf("self-disposal sent back: acted on %v (case %q), %v", ok, ch.caseID, err)
	}
	for _, subject := range ConsumerSubjects {
		name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(subject, "grid."), ".>"), ".*.*")
		if !acted[name] {
			t.Errorf("dispatch subscribes to %s but does not act on it", name)
		}
		delete(acted, name)
	}
	for name, ok := range acted {
		if ok {
			t.Errorf("%s is acted on but dispatch does not subscribe to it", name)
		}
	}
	for _, kind := range []eventsv1.FollowUpKind{eventsv1.FollowUpKind_FOLLOW_UP_KIND_URGE, eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW} {
		env := &eventsv1.Envelope{Payload: &eventsv1.Envelope_CaseFollowedUp{CaseFollowedUp: &eventsv1.CaseFollowedUp{CaseId: "c1", Kind: kind}}}
		if _, ok, err := changeOf(env); !ok || err != nil {
			t.Errorf("follow-up %s: acted on %v, %v", kind, ok, err)
		}
	}
}
