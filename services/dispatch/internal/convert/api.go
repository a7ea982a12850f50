package convert

import (
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

func rejectionOut(r *dispatch.Rejection) *dispatchv1.Rejection {
	if r == nil {
		return nil
	}
	return &dispatchv1.Rejection{Reason: RejectReasonOut(r.Reason), Note: r.Note, AreaCode: r.Area,
		RejectedAt: wire.TimeOut(r.At), TaskId: r.TaskID, DepartmentCode: r.Department}
}

// TaskOut maps a task as the API shows it: its state, clock, flags and
// history on this task.
func TaskOut(t *dispatch.Task) *dispatchv1.Task {
	if t == nil {
		return nil
	}
	out := &dispatchv1.Task{
		TaskId: t.ID, CaseId: t.CaseID, CaseNumber: t.CaseNumber, DepartmentCode: t.Department, Role: RoleOut(t.Role),
		State: StateOut(t.State), Review: ReviewOut(t.Review), Deadlines: DeadlinesOut(t.Deadlines),
		Warned: t.Warned, Overdue: t.Overdue, Supervised: t.Supervised, Escalated: t.Escalated, Round: uint32(t.Round),
		DispatchReason: DispatchReasonOut(t.Reason), Rule: t.Rule, Whistle: t.Whistle, ReplacesTaskId: t.Replaces,
		ForwardedToTaskId: t.ForwardedTo, DispatchedAt: wire.TimeOut(t.DispatchedAt), AcknowledgedAt: wire.TimeOut(t.AcknowledgedAt),
		Eta: wire.TimeOut(t.ETA), AcknowledgeNote: t.AckNote, Rejection: rejectionOut(t.Rejection),
		ExtensionsRequested: uint32(t.Extensions), OnSiteReported: t.OnSiteReported, Returns: uint32(t.Returns),
		Urges: uint32(t.Urges), UpdatedAt: wire.TimeOut(t.UpdatedAt),
	}
	if e := t.Extension; e != nil {
		out.Extension = &dispatchv1.ExtensionRequest{RequestedDue: wire.TimeOut(e.RequestedDue), Reason: e.Reason,
			RequestedAt: wire.TimeOut(e.RequestedAt), Decided: e.Decided, Granted: e.Granted, DecisionNote: e.Note}
	}
	for _, p := range t.Progress {
		out.Progress = append(out.Progress, &dispatchv1.Progress{Text: p.Text, OnSite: p.OnSite, ReportedAt: wire.TimeOut(p.At)})
	}
	if c := t.Completion; c != nil {
		out.Completion = &dispatchv1.Completion{Result: c.Result, Evidence: c.Evidence, CompletedAt: wire.TimeOut(c.At), ReviewNote: c.ReviewNote}
	}
	return out
}

// TasksOut maps tasks.
func TasksOut(ts []*dispatch.Task) []*dispatchv1.Task {
	out := make([]*dispatchv1.Task, len(ts))
	for i, t := range ts {
		out[i] = TaskOut(t)
	}
	return out
}

// CaseDetailOut is the case as the unit working it sees it: the summary,
// the citizen's text and the full address, never the caller.
func CaseDetailOut(c *dispatch.Case, ref *reference.Set) *dispatchv1.CaseDetail {
	d := &dispatchv1.CaseDetail{Summary: SummaryOut(dispatch.SummaryOf(c, ref))}
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

// CaseOut maps dispatch's view of a case.
func CaseOut(c *dispatch.Case) *dispatchv1.DispatchCase {
	out := &dispatchv1.DispatchCase{
		CaseId: c.ID, CaseNumber: c.Number, Status: caseStatuses[c.Status], Area: AreaOut(c.Area),
		Deadlines: DeadlinesOut(c.Deadlines), Excluded: c.Excluded, ExclusionReason: c.ExcludedReason,
		InQueue: c.Queue != nil, ArbitrationOpen: c.Arbitration != nil, CancelReason: c.CancelReason,
		LeadRejections: uint32(len(c.LeadRejections)), Round: uint32(c.Round), Tasks: TasksOut(c.Tasks),
	}
	if cl := c.Class; cl != nil {
		out.ItemCode, out.Urgency, out.ClassificationVersion = cl.Item, wire.UrgencyOut(cl.Urgency), uint32(cl.Version)
	}
	if c.Queue != nil {
		out.QueueReason = queueReasons[c.Queue.Reason]
	}
	if p := c.Parking; p != nil {
		out.ParkedAt, out.ParkReason, out.ParkReviewDate = wire.TimeOut(p.At), p.Reason, p.ReviewDate.String()
	}
	return out
}

func itemOf(c *dispatch.Case) string {
	if c.Class != nil {
		return c.Class.Item
	}
	return ""
}

// QueueEntryOut maps a case waiting in the dispatch queue.
func QueueEntryOut(c *dispatch.Case) *dispatchv1.QueueEntry {
	e := &dispatchv1.QueueEntry{CaseId: c.ID, CaseNumber: c.Number, Area: AreaOut(c.Area), ItemCode: itemOf(c),
		Deadlines: DeadlinesOut(c.Deadlines)}
	if q := c.Queue; q != nil {
		e.Reason, e.Since, e.Detail, e.LastRejection = queueReasons[q.Reason], wire.TimeOut(q.Since), q.Detail, rejectionOut(q.Rejection)
	}
	return e
}

// ArbitrationOut maps a case waiting for arbitration, with the rejections
// that opened it.
func ArbitrationOut(c *dispatch.Case) *dispatchv1.Arbitration {
	a := &dispatchv1.Arbitration{CaseId: c.ID, CaseNumber: c.Number, Area: AreaOut(c.Area), ItemCode: itemOf(c),
		Deadlines: DeadlinesOut(c.Deadlines)}
	if c.Arbitration != nil {
		a.OpenedAt = wire.TimeOut(c.Arbitration.OpenedAt)
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

// RejectOutcomeOut maps what became of a case after a rejection.
func RejectOutcomeOut(o dispatch.RejectOutcome) dispatchv1.RejectOutcome { return rejectOutcomes[o] }

// RouteFactsIn maps the facts a route simulation is asked about.
func RouteFactsIn(f *dispatchv1.RouteFacts) *routing.Case {
	a := f.GetArea()
	return &routing.Case{
		Item: f.GetItemCode(), Label: f.GetLabel(), District: a.GetDistrictCode(), Street: a.GetStreetCode(),
		Community: a.GetCommunityCode(), Grid: a.GetGridCode(), AppealType: wire.AppealTypeIn(f.GetAppealType()),
		Source: wire.SourceIn(f.GetSource()), Urgency: wire.UrgencyIn(f.GetUrgency()), Received: wire.TimeIn(f.GetReceivedAt()),
		Text: f.GetText(), Named: f.GetWhistleDepartments(),
	}
}

func routeFactsOut(c routing.Case) *dispatchv1.RouteFacts {
	return &dispatchv1.RouteFacts{
		ItemCode: c.Item, Label: c.Label, AppealType: wire.AppealTypeOut(c.AppealType), Source: wire.SourceOut(c.Source),
		Urgency: wire.UrgencyOut(c.Urgency), ReceivedAt: wire.TimeOut(c.Received), Text: c.Text, WhistleDepartments: c.Named,
		Area: AreaOut(dispatch.Area{District: c.District, Street: c.Street, Community: c.Community, Grid: c.Grid}),
	}
}

func assignmentOut(a routing.Assignment, ref *reference.Set) *dispatchv1.Assignment {
	out := &dispatchv1.Assignment{DepartmentCode: a.Department, Role: RoleOut(a.Role), Rule: a.Rule, Whistle: a.Whistle,
		OnSite: RefLimitOut(a.OnSite)}
	if d, ok := ref.Department(a.Department); ok {
		out.DepartmentName = d.Name
	}
	return out
}

// DecisionOut maps a simulated routing decision, with the facts it was
// made on.
func DecisionOut(d routing.Decision, c routing.Case, ref *reference.Set) *dispatchv1.SimulateRouteResponse {
	out := &dispatchv1.SimulateRouteResponse{
		Lead: assignmentOut(d.Lead, ref), Urgency: wire.UrgencyOut(d.Urgency), Path: PathOut(d.Path),
		ReferenceDigest: d.Digest, Facts: routeFactsOut(c),
		Deadlines: &eventsv1.Deadlines{Ack: RefLimitOut(d.SLA.Ack), OnSite: RefLimitOut(d.SLA.OnSite),
			Complete: RefLimitOut(d.SLA.Complete), StartedAt: wire.TimeOut(c.Received)},
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

// ReloadOut is one recorded load of reference data.
func ReloadOut(r reference.Reload) *dispatchv1.ReferenceReload {
	return &dispatchv1.ReferenceReload{Service: r.Service, Instance: r.Instance, Time: wire.TimeOut(r.At), By: r.By,
		Digest: r.Digest, PreviousDigest: r.Previous, Outcome: reloadOutcomes[r.Outcome], Error: r.Error}
}
