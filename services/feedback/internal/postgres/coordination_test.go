package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// coordinate delivers what classify publishes when k's incident is linked
// to a source place and a lead is named (issue 20).
func (e *env) coordinate(k kase, incident, place string, version uint64) {
	e.t.Helper()
	area := &typesv1.Area{DistrictCode: district, StreetCode: street}
	for _, env := range []*eventsv1.Envelope{
		{Payload: &eventsv1.Envelope_IncidentLinked{IncidentLinked: &eventsv1.IncidentLinked{SourcePlaceId: place, IncidentId: incident,
			CaseId: k.id, PrimaryCaseId: k.id, Area: area}}},
		{Payload: &eventsv1.Envelope_IncidentSourcePlaceLead{IncidentSourcePlaceLead: &eventsv1.SourcePlaceLeadChanged{SourcePlaceId: place,
			Version: version, LeadDepartmentCode: "310106-sthjj", Open: true, Change: "lead_set", IncidentId: incident, Area: area,
			Incidents: []*eventsv1.SourcePlaceIncident{{IncidentId: incident, PrimaryCaseId: k.id}}}}},
	} {
		env.EventId, env.CaseId, env.OccurredAt, env.Version = uuid.NewString(), k.id, timestamppb.New(e.clock.Now()), 1
		data, err := proto.Marshal(env)
		if err != nil {
			e.t.Fatal(err)
		}
		e.deliver(data)
	}
}

// Replies still go out once per case (issue 20): two cases whose incidents
// are linked to one source place under one lead each get exactly the reply,
// the state and feedback's own events that a case outside any source place
// gets; the coordination shows in their timelines and nowhere else.
func TestLinkingChangesNoReply(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alone := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
	e.classify(alone, "")
	e.work(alone, 0, false)
	base, err := outbox.Pending(ctx, e.pool)
	if err != nil {
		t.Fatal(err)
	}
	want := e.state(alone.id)

	var linked []kase
	for i := range 2 {
		k := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
		e.classify(k, "")
		e.coordinate(k, uuid.NewString(), "sp-1", uint64(i+1))
		e.work(k, 0, false)
		linked = append(linked, k)
	}
	for _, k := range linked {
		c := e.state(k.id)
		if c.State != want.State || c.State != feedback.Replied || len(c.Replies) != 1 || len(c.Replies) != len(want.Replies) ||
			len(c.Replies[0].Results) != len(want.Replies[0].Results) || c.CallbackDue.IsZero() {
			t.Errorf("linked case %s: state %s, %d replies (%+v); want as the case outside any place: %s, %d replies",
				k.number, c.State, len(c.Replies), c.Replies, want.State, len(want.Replies))
		}
		tl, err := e.store.Timeline(ctx, k.id)
		if err != nil {
			t.Fatal(err)
		}
		shown := 0
		for _, ev := range tl {
			if ev.Type == "incident.source_place_lead" || ev.Type == "incident.linked" {
				shown++
			}
		}
		if shown != 2 {
			t.Errorf("case %s timeline shows %d coordination events, want 2", k.number, shown)
		}
	}
	// Feedback's own events: exactly three times the lone case's.
	if n, err := outbox.Pending(ctx, e.pool); err != nil || n != 3*base {
		t.Errorf("outbox holds %d events (%v), want %d: linking must add no reply or resolution", n, err, 3*base)
	}
}
