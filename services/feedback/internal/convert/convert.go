// Package convert translates feedback's domain values to and from the
// protobuf types the gRPC API and the events share (gridflow.events.v1,
// gridflow.types.v1): the one place for those converters, so that neither
// adapter lends its own to the other. Proto types never enter the domain.
package convert

import (
	"fmt"
	"strings"
	"time"

	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Timestamp converts t, nil for the zero time.
func Timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Time converts ts, the zero time for nil.
func Time(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

// AreaIn converts an area; an absent one is the zero area.
func AreaIn(a *typesv1.Area) feedback.Area {
	if a == nil {
		return feedback.Area{}
	}
	return feedback.Area{District: a.GetDistrictCode(), Street: a.GetStreetCode(), Community: a.GetCommunityCode(), Grid: a.GetGridCode()}
}

// AreaOut converts an area.
func AreaOut(a feedback.Area) *typesv1.Area {
	return &typesv1.Area{DistrictCode: a.District, StreetCode: a.Street, CommunityCode: a.Community, GridCode: a.Grid}
}

// SourceIn names a source.
func SourceIn(s typesv1.Source) feedback.Source {
	switch s {
	case typesv1.Source_SOURCE_HOTLINE:
		return feedback.Hotline
	case typesv1.Source_SOURCE_PATROL:
		return feedback.Patrol
	case typesv1.Source_SOURCE_SECRETARY:
		return feedback.Secretary
	}
	return ""
}

// SourceOut is SourceIn's inverse.
func SourceOut(s feedback.Source) typesv1.Source {
	switch s {
	case feedback.Hotline:
		return typesv1.Source_SOURCE_HOTLINE
	case feedback.Patrol:
		return typesv1.Source_SOURCE_PATROL
	case feedback.Secretary:
		return typesv1.Source_SOURCE_SECRETARY
	}
	return typesv1.Source_SOURCE_UNSPECIFIED
}

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
			Text: r.GetResult(), Evidence: r.GetEvidence(), CompletedAt: Time(r.GetCompletedAt())})
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
			Evidence: r.Evidence, CompletedAt: Timestamp(r.CompletedAt)})
	}
	return out
}

// SatisfactionIn names a rating.
func SatisfactionIn(s eventsv1.Satisfaction) feedback.Satisfaction {
	switch s {
	case eventsv1.Satisfaction_SATISFACTION_SATISFIED:
		return feedback.Satisfied
	case eventsv1.Satisfaction_SATISFACTION_BASIC:
		return feedback.Basic
	case eventsv1.Satisfaction_SATISFACTION_UNSATISFIED:
		return feedback.Unsatisfied
	}
	return ""
}

// SatisfactionOut is SatisfactionIn's inverse.
func SatisfactionOut(s feedback.Satisfaction) eventsv1.Satisfaction {
	switch s {
	case feedback.Satisfied:
		return eventsv1.Satisfaction_SATISFACTION_SATISFIED
	case feedback.Basic:
		return eventsv1.Satisfaction_SATISFACTION_BASIC
	case feedback.Unsatisfied:
		return eventsv1.Satisfaction_SATISFACTION_UNSATISFIED
	}
	return eventsv1.Satisfaction_SATISFACTION_UNSPECIFIED
}
