package e2e

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/geo"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// fbCaseState waits until feedback shows the case in state want and
// returns it.
func fbCaseState(t *testing.T, ctx context.Context, fb feedbackv1.FeedbackServiceClient, caseID string, want feedbackv1.CaseState) *feedbackv1.Case {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var last *feedbackv1.Case
	for {
		resp, err := fb.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: caseID})
		if err != nil && status.Code(err) != codes.NotFound {
			t.Fatalf("GetCase %s: %v", caseID, err)
		}
		if c := resp.GetCase(); c != nil {
			if c.GetState() == want {
				return c
			}
			last = c
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %s is %v (round %d), want %v: %v", caseID, last.GetState(), last.GetRound(), want, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// fbLeadTask waits for the case's lead task of round to be dispatched.
func fbLeadTask(t *testing.T, ctx context.Context, admin dispatchv1.DispatchServiceClient, caseID string, round uint32) *dispatchv1.Task {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		resp, err := admin.ListTasks(ctx, &dispatchv1.ListTasksRequest{CaseId: caseID})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range resp.GetTasks() {
			if tk.GetRole() == eventsv1.TaskRole_TASK_ROLE_LEAD && tk.GetRound() == round && tk.GetState() == eventsv1.TaskState_TASK_STATE_DISPATCHED {
				return tk
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %s: no dispatched lead task in round %d: %v", caseID, round, resp.GetTasks())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// fbWork has the task's unit sign for it and complete it; where the item's
// policy requires review, the street's dispatcher approves the completion.
func fbWork(t *testing.T, ctx context.Context, s *stack, task *dispatchv1.Task, street, tag, result string) {
	t.Helper()
	unit := dispatchClient(t, s, auth.Principal{Role: auth.RoleDepartment, Subject: task.GetDepartmentCode()})
	if _, err := unit.AcknowledgeTask(ctx, &dispatchv1.AcknowledgeTaskRequest{RequestId: tag + "-ack", TaskId: task.GetTaskId(), Note: "已签收"}); err != nil {
		t.Fatalf("%s: acknowledge: %v", tag, err)
	}
	done, err := unit.CompleteTask(ctx, &dispatchv1.CompleteTaskRequest{RequestId: tag + "-done", TaskId: task.GetTaskId(),
		Result: result, Evidence: []string{"s3://evidence/" + tag + ".jpg"}})
	if err != nil {
		t.Fatalf("%s: complete: %v", tag, err)
	}
	if done.GetTask().GetReview() == eventsv1.ReviewState_REVIEW_STATE_PENDING {
		d := dispatchClient(t, s, auth.Principal{Role: auth.RoleDispatcher, Subject: street})
		if _, err := d.ReviewCompletion(ctx, &dispatchv1.ReviewCompletionRequest{RequestId: tag + "-review", TaskId: task.GetTaskId(),
			Decision: dispatchv1.ReviewDecision_REVIEW_DECISION_APPROVE}); err != nil {
			t.Fatalf("%s: approve completion: %v", tag, err)
		}
	}
}

// fbStreamEvent returns the first event on subject for the case and its
// stream sequence.
func fbStreamEvent(t *testing.T, s *stack, subject, caseID string) (*eventsv1.Envelope, uint64) {
	t.Helper()
	js := s.jetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, "GRID", jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := cons.Next(jetstream.FetchContext(ctx))
		if err != nil {
			t.Fatalf("no %s for case %s: %v", subject, caseID, err)
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(m.Data(), &env); err != nil {
			t.Fatal(err)
		}
		if env.GetCaseId() == caseID {
			meta, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			return &env, meta.Sequence.Stream
		}
	}
}

// fbConsumed waits until the durable consumer has acknowledged everything
// up to stream sequence seq.
func fbConsumed(t *testing.T, s *stack, consumer string, seq uint64) {
	t.Helper()
	js := s.jetStream(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		info, err := js.Consumer(ctx, "GRID", consumer)
		if err == nil {
			var ci *jetstream.ConsumerInfo
			if ci, err = info.Info(ctx); err == nil && ci.AckFloor.Stream >= seq {
				cancel()
				return
			}
		}
		cancel()
		if time.Now().After(deadline) {
			t.Fatalf("consumer %s has not handled stream sequence %d: %v", consumer, seq, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type fbStep struct {
	typ   string
	actor string // role or role:subject; "" for any
}

// fbTimelineHas checks that the steps occur in the timeline in this order
// (other entries may come between) with their actors, and that the
// entries are in sequence order.
func fbTimelineHas(t *testing.T, entries []*feedbackv1.TimelineEntry, steps []fbStep) {
	t.Helper()
	var got []string
	for i, e := range entries {
		a := e.GetActor().GetRole()
		if e.GetActor().GetSubject() != "" {
			a += ":" + e.GetActor().GetSubject()
		}
		got = append(got, e.GetType()+" by "+a)
		if i > 0 && e.GetSequence() <= entries[i-1].GetSequence() {
			t.Errorf("timeline entry %d (%s) has sequence %d after %d", i, e.GetType(), e.GetSequence(), entries[i-1].GetSequence())
		}
	}
	next := 0
	for _, st := range steps {
		found := false
		for next < len(entries) {
			e := entries[next]
			next++
			if e.GetType() != st.typ {
				continue
			}
			a := e.GetActor()
			if st.actor == "" || st.actor == a.GetRole() || st.actor == a.GetRole()+":"+a.GetSubject() {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("timeline lacks %s by %q in order; it reads:\n  %s", st.typ, st.actor, strings.Join(got, "\n  "))
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// TestFeedbackLoopReopenAndClose is the whole loop with every service as a
// process: a work order is classified and dispatched; the unit signs for it
// and completes; feedback replies; the citizen is unsatisfied on the
// callback, so the case is reopened and dispatch gives the same unit a new
// round; it completes again; the citizen is satisfied and the case closes.
// The timeline shows each step with its actor, the department's figures
// count the rework, and intake refuses follow-ups to the closed case.
func TestFeedbackLoopReopenAndClose(t *testing.T) {
	s := startStack(t, "intake", "classify", "dispatch", "feedback")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	fb := feedbackv1.NewFeedbackServiceClient(s.dial(t, "feedback", auth.Principal{Role: auth.RoleHotline}))
	admin := dispatchClient(t, s, auth.Principal{Role: auth.RoleAdmin})
	began := time.Now()

	wo := dispatchWorkOrder("E2E-FB-1", "商铺音响噪声扰民", "楼下商铺每天开着大音响招揽生意，噪声扰民，希望派出所管一管。", zhijiang, typesv1.Urgency_URGENCY_NORMAL)
	wo.Address = "上海市静安区共和新路1001号"
	resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
	if err != nil {
		t.Fatal(err)
	}
	sub := resp.GetSubmission()
	caseID, number := sub.GetCaseId(), sub.GetCaseNumber()
	classified(t, s, caseID, number, zhijiang, "H04001", typesv1.Urgency_URGENCY_NORMAL, true, "")

	// Round 0: dispatched, signed for, completed, replied.
	first := fbLeadTask(t, ctx, admin, caseID, 0)
	dept := first.GetDepartmentCode()
	fbCaseState(t, ctx, fb, caseID, feedbackv1.CaseState_CASE_STATE_DISPATCHED)
	fbWork(t, ctx, s, first, zhijiang, "fb-r0", "已约谈商户，责令停止外放音响")
	replied := fbCaseState(t, ctx, fb, caseID, feedbackv1.CaseState_CASE_STATE_REPLIED)
	if replied.GetRound() != 0 || replied.GetLeadDepartmentCode() != dept {
		t.Fatalf("replied case: %v", replied)
	}
	byOrder, err := fb.GetCase(ctx, &feedbackv1.GetCaseRequest{HotlineOrderNo: "E2E-FB-1"})
	if err != nil || byOrder.GetCase().GetCaseId() != caseID {
		t.Fatalf("GetCase by hotline order number: %v %v", byOrder, err)
	}
	replies, err := fb.ListReplies(ctx, &feedbackv1.ListRepliesRequest{CaseId: caseID})
	if err != nil {
		t.Fatal(err)
	}
	if rs := replies.GetReplies(); len(rs) != 1 || rs[0].GetText() == "" || len(rs[0].GetResults()) == 0 ||
		rs[0].GetResults()[0].GetDepartmentCode() != dept {
		t.Fatalf("replies after round 0: %v", rs)
	}

	// The citizen is not satisfied: the case is reopened, rework counted.
	cb, err := fb.RecordCallback(ctx, &feedbackv1.RecordCallbackRequest{RequestId: "fb-cb-1", CaseId: caseID, Reached: true,
		ContactedByUnit: true, Solved: true, Satisfaction: eventsv1.Satisfaction_SATISFACTION_UNSATISFIED, Note: "音响仍然很吵"})
	if err != nil {
		t.Fatal(err)
	}
	if c := cb.GetCase(); c.GetRound() != 1 || c.GetState() == feedbackv1.CaseState_CASE_STATE_CLOSED {
		t.Fatalf("case after an unsatisfied callback: %v", c)
	}
	reopened, _ := fbStreamEvent(t, s, "grid.case.reopened."+jingan+"."+zhijiang, caseID)
	if r := reopened.GetCaseReopened(); r.GetCase().GetRound() != 1 || r.GetReason() != eventsv1.ReopenReason_REOPEN_REASON_UNSATISFIED {
		t.Fatalf("case.reopened: %v", r)
	}

	// Dispatch opens round 1 for the same unit, its limits running from
	// the reopening.
	second := fbLeadTask(t, ctx, admin, caseID, 1)
	if second.GetDepartmentCode() != dept || second.GetTaskId() == first.GetTaskId() ||
		second.GetDispatchReason() != eventsv1.DispatchReason_DISPATCH_REASON_REOPENED || second.GetReplacesTaskId() != first.GetTaskId() {
		t.Fatalf("round 1 task: %v (round 0: %v)", second, first)
	}
	if !second.GetDeadlines().GetStartedAt().AsTime().After(first.GetDeadlines().GetStartedAt().AsTime()) {
		t.Errorf("round 1 clock starts %v, round 0's %v", second.GetDeadlines().GetStartedAt().AsTime(), first.GetDeadlines().GetStartedAt().AsTime())
	}
	mustEvent(t, s, "grid.task.dispatched."+dept+".>", func(e *eventsv1.Envelope) bool {
		return e.GetCaseId() == caseID && e.GetTaskDispatched().GetTask().GetRound() == 1
	})
	fbCaseState(t, ctx, fb, caseID, feedbackv1.CaseState_CASE_STATE_DISPATCHED)
	fbWork(t, ctx, s, second, zhijiang, "fb-r1", "联合市场监管所再次执法，商铺已拆除外放音响")
	if c := fbCaseState(t, ctx, fb, caseID, feedbackv1.CaseState_CASE_STATE_REPLIED); c.GetRound() != 1 {
		t.Fatalf("replied again in round %d", c.GetRound())
	}
	replies, err = fb.ListReplies(ctx, &feedbackv1.ListRepliesRequest{CaseId: caseID})
	if err != nil || len(replies.GetReplies()) != 2 || replies.GetReplies()[1].GetRound() != 1 {
		t.Fatalf("replies after round 1: %v %v", replies.GetReplies(), err)
	}

	// Satisfied: closed.
	cb, err = fb.RecordCallback(ctx, &feedbackv1.RecordCallbackRequest{RequestId: "fb-cb-2", CaseId: caseID, Reached: true,
		ContactedByUnit: true, Solved: true, Satisfaction: eventsv1.Satisfaction_SATISFACTION_SATISFIED, Note: "已经安静了"})
	if err != nil {
		t.Fatal(err)
	}
	if c := cb.GetCase(); c.GetState() != feedbackv1.CaseState_CASE_STATE_CLOSED || c.GetClosedAt() == nil {
		t.Fatalf("case after a satisfied callback: %v", c)
	}
	closed, closedSeq := fbStreamEvent(t, s, "grid.case.closed."+jingan+"."+zhijiang, caseID)
	if c := closed.GetCaseClosed(); c.GetReason() != eventsv1.CloseReason_CLOSE_REASON_CALLBACK || c.GetCase().GetRound() != 1 {
		t.Fatalf("case.closed: %v", c)
	}

	// The timeline: every step in order, with who took it.
	tl, err := fb.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseNumber: number})
	if err != nil {
		t.Fatal(err)
	}
	if tl.GetCaseId() != caseID {
		t.Fatalf("timeline of %s for %s", tl.GetCaseId(), caseID)
	}
	unit := "department:" + dept
	fbTimelineHas(t, tl.GetEntries(), []fbStep{
		{"case.received", "hotline"}, {"case.classified", ""}, {"task.dispatched", "system"},
		{"task.acknowledged", unit}, {"task.completed", unit}, {"case.resolved", ""}, {"case.replied", ""},
		{"case.callback_recorded", "hotline"}, {"case.reopened", "hotline"},
		{"task.dispatched", "system"}, {"task.acknowledged", unit}, {"task.completed", unit}, {"case.resolved", ""}, {"case.replied", ""},
		{"case.callback_recorded", "hotline"}, {"case.closed", "hotline"},
	})
	for _, e := range tl.GetEntries() {
		if e.GetType() == "case.classified" && e.GetClassificationVersion() == 0 {
			t.Errorf("case.classified entry without its classification version: %v", e)
		}
		if e.GetType() == "task.dispatched" && e.GetDepartmentCode() == dept && e.GetTaskId() == "" {
			t.Errorf("task.dispatched entry without its task: %v", e)
		}
	}

	// The department's figures: two tasks handled, the case closed after
	// rework, 三率 over the two valid callbacks.
	dsp := feedbackv1.NewFeedbackServiceClient(s.dial(t, "feedback", auth.Principal{Role: auth.RoleDispatcher, Subject: zhijiang}))
	mr, err := dsp.GetMetrics(ctx, &feedbackv1.GetMetricsRequest{Scope: feedbackv1.Scope_SCOPE_DEPARTMENT, Code: dept,
		Period: &feedbackv1.Period{Start: timestamppb.New(began.Add(-time.Hour)), End: timestamppb.New(time.Now().Add(time.Hour))}})
	if err != nil {
		t.Fatal(err)
	}
	m := mr.GetMetrics()
	t.Logf("metrics of %s: %v", dept, m)
	if m.GetCases() != 1 || m.GetClosed() != 1 || m.GetReworked() != 1 || !(m.GetReworkRate() > 0) || !near(m.GetReworkRate(), 1) {
		t.Errorf("rework: cases %d closed %d reworked %d 返工率 %v, want 1, 1, 1, 1", m.GetCases(), m.GetClosed(), m.GetReworked(), m.GetReworkRate())
	}
	if m.GetToHandle() != 2 || m.GetHandled() != 2 || !near(m.GetDisposalRate(), 1) {
		t.Errorf("处置: %d of %d (%v), want 2 of 2", m.GetHandled(), m.GetToHandle(), m.GetDisposalRate())
	}
	// Two valid callbacks, both contacted and solved, one satisfied:
	// 响应率 1, 解决率 1, 满意率 0.5, composite 100×(0.1+0.5+0.4×0.5) = 80.
	if m.GetValidCallbacks() != 2 || !near(m.GetResponseRate(), 1) || !near(m.GetResolutionRate(), 1) ||
		!near(m.GetSatisfactionRate(), 0.5) || !near(m.GetComposite(), 80) {
		t.Errorf("三率: valid %d, %v %v %v composite %v; want 2, 1 1 0.5, 80", m.GetValidCallbacks(), m.GetResponseRate(),
			m.GetResolutionRate(), m.GetSatisfactionRate(), m.GetComposite())
	}
	if m.GetTimeToSignFor().GetCount() != 2 || m.GetGrade() == "" {
		t.Errorf("time to sign for %v, grade %q", m.GetTimeToSignFor(), m.GetGrade())
	}

	// Intake has learnt the case is closed: no more follow-ups.
	fbConsumed(t, s, "intake-closures", closedSeq)
	_, err = hotline.AddFollowUp(ctx, &intakev1.AddFollowUpRequest{RequestId: "fb-fu-closed", Kind: intakev1.FollowUpKind_FOLLOW_UP_KIND_URGE,
		Text: "市民再次来电", Case: &intakev1.AddFollowUpRequest_CaseNumber{CaseNumber: number}})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("follow-up to a closed case: %v, want FAILED_PRECONDITION", err)
	}
}

// TestFeedbackPatrolClosesOnlyAfterRecheck: a grid worker's report is
// dispatched and completed; the case waits for the worker's re-check, not a
// callback. A failed re-check reopens it (dispatch gives the unit a new
// round); after the second completion a passed re-check closes it.
func TestFeedbackPatrolClosesOnlyAfterRecheck(t *testing.T) {
	s := startStack(t, "intake", "classify", "dispatch", "feedback")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	worker := auth.Principal{Role: auth.RolePatrol, Subject: "w-0021"}
	patrol := intakev1.NewIntakeServiceClient(s.dial(t, "intake", worker))
	fbPatrol := feedbackv1.NewFeedbackServiceClient(s.dial(t, "feedback", worker))
	fbHotline := feedbackv1.NewFeedbackServiceClient(s.dial(t, "feedback", auth.Principal{Role: auth.RoleHotline}))
	admin := dispatchClient(t, s, auth.Principal{Role: auth.RoleAdmin})

	lat, lng := geo.WGS84ToGCJ02(31.2580, 121.4600) // grid 310106022002002
	pr, err := patrol.SubmitPatrolReport(ctx, &intakev1.SubmitPatrolReportRequest{Report: &intakev1.PatrolReport{
		RequestId: "fb-patrol-1", CatalogueCode: "03001", Description: "普善路垃圾箱破损，垃圾散落在人行道上",
		Location: &typesv1.LatLng{Lat: lat, Lng: lng, Datum: typesv1.Datum_DATUM_GCJ02},
		Photos:   []*typesv1.Attachment{{Uri: "s3://patrol/w-0021/before.jpg", MediaType: "image/jpeg"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sub := pr.GetSubmission()
	caseID := sub.GetCaseId()
	street := sub.GetArea().GetStreetCode()
	if street == "" || street == "0" {
		street = zhijiang
	}
	classified(t, s, caseID, sub.GetCaseNumber(), street, "03001", typesv1.Urgency_URGENCY_NORMAL, true, "")

	first := fbLeadTask(t, ctx, admin, caseID, 0)
	dept := first.GetDepartmentCode()
	fbWork(t, ctx, s, first, street, "fbp-r0", "已更换垃圾箱并清理")
	c := fbCaseState(t, ctx, fbPatrol, caseID, feedbackv1.CaseState_CASE_STATE_AWAITING_RECHECK)
	if c.GetSource() != typesv1.Source_SOURCE_PATROL {
		t.Errorf("source %v", c.GetSource())
	}
	// Resolved is not closed: no callback closes a patrol case, and it stays
	// open until re-checked. (The hotline does not even see a patrol case:
	// the street's dispatcher, who may call back there, hears the state.)
	cb := &feedbackv1.RecordCallbackRequest{RequestId: "fbp-cb", CaseId: caseID, Reached: true,
		Solved: true, Satisfaction: eventsv1.Satisfaction_SATISFACTION_SATISFIED}
	fbStreet := feedbackv1.NewFeedbackServiceClient(s.dial(t, "feedback", auth.Principal{Role: auth.RoleDispatcher, Subject: street}))
	if _, err := fbStreet.RecordCallback(ctx, cb); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("callback on a patrol case awaiting re-check: %v, want FAILED_PRECONDITION", err)
	}
	if _, err := fbHotline.RecordCallback(ctx, cb); status.Code(err) != codes.PermissionDenied {
		t.Errorf("the hotline's callback on a patrol case: %v, want PERMISSION_DENIED", err)
	}
	time.Sleep(2 * time.Second)
	if got, err := fbPatrol.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: caseID}); err != nil ||
		got.GetCase().GetState() != feedbackv1.CaseState_CASE_STATE_AWAITING_RECHECK {
		t.Fatalf("patrol case before its re-check: %v %v", got.GetCase(), err)
	}

	// The worker finds it not fixed: reopened, a new round for the unit.
	rc, err := fbPatrol.RecordRecheck(ctx, &feedbackv1.RecordRecheckRequest{RequestId: "fbp-rc-1", CaseId: caseID, Passed: false,
		Photos: []string{"s3://patrol/w-0021/recheck-1.jpg"}, Note: "垃圾仍未清理干净"})
	if err != nil {
		t.Fatal(err)
	}
	if rc.GetCase().GetRound() != 1 || rc.GetCase().GetState() == feedbackv1.CaseState_CASE_STATE_CLOSED {
		t.Fatalf("case after a failed re-check: %v", rc.GetCase())
	}
	reopened, _ := fbStreamEvent(t, s, "grid.case.reopened.>", caseID)
	if r := reopened.GetCaseReopened(); r.GetReason() != eventsv1.ReopenReason_REOPEN_REASON_RECHECK_FAILED {
		t.Fatalf("case.reopened: %v", r)
	}
	second := fbLeadTask(t, ctx, admin, caseID, 1)
	if second.GetDepartmentCode() != dept || second.GetDispatchReason() != eventsv1.DispatchReason_DISPATCH_REASON_REOPENED {
		t.Fatalf("round 1 task %v", second)
	}
	fbWork(t, ctx, s, second, street, "fbp-r1", "已彻底清理并加装垃圾箱")
	fbCaseState(t, ctx, fbPatrol, caseID, feedbackv1.CaseState_CASE_STATE_AWAITING_RECHECK)

	rc, err = fbPatrol.RecordRecheck(ctx, &feedbackv1.RecordRecheckRequest{RequestId: "fbp-rc-2", CaseId: caseID, Passed: true,
		Photos: []string{"s3://patrol/w-0021/recheck-2.jpg"}, Note: "已整改到位"})
	if err != nil {
		t.Fatal(err)
	}
	if rc.GetCase().GetState() != feedbackv1.CaseState_CASE_STATE_CLOSED {
		t.Fatalf("case after a passed re-check: %v", rc.GetCase())
	}
	closed, _ := fbStreamEvent(t, s, "grid.case.closed.>", caseID)
	if r := closed.GetCaseClosed().GetReason(); r != eventsv1.CloseReason_CLOSE_REASON_RECHECK_PASSED {
		t.Fatalf("closed for %v", r)
	}

	tl, err := fbPatrol.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseId: caseID})
	if err != nil {
		t.Fatal(err)
	}
	w := fmt.Sprintf("patrol:%s", worker.Subject)
	fbTimelineHas(t, tl.GetEntries(), []fbStep{
		{"case.received", w}, {"task.dispatched", "system"}, {"task.completed", "department:" + dept}, {"case.resolved", ""},
		{"case.rechecked", w}, {"case.reopened", w}, {"task.dispatched", "system"}, {"task.completed", "department:" + dept},
		{"case.resolved", ""}, {"case.rechecked", w}, {"case.closed", w},
	})
	if slices.ContainsFunc(tl.GetEntries(), func(e *feedbackv1.TimelineEntry) bool { return e.GetType() == "case.callback_recorded" }) {
		t.Error("a callback was recorded on the patrol case")
	}
}
