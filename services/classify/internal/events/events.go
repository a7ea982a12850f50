// Package events is classify's side of the event stream: it decodes the
// case.received and case.answered envelopes it consumes (durable consumer
// classify-cases) and turns the domain's events into the envelopes it
// publishes through the outbox — grid.case.classified.<district>.<street>,
// grid.case.review_needed…, grid.incident.grouped…, grid.incident.linked….
package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/convert"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// SchemaVersion of the events this package writes.
const SchemaVersion = 1

// Consumer names and the subjects classify consumes.
const (
	ConsumerCases    = "classify-cases"
	SubjectsReceived = "grid.case.received.*.*" // the routine lane (pkg/lane); emergencies: ConsumerEmergencies
	SubjectsAnswered = "grid.case.answered.>"
)

// Subject builds grid.<entity>.<event>.<district>.<street>; unknown areas
// are "0".
func Subject(entity, event string, a reference.AreaCodes) string {
	a = a.OrUnknown()
	return fmt.Sprintf("grid.%s.%s.%s.%s", entity, event, a.District, a.Street)
}

// Binder gives the domain's view of a consumer's transaction.
type Binder func(tx pgx.Tx) classify.Tx

// Handler returns the consumer handler for case.received and
// case.answered: decode, then classify in the runner's transaction. A
// payload that is not a case event is poison (dead-lettered with the
// reason); a case event without a case id too.
func Handler(svc *classify.Service, bind Binder) consumer.Handler {
	return func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		c, err := received(msg)
		if err != nil {
			return err
		}
		return svc.Receive(ctx, bind(tx), c)
	}
}

// BatchHandler classifies what arrived for one worker in one transaction
// (consumer.NewBatch): every envelope is decoded first — poison ones are
// dead-lettered alone — then the place locks of all the batch's cases are
// taken at once, in LockPlaces' order, so that batches of the same places
// (in this replica or another) cannot deadlock; then each case is
// classified in its own savepoint, in arrival order, so one that fails
// rolls back alone and its neighbours commit with one commit. What the
// cases that commit emit is written to the outbox at the end, in arrival
// order, with one insert for the batch (issue 17).
func BatchHandler(svc *classify.Service, bind Binder) consumer.BatchHandler {
	return func(ctx context.Context, b *consumer.Batch) error {
		msgs := b.Messages()
		cases := make([]classify.Case, len(msgs))
		ok := make([]bool, len(msgs))
		var keys []string
		for i, m := range msgs {
			c, err := received(m)
			if err != nil {
				b.Fail(i, err)
				continue
			}
			cases[i], ok[i] = c, true
			keys = append(keys, svc.LockKeys(c)...)
		}
		if len(keys) > 0 {
			if err := bind(b.Tx()).LockPlaces(ctx, keys); err != nil {
				return err
			}
		}
		var out []outbox.Message
		for i := range msgs {
			if !ok[i] {
				continue
			}
			held := &Held{}
			err := b.Apply(i, func(ctx context.Context, tx pgx.Tx, _ consumer.Message) error {
				return svc.Receive(classify.PlacesHeld(context.WithValue(ctx, heldKey{}, held)), bind(tx), cases[i])
			}) // the outcome is recorded
			if err == nil {
				out = append(out, held.msgs...)
			}
		}
		return outbox.Enqueue(ctx, b.Tx(), out...)
	}
}

// OrderKey routes a received case to the worker its place's other cases
// go to (Service.OrderKey); a message that does not decode goes by its
// event id, and fails in the handler.
func OrderKey(svc *classify.Service) func(consumer.Message) string {
	return func(m consumer.Message) string {
		c, err := received(m)
		if err != nil {
			return m.EventID
		}
		return svc.OrderKey(c)
	}
}

// Held keeps the events one case of a batch emits until the batch writes
// them all to the outbox (BatchHandler): they are dropped with the case's
// savepoint if it rolls back.
type Held struct{ msgs []outbox.Message }

type heldKey struct{}

// Hold keeps msgs for the batch when ctx is a case's in BatchHandler,
// each carrying the case's trace, and reports whether it did; otherwise
// the caller enqueues them itself.
func Hold(ctx context.Context, msgs []outbox.Message) bool {
	h, _ := ctx.Value(heldKey{}).(*Held)
	if h == nil {
		return false
	}
	for _, m := range msgs {
		if m.Headers == nil {
			m.Headers = map[string]string{}
		}
		if m.Headers["traceparent"] == "" {
			otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(m.Headers))
		}
		h.msgs = append(h.msgs, m)
	}
	return true
}

// received reads the case a delivered case.received or case.answered
// carries. A payload that is not a case event is poison (dead-lettered
// with the reason); a case event without a case id too.
func received(msg consumer.Message) (classify.Case, error) {
	env, err := decode(msg.Data)
	if err != nil {
		return classify.Case{}, consumer.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
	}
	c, ok := caseOf(env)
	if !ok {
		return c, consumer.Permanent(fmt.Errorf("%s: envelope %s (type %q) carries no case.received or case.answered payload",
			msg.Subject, env.GetEventId(), env.GetType()))
	}
	if c.ID == "" {
		return c, consumer.Permanent(fmt.Errorf("%s: event %s has no case id", msg.Subject, env.GetEventId()))
	}
	if c.ReceivedAt.IsZero() && c.AcceptedAt.IsZero() {
		c.AcceptedAt = msg.Published
	}
	return c, nil
}

// caseOf is the case a consumed envelope carries: classify takes the two
// payloads it subscribes to and refuses every other (TestCaseOfTakesWhatItSubscribes).
func caseOf(env *eventsv1.Envelope) (classify.Case, bool) {
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_CaseReceived:
		return convert.CaseIn(p.CaseReceived, false), true
	case *eventsv1.Envelope_CaseAnswered:
		return convert.CaseIn(p.CaseAnswered, true), true
	}
	return classify.Case{}, false
}

func decode(b []byte) (*eventsv1.Envelope, error) {
	env := &eventsv1.Envelope{}
	if err := proto.Unmarshal(b, env); err != nil {
		return nil, err
	}
	if env.GetPayload() == nil {
		return nil, errors.New("envelope without payload")
	}
	if err := envelope.CheckTimes(env); err != nil {
		return nil, err
	}
	return env, nil
}

// Messages turns domain events into outbox messages.
func Messages(evs []classify.Event, now time.Time) ([]outbox.Message, error) {
	out := make([]outbox.Message, 0, len(evs))
	for _, e := range evs {
		m, err := Message(e, now)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Message builds one event's envelope: the one place that maps each of
// classify's domain events to its payload.
func Message(e classify.Event, now time.Time) (outbox.Message, error) {
	env := &eventsv1.Envelope{
		EventId: uuid.Must(uuid.NewV7()).String(), OccurredAt: timestamppb.New(now),
		Actor: wire.PrincipalOut(classify.SystemActor), Version: SchemaVersion,
	}
	var area reference.AreaCodes // the subject's
	switch e := e.(type) {
	case classify.Classified:
		env.CaseId = e.CaseID
		env.Actor = wire.PrincipalOut(e.Actor)
		if !e.ClassifiedAt.IsZero() {
			env.OccurredAt = timestamppb.New(e.ClassifiedAt)
		}
		env.Payload = &eventsv1.Envelope_CaseClassified{CaseClassified: convert.ClassifiedOut(&e.Classification, &e.Case)}
		area = e.Case.Area
	case classify.ReviewNeeded:
		env.CaseId = e.Case.ID
		env.Payload = &eventsv1.Envelope_CaseReviewNeeded{CaseReviewNeeded: &eventsv1.CaseReviewNeeded{
			CaseId: e.Case.ID, CaseNumber: e.Case.Number, Choices: convert.ChoicesOut(e.Review.Choices),
			ModelVersion: e.Review.ModelVersion, FallbackAt: wire.TimeOut(e.Review.FallbackAt),
			Urgency: convert.UrgencyOut(e.Urgency), Area: wire.AreaOut(e.Case.Area), Source: wire.SourceOut(e.Case.Source),
		}}
		area = e.Case.Area
	case classify.Grouped:
		inc := e.Incident
		env.CaseId = e.Case.ID
		env.Payload = &eventsv1.Envelope_IncidentGrouped{IncidentGrouped: &eventsv1.IncidentGrouped{
			IncidentId: inc.ID, CaseId: e.Case.ID, CaseNumber: e.Case.Number, PrimaryCaseId: inc.PrimaryCaseID,
			ItemCode: inc.ItemCode, Reports: uint32(inc.Reports()), Urgency: convert.UrgencyOut(inc.Urgency),
			UrgencyRaised: e.UrgencyRaised, PlaceKey: inc.Place.Key, Location: wire.PointOut(inc.Place.Point),
			Area: wire.AreaOut(inc.Area), FirstReportedAt: wire.TimeOut(inc.FirstAt), LastReportedAt: wire.TimeOut(inc.LastAt),
		}}
		area = e.Case.Area
	case classify.Linked:
		env.CaseId = e.CaseID
		env.Payload = &eventsv1.Envelope_IncidentLinked{IncidentLinked: &eventsv1.IncidentLinked{
			SourcePlaceId: e.SourcePlace.ID, IncidentId: e.Incident.ID, CaseId: e.CaseID, ItemCode: e.Incident.ItemCode,
			IncidentIds: e.SourcePlace.IncidentIDs, ItemCodes: e.SourcePlace.ItemCodes, Reports: uint32(e.Reports),
			PlaceKey: e.SourcePlace.Place.Key, Location: wire.PointOut(e.SourcePlace.Place.Point),
			Area: wire.AreaOut(e.Incident.Area), PrimaryCaseId: e.Incident.PrimaryCaseID,
		}}
		area = e.Incident.Area
	case classify.PlaceUpserted: // issue 20, places
		env.Actor = wire.PrincipalOut(e.Actor)
		env.Payload = &eventsv1.Envelope_PlaceUpserted{PlaceUpserted: convert.PlaceUpsertedOut(&e.Place)}
		if !e.Place.UpdatedAt.IsZero() {
			env.OccurredAt = timestamppb.New(e.Place.UpdatedAt)
		}
		area = e.Place.Area
	case classify.LeadChanged:
		// Source place coordination (issue 20): one per incident, naming its
		// primary case.
		env.CaseId = e.Incident.PrimaryCaseID
		env.Actor = wire.PrincipalOut(e.Change.Actor)
		env.OccurredAt = timestamppb.New(e.Change.At)
		env.Payload = &eventsv1.Envelope_IncidentSourcePlaceLead{IncidentSourcePlaceLead: leadChangedOut(e)}
		area = e.SourcePlace.Area
	default:
		// Unreachable while TestMessageMapsEveryEvent passes.
		return outbox.Message{}, fmt.Errorf("events: unknown domain event %T", e)
	}
	// The payload names the event: Envelope.type and the subject follow.
	env.Type = envelope.Name(env)
	entity, event, _ := strings.Cut(env.Type, ".")
	subject := lane.Subject(Subject(entity, event, area), emergency(e))
	data, err := proto.Marshal(env)
	if err != nil {
		return outbox.Message{}, fmt.Errorf("marshal %s: %w", env.Type, err)
	}
	return outbox.Message{ID: env.EventId, Subject: subject, Data: data,
		Headers: map[string]string{"Gridflow-Event-Type": env.Type}}, nil
}

// leadChangedOut is the payload of incident.source_place_lead (issue 20).
func leadChangedOut(e classify.LeadChanged) *eventsv1.SourcePlaceLeadChanged {
	sp := e.SourcePlace
	out := &eventsv1.SourcePlaceLeadChanged{SourcePlaceId: sp.ID, Version: uint64(sp.Version), LeadDepartmentCode: sp.Lead,
		PreviousLeadDepartmentCode: e.Change.PreviousLead, Open: sp.Open(), Change: e.Change.Change, Reason: e.Change.Reason,
		IncidentId: e.Incident.ID, PlaceKey: sp.Place.Key, Area: wire.AreaOut(sp.Area), ChangedAt: wire.TimeOut(e.Change.At)}
	for _, i := range e.Incidents {
		out.Incidents = append(out.Incidents, &eventsv1.SourcePlaceIncident{IncidentId: i.ID, PrimaryCaseId: i.PrimaryCaseID, ItemCode: i.ItemCode})
	}
	return out
}
