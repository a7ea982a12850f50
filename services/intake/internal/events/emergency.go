package events

import (
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// emergency reports whether env travels in the emergency lane (pkg/lane):
// a case received with emergency urgency, which classify and dispatch take
// on durables of their own, behind no routine work. Every other event stays
// routine.
func emergency(env *eventsv1.Envelope) bool {
	return env.GetCaseReceived().GetUrgency() == typesv1.Urgency_URGENCY_EMERGENCY
}
