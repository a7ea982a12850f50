package events

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

var fuzzRef = func() *reference.Set {
	s, err := reference.LoadDefault()
	if err != nil {
		panic(err)
	}
	return s
}()

// FuzzDecode: whatever arrives on dispatch's consumer (case.received,
// case.classified, case.followed_up, case.reopened — and anything else a
// publisher gets wrong) is decoded as Handle decodes it and decided by
// changeOf. Properties: no panic; an envelope that does not decode, or that
// changeOf cannot decide, is poison (Handle terms it, never retries it); only
// the payloads dispatch subscribes to are acted on; an acted-on event,
// applied to a case dispatch has never seen and to one already dispatched,
// either changes it or fails as a fault (never an internal error), and what
// it commits encodes as envelopes that decode back, named by their payload,
// on grid.* subjects. Seeds: testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := decode(b)
		if err != nil {
			return // Handle: consumer.Permanent
		}
		ch, ok, err := changeOf(env)
		if err != nil {
			if !errors.Is(err, errPoison) {
				t.Fatalf("changeOf: %v is not poison", err)
			}
			return
		}
		if !ok {
			return
		}
		switch env.GetPayload().(type) {
		case *eventsv1.Envelope_CaseReceived, *eventsv1.Envelope_CaseClassified,
			*eventsv1.Envelope_CaseFollowedUp, *eventsv1.Envelope_CaseReopened:
		default:
			t.Fatalf("acted on %s, which dispatch does not subscribe to", envelope.Name(env))
		}
		if ch.caseID == "" {
			return // Apply: poison
		}
		now := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
		for _, c := range []*dispatch.Case{dispatch.NewCase(ch.caseID, now), dispatched(t, ch.caseID, now)} {
			e := &dispatch.Env{Now: now, Actor: dispatch.SystemActor, Ref: fuzzRef, Policy: dispatch.DefaultPolicy(),
				NewID: dispatch.NewID, Encode: Encode}
			if err := ch.op(c, e); err != nil {
				if fault.KindOf(err) == fault.Internal {
					t.Fatalf("%s: %v", envelope.Name(env), err)
				}
				continue
			}
			cm, err := e.Commit(c)
			if err != nil {
				t.Fatalf("commit %s: %v", envelope.Name(env), err)
			}
			// The store keeps the case and its tasks as JSON: what an
			// event makes must be storable, or the consumer retries it
			// until it is dead-lettered instead of terming it at once.
			if _, err := json.Marshal(cm.Case); err != nil {
				t.Fatalf("%s makes a case the store cannot keep: %v", envelope.Name(env), err)
			}
			for _, tk := range cm.Tasks {
				if _, err := json.Marshal(tk); err != nil {
					t.Fatalf("%s makes a task the store cannot keep: %v", envelope.Name(env), err)
				}
			}
			for _, m := range cm.Messages {
				var out eventsv1.Envelope
				if err := proto.Unmarshal(m.Data, &out); err != nil || out.GetPayload() == nil {
					t.Fatalf("message %s does not decode: %v", m.Subject, err)
				}
				if out.GetType() != envelope.Name(&out) || !strings.HasPrefix(m.Subject, "grid.") || m.ID != out.GetEventId() {
					t.Fatalf("message %s: type %q, payload %s, id %s/%s", m.Subject, out.GetType(), envelope.Name(&out), m.ID, out.GetEventId())
				}
			}
		}
	})
}

// dispatched is a case dispatch has received and classified: a noise
// complaint in 芷江西路街道, dispatched to the police station.
func dispatched(t *testing.T, id string, now time.Time) *dispatch.Case {
	t.Helper()
	area := &typesv1.Area{DistrictCode: "310106", StreetCode: "310106022", CommunityCode: "0", GridCode: "0"}
	c := dispatch.NewCase(id, now)
	for _, env := range []*eventsv1.Envelope{
		{Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{CaseId: id, CaseNumber: "GF-20260302-000001",
			Source: typesv1.Source_SOURCE_HOTLINE, ReceivedAt: timestamppb.New(now), AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT,
			Content: "楼下商铺每天音响很吵", Area: area}}},
		{Payload: &eventsv1.Envelope_CaseClassified{CaseClassified: &eventsv1.CaseClassified{CaseId: id, CaseNumber: "GF-20260302-000001",
			ClassificationVersion: 1, ItemCode: "H04001", Urgency: typesv1.Urgency_URGENCY_NORMAL, Dispatchable: true, Area: area,
			Source: typesv1.Source_SOURCE_HOTLINE, AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, ReceivedAt: timestamppb.New(now)}}},
	} {
		ch, _, err := changeOf(env)
		if err != nil {
			t.Fatal(err)
		}
		e := &dispatch.Env{Now: now, Actor: dispatch.SystemActor, Ref: fuzzRef, Policy: dispatch.DefaultPolicy(), NewID: dispatch.NewID, Encode: Encode}
		if err := ch.op(c, e); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Commit(c); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.Tasks) == 0 {
		t.Fatalf("case %s was not dispatched", id)
	}
	return c
}
