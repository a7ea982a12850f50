// Package convert is feedback's one place for converters between its domain
// values and protobuf: the types the gRPC API and the events share
// (gridflow.events.v1, gridflow.types.v1) in convert.go, the API's own
// messages (gridflow.feedback.v1) in api.go, so that neither adapter lends
// its own to the other. The shared vocabulary maps through pkg/wire. Proto
// types never enter the domain.
package convert

import (
	"fmt"
	"strings"

	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// EnumName is a proto enum value's name as the domain spells it:
// TASK_STATE_COMPLETED with prefix TASK_STATE_ is "completed".
func EnumName(s fmt.Stringer, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), prefix))
}

// ResultsIn converts the units' results of a resolution or reply.
func ResultsIn(rs []*eventsv1.TaskResult) []feedback.Result {
	var out []feedback.Result
	for _, r := range rs {
		out = append(out, feedback.Result{TaskID: r.GetTaskId(), Department: r.GetDepartmentCode(), Role: EnumName(r.GetRole(), "TASK_ROLE_"),
			Text: r.GetResult(), Evidence: r.GetEvidence(), CompletedAt: wire.TimeIn(r.GetCompletedAt())})
	}
	return out
}

// ResultsOut is ResultsIn's inverse.
func ResultsOut(rs []feedback.Result) []*eventsv1.TaskResult {
	var out []*eventsv1.TaskResult
	for _, r := range rs {
		role := eventsv1.TaskRole_TASK_ROLE_CO_HANDLER
		if r.Role == feedback.RoleLead {
			role = eventsv1.TaskRole_TASK_ROLE_LEAD
		}
		out = append(out, &eventsv1.TaskResult{TaskId: r.TaskID, DepartmentCode: r.Department, Role: role, Result: r.Text,
			Evidence: r.Evidence, CompletedAt: wire.TimeOut(r.CompletedAt)})
	}
	return out
}

var satisfactions = wire.NewEnum(map[feedback.Satisfaction]eventsv1.Satisfaction{
	feedback.Satisfied: eventsv1.Satisfaction_SATISFACTION_SATISFIED, feedback.Basic: eventsv1.Satisfaction_SATISFACTION_BASIC,
	feedback.Unsatisfied: eventsv1.Satisfaction_SATISFACTION_UNSATISFIED,
})

// SatisfactionIn names a rating; "" for UNSPECIFIED and unknown numbers.
func SatisfactionIn(s eventsv1.Satisfaction) feedback.Satisfaction {
	d, _ := satisfactions.Lookup(s)
	return d
}

// SatisfactionRequestIn names a rating a request gives: "" for
// UNSPECIFIED, "enum#<n>" for a number this build does not know, which the
// domain refuses naming the field (an event's unknown rating is "", see
// SatisfactionIn).
func SatisfactionRequestIn(s eventsv1.Satisfaction) feedback.Satisfaction { return satisfactions.In(s) }

// SatisfactionOut is SatisfactionIn's inverse.
func SatisfactionOut(s feedback.Satisfaction) eventsv1.Satisfaction { return satisfactions.Out(s) }
