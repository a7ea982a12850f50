package feedback

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// t0 is Monday 2 March 2026, 10:00 in Shanghai.
var t0 = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)

// ev is an event min minutes after t0.
func ev(min int, f Fact) Event {
	return Event{ID: "e", At: t0.Add(time.Duration(min) * time.Minute), Fact: f}
}

// stored numbers events as the log would, in the order listed: events of
// one time stamp keep that order however they are handed to Project.
func stored(evs []Event) []Event {
	evs = slices.Clone(evs)
	for i := range evs {
		evs[i].Seq = int64(i + 1)
	}
	return evs
}

var zj = Area{District: "310106", Street: "310106022", Community: "310106022001", Grid: "310106022001001"}

func received(src Source) *CaseReceived {
	return &CaseReceived{Number: "GF-20260302-000001", HotlineOrderNo: "HL-1", Source: src, Area: zj, AppealType: "complaint",
		Urgency: "normal", Title: "占道经营", ReceivedAt: t0}
}

func classified(v int, item string) *CaseClassified {
	return &CaseClassified{Version: v, ItemCode: item, ItemName: "占道经营", ModelVersion: "m1", IncidentID: "inc-1"}
}

func duplicateOf(primary string) *CaseClassified {
	c := classified(1, "09006")
	c.PrimaryCaseID = primary
	return c
}

func snap(id, dept, role, state string, round int, review string) TaskSnapshot {
	return TaskSnapshot{ID: id, Department: dept, Role: role, State: state, Round: round, Review: review}
}

func lead(id, state string, round int) TaskSnapshot {
	return snap(id, "310106022-cgzd", RoleLead, state, round, ReviewNotRequired)
}

func dispatched(s TaskSnapshot) *TaskDispatched { return &TaskDispatched{TaskSnapshot: s} }
func acked(s TaskSnapshot) *TaskAcknowledged    { return &TaskAcknowledged{TaskSnapshot: s} }
func completed(s TaskSnapshot, result string) *TaskCompleted {
	return &TaskCompleted{TaskSnapshot: s, Result: result, Evidence: []string{"s3://e/" + s.ID}}
}

// loop is a hotline case worked through round 0 to its reply, at minutes
// 0–7.
func loop(src Source) []Event {
	return []Event{
		ev(0, received(src)),
		ev(1, classified(1, "09006")),
		ev(2, dispatched(lead("t1", TaskStateDispatched, 0))),
		ev(3, acked(lead("t1", TaskStateAcknowledged, 0))),
		ev(4, completed(lead("t1", TaskStateCompleted, 0), "已清理")),
		ev(5, &CaseResolved{Round: 0, LeadTaskID: "t1"}),
	}
}

func replied(min, round int) Event {
	return ev(min, &CaseReplied{Reply: Reply{ID: "r", Round: round, Text: "已办结"}, CallbackDue: t0.Add(72 * time.Hour)})
}

func with(base []Event, more ...Event) []Event { return append(slices.Clone(base), more...) }

// view is what the state table checks of a projected case.
type view struct {
	State        State
	Round        int
	Merged       bool
	Excluded     bool
	Reason       string // close, cancel or park reason
	ClassVersion int
	ItemCode     string
}

func viewOf(c *Case) view {
	v := view{State: c.State, Round: c.Round, Merged: c.Merged(), Excluded: c.Excluded, ClassVersion: c.ClassVersion, ItemCode: c.ItemCode}
	switch {
	case c.IsClosed:
		v.Reason = c.CloseReason
	case c.IsCancelled:
		v.Reason = c.CancelReason
	case c.IsParked:
		v.Reason = c.ParkReason
	}
	return v
}

// TestProjectStates walks the case state machine of DESIGN.md "States":
// each row is a case's stored events and the view they imply. Every row is
// projected twice, from the events as listed and reversed: the view is a
// function of the facts, not of the order they arrived in.
func TestProjectStates(t *testing.T) {
	t.Parallel()
	base := loop(Hotline)
	reopened := with(base, replied(6, 0),
		ev(7, &CaseCallbackRecorded{Callback: Callback{ID: "cb1", Round: 0, Reached: true, Solved: false, Satisfaction: Unsatisfied}}),
		ev(8, &CaseReopened{Round: 1, Reason: "unsolved"}))
	patrol := loop(Patrol)
	for _, tc := range []struct {
		name string
		evs  []Event
		want view
	}{
		{"received", []Event{ev(0, received(Hotline))}, view{State: Received}},
		{"review needed", []Event{ev(0, received(Hotline)), ev(1, &CaseReviewNeeded{})}, view{State: ReviewNeeded}},
		{"review needed then classified by a dispatcher",
			[]Event{ev(0, received(Hotline)), ev(1, &CaseReviewNeeded{}), ev(2, classified(1, "09006"))},
			view{State: Classified, ClassVersion: 1, ItemCode: "09006"}},
		{"classified", base[:2], view{State: Classified, ClassVersion: 1, ItemCode: "09006"}},
		{"dispatched", base[:3], view{State: Dispatched, ClassVersion: 1, ItemCode: "09006"}},
		{"signed for: in progress", base[:4], view{State: InProgress, ClassVersion: 1, ItemCode: "09006"}},
		{"a co-handler signed for, the lead not yet: in progress",
			with(base[:3], ev(3, dispatched(snap("t2", "310106022-scjg", RoleCoHandler, TaskStateDispatched, 0, ReviewNotRequired))),
				ev(4, acked(snap("t2", "310106022-scjg", RoleCoHandler, TaskStateAcknowledged, 0, ReviewNotRequired)))),
			view{State: InProgress, ClassVersion: 1, ItemCode: "09006"}},
		{"completed, feedback not yet resolved: in progress", base[:5], view{State: InProgress, ClassVersion: 1, ItemCode: "09006"}},
		{"resolved", base, view{State: Resolved, ClassVersion: 1, ItemCode: "09006"}},
		{"replied", with(base, replied(6, 0)), view{State: Replied, ClassVersion: 1, ItemCode: "09006"}},
		{"an unreached callback leaves it replied",
			with(base, replied(6, 0), ev(7, &CaseCallbackRecorded{Callback: Callback{Round: 0}, RetryAt: t0.Add(3 * time.Hour)})),
			view{State: Replied, ClassVersion: 1, ItemCode: "09006"}},
		{"closed by a callback",
			with(base, replied(6, 0), ev(7, &CaseCallbackRecorded{Callback: Callback{Round: 0, Reached: true, Solved: true, Satisfaction: Satisfied}}),
				ev(7, &CaseClosed{Round: 0, Reason: "callback", Satisfaction: Satisfied})),
			view{State: Closed, Reason: "callback", ClassVersion: 1, ItemCode: "09006"}},
		{"closed as no callback", with(base, replied(6, 0), ev(6, &CaseClosed{Round: 0, Reason: "no_callback"})),
			view{State: Closed, Reason: "no_callback", ClassVersion: 1, ItemCode: "09006"}},
		{"patrol resolved: awaiting re-check", patrol, view{State: AwaitingRecheck, ClassVersion: 1, ItemCode: "09006"}},
		{"patrol re-check passed: closed",
			with(patrol, ev(6, &CaseRechecked{Round: 0, Recheck: Recheck{Passed: true}}), ev(6, &CaseClosed{Round: 0, Reason: "recheck_passed"})),
			view{State: Closed, Reason: "recheck_passed", ClassVersion: 1, ItemCode: "09006"}},
		{"patrol re-check failed: dispatched again with rework",
			with(patrol, ev(6, &CaseRechecked{Round: 0}), ev(6, &CaseReopened{Round: 1, Reason: "recheck_failed"})),
			view{State: Dispatched, Round: 1, ClassVersion: 1, ItemCode: "09006"}},
		{"bad callback: dispatched again with rework", reopened, view{State: Dispatched, Round: 1, ClassVersion: 1, ItemCode: "09006"}},
		{"reopened: the round-0 completion no longer counts, the new task does",
			with(reopened, ev(9, dispatched(lead("t3", TaskStateDispatched, 1))), ev(10, acked(lead("t3", TaskStateAcknowledged, 1)))),
			view{State: InProgress, Round: 1, ClassVersion: 1, ItemCode: "09006"}},
		{"reopened and resolved again, replied for round 1",
			with(reopened, ev(9, dispatched(lead("t3", TaskStateDispatched, 1))), ev(10, completed(lead("t3", TaskStateCompleted, 1), "再次清理")),
				ev(11, &CaseResolved{Round: 1, LeadTaskID: "t3"}), replied(12, 1)),
			view{State: Replied, Round: 1, ClassVersion: 1, ItemCode: "09006"}},
		{"a close of an older round does not close a reopened case",
			with(reopened, ev(9, &CaseClosed{Round: 0, Reason: "callback_window_passed"})),
			view{State: Dispatched, Round: 1, ClassVersion: 1, ItemCode: "09006"}},
		{"merged: no tasks of its own", []Event{ev(0, received(Hotline)), ev(1, duplicateOf("p1"))},
			view{State: Merged, Merged: true, ClassVersion: 1, ItemCode: "09006"}},
		{"merged by incident.grouped before any classification",
			[]Event{ev(0, received(Hotline)), ev(1, &IncidentGrouped{IncidentID: "inc-1", PrimaryCaseID: "p1"})},
			view{State: Merged, Merged: true}},
		{"merged, resolved with its primary and replied on its own",
			[]Event{ev(0, received(Hotline)), ev(1, duplicateOf("p1")), ev(2, &CaseResolved{Round: 0, LeadTaskID: "p1"}), replied(3, 0)},
			view{State: Replied, Merged: true, ClassVersion: 1, ItemCode: "09006"}},
		{"merged, its bad callback: mirrors the primary again",
			[]Event{ev(0, received(Hotline)), ev(1, duplicateOf("p1")), ev(2, &CaseResolved{Round: 0, LeadTaskID: "p1"}), replied(3, 0),
				ev(4, &CaseReopened{Round: 1, Reason: "unsatisfied"})},
			view{State: Merged, Merged: true, Round: 1, ClassVersion: 1, ItemCode: "09006"}},
		{"a primary's own incident id does not make it merged",
			[]Event{ev(0, received(Hotline)), ev(1, duplicateOf(""))}, view{State: Classified, ClassVersion: 1, ItemCode: "09006"}},
		{"withdrawn while in progress", with(base[:4], ev(5, &CaseWithdrawn{FollowUpID: "f1"})),
			view{State: Withdrawn, ClassVersion: 1, ItemCode: "09006"}},
		{"a withdraw follow-up alone waits for feedback's decision", with(base[:4], ev(5, &CaseFollowedUp{ID: "f1", Withdraw: true})),
			view{State: InProgress, ClassVersion: 1, ItemCode: "09006"}},
		{"an ordinary follow-up changes nothing", with(base[:4], ev(5, &CaseFollowedUp{ID: "f1", Text: "催办"})),
			view{State: InProgress, ClassVersion: 1, ItemCode: "09006"}},
		{"cancelled by a dispatcher", with(base[:4], ev(5, &CaseCancelled{Reason: "重复立案"})),
			view{State: Cancelled, Reason: "重复立案", ClassVersion: 1, ItemCode: "09006"}},
		{"parked", with(base[:4], ev(5, &CaseParked{Reason: "待拆违计划"})),
			view{State: Parked, Reason: "待拆违计划", ClassVersion: 1, ItemCode: "09006"}},
		{"parked then unparked: back at work", with(base[:4], ev(5, &CaseParked{Reason: "待拆违计划"}), ev(6, &CaseUnparked{})),
			view{State: InProgress, ClassVersion: 1, ItemCode: "09006"}},
		{"excluded is a flag, not a state", with(base[:4], ev(5, &CaseExcluded{Reason: "不合理诉求"})),
			view{State: InProgress, Excluded: true, ClassVersion: 1, ItemCode: "09006"}},
		{"excluded and closed", with(base, replied(6, 0), ev(7, &CaseExcluded{Reason: "不合理诉求"}), ev(8, &CaseClosed{Round: 0, Reason: "callback"})),
			view{State: Closed, Excluded: true, Reason: "callback", ClassVersion: 1, ItemCode: "09006"}},
		{"answered on the call", []Event{ev(0, &CaseReceived{Number: "GF-20260302-000002", Source: Hotline, Answered: true}), ev(1, classified(1, "H01000"))},
			view{State: Answered, ClassVersion: 1, ItemCode: "H01000"}},
		{"the lead returned it (退单): back to classified, waiting for a new task",
			with(base[:3], ev(3, &TaskRejected{TaskSnapshot: lead("t1", TaskStateRejected, 0)})),
			view{State: Classified, ClassVersion: 1, ItemCode: "09006"}},
		{"forwarded to a street team: the new task counts",
			with(base[:4], ev(5, &TaskForwarded{TaskSnapshot: lead("t1", TaskStateForwarded, 0)}),
				ev(6, dispatched(snap("t2", "310106022-team", RoleLead, TaskStateDispatched, 0, ReviewNotRequired)))),
			view{State: Dispatched, ClassVersion: 1, ItemCode: "09006"}},
		{"withdrawal wins over every other fact",
			with(base, replied(6, 0), ev(7, &CaseCancelled{Reason: "x"}), ev(8, &CaseWithdrawn{})),
			view{State: Withdrawn, Reason: "x", ClassVersion: 1, ItemCode: "09006"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			evs := stored(tc.evs)
			c := Project("c1", evs)
			if d := cmp.Diff(tc.want, viewOf(c)); d != "" {
				t.Errorf("view mismatch (-want +got):\n%s", d)
			}
			rev := slices.Clone(evs)
			slices.Reverse(rev)
			if d := cmp.Diff(c, Project("c1", rev)); d != "" {
				t.Errorf("projected from reversed events: mismatch (-in order +reversed):\n%s", d)
			}
		})
	}
}

// Out of order: an older classification version that arrives later is
// ignored; a task event that arrives before the case's classification or
// receipt still lands; an older task snapshot does not overwrite a newer.
func TestProjectOutOfOrder(t *testing.T) {
	t.Parallel()
	v1, v2 := classified(1, "09006"), classified(2, "06022")
	v2.ItemName, v2.Urgency, v2.ModelVersion = "露天烧烤", "urgent", "dispatcher"

	// Version 2 (a reclassification) was stored before version 1 arrived
	// late, with a later time stamp than version 2.
	c := Project("c1", []Event{ev(0, received(Hotline)), ev(2, v2), ev(3, v1)})
	if c.ClassVersion != 2 || c.ItemCode != "06022" || c.ItemName != "露天烧烤" || c.Urgency != "urgent" {
		t.Errorf("after a late version 1: version %d item %s %s urgency %s; want version 2 06022 露天烧烤 urgent",
			c.ClassVersion, c.ItemCode, c.ItemName, c.Urgency)
	}

	// The task came before the classification and even before the receipt.
	c = Project("c1", []Event{ev(0, dispatched(lead("t1", TaskStateDispatched, 0))), ev(1, classified(1, "09006")), ev(2, received(Hotline))})
	if c.State != Dispatched || c.Number != "GF-20260302-000001" || c.ItemCode != "09006" || len(c.Tasks) != 1 {
		t.Errorf("task before classification: state %s number %q item %q tasks %d; want dispatched with all facts",
			c.State, c.Number, c.ItemCode, len(c.Tasks))
	}

	// Two snapshots of one task with one time stamp: log order decides.
	// An older snapshot (earlier At) stored later does not regress it.
	c = Project("c1", []Event{
		ev(0, received(Hotline)), ev(1, classified(1, "09006")),
		{Seq: 10, At: t0.Add(5 * time.Minute), Fact: acked(lead("t1", TaskStateAcknowledged, 0))},
		{Seq: 11, At: t0.Add(2 * time.Minute), Fact: dispatched(lead("t1", TaskStateDispatched, 0))},
	})
	if got := c.Tasks[0]; got.State != TaskStateAcknowledged || !got.DispatchedAt.Equal(t0.Add(2*time.Minute)) || !got.AckedAt.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("task = %+v; want acknowledged, dispatched at +2m, signed for at +5m", got)
	}
	if c.State != InProgress {
		t.Errorf("state %s, want in_progress", c.State)
	}

	// A classification's urgency, source and received time fill in what
	// the receipt has not (yet) said; the receipt's own facts win.
	v := classified(1, "09006")
	v.Source, v.ReceivedAt, v.Urgency = Patrol, t0.Add(-time.Hour), ""
	c = Project("c1", []Event{ev(0, v)})
	if c.Source != Patrol || !c.ReceivedAt.Equal(t0.Add(-time.Hour)) || c.Urgency != "" {
		t.Errorf("classification alone: source %s received %v urgency %q", c.Source, c.ReceivedAt, c.Urgency)
	}
	c = Project("c1", []Event{ev(0, v), ev(1, received(Hotline))})
	if c.Source != Hotline || !c.ReceivedAt.Equal(t0) || c.Urgency != "normal" {
		t.Errorf("receipt after classification: source %s received %v urgency %q; want hotline, t0, normal", c.Source, c.ReceivedAt, c.Urgency)
	}

	// A reply and a resolution redelivered in a later round's log do not
	// count twice.
	c = Project("c1", with(loop(Hotline), replied(6, 0), replied(7, 0), ev(8, &CaseResolved{Round: 0})))
	if len(c.Replies) != 1 || len(c.ResolvedRound) != 1 {
		t.Errorf("replies %d resolved rounds %v; want one each", len(c.Replies), c.ResolvedRound)
	}
}

// Task facts are kept whatever the order: the first signing-for time, a
// granted extension, a completion returned for rework, the overdue flag.
func TestProjectTaskFacts(t *testing.T) {
	t.Parallel()
	due := t0.Add(48 * time.Hour)
	overdue := lead("t1", TaskStateAcknowledged, 0)
	overdue.Overdue, overdue.CompleteDue = true, due
	review := snap("t1", "310106022-cgzd", RoleLead, TaskStateCompleted, 0, ReviewPending)
	returned := snap("t1", "310106022-cgzd", RoleLead, TaskStateAcknowledged, 0, ReviewNotRequired)
	c := Project("c1", []Event{
		ev(0, received(Hotline)), ev(1, classified(1, "09006")),
		ev(2, dispatched(lead("t1", TaskStateDispatched, 0))),
		ev(3, acked(lead("t1", TaskStateAcknowledged, 0))),
		ev(4, &TaskExtensionRequested{TaskSnapshot: lead("t1", TaskStateExtensionRequested, 0)}),
		ev(5, &TaskExtensionDecided{TaskSnapshot: lead("t1", TaskStateAcknowledged, 0), Granted: true, NewDue: due}),
		ev(6, &TaskOverdue{TaskSnapshot: overdue}),
		ev(7, completed(review, "初次办结")),
		ev(8, &TaskCompletionReturned{TaskSnapshot: returned}),
		ev(9, acked(lead("t1", TaskStateAcknowledged, 0))), // a redelivered, later signing-for
	})
	got := c.Tasks[0]
	if !got.AckedAt.Equal(t0.Add(3*time.Minute)) || !got.Extended || !got.Overdue || !got.CompletedAt.IsZero() || got.State != TaskStateAcknowledged {
		t.Errorf("task = %+v; want signed for at +3m, extended, overdue, completion cleared, acknowledged", got)
	}
	if c.State != InProgress || c.resolvingLead() != nil {
		t.Errorf("state %s, resolving lead %v; want in_progress and none", c.State, c.resolvingLead())
	}
	denied := Project("c1", []Event{ev(0, dispatched(lead("t1", TaskStateDispatched, 0))),
		ev(1, &TaskExtensionDecided{TaskSnapshot: lead("t1", TaskStateAcknowledged, 0), Granted: false})})
	if denied.Tasks[0].Extended {
		t.Error("a denied extension marked the task extended")
	}
}

func TestLeadDepartmentAndResults(t *testing.T) {
	t.Parallel()
	co := snap("t2", "310106022-scjg", RoleCoHandler, TaskStateCompleted, 0, ReviewNotRequired)
	evs := []Event{
		ev(0, received(Hotline)), ev(1, classified(1, "09006")),
		ev(2, dispatched(lead("t1", TaskStateDispatched, 0))),
		ev(2, dispatched(snap("t2", "310106022-scjg", RoleCoHandler, TaskStateDispatched, 0, ReviewNotRequired))),
		ev(3, completed(co, "协助取缔。")),
		ev(4, &TaskRejected{TaskSnapshot: snap("t0", "310106-gaj", RoleLead, TaskStateRejected, 0, ReviewNotRequired)}),
		ev(5, completed(lead("t1", TaskStateCompleted, 0), "已清理占道摊位")),
	}
	c := Project("c1", evs)
	if got := c.LeadDepartment(); got != "310106022-cgzd" {
		t.Errorf("lead department %q, want 310106022-cgzd", got)
	}
	want := []Result{
		{TaskID: "t1", Department: "310106022-cgzd", Role: RoleLead, Text: "已清理占道摊位", Evidence: []string{"s3://e/t1"}, CompletedAt: t0.Add(5 * time.Minute)},
		{TaskID: "t2", Department: "310106022-scjg", Role: RoleCoHandler, Text: "协助取缔。", Evidence: []string{"s3://e/t2"}, CompletedAt: t0.Add(3 * time.Minute)},
	}
	if d := cmp.Diff(want, c.Results()); d != "" {
		t.Errorf("results mismatch (-want +got):\n%s", d)
	}
	wantReply := "您反映的问题（GF-20260302-000001，占道经营）已办结。主办单位310106022-cgzd：已清理占道摊位。协办单位310106022-scjg：协助取缔。"
	if d := cmp.Diff(wantReply, ComposeReply(c, c.Results())); d != "" {
		t.Errorf("reply mismatch (-want +got):\n%s", d)
	}
	// A lead re-dispatched in round 1 to another department leads.
	c = Project("c1", with(evs, ev(6, &CaseReopened{Round: 1}), ev(7, dispatched(snap("t3", "310106-scjgj", RoleLead, TaskStateDispatched, 1, ReviewNotRequired)))))
	if got := c.LeadDepartment(); got != "310106-scjgj" {
		t.Errorf("lead department after rework %q, want 310106-scjgj", got)
	}
	if got := c.Results(); len(got) != 0 {
		t.Errorf("round-1 results %v, want none (round 0's do not carry over)", got)
	}
	if got := (&Case{}).LeadDepartment(); got != "" {
		t.Errorf("lead department of a case without tasks %q", got)
	}
}
