package events

import (
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

// The emergency lane (pkg/lane): emergencies reach classify on a durable
// of their own, so that a routine backlog on classify-cases never holds one
// back, and leave it on case.classified's emergency subject for dispatch's
// lane. The handler is the same as ConsumerCases'.
const (
	ConsumerEmergencies = "classify-emergencies"
	SubjectsEmergencies = "grid.case.received.*.*.emergency"
)

// emergency reports whether e travels in the emergency lane: a
// classification of emergency urgency. The other events (review needed,
// grouped, linked) are not on the way to a task and stay routine.
func emergency(e classify.Event) bool {
	c, ok := e.(classify.Classified)
	return ok && c.Classification.Urgency == reference.Emergency
}
