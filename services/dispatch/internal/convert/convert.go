// Package convert is dispatch's one place for converters between its domain
// values and protobuf: the types the gRPC API and the events share
// (gridflow.events.v1, gridflow.types.v1) in convert.go, the API's own
// messages (gridflow.dispatch.v1) in api.go, so that neither adapter lends
// its own to the other. The shared vocabulary maps through pkg/wire. Proto
// types never enter the domain.
package convert

import (
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// DeadlineOut converts one limit, nil when it does not apply.
func DeadlineOut(l dispatch.Limit) *eventsv1.Deadline {
	if l.IsZero() {
		return nil
	}
	return &eventsv1.Deadline{Due: wire.TimeOut(l.Due), WarnAt: wire.TimeOut(l.WarnAt), Limit: l.Duration.String(),
		Source: l.Source, Unconfirmed: l.Unconfirmed}
}

// RefLimitOut converts a routing decision's limit.
func RefLimitOut(l reference.Limit) *eventsv1.Deadline {
	if l.IsZero() {
		return nil
	}
	return &eventsv1.Deadline{Due: wire.TimeOut(l.Due), WarnAt: wire.TimeOut(l.WarnAt), Limit: l.Duration.String(),
		Source: l.Source, Unconfirmed: l.Flags.Unconfirmed()}
}

// DeadlinesOut converts a task's or case's deadlines.
func DeadlinesOut(d dispatch.Deadlines) *eventsv1.Deadlines {
	if d.Start.IsZero() && d.Ack.IsZero() && d.Complete.IsZero() {
		return nil
	}
	return &eventsv1.Deadlines{Ack: DeadlineOut(d.Ack), OnSite: DeadlineOut(d.OnSite), Complete: DeadlineOut(d.Complete),
		StartedAt: wire.TimeOut(d.Start)}
}

var roles = map[dispatch.Role]eventsv1.TaskRole{dispatch.Lead: eventsv1.TaskRole_TASK_ROLE_LEAD, dispatch.CoHandler: eventsv1.TaskRole_TASK_ROLE_CO_HANDLER}

// RoleOut converts a role.
func RoleOut(r dispatch.Role) eventsv1.TaskRole { return roles[r] }

var states = wire.NewEnum(map[dispatch.TaskState]eventsv1.TaskState{
	dispatch.Dispatched: eventsv1.TaskState_TASK_STATE_DISPATCHED, dispatch.Acknowledged: eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED,
	dispatch.Rejected: eventsv1.TaskState_TASK_STATE_REJECTED, dispatch.Forwarded: eventsv1.TaskState_TASK_STATE_FORWARDED,
	dispatch.ExtensionRequested: eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED, dispatch.Completed: eventsv1.TaskState_TASK_STATE_COMPLETED,
	dispatch.Withdrawn: eventsv1.TaskState_TASK_STATE_WITHDRAWN,
})

// StateOut converts a task state.
func StateOut(s dispatch.TaskState) eventsv1.TaskState { return states.Out(s) }

// StateIn converts a task state from the API; ok is false for an unknown one.
func StateIn(s eventsv1.TaskState) (dispatch.TaskState, bool) { return states.Lookup(s) }

// ReviewOut converts a review state.
func ReviewOut(r dispatch.ReviewState) eventsv1.ReviewState {
	switch r {
	case dispatch.ReviewNotRequired:
		return eventsv1.ReviewState_REVIEW_STATE_NOT_REQUIRED
	case dispatch.ReviewPending:
		return eventsv1.ReviewState_REVIEW_STATE_PENDING
	case dispatch.ReviewApproved:
		return eventsv1.ReviewState_REVIEW_STATE_APPROVED
	}
	return eventsv1.ReviewState_REVIEW_STATE_UNSPECIFIED
}

var rejectReasons = wire.NewEnum(map[dispatch.RejectReason]eventsv1.RejectReason{
	dispatch.NotMyArea: eventsv1.RejectReason_REJECT_REASON_NOT_MY_AREA, dispatch.NotMyDuty: eventsv1.RejectReason_REJECT_REASON_NOT_MY_DUTY,
	dispatch.UnclearOwnership: eventsv1.RejectReason_REJECT_REASON_UNCLEAR_OWNERSHIP, dispatch.OtherReason: eventsv1.RejectReason_REJECT_REASON_OTHER,
})

// RejectReasonOut converts a reject reason.
func RejectReasonOut(r dispatch.RejectReason) eventsv1.RejectReason { return rejectReasons.Out(r) }

// RejectReasonIn converts a reject reason from the API: "" when unspecified,
// "enum#<n>" for a number this build does not know (pkg/wire's rule); the
// domain refuses both, naming the field.
func RejectReasonIn(r eventsv1.RejectReason) dispatch.RejectReason { return rejectReasons.In(r) }

var dispatchReasons = map[dispatch.DispatchReason]eventsv1.DispatchReason{
	dispatch.Routed: eventsv1.DispatchReason_DISPATCH_REASON_ROUTED, dispatch.Rerouted: eventsv1.DispatchReason_DISPATCH_REASON_REROUTED,
	dispatch.Redecided: eventsv1.DispatchReason_DISPATCH_REASON_REDECIDED, dispatch.Reassigned: eventsv1.DispatchReason_DISPATCH_REASON_REASSIGNED,
	dispatch.Forwarding: eventsv1.DispatchReason_DISPATCH_REASON_FORWARDED, dispatch.Arbitrated: eventsv1.DispatchReason_DISPATCH_REASON_ARBITRATED,
	dispatch.Reopened: eventsv1.DispatchReason_DISPATCH_REASON_REOPENED,
}

// DispatchReasonOut converts a dispatch reason.
func DispatchReasonOut(r dispatch.DispatchReason) eventsv1.DispatchReason { return dispatchReasons[r] }

var withdrawReasons = map[dispatch.WithdrawReason]eventsv1.WithdrawReason{
	dispatch.WithdrawRerouted: eventsv1.WithdrawReason_WITHDRAW_REASON_REROUTED, dispatch.WithdrawReassigned: eventsv1.WithdrawReason_WITHDRAW_REASON_REASSIGNED,
	dispatch.WithdrawCancelled: eventsv1.WithdrawReason_WITHDRAW_REASON_CANCELLED, dispatch.WithdrawHotline: eventsv1.WithdrawReason_WITHDRAW_REASON_HOTLINE_WITHDREW,
	dispatch.WithdrawNotDispatchable: eventsv1.WithdrawReason_WITHDRAW_REASON_NOT_DISPATCHABLE,
}

// WithdrawReasonOut converts a withdraw reason.
func WithdrawReasonOut(r dispatch.WithdrawReason) eventsv1.WithdrawReason { return withdrawReasons[r] }

var changeReasons = map[dispatch.ChangeReason]eventsv1.DeadlineChangeReason{
	dispatch.UrgencyRaised: eventsv1.DeadlineChangeReason_DEADLINE_CHANGE_REASON_URGENCY_RAISED, dispatch.ExtensionGranted: eventsv1.DeadlineChangeReason_DEADLINE_CHANGE_REASON_EXTENSION_GRANTED,
	dispatch.Unparked: eventsv1.DeadlineChangeReason_DEADLINE_CHANGE_REASON_UNPARKED, dispatch.Reclassified: eventsv1.DeadlineChangeReason_DEADLINE_CHANGE_REASON_RECLASSIFIED,
}

// ChangeReasonOut converts why deadlines moved.
func ChangeReasonOut(r dispatch.ChangeReason) eventsv1.DeadlineChangeReason { return changeReasons[r] }

var limits = map[dispatch.LimitName]eventsv1.ClockLimit{
	dispatch.AckLimit: eventsv1.ClockLimit_CLOCK_LIMIT_ACK, dispatch.OnSiteLimit: eventsv1.ClockLimit_CLOCK_LIMIT_ON_SITE, dispatch.CompleteLimit: eventsv1.ClockLimit_CLOCK_LIMIT_COMPLETE,
}

var actions = map[reference.Action]eventsv1.EscalationAction{
	reference.Remind: eventsv1.EscalationAction_ESCALATION_ACTION_REMIND, reference.Supervise: eventsv1.EscalationAction_ESCALATION_ACTION_SUPERVISE,
	reference.Escalate: eventsv1.EscalationAction_ESCALATION_ACTION_ESCALATE,
}

// ClockStepOut converts a clock point that fired.
func ClockStepOut(s dispatch.ClockStep) *eventsv1.ClockStep {
	return &eventsv1.ClockStep{Limit: limits[s.Limit], Due: wire.TimeOut(s.Due), Action: actions[s.Action], ToDepartmentCode: s.ToDepartment}
}

// TaskRefOut converts a task to the reference every task event carries.
func TaskRefOut(t *dispatch.Task, area dispatch.Area, item string) *eventsv1.TaskRef {
	return &eventsv1.TaskRef{
		TaskId: t.ID, CaseId: t.CaseID, CaseNumber: t.CaseNumber, DepartmentCode: t.Department, Role: RoleOut(t.Role),
		State: StateOut(t.State), DistrictCode: Token(area.District), StreetCode: Token(area.Street), Round: uint32(t.Round),
		Deadlines: DeadlinesOut(t.Deadlines), Warned: t.Warned, Overdue: t.Overdue, Supervised: t.Supervised,
		Escalated: t.Escalated, Review: ReviewOut(t.Review), ItemCode: item,
	}
}

// Token is an area code for a subject or an event; unknown is "0".
func Token(code string) string {
	if code == "" {
		return reference.Unknown
	}
	return code
}

// AreaOut converts an area; an unknown level goes out as "0".
func AreaOut(a dispatch.Area) *typesv1.Area { return wire.AreaOut(a.OrUnknown()) }

// SummaryOut converts a case summary.
func SummaryOut(s *dispatch.Summary) *eventsv1.CaseSummary {
	if s == nil {
		return nil
	}
	return &eventsv1.CaseSummary{CaseNumber: s.CaseNumber, ItemCode: s.Item, ItemName: s.ItemName, Urgency: wire.UrgencyOut(s.Urgency),
		AppealType: wire.AppealTypeOut(s.AppealType), Source: wire.SourceOut(s.Source), Area: AreaOut(s.Area), Address: wire.AddressOut(s.Address),
		ReceivedAt: wire.TimeOut(s.ReceivedAt), IncidentId: s.IncidentID, ClassificationVersion: uint32(s.ClassificationVersion)}
}

// PathOut converts a routing path.
func PathOut(p []routing.Step) []*eventsv1.RouteStep {
	out := make([]*eventsv1.RouteStep, len(p))
	for i, s := range p {
		out[i] = &eventsv1.RouteStep{Rule: s.Rule, Line: int32(s.Line), Why: s.Why, Fired: s.Fired}
	}
	return out
}

// FactsIn converts case.received to the facts dispatch keeps: never the
// caller.
func FactsIn(r *eventsv1.CaseReceived) dispatch.Facts {
	f := dispatch.Facts{
		Title: r.GetTitle(), Content: r.GetContent(), Source: wire.SourceIn(r.GetSource()), AppealType: wire.AppealTypeIn(r.GetAppealType()),
		Urgency: wire.UrgencyIn(r.GetUrgency()), ReceivedAt: wire.TimeIn(r.GetReceivedAt()), Area: wire.AreaIn(r.GetArea()),
		Whistle: r.GetWhistleDepartments(), CatalogueCode: r.GetCatalogueCode(), HotlineOrderNo: r.GetHotlineOrderNo(),
		SelfDisposed: r.GetSelfDisposed(), // issue 20
	}
	if r.GetAddress() != nil {
		f.Address = wire.AddressIn(r.GetAddress())
	}
	for _, a := range r.GetAttachments() {
		f.Attachments = append(f.Attachments, dispatch.Attachment{URI: a.GetUri(), MediaType: a.GetMediaType(), Name: a.GetName()})
	}
	if f.ReceivedAt.IsZero() {
		f.ReceivedAt = wire.TimeIn(r.GetAcceptedAt())
	}
	return f
}

// ClassificationIn converts case.classified.
func ClassificationIn(cl *eventsv1.CaseClassified) dispatch.Classification {
	return dispatch.Classification{
		Version: int(cl.GetClassificationVersion()), Item: cl.GetItemCode(), ItemName: cl.GetItemName(), Label: cl.GetLabel(),
		Labels: cl.GetLabels(), Urgency: wire.UrgencyIn(cl.GetUrgency()), IncidentID: cl.GetIncidentId(), Dispatchable: cl.GetDispatchable(),
		Area: wire.AreaIn(cl.GetArea()), Source: wire.SourceIn(cl.GetSource()), AppealType: wire.AppealTypeIn(cl.GetAppealType()),
		ReceivedAt: wire.TimeIn(cl.GetReceivedAt()), ClassifiedAt: wire.TimeIn(cl.GetClassifiedAt()),
	}
}
