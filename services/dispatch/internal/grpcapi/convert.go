package grpcapi

import (
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/dispatch/internal/convert"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// Named converters between dispatch.v1 messages and the domain.

func rejectionOut(r *dispatch.Rejection) *dispatchv1.Rejection {
	if r == nil {
		return nil
	}
	return &dispatchv1.Rejection{Reason: convert.RejectReasonOut(r.Reason), Note: r.Note, AreaCode: r.Area,
		RejectedAt: convert.Timestamp(r.At), TaskId: r.TaskID, DepartmentCode: r.Department}
}

func taskOut(t *dispatch.Task) *dispatchv1.Task {
	if t == nil {
		return nil
	}
	out := &dispatchv1.Task{
		TaskId: t.ID, CaseId: t.CaseID, CaseNumber: t.CaseNumber, DepartmentCode: t.Department, Role: convert.RoleOut(t.Role),
		State: convert.StateOut(t.State), Review: convert.ReviewOut(t.Review), Deadlines: convert.DeadlinesOut(t.Deadlines),
		Warned: t.Warned, Overdue: t.Overdue, Supervised: t.Supervised, Escalated: t.Escalated, Round: uint32(t.Round),
		DispatchReason: convert.DispatchReasonOut(t.Reason), Rule: t.Rule, Whistle: t.Whistle, ReplacesTaskId: t.Replaces,
		ForwardedToTaskId: t.ForwardedTo, DispatchedAt: convert.Timestamp(t.DispatchedAt), AcknowledgedAt: convert.Timestamp(t.AcknowledgedAt),
		Eta: convert.Timestamp(t.ETA), AcknowledgeNote: t.AckNote, Rejection: rejectionOut(t.Rejection),
		ExtensionsRequested: uint32(t.Extensions), OnSiteReported: t.OnSiteReported, Returns: uint32(t.Returns),
		Urges: uint32(t.Urges), UpdatedAt: convert.Timestamp(t.UpdatedAt),
	}
	if e := t.Extension; e != nil {
		out.Extension = &dispatchv1.ExtensionRequest{RequestedDue: convert.Timestamp(e.RequestedDue), Reason: e.Reason,
			RequestedAt: convert.Timestamp(e.RequestedAt), Decided: e.Decided, Granted: e.Granted, DecisionNote: e.Note}
	}
	for _, p := range t.Progress {
		out.Progress = append(out.Progress, &dispatchv1.Progress{Text: p.Text, OnSite: p.OnSite, ReportedAt: convert.Timestamp(p.At)})
	}
	if c := t.Completion; c != nil {
		out.Completion = &dispatchv1.Completion{Result: c.Result, Evidence: c.Evidence, CompletedAt: convert.Timestamp(c.At), ReviewNote: c.ReviewNote}
	}
	return out
}

func tasksOut(ts []*dispatch.Task) []*dispatchv1.Task {
	out := make([]*dispatchv1.Task, len(ts))
	for i, t := range ts {
		out[i] = taskOut(t)
	}
	return out
}

// caseDetailOut is the case as the unit working it sees it: the summary,
// the citizen's text and the full address, never the caller.
func caseDetailOut(c *dispatch.Case, ref *reference.Set) *dispatchv1.CaseDetail {
	d := &dispatchv1.CaseDetail{Summary: convert.SummaryOut(dispatch.SummaryOf(c, ref))}
	if f := c.Facts; f != nil {
		d.Title, d.Content, d.Address = f.Title, f.Content, f.Address.Raw
		for _, a := range f.Attachments {
			d.Attachments = append(d.Attachments, &typesv1.Attachment{Uri: a.URI, MediaType: a.MediaType, Name: a.Name})
		}
	}
	return d
}

var caseStatuses = map[dispatch.CaseStatus]dispatchv1.CaseStatus{
	dispatch.Awaiting: dispatchv1.CaseStatus_CASE_STATUS_AWAITING, dispatch.CaseRouted: dispatchv1.CaseStatus_CASE_STATUS_ROUTED,
	dispatch.NotDispatchable: dispatchv1.CaseStatus_CASE_STATUS_NOT_DISPATCHABLE, dispatch.Parked: dispatchv1.CaseStatus_CASE_STATUS_PARKED,
	dispatch.Cancelled: dispatchv1.CaseStatus_CASE_STATUS_CANCELLED, dispatch.CaseWithdrawn: dispatchv1.CaseStatus_CASE_STATUS_WITHDRAWN,
}

var queueReasons = map[dispatch.QueueReason]dispatchv1.QueueReason{
	dispatch.QueueRejected: dispatchv1.QueueReason_QUEUE_REASON_REJECTED, dispatch.QueueUnrouted: dispatchv1.QueueReason_QUEUE_REASON_UNROUTED,
	dispatch.QueueRedecisionFailed:  dispatchv1.QueueReason_QUEUE_REASON_REDECISION_FAILED,
	dispatch.QueueCoHandlerRejected: dispatchv1.QueueReason_QUEUE_REASON_CO_HANDLER_REJECTED,
}

func caseOut(c *dispatch.Case) *dispatchv1.DispatchCase {
	out := &dispatchv1.DispatchCase{
		CaseId: c.ID, CaseNumber: c.Number, Status: caseStatuses[c.Status], Area: convert.AreaOut(c.Area),
		Deadlines: convert.DeadlinesOut(c.Deadlines), Excluded: c.Excluded, ExclusionReason: c.ExcludedReason,
		InQueue: c.Queue != nil, ArbitrationOpen: c.Arbitration != nil, CancelReason: c.CancelReason,
		LeadRejections: uint32(len(c.LeadRejections)), Round: uint32(c.Round), Tasks: tasksOut(c.Tasks),
	}
	if cl := c.Class; cl != nil {
		out.ItemCode, out.Urgency, out.ClassificationVersion = cl.Item, wire.UrgencyOut(cl.Urgency), uint32(cl.Version)
	}
	if c.Queue != nil {
		out.QueueReason = queueReasons[c.Queue.Reason]
	}
	if p := c.Parking; p != nil {
		out.ParkedAt, out.ParkReason, out.ParkReviewDate = convert.Timestamp(p.At), p.Reason, p.ReviewDate.String()
	}
	return out
}

func itemOf(c *dispatch.Case) string {
	if c.Class != nil {
		return c.Class.Item
	}
	return ""
}

func queueEntryOut(c *dispatch.Case) *dispatchv1.QueueEntry {
	e := &dispatchv1.QueueEntry{CaseId: c.ID, CaseNumber: c.Number, Area: convert.AreaOut(c.Area), ItemCode: itemOf(c),
		Deadlines: convert.DeadlinesOut(c.Deadlines)}
	if q := c.Queue; q != nil {
		e.Reason, e.Since, e.Detail, e.LastRejection = queueReasons[q.Reason], convert.Timestamp(q.Since), q.Detail, rejectionOut(q.Rejection)
	}
	return e
}

func arbitrationOut(c *dispatch.Case) *dispatchv1.Arbitration {
	a := &dispatchv1.Arbitration{CaseId: c.ID, CaseNumber: c.Number, Area: convert.AreaOut(c.Area), ItemCode: itemOf(c),
		Deadlines: convert.DeadlinesOut(c.Deadlines)}
	if c.Arbitration != nil {
		a.OpenedAt = convert.Timestamp(c.Arbitration.OpenedAt)
	}
	for i := range c.LeadRejections {
		a.Rejections = append(a.Rejections, rejectionOut(&c.LeadRejections[i]))
	}
	return a
}

var rejectOutcomes = map[dispatch.RejectOutcome]dispatchv1.RejectOutcome{
	dispatch.OutcomeRedecided: dispatchv1.RejectOutcome_REJECT_OUTCOME_REDECIDED, dispatch.OutcomeQueued: dispatchv1.RejectOutcome_REJECT_OUTCOME_QUEUED,
	dispatch.OutcomeArbitration: dispatchv1.RejectOutcome_REJECT_OUTCOME_ARBITRATION,
}

func routeFactsIn(f *dispatchv1.RouteFacts) *routing.Case {
	a := f.GetArea()
	return &routing.Case{
		Item: f.GetItemCode(), Label: f.GetLabel(), District: a.GetDistrictCode(), Street: a.GetStreetCode(),
		Community: a.GetCommunityCode(), Grid: a.GetGridCode(), AppealType: wire.AppealTypeIn(f.GetAppealType()),
		Source: wire.SourceIn(f.GetSource()), Urgency: wire.UrgencyIn(f.GetUrgency()), Received: convert.Time(f.GetReceivedAt()),
		Text: f.GetText(), Named: f.GetWhistleDepartments(),
	}
}

func routeFactsOut(c routing.Case) *dispatchv1.RouteFacts {
	return &dispatchv1.RouteFacts{
		ItemCode: c.Item, Label: c.Label, AppealType: wire.AppealTypeOut(c.AppealType), Source: wire.SourceOut(c.Source),
		Urgency: wire.UrgencyOut(c.Urgency), ReceivedAt: convert.Timestamp(c.Received), Text: c.Text, WhistleDepartments: c.Named,
		Area: convert.AreaOut(dispatch.Area{District: c.District, Street: c.Street, Community: c.Community, Grid: c.Grid}),
	}
}

func assignmentOut(a routing.Assignment, ref *reference.Set) *dispatchv1.Assignment {
	out := &dispatchv1.Assignment{DepartmentCode: a.Department, Role: convert.RoleOut(a.Role), Rule: a.Rule, Whistle: a.Whistle,
		OnSite: convert.RefLimitOut(a.OnSite)}
	if d, ok := ref.Department(a.Department); ok {
		out.DepartmentName = d.Name
	}
	return out
}

func decisionOut(d routing.Decision, c routing.Case, ref *reference.Set) *dispatchv1.SimulateRouteResponse {
	out := &dispatchv1.SimulateRouteResponse{
		Lead: assignmentOut(d.Lead, ref), Urgency: wire.UrgencyOut(d.Urgency), Path: convert.PathOut(d.Path),
		ReferenceDigest: d.Digest, Facts: routeFactsOut(c),
		Deadlines: &eventsv1.Deadlines{Ack: convert.RefLimitOut(d.SLA.Ack), OnSite: convert.RefLimitOut(d.SLA.OnSite),
			Complete: convert.RefLimitOut(d.SLA.Complete), StartedAt: convert.Timestamp(c.Received)},
	}
	for _, a := range d.CoHandlers {
		out.CoHandlers = append(out.CoHandlers, assignmentOut(a, ref))
	}
	return out
}

var reloadOutcomes = map[reference.ReloadOutcome]dispatchv1.ReferenceReloadOutcome{
	reference.Started:   dispatchv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_STARTED,
	reference.Reloaded:  dispatchv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_RELOADED,
	reference.Unchanged: dispatchv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_UNCHANGED,
	reference.Failed:    dispatchv1.ReferenceReloadOutcome_REFERENCE_RELOAD_OUTCOME_FAILED,
}

func reloadOut(r reference.Reload) *dispatchv1.ReferenceReload {
	return &dispatchv1.ReferenceReload{Service: r.Service, Instance: r.Instance, Time: convert.Timestamp(r.At), By: r.By,
		Digest: r.Digest, PreviousDigest: r.Previous, Outcome: reloadOutcomes[r.Outcome], Error: r.Error}
}
