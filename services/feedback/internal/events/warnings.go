package events

import (
	"fmt"

	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/feedback/internal/warning"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// Early warning (issue 20): feedback's warnings leave through the outbox
// on grid.warning.<event>.<district>.<street>, each in an envelope whose
// case_id is empty.

// IsWarning reports whether env carries one of feedback's warning events.
func IsWarning(env *eventsv1.Envelope) bool {
	switch env.GetPayload().(type) {
	case *eventsv1.Envelope_WarningRaised, *eventsv1.Envelope_WarningAcknowledged, *eventsv1.Envelope_WarningDismissed:
		return true
	}
	return false
}

// WarningKeyOut is a warning's key as the events and the API carry it.
func WarningKeyOut(w *warning.Warning) *eventsv1.WarningKey {
	return &eventsv1.WarningKey{WarningId: w.ID, Kind: string(w.Key.Kind), Key: w.Key.Key, Label: w.Label,
		District: w.Key.District(), Street: w.Key.Street, WindowStart: timestamppb.New(w.Key.WindowStart),
		WindowEnd: timestamppb.New(w.Key.WindowEnd)}
}

// WarningReasonsOut is a warning's reasons as the events and the API carry them.
func WarningReasonsOut(r warning.Reasons) *eventsv1.WarningReasons {
	return &eventsv1.WarningReasons{Count: uint32(r.Count), Baseline: r.Baseline, Rise: r.Rise, CaseIds: r.CaseIDs,
		Rule: &eventsv1.WarningRule{Name: r.Rule.Name, MinCount: uint32(r.Rule.MinCount), Rise: r.Rule.Rise,
			Window: durationpb.New(r.Rule.Window), BaselineWindows: uint32(r.Rule.BaselineWindows), FurtherStep: r.Rule.FurtherStep}}
}

// EncodeWarning builds the envelope of a warning event and its outbox
// message.
func EncodeWarning(e warning.Event) (outbox.Message, error) {
	w := &e.Warning
	env := &eventsv1.Envelope{EventId: e.ID, OccurredAt: timestamppb.New(e.At), Actor: wire.PrincipalOut(e.Actor), Version: SchemaVersion}
	switch e.Type {
	case warning.EventRaised:
		env.Payload = &eventsv1.Envelope_WarningRaised{WarningRaised: &eventsv1.WarningRaised{Warning: WarningKeyOut(w),
			Reasons: WarningReasonsOut(w.Reasons), Level: uint32(w.Level)}}
	case warning.EventAcknowledged:
		env.Payload = &eventsv1.Envelope_WarningAcknowledged{WarningAcknowledged: &eventsv1.WarningAcknowledged{Warning: WarningKeyOut(w),
			Note: w.Note}}
	case warning.EventDismissed:
		env.Payload = &eventsv1.Envelope_WarningDismissed{WarningDismissed: &eventsv1.WarningDismissed{Warning: WarningKeyOut(w),
			Note: w.Note, Rise: w.DismissedRise}}
	default:
		return outbox.Message{}, fmt.Errorf("events: no warning event %q", e.Type)
	}
	env.Type = envelope.Name(env)
	b, err := proto.Marshal(env)
	if err != nil {
		return outbox.Message{}, err
	}
	d, s := w.Key.District(), w.Key.Street
	if d == "" {
		d, s = "0", "0"
	}
	return outbox.Message{ID: e.ID, Subject: fmt.Sprintf("grid.%s.%s.%s", env.Type, d, s), Data: b,
		Headers: map[string]string{"Gridflow-Event-Type": env.Type}}, nil
}
