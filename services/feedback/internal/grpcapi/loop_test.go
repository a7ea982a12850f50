package grpcapi_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

func (e *env) callback(k kase, reached, solved bool, s eventsv1.Satisfaction) (*feedbackv1.RecordCallbackResponse, error) {
	return e.callbackAs("hotline", k, reached, solved, s)
}

// callbackAs records a callback as principal p.
func (e *env) callbackAs(p string, k kase, reached, solved bool, s eventsv1.Satisfaction) (*feedbackv1.RecordCallbackResponse, error) {
	c, ctx := e.as(p)
	return c.RecordCallback(ctx, &feedbackv1.RecordCallbackRequest{RequestId: uuid.NewString(), CaseId: k.id, Reached: reached,
		ContactedByUnit: reached, Solved: solved, Satisfaction: s, Note: "回访"})
}

func (e *env) recheck(k kase, passed bool) (*feedbackv1.RecordRecheckResponse, error) {
	return e.recheckAs("patrol:w-0017", k, passed) // the worker who reported it (receive)
}

// recheckAs records a re-check as principal p.
func (e *env) recheckAs(p string, k kase, passed bool) (*feedbackv1.RecordRecheckResponse, error) {
	c, ctx := e.as(p)
	return c.RecordRecheck(ctx, &feedbackv1.RecordRecheckRequest{RequestId: uuid.NewString(), CaseId: k.id, Passed: passed,
		Photos: []string{"s3://recheck/1.jpg"}})
}

func (e *env) state(k kase) *feedbackv1.Case {
	e.t.Helper()
	c, ctx := e.as("admin")
	got, err := c.GetCase(ctx, &feedbackv1.GetCaseRequest{CaseId: k.id})
	if err != nil {
		e.t.Fatal(err)
	}
	return got.GetCase()
}

// TestRecordCallback: each callback outcome of DOMAIN.md's rules, as the
// hotline records it.
func TestRecordCallback(t *testing.T) {
	e := setup(t)
	for _, tc := range []struct {
		name             string
		reached, solved  bool
		satisfaction     eventsv1.Satisfaction
		state            feedbackv1.CaseState
		round            uint32
		reason           string
		callbackDueAfter bool
	}{
		{"unreached: retried, still replied", false, false, 0, feedbackv1.CaseState_CASE_STATE_REPLIED, 0, "", true},
		{"unreached, whatever else it says", false, true, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED, feedbackv1.CaseState_CASE_STATE_REPLIED, 0, "", true},
		{"satisfied and solved: closed", true, true, eventsv1.Satisfaction_SATISFACTION_SATISFIED, feedbackv1.CaseState_CASE_STATE_CLOSED, 0, "callback", false},
		{"basic and solved: closed", true, true, eventsv1.Satisfaction_SATISFACTION_BASIC, feedbackv1.CaseState_CASE_STATE_CLOSED, 0, "callback", false},
		{"satisfied but unsolved: reopened", true, false, eventsv1.Satisfaction_SATISFACTION_SATISFIED, feedbackv1.CaseState_CASE_STATE_DISPATCHED, 1, "", false},
		{"solved but unsatisfied: reopened", true, true, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED, feedbackv1.CaseState_CASE_STATE_DISPATCHED, 1, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := e.replied(zj)
			resp, err := e.callback(k, tc.reached, tc.solved, tc.satisfaction)
			if err != nil {
				t.Fatal(err)
			}
			got := resp.GetCase()
			if resp.GetCallbackId() == "" || got.GetCaseId() != k.id || got.GetState() != tc.state || got.GetRound() != tc.round ||
				got.GetStateReason() != tc.reason || (got.GetCallbackDue() != nil) != tc.callbackDueAfter {
				t.Errorf("callback %q: state %s round %d reason %q callback due %v", resp.GetCallbackId(), got.GetState(), got.GetRound(),
					got.GetStateReason(), got.GetCallbackDue())
			}
			if d := cmp.Diff(got.GetState(), e.state(k).GetState()); d != "" {
				t.Errorf("stored state mismatch (-answered +stored):\n%s", d)
			}
		})
	}

	// A reopened case worked again is replied again and closes on a good
	// callback: rework counted.
	k := e.replied(zj)
	if _, err := e.callback(k, true, false, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED); err != nil {
		t.Fatal(err)
	}
	e.work(k, 1)
	if got := e.state(k); got.GetState() != feedbackv1.CaseState_CASE_STATE_REPLIED || got.GetRound() != 1 {
		t.Fatalf("reworked: %s round %d, want replied round 1", got.GetState(), got.GetRound())
	}
	resp, err := e.callback(k, true, true, eventsv1.Satisfaction_SATISFACTION_SATISFIED)
	if err != nil || resp.GetCase().GetState() != feedbackv1.CaseState_CASE_STATE_CLOSED || resp.GetCase().GetRound() != 1 {
		t.Fatalf("closing the reworked case: %v, %v", resp.GetCase(), err)
	}
}

// A repeated request id returns the first callback; the id with other
// content is ALREADY_EXISTS; an unknown case NOT_FOUND; bad input
// INVALID_ARGUMENT naming every field.
func TestRecordCallbackRequests(t *testing.T) {
	e := setup(t)
	k := e.replied(zj)
	c, ctx := e.as("hotline")
	req := &feedbackv1.RecordCallbackRequest{RequestId: "cb-1", CaseId: k.id, Reached: false}
	first, err := c.RecordCallback(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.RecordCallback(ctx, req)
	if err != nil || again.GetCallbackId() != first.GetCallbackId() {
		t.Fatalf("repeat: %q, %v; want the first callback %q", again.GetCallbackId(), err, first.GetCallbackId())
	}
	tl, err := c.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseId: k.id})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range tl.GetEntries() {
		if x.GetType() == "case.callback_recorded" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d callbacks recorded, want 1", n)
	}
	_, err = c.RecordCallback(ctx, &feedbackv1.RecordCallbackRequest{RequestId: "cb-1", CaseId: k.id, Reached: true, Solved: true,
		Satisfaction: eventsv1.Satisfaction_SATISFACTION_SATISFIED})
	code(t, err, codes.AlreadyExists)
	// Another principal's request id is its own.
	a, actx := e.as("admin")
	if _, err := a.RecordCallback(actx, &feedbackv1.RecordCallbackRequest{RequestId: "cb-1", CaseId: k.id, Reached: true, Solved: true,
		Satisfaction: eventsv1.Satisfaction_SATISFACTION_SATISFIED}); err != nil {
		t.Fatalf("admin's own cb-1: %v", err)
	}
	// An unknown case is NOT_FOUND to admin; the hotline hears what it hears
	// of a case outside its scope.
	_, err = a.RecordCallback(actx, &feedbackv1.RecordCallbackRequest{RequestId: "cb-2", CaseId: uuid.NewString(), Reached: false})
	code(t, err, codes.NotFound)
	_, err = c.RecordCallback(ctx, &feedbackv1.RecordCallbackRequest{RequestId: "cb-2", CaseId: uuid.NewString(), Reached: false})
	code(t, err, codes.PermissionDenied)
	// The case id as a system that writes GUIDs in capitals sends it.
	k2 := e.replied(zj)
	upper, err := c.RecordCallback(ctx, &feedbackv1.RecordCallbackRequest{RequestId: "cb-3", CaseId: strings.ToUpper(k2.id), Reached: false})
	if err != nil || upper.GetCase().GetCaseId() != k2.id {
		t.Errorf("callback on the case id in capitals: %v, %v", upper.GetCase().GetCaseId(), err)
	}
	one, err := c.ListReplies(ctx, &feedbackv1.ListRepliesRequest{CaseId: strings.ToUpper(k2.id)})
	if err != nil || len(one.GetReplies()) != 1 {
		t.Errorf("replies of the case id in capitals: %v, %v", one.GetReplies(), err)
	}

	for _, bad := range []struct {
		name string
		req  *feedbackv1.RecordCallbackRequest
		want []string
	}{
		{"no request id", &feedbackv1.RecordCallbackRequest{CaseId: k.id}, []string{"request_id"}},
		{"a request id of 65", &feedbackv1.RecordCallbackRequest{RequestId: strings.Repeat("r", 65), CaseId: k.id}, []string{"request_id"}},
		{"a case number for the case id", &feedbackv1.RecordCallbackRequest{RequestId: "x", CaseId: k.number}, []string{"case_id"}},
		{"reached without a rating", &feedbackv1.RecordCallbackRequest{RequestId: "x", CaseId: k.id, Reached: true, Solved: true},
			[]string{"satisfaction"}},
		{"a note not UTF-8", &feedbackv1.RecordCallbackRequest{RequestId: "x", CaseId: k.id, Note: "\xe5\x9b"}, []string{"note"}},
		{"a note of 2001", &feedbackv1.RecordCallbackRequest{RequestId: "x", CaseId: k.id, Note: strings.Repeat("访", 2001)}, []string{"note"}},
		{"all of it", &feedbackv1.RecordCallbackRequest{Reached: true}, []string{"request_id", "case_id", "satisfaction"}},
	} {
		_, err := c.RecordCallback(ctx, bad.req)
		if d := cmp.Diff(bad.want, fields(t, err)); d != "" {
			t.Errorf("%s: fields mismatch (-want +got):\n%s", bad.name, d)
		}
	}
}

// caseIn is a case brought to the given state; "replied" and
// "awaiting_recheck" are where a callback and a re-check are allowed.
func (e *env) caseIn(state string) kase {
	e.t.Helper()
	hot := typesv1.Source_SOURCE_HOTLINE
	switch state {
	case "received":
		return e.receive(hot, zj)
	case "review_needed":
		k := e.receive(hot, zj)
		e.publish(k.id, "case_review_needed", &eventsv1.CaseReviewNeeded{CaseId: k.id, CaseNumber: k.number, Area: area(zj)})
		return k
	case "classified":
		k := e.receive(hot, zj)
		e.classify(k, "")
		return k
	case "dispatched":
		k := e.caseIn("classified")
		e.dispatch(k, 0)
		return k
	case "in_progress":
		k := e.caseIn("classified")
		task := e.dispatch(k, 0)
		e.publish(k.id, "task_acknowledged", &eventsv1.TaskAcknowledged{Task: e.taskRef(k, task, 0, eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED)})
		return k
	case "replied":
		return e.replied(zj)
	case "awaiting_recheck":
		k := e.receive(typesv1.Source_SOURCE_PATROL, zj)
		e.classify(k, "")
		e.work(k, 0)
		return k
	case "closed":
		k := e.replied(zj)
		if _, err := e.callback(k, true, true, eventsv1.Satisfaction_SATISFACTION_SATISFIED); err != nil {
			e.t.Fatal(err)
		}
		return k
	case "reopened":
		k := e.replied(zj)
		if _, err := e.callback(k, true, false, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED); err != nil {
			e.t.Fatal(err)
		}
		return k
	case "withdrawn":
		k := e.caseIn("in_progress")
		e.publish(k.id, "case_followed_up", &eventsv1.CaseFollowedUp{CaseId: k.id, CaseNumber: k.number, FollowUpId: uuid.NewString(),
			Kind: eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW, Area: area(zj)})
		return k
	case "cancelled":
		k := e.caseIn("dispatched")
		e.publish(k.id, "case_cancelled", &eventsv1.CaseCancelled{Case: &eventsv1.DispatchCaseRef{CaseId: k.id, CaseNumber: k.number, Area: area(zj)},
			Reason: "重复立案"})
		return k
	case "parked":
		k := e.caseIn("dispatched")
		e.publish(k.id, "case_parked", &eventsv1.CaseParked{Case: &eventsv1.DispatchCaseRef{CaseId: k.id, CaseNumber: k.number, Area: area(zj)},
			Reason: "待拆违计划", ReviewDate: "2026-06-01"})
		return k
	case "merged":
		p := e.caseIn("dispatched")
		k := e.receive(hot, zj)
		e.classify(k, p.id)
		return k
	case "answered":
		n := seq.Add(1)
		k := kase{id: uuid.Must(uuid.NewV7()).String(), number: fmt.Sprintf("GF-20260302-%06d", n), street: zj, source: hot}
		e.publish(k.id, "case_answered", &eventsv1.CaseReceived{CaseId: k.id, CaseNumber: k.number, Source: hot,
			ReceivedAt: timestamppb.New(e.clock.Now()), AppealType: typesv1.AppealType_APPEAL_TYPE_CONSULTATION, Area: area(zj)})
		return k
	}
	e.t.Fatalf("no case in state %s", state)
	return kase{}
}

// A callback needs a replied case, a re-check a patrol case awaiting one:
// in every other state they are FAILED_PRECONDITION and change nothing.
func TestWrongStateIsFailedPrecondition(t *testing.T) {
	e := setup(t)
	states := []string{"received", "review_needed", "classified", "dispatched", "in_progress", "replied", "awaiting_recheck", "closed",
		"reopened", "withdrawn", "cancelled", "parked", "merged", "answered"}
	for _, st := range states {
		k := e.caseIn(st)
		before := e.state(k)
		want := map[string]feedbackv1.CaseState{"reopened": feedbackv1.CaseState_CASE_STATE_DISPATCHED}[st]
		if want == 0 {
			want = feedbackv1.CaseState(feedbackv1.CaseState_value["CASE_STATE_"+strings.ToUpper(st)])
		}
		if before.GetState() != want {
			t.Fatalf("case for %s is %s", st, before.GetState())
		}
		reason := map[string]string{"closed": "callback", "cancelled": "重复立案", "parked": "待拆违计划"}[st]
		if before.GetStateReason() != reason {
			t.Errorf("case for %s gives the reason %q, want %q", st, before.GetStateReason(), reason)
		}
		// The street's dispatcher may call back and re-check every case of
		// the street, hotline's and patrol's: only the state decides here.
		_, err := e.callbackAs("dispatcher:"+zj, k, true, true, eventsv1.Satisfaction_SATISFACTION_SATISFIED)
		if st == "replied" {
			if err != nil {
				t.Errorf("callback on a replied case: %v", err)
			}
		} else {
			code(t, err, codes.FailedPrecondition)
		}
		_, err = e.recheckAs("dispatcher:"+zj, k, true)
		if st == "awaiting_recheck" {
			if err != nil {
				t.Errorf("re-check on a case awaiting one: %v", err)
			}
		} else {
			code(t, err, codes.FailedPrecondition)
		}
		if st != "replied" && st != "awaiting_recheck" {
			if d := cmp.Diff(before.GetUpdatedAt().AsTime(), e.state(k).GetUpdatedAt().AsTime()); d != "" {
				t.Errorf("%s: a refused write changed the case (-before +after):\n%s", st, d)
			}
		}
	}
}

// TestRecordRecheck: a passed re-check closes a patrol case, a failed one
// reopens it for rework; repeats return the first re-check; bad photos are
// named one by one.
func TestRecordRecheck(t *testing.T) {
	e := setup(t)
	k := e.caseIn("awaiting_recheck")
	failed, err := e.recheck(k, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := failed.GetCase(); failed.GetRecheckId() == "" || got.GetState() != feedbackv1.CaseState_CASE_STATE_DISPATCHED || got.GetRound() != 1 {
		t.Fatalf("failed re-check: %q %s round %d; want dispatched round 1", failed.GetRecheckId(), got.GetState(), got.GetRound())
	}
	e.work(k, 1)
	if got := e.state(k).GetState(); got != feedbackv1.CaseState_CASE_STATE_AWAITING_RECHECK {
		t.Fatalf("reworked: %s, want awaiting_recheck", got)
	}
	c, ctx := e.as("patrol:w-0017")
	req := &feedbackv1.RecordRecheckRequest{RequestId: "rc-1", CaseId: k.id, Passed: true, Photos: []string{"s3://r/2.jpg"}, Note: "已整改"}
	passed, err := c.RecordRecheck(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := passed.GetCase(); got.GetState() != feedbackv1.CaseState_CASE_STATE_CLOSED || got.GetStateReason() != "recheck_passed" {
		t.Fatalf("passed re-check: %s (%s)", got.GetState(), got.GetStateReason())
	}
	again, err := c.RecordRecheck(ctx, req)
	if err != nil || again.GetRecheckId() != passed.GetRecheckId() {
		t.Fatalf("repeat: %q, %v; want %q", again.GetRecheckId(), err, passed.GetRecheckId())
	}
	req.Passed = false
	_, err = c.RecordRecheck(ctx, req)
	code(t, err, codes.AlreadyExists)
	// An unknown case: NOT_FOUND to admin, and to the worker what it hears
	// of another worker's case.
	a, actx := e.as("admin")
	_, err = a.RecordRecheck(actx, &feedbackv1.RecordRecheckRequest{RequestId: "rc-2", CaseId: uuid.NewString()})
	code(t, err, codes.NotFound)
	_, err = c.RecordRecheck(ctx, &feedbackv1.RecordRecheckRequest{RequestId: "rc-2", CaseId: uuid.NewString()})
	code(t, err, codes.PermissionDenied)
	other, octx := e.as("patrol:w-0018")
	_, err = other.RecordRecheck(octx, &feedbackv1.RecordRecheckRequest{RequestId: "rc-3", CaseId: k.id, Passed: true})
	code(t, err, codes.PermissionDenied)
	_, err = c.RecordRecheck(ctx, &feedbackv1.RecordRecheckRequest{RequestId: "", CaseId: "HL-1",
		Photos: []string{"ok", "", strings.Repeat("p", 1025)}, Note: "\xff"})
	if d := cmp.Diff([]string{"request_id", "case_id", "note", "photos[1]", "photos[2]"}, fields(t, err)); d != "" {
		t.Errorf("fields mismatch (-want +got):\n%s", d)
	}
}

// A merged case follows its primary: resolved with it, replied on its own,
// and its bad callback reopens the primary.
func TestMergedCaseCallbackReopensPrimary(t *testing.T) {
	e := setup(t)
	p := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	e.classify(p, "")
	d := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	e.classify(d, p.id)
	d2 := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	e.classify(d2, p.id)
	e.work(p, 0)
	if got := e.state(d); got.GetState() != feedbackv1.CaseState_CASE_STATE_REPLIED || got.GetMirroredState() != feedbackv1.CaseState_CASE_STATE_REPLIED {
		t.Fatalf("duplicate after its primary's completion: %s (mirrors %s), want replied (replied)", got.GetState(), got.GetMirroredState())
	}
	if _, err := e.callback(d, true, false, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED); err != nil {
		t.Fatal(err)
	}
	if got := e.state(p); got.GetState() != feedbackv1.CaseState_CASE_STATE_DISPATCHED || got.GetRound() != 1 {
		t.Errorf("primary: %s round %d, want dispatched round 1", got.GetState(), got.GetRound())
	}
	if got := e.state(d); got.GetState() != feedbackv1.CaseState_CASE_STATE_MERGED || got.GetMirroredState() != feedbackv1.CaseState_CASE_STATE_DISPATCHED {
		t.Errorf("duplicate: %s (mirrors %s), want merged (dispatched)", got.GetState(), got.GetMirroredState())
	}
	// The second duplicate's bad callback finds the primary at work
	// already: it is not reopened twice.
	if _, err := e.callback(d2, true, true, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED); err != nil {
		t.Fatal(err)
	}
	if got := e.state(p); got.GetState() != feedbackv1.CaseState_CASE_STATE_DISPATCHED || got.GetRound() != 1 {
		t.Errorf("primary after the second duplicate's bad callback: %s round %d, want dispatched round 1", got.GetState(), got.GetRound())
	}
	// The primary's rework resolves both duplicates again: each gets its
	// second reply.
	e.work(p, 1)
	for _, k := range []kase{d, d2} {
		if got := e.state(k); got.GetState() != feedbackv1.CaseState_CASE_STATE_REPLIED || got.GetRound() != 1 {
			t.Errorf("duplicate after the rework: %s round %d, want replied round 1", got.GetState(), got.GetRound())
		}
	}
	c, ctx := e.as("hotline")
	replies, err := c.ListReplies(ctx, &feedbackv1.ListRepliesRequest{CaseId: d.id})
	if err != nil || len(replies.GetReplies()) != 2 {
		t.Errorf("the duplicate's replies: %d, %v; want one per round", len(replies.GetReplies()), err)
	}
}

// ListReplies pages oldest first through every reply with its case's
// references and the units' results; case_id and since narrow it.
func TestListReplies(t *testing.T) {
	e := setup(t)
	var ks []kase
	for range 3 {
		ks = append(ks, e.replied(zj))
		e.clock.Advance(time.Hour)
	}
	c, ctx := e.as("hotline")
	var got []string
	req := &feedbackv1.ListRepliesRequest{PageSize: 2}
	for page := 0; ; page++ {
		resp, err := c.ListReplies(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetReplies()) > 2 {
			t.Errorf("page %d: %d replies", page, len(resp.GetReplies()))
		}
		for _, r := range resp.GetReplies() {
			got = append(got, r.GetCaseId())
			if r.GetReplyId() == "" || r.GetCaseNumber() == "" || r.GetHotlineOrderNo() == "" || r.GetRepliedAt() == nil ||
				!strings.Contains(r.GetText(), "已清理占道摊位") || len(r.GetResults()) != 1 || r.GetResults()[0].GetDepartmentCode() != cgzd {
				t.Errorf("reply %v", r)
			}
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		if page > 5 {
			t.Fatal("paging does not end")
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if d := cmp.Diff([]string{ks[0].id, ks[1].id, ks[2].id}, got); d != "" {
		t.Errorf("replies mismatch (-want +got):\n%s", d)
	}
	one, err := c.ListReplies(ctx, &feedbackv1.ListRepliesRequest{CaseId: ks[1].id})
	if err != nil || len(one.GetReplies()) != 1 || one.GetReplies()[0].GetCaseNumber() != ks[1].number {
		t.Errorf("replies of one case: %v, %v", one.GetReplies(), err)
	}
	late, err := c.ListReplies(ctx, &feedbackv1.ListRepliesRequest{Since: timestamppb.New(e.clock.Now().Add(-90 * time.Minute))})
	if err != nil || len(late.GetReplies()) != 1 || late.GetReplies()[0].GetCaseId() != ks[2].id {
		t.Errorf("replies since the last hour: %v, %v", late.GetReplies(), err)
	}
	_, err = c.ListReplies(ctx, &feedbackv1.ListRepliesRequest{PageToken: "bad"})
	code(t, err, codes.InvalidArgument)
	for _, tc := range []struct {
		req  *feedbackv1.ListRepliesRequest
		want []string
	}{
		{&feedbackv1.ListRepliesRequest{CaseId: ks[0].number}, []string{"case_id"}},
		{&feedbackv1.ListRepliesRequest{PageSize: -2}, []string{"page_size"}},
	} {
		_, err := c.ListReplies(ctx, tc.req)
		if d := cmp.Diff(tc.want, fields(t, err)); d != "" {
			t.Errorf("ListReplies(%v): fields mismatch (-want +got):\n%s", tc.req, d)
		}
	}
}

// WatchCaseUpdates streams what the hotline relays — signed for, the
// final reply, closed — and resumes after a cursor.
func TestWatchCaseUpdates(t *testing.T) {
	e := setup(t)
	k := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	e.classify(k, "")
	other := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	c, ctx := e.as("hotline")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A timeline entry's sequence is a cursor: the watch starts after the
	// classification, whenever the server gets to read the log.
	tl, err := c.GetCaseTimeline(ctx, &feedbackv1.GetCaseTimelineRequest{CaseId: k.id})
	if err != nil {
		t.Fatal(err)
	}
	cursor := strconv.FormatInt(tl.GetEntries()[len(tl.GetEntries())-1].GetSequence(), 10)
	stream, err := c.WatchCaseUpdates(ctx, &feedbackv1.WatchCaseUpdatesRequest{CaseId: k.id, Cursor: cursor})
	if err != nil {
		t.Fatal(err)
	}
	e.classify(other, "")
	e.work(other, 0) // another case's updates are not this watch's
	e.work(k, 0)
	recv := func() *feedbackv1.WatchCaseUpdatesResponse {
		t.Helper()
		u, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	signed, reply := recv(), recv()
	if signed.GetKind() != feedbackv1.UpdateKind_UPDATE_KIND_SIGNED_FOR || signed.GetCaseId() != k.id || signed.GetDepartmentCode() != cgzd ||
		signed.GetHotlineOrderNo() != k.orderNo || signed.GetCaseNumber() != k.number {
		t.Errorf("first update %v, want signed for by %s on %s", signed, cgzd, k.orderNo)
	}
	if reply.GetKind() != feedbackv1.UpdateKind_UPDATE_KIND_FINAL_REPLY || !strings.Contains(reply.GetText(), "已清理占道摊位") ||
		reply.GetHotlineOrderNo() != k.orderNo {
		t.Errorf("second update %v, want the final reply", reply)
	}
	cancel()

	if _, err := e.callback(k, true, true, eventsv1.Satisfaction_SATISFACTION_SATISFIED); err != nil {
		t.Fatal(err)
	}
	c, ctx = e.as("hotline")
	resumed, err := c.WatchCaseUpdates(ctx, &feedbackv1.WatchCaseUpdatesRequest{CaseId: k.id, Cursor: reply.GetCursor()})
	if err != nil {
		t.Fatal(err)
	}
	u, err := resumed.Recv()
	if err != nil || u.GetKind() != feedbackv1.UpdateKind_UPDATE_KIND_CLOSED || u.GetCaseNumber() != k.number {
		t.Errorf("resumed after the reply: %v, %v; want closed", u, err)
	}
	s, err := c.WatchCaseUpdates(ctx, &feedbackv1.WatchCaseUpdatesRequest{CaseId: k.number})
	if err == nil {
		_, err = s.Recv()
	}
	if d := cmp.Diff([]string{"case_id"}, fields(t, err)); d != "" {
		t.Errorf("watching a case number as the case id: fields mismatch (-want +got):\n%s", d)
	}
	// The case id in capitals watches the case.
	s, err = c.WatchCaseUpdates(ctx, &feedbackv1.WatchCaseUpdatesRequest{CaseId: strings.ToUpper(k.id), Cursor: cursor})
	if err != nil {
		t.Fatal(err)
	}
	if u, err := s.Recv(); err != nil || u.GetCaseId() != k.id || u.GetKind() != feedbackv1.UpdateKind_UPDATE_KIND_SIGNED_FOR {
		t.Errorf("watching the case id in capitals: %v, %v", u, err)
	}
	for _, bad := range []string{"abc", "-1", "1.5"} {
		s, err := c.WatchCaseUpdates(ctx, &feedbackv1.WatchCaseUpdatesRequest{Cursor: bad})
		if err == nil {
			_, err = s.Recv()
		}
		if d := cmp.Diff([]string{"cursor"}, fields(t, err)); d != "" {
			t.Errorf("cursor %q: fields mismatch (-want +got):\n%s", bad, d)
		}
	}
}

// Every kind of update the hotline relays, and none it does not: a denied
// extension, a dispatch, a classification are not relayed.
func TestWatchUpdateKinds(t *testing.T) {
	e := setup(t)
	k := e.receive(typesv1.Source_SOURCE_HOTLINE, zj)
	c, ctx := e.as("hotline")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.WatchCaseUpdates(ctx, &feedbackv1.WatchCaseUpdatesRequest{CaseId: k.id, Cursor: "0"})
	if err != nil {
		t.Fatal(err)
	}
	e.classify(k, "")
	task := e.dispatch(k, 0)
	ack := func(st eventsv1.TaskState) *eventsv1.TaskRef { return e.taskRef(k, task, 0, st) }
	e.publish(k.id, "task_acknowledged", &eventsv1.TaskAcknowledged{Task: ack(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED)})
	e.publish(k.id, "task_progress_reported", &eventsv1.TaskProgressReported{Task: ack(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED), Text: "已约谈摊主"})
	e.publish(k.id, "task_extension_requested", &eventsv1.TaskExtensionRequested{Task: ack(eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED)})
	e.publish(k.id, "task_extension_decided", &eventsv1.TaskExtensionDecided{Task: ack(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED), Granted: false})
	e.publish(k.id, "task_extension_requested", &eventsv1.TaskExtensionRequested{Task: ack(eventsv1.TaskState_TASK_STATE_EXTENSION_REQUESTED)})
	newDue := e.clock.Now().Add(96 * time.Hour).Truncate(time.Second)
	e.publish(k.id, "task_extension_decided", &eventsv1.TaskExtensionDecided{Task: ack(eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED), Granted: true,
		Due: timestamppb.New(newDue)})
	e.publish(k.id, "task_completed", &eventsv1.TaskCompleted{Task: ack(eventsv1.TaskState_TASK_STATE_COMPLETED), Result: "已清理占道摊位"})
	if _, err := e.callback(k, true, false, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED); err != nil {
		t.Fatal(err)
	}
	e.publish(k.id, "case_followed_up", &eventsv1.CaseFollowedUp{CaseId: k.id, CaseNumber: k.number, FollowUpId: uuid.NewString(),
		Kind: eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW, Area: area(zj)})

	type update struct {
		Kind        feedbackv1.UpdateKind
		Text, Order string
	}
	want := []update{
		{feedbackv1.UpdateKind_UPDATE_KIND_SIGNED_FOR, "", k.orderNo},
		{feedbackv1.UpdateKind_UPDATE_KIND_INTERIM_REPLY, "已约谈摊主", k.orderNo},
		{feedbackv1.UpdateKind_UPDATE_KIND_EXTENSION_GRANTED, "", k.orderNo},
		{feedbackv1.UpdateKind_UPDATE_KIND_FINAL_REPLY, "", k.orderNo},
		{feedbackv1.UpdateKind_UPDATE_KIND_REOPENED, "", k.orderNo},
		{feedbackv1.UpdateKind_UPDATE_KIND_WITHDRAWN, "", k.orderNo},
	}
	var got []update
	var last int64
	for range want {
		u, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		text := u.GetText()
		switch u.GetKind() {
		case feedbackv1.UpdateKind_UPDATE_KIND_SIGNED_FOR, feedbackv1.UpdateKind_UPDATE_KIND_EXTENSION_GRANTED,
			feedbackv1.UpdateKind_UPDATE_KIND_FINAL_REPLY, feedbackv1.UpdateKind_UPDATE_KIND_REOPENED, feedbackv1.UpdateKind_UPDATE_KIND_WITHDRAWN:
			text = "" // summaries and the composed reply are tested elsewhere
		}
		if u.GetKind() == feedbackv1.UpdateKind_UPDATE_KIND_EXTENSION_GRANTED && !u.GetNewDue().AsTime().Equal(newDue) {
			t.Errorf("extension granted until %v, want %v", u.GetNewDue().AsTime(), newDue)
		}
		n, _ := strconv.ParseInt(u.GetCursor(), 10, 64)
		if n <= last {
			t.Errorf("cursor %s does not move past %d", u.GetCursor(), last)
		}
		last = n
		got = append(got, update{u.GetKind(), text, u.GetHotlineOrderNo()})
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("updates mismatch (-want +got):\n%s", d)
	}
}
