package events

import (
	"context"
	"fmt"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/jackc/pgx/v5"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// Source place coordination (issue 20): dispatch's durable consumer of what
// classify says of source places — an incident linked to one, and a lead
// named, changed, closed or reopened — kept apart from the case consumer,
// since these change no case and no task.

// CoordinationConsumerName is the durable of the coordination events.
const CoordinationConsumerName = "dispatch-coordination"

// CoordinationSubjects are its filter (pkg/natsauth's table says the same).
var CoordinationSubjects = []string{"grid.incident.linked.>", "grid.incident.source_place_lead.>"}

// CoordinationApplier records a change in the consumer's transaction
// (postgres.ApplyCoordination).
type CoordinationApplier func(ctx context.Context, tx pgx.Tx, ch dispatch.CoordinationChange) error

// CoordinationHandler is the consumer.Handler of CoordinationConsumerName.
// A payload that does not decode is poison; any other payload is not this
// consumer's and is acknowledged untouched.
func CoordinationHandler(apply CoordinationApplier) consumer.Handler {
	return func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		env, err := decode(msg.Data)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("decode %s: %w", msg.Subject, err))
		}
		ch, ok := CoordinationChangeOf(env)
		if !ok {
			return nil
		}
		if ch.SourcePlaceID == "" {
			return consumer.Permanent(fmt.Errorf("%s names no source place", envelope.Name(env)))
		}
		return apply(ctx, tx, ch)
	}
}

// CoordinationChangeOf reads a coordination event.
func CoordinationChangeOf(env *eventsv1.Envelope) (dispatch.CoordinationChange, bool) {
	at := env.GetOccurredAt().AsTime()
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_IncidentLinked:
		l := p.IncidentLinked
		a := wire.AreaIn(l.GetArea())
		return dispatch.CoordinationChange{
			Coordination: dispatch.Coordination{SourcePlaceID: l.GetSourcePlaceId(), PlaceKey: l.GetPlaceKey(), District: a.District, Street: a.Street},
			Incidents:    []dispatch.LinkedIncident{{IncidentID: l.GetIncidentId(), PrimaryCaseID: l.GetPrimaryCaseId(), ItemCode: l.GetItemCode()}},
			At:           at,
		}, true
	case *eventsv1.Envelope_IncidentSourcePlaceLead:
		l := p.IncidentSourcePlaceLead
		a := wire.AreaIn(l.GetArea())
		ch := dispatch.CoordinationChange{
			Coordination: dispatch.Coordination{SourcePlaceID: l.GetSourcePlaceId(), Version: int64(l.GetVersion()), Lead: l.GetLeadDepartmentCode(),
				Open: l.GetOpen(), PlaceKey: l.GetPlaceKey(), District: a.District, Street: a.Street},
			At: at,
		}
		if t := l.GetChangedAt(); t != nil {
			ch.At = t.AsTime()
		}
		for _, i := range l.GetIncidents() {
			ch.Incidents = append(ch.Incidents, dispatch.LinkedIncident{IncidentID: i.GetIncidentId(), PrimaryCaseID: i.GetPrimaryCaseId(), ItemCode: i.GetItemCode()})
		}
		return ch, true
	}
	return dispatch.CoordinationChange{}, false
}
