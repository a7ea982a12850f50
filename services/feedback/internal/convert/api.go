package convert

import (
	"time"

	"github.com/gridflow/gridflow/pkg/wire"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"google.golang.org/protobuf/types/known/durationpb"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

var states = wire.NewEnum(map[feedback.State]feedbackv1.CaseState{
	feedback.Received: feedbackv1.CaseState_CASE_STATE_RECEIVED, feedback.ReviewNeeded: feedbackv1.CaseState_CASE_STATE_REVIEW_NEEDED,
	feedback.Classified: feedbackv1.CaseState_CASE_STATE_CLASSIFIED, feedback.Dispatched: feedbackv1.CaseState_CASE_STATE_DISPATCHED,
	feedback.InProgress: feedbackv1.CaseState_CASE_STATE_IN_PROGRESS, feedback.Resolved: feedbackv1.CaseState_CASE_STATE_RESOLVED,
	feedback.Replied: feedbackv1.CaseState_CASE_STATE_REPLIED, feedback.AwaitingRecheck: feedbackv1.CaseState_CASE_STATE_AWAITING_RECHECK,
	feedback.Closed: feedbackv1.CaseState_CASE_STATE_CLOSED, feedback.Withdrawn: feedbackv1.CaseState_CASE_STATE_WITHDRAWN,
	feedback.Answered: feedbackv1.CaseState_CASE_STATE_ANSWERED, feedback.Merged: feedbackv1.CaseState_CASE_STATE_MERGED,
	feedback.Cancelled: feedbackv1.CaseState_CASE_STATE_CANCELLED, feedback.Parked: feedbackv1.CaseState_CASE_STATE_PARKED,
	// Self-disposal (issue 20).
	feedback.SelfDisposed: feedbackv1.CaseState_CASE_STATE_SELF_DISPOSED,
})

// StateIn names a state; false for UNSPECIFIED or unknown values.
func StateIn(s feedbackv1.CaseState) (feedback.State, bool) { return states.Lookup(s) }

// StateOut maps a state back.
func StateOut(s feedback.State) feedbackv1.CaseState { return states.Out(s) }

// CaseOut converts a case; primary is the case a merged one mirrors.
func CaseOut(c, primary *feedback.Case) *feedbackv1.Case {
	out := &feedbackv1.Case{CaseId: c.ID, CaseNumber: c.Number, HotlineOrderNo: c.HotlineOrderNo, State: states.Out(c.State),
		Source: wire.SourceOut(c.Source), AppealType: wire.AppealTypeOut(c.AppealType), Urgency: wire.UrgencyOut(c.Urgency), Title: c.Title,
		Area:     wire.AreaOut(c.Area),
		ItemCode: c.ItemCode, ItemName: c.ItemName, HotlineClass: c.HotlineClass, IncidentId: c.IncidentID, PrimaryCaseId: c.PrimaryCaseID,
		LeadDepartmentCode: c.LeadDepartment(), Round: uint32(c.Round), Excluded: c.Excluded, NoCallback: c.NoCallback,
		ReceivedAt: wire.TimeOut(c.ReceivedAt), ResolvedAt: wire.TimeOut(c.ResolvedAt), ClosedAt: wire.TimeOut(c.ClosedAt), CallbackDue: wire.TimeOut(c.CallbackDue),
		UpdatedAt: wire.TimeOut(c.UpdatedAt)}
	if primary != nil {
		// A merged case mirrors its primary: its state and, having no task
		// of its own, the department that acts (feedback.MirroredLeads).
		out.MirroredState = states.Out(primary.State)
		if out.LeadDepartmentCode == "" {
			out.LeadDepartmentCode = primary.LeadDepartment()
		}
	}
	switch {
	case c.IsClosed:
		out.StateReason = c.CloseReason
	case c.IsCancelled:
		out.StateReason = c.CancelReason
	case c.IsParked:
		out.StateReason = c.ParkReason
	}
	for _, t := range c.Tasks {
		if t.Round == c.Round && t.Role == feedback.RoleLead && t.State != feedback.TaskStateWithdrawn {
			out.AckDue, out.CompleteDue = wire.TimeOut(t.AckDue), wire.TimeOut(t.CompleteDue)
		}
		out.Tasks = append(out.Tasks, &feedbackv1.Task{TaskId: t.ID, DepartmentCode: t.Department, Role: t.Role, State: t.State,
			Round: uint32(t.Round), DispatchedAt: wire.TimeOut(t.DispatchedAt), AcknowledgedAt: wire.TimeOut(t.AckedAt), CompletedAt: wire.TimeOut(t.CompletedAt),
			AckDue: wire.TimeOut(t.AckDue), CompleteDue: wire.TimeOut(t.CompleteDue), Overdue: t.Overdue, Extended: t.Extended, Result: t.Result, Review: t.Review})
	}
	return out
}

// EntryOut converts a timeline entry.
func EntryOut(e feedback.Event) *feedbackv1.TimelineEntry {
	return &feedbackv1.TimelineEntry{EventId: e.ID, Type: e.Type, OccurredAt: wire.TimeOut(e.At), Actor: wire.PrincipalOut(e.Actor),
		Summary: e.Summary, Rule: e.Rule, ModelVersion: e.ModelVersion, ClassificationVersion: uint32(e.ClassVersion),
		TaskId: e.TaskID, DepartmentCode: e.Department, Sequence: e.Seq}
}

// ReplyOut converts a reply.
func ReplyOut(r feedback.ReplyOf) *feedbackv1.Reply {
	return &feedbackv1.Reply{ReplyId: r.ID, CaseId: r.CaseID, CaseNumber: r.CaseNumber, HotlineOrderNo: r.HotlineOrderNo,
		Round: uint32(r.Round), Text: r.Text, Results: ResultsOut(r.Results), RepliedAt: wire.TimeOut(r.At)}
}

// UpdateOut turns a log event into a hotline update; false for events the
// hotline does not relay.
func UpdateOut(e feedback.Event) (*feedbackv1.WatchCaseUpdatesResponse, bool) {
	u := &feedbackv1.WatchCaseUpdatesResponse{CaseId: e.CaseID, CaseNumber: e.CaseNumber, HotlineOrderNo: e.HotlineOrderNo,
		OccurredAt: wire.TimeOut(e.At), DepartmentCode: e.Department, Text: e.Summary}
	switch f := e.Fact.(type) {
	case *feedback.TaskAcknowledged:
		u.Kind = feedbackv1.UpdateKind_UPDATE_KIND_SIGNED_FOR
	case *feedback.TaskExtensionDecided:
		if !f.Granted {
			return nil, false
		}
		u.Kind, u.NewDue = feedbackv1.UpdateKind_UPDATE_KIND_EXTENSION_GRANTED, wire.TimeOut(f.NewDue)
	case *feedback.TaskProgressReported:
		u.Kind, u.Text = feedbackv1.UpdateKind_UPDATE_KIND_INTERIM_REPLY, f.Text
	case *feedback.CaseReplied:
		u.Kind, u.Text = feedbackv1.UpdateKind_UPDATE_KIND_FINAL_REPLY, f.Reply.Text
	case *feedback.CaseReopened:
		u.Kind = feedbackv1.UpdateKind_UPDATE_KIND_REOPENED
	case *feedback.CaseClosed:
		u.Kind = feedbackv1.UpdateKind_UPDATE_KIND_CLOSED
	case *feedback.CaseWithdrawn:
		u.Kind = feedbackv1.UpdateKind_UPDATE_KIND_WITHDRAWN
	default:
		return nil, false
	}
	return u, true
}

func dur(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

// FiguresOut converts figures.
func FiguresOut(f feedback.Figures) *feedbackv1.Metrics {
	c, s := f.Counts, f.Score
	return &feedbackv1.Metrics{Cases: int32(f.Cases), ExcludedCases: int32(f.Excluded), ValidCallbacks: int32(f.Rates.Valid),
		UnreachedCallbacks: int32(f.Rates.Unreached), ResponseRate: f.Rates.Response, ResolutionRate: f.Rates.Resolution,
		SatisfactionRate: f.Rates.Satisfied, Composite: f.Rates.Composite, ToHandle: int32(c.ToHandle), Handled: int32(c.Handled),
		HandledOnTime: int32(c.HandledOnTime), Closed: int32(c.Closed), Reworked: int32(c.Reworked), OverdueOpen: int32(c.OverdueOpen),
		Extended: int32(c.Extended), DisposalRate: s.Disposal, OnTimeRate: s.OnTime, ReworkRate: s.Rework, OverdueOpenRate: s.OverdueOpen,
		ExtensionRate: s.Extension, Score: s.Points, Grade: s.Grade,
		TimeToSignFor:  &feedbackv1.DurationStats{Count: int32(f.ToSignFor.N), Average: dur(f.ToSignFor.Avg), P90: dur(f.ToSignFor.P90)},
		TimeToComplete: &feedbackv1.DurationStats{Count: int32(f.ToComplete.N), Average: dur(f.ToComplete.Avg), P90: dur(f.ToComplete.P90)}}
}

var scopes = map[feedbackv1.Scope]feedback.Scope{
	feedbackv1.Scope_SCOPE_DEPARTMENT: feedback.ScopeDepartment, feedbackv1.Scope_SCOPE_STREET: feedback.ScopeStreet,
	feedbackv1.Scope_SCOPE_DISTRICT: feedback.ScopeDistrict, feedbackv1.Scope_SCOPE_GRID: feedback.ScopeGrid,
	feedbackv1.Scope_SCOPE_CITY: feedback.ScopeCity,
}

// PeriodIn maps a period; an absent bound is the zero time (open).
func PeriodIn(p *feedbackv1.Period) feedback.Period {
	return feedback.Period{Start: wire.TimeIn(p.GetStart()), End: wire.TimeIn(p.GetEnd())}
}

// ScopeIn maps a figures scope; UNSPECIFIED and unknown numbers are "", which
// the domain refuses.
func ScopeIn(s feedbackv1.Scope) feedback.Scope { return scopes[s] }
