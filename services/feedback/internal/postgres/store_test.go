package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/feedback/internal/convert"
	"github.com/gridflow/gridflow/services/feedback/internal/events"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/gridflow/gridflow/services/feedback/internal/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

const (
	district = "310106"
	street   = "310106022"
	dept     = "310106-cgzf"
)

type env struct {
	t    *testing.T
	pool *pgxpool.Pool
	// served is the pool the store and a handled batch use (serve).
	served *pgxpool.Pool
	store  *postgres.Store
	svc    *feedback.Service
	clock  *timer.ManualClock
	timers *timer.Worker
	// held, when set, collects what publish delivers, for a test to hand
	// over in batches; skew moves the times publish stamps.
	held *[][]byte
	skew time.Duration
	// announcer, when set, has publish deliver as the consumer does: a
	// batch on a quiet transaction, announced once committed.
	announcer *postgres.Announcer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := testenv.Pool(t, postgres.Schema, 8, postgres.Migrations...)
	// Monday 2 March 2026, 10:00 in Shanghai.
	e := &env{t: t, pool: pool, clock: timer.NewManualClock(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC))}
	e.serve(pool)
	e.timers = timer.NewWorker(pool, map[string]timer.Handler{
		postgres.TimerCallbackWindow: func(ctx context.Context, tx pgx.Tx, tm timer.Timer) error {
			return e.svc.CallbackWindowPassed(ctx, e.store.Bind(tx), tm.Key)
		},
		postgres.TimerCallbackRetry: func(ctx context.Context, tx pgx.Tx, tm timer.Timer) error {
			return e.svc.CallbackRetryDue(ctx, e.store.Bind(tx), tm.Key)
		},
	}, timer.Options{Clock: e.clock}, nil)
	return e
}

// serve gives e a store on pool and the service over it.
func (e *env) serve(pool *pgxpool.Pool) {
	e.t.Helper()
	ref, err := reference.LoadDefault()
	if err != nil {
		e.t.Fatal(err)
	}
	e.served = pool
	e.store = postgres.New(pool, nil)
	e.svc = feedback.New(feedback.Config{CallbackWindow: 3, CallbackRetry: 2 * time.Hour}, e.store, e.store,
		func() feedback.Calendar { return ref.Calendar() }, e.clock.Now)
}

// publish hands an envelope to feedback as the consumer would.
func (e *env) publish(caseID, typ string, payload any) {
	e.t.Helper()
	env := &eventsv1.Envelope{EventId: uuid.NewString(), Type: typ, CaseId: caseID, OccurredAt: timestamppb.New(e.clock.Now().Add(e.skew)),
		Actor: &typesv1.Principal{Role: "system", Subject: "test"}, Version: 1}
	switch p := payload.(type) {
	case *eventsv1.CaseReceived:
		env.Payload = &eventsv1.Envelope_CaseReceived{CaseReceived: p}
	case *eventsv1.CaseClassified:
		env.Payload = &eventsv1.Envelope_CaseClassified{CaseClassified: p}
	case *eventsv1.TaskDispatched:
		env.Payload = &eventsv1.Envelope_TaskDispatched{TaskDispatched: p}
	case *eventsv1.TaskAcknowledged:
		env.Payload = &eventsv1.Envelope_TaskAcknowledged{TaskAcknowledged: p}
	case *eventsv1.TaskCompleted:
		env.Payload = &eventsv1.Envelope_TaskCompleted{TaskCompleted: p}
	case *eventsv1.TaskCompletionApproved:
		env.Payload = &eventsv1.Envelope_TaskCompletionApproved{TaskCompletionApproved: p}
	case *eventsv1.CaseExcluded:
		env.Payload = &eventsv1.Envelope_CaseExcluded{CaseExcluded: p}
	case *eventsv1.CaseFollowedUp:
		env.Payload = &eventsv1.Envelope_CaseFollowedUp{CaseFollowedUp: p}
	default:
		e.t.Fatalf("publish: %T", payload)
	}
	data, err := proto.Marshal(env)
	if err != nil {
		e.t.Fatal(err)
	}
	e.deliver(data)
}

func (e *env) deliver(data []byte) {
	e.t.Helper()
	if e.held != nil {
		*e.held = append(*e.held, data)
		return
	}
	if e.announcer != nil {
		e.handleBatch([][]byte{data})
		return
	}
	ev, err := events.Decode(data)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.InTx(context.Background(), func(tx feedback.Tx) error { return e.svc.Handle(context.Background(), tx, ev) }); err != nil {
		e.t.Fatalf("handle %s: %v", ev.Type, err)
	}
}

func (e *env) state(id string) *feedback.Case {
	e.t.Helper()
	c, _, err := e.svc.GetCase(context.Background(), everything, id, "", "")
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

var n int

type kase struct {
	id, number string
	source     typesv1.Source
}

func (e *env) receive(src typesv1.Source, noCallback bool) kase {
	n++
	k := kase{id: uuid.NewString(), number: fmt.Sprintf("GF-20260302-%06d", n), source: src}
	e.publish(k.id, "case.received", &eventsv1.CaseReceived{CaseId: k.id, CaseNumber: k.number, Source: src,
		ReceivedAt: timestamppb.New(e.clock.Now()), Title: "占道经营", NoCallback: noCallback,
		HotlineOrderNo: fmt.Sprintf("HL-%d", n), Area: &typesv1.Area{DistrictCode: district, StreetCode: street, GridCode: "310106022001001"}})
	return k
}

// duplicate is a hotline case of primary's incident whose classification
// arrives before its receipt, received at receivedAt.
func (e *env) duplicate(primary kase, receivedAt time.Time) kase {
	n++
	dup := kase{id: uuid.NewString(), number: fmt.Sprintf("GF-20260302-%06d", n), source: typesv1.Source_SOURCE_HOTLINE}
	e.classify(dup, primary.id)
	e.publish(dup.id, "case.received", &eventsv1.CaseReceived{CaseId: dup.id, CaseNumber: dup.number, Source: dup.source,
		ReceivedAt: timestamppb.New(receivedAt), Area: &typesv1.Area{DistrictCode: district, StreetCode: street}})
	return dup
}

func (e *env) classify(k kase, primary string) {
	e.publish(k.id, "case.classified", &eventsv1.CaseClassified{CaseId: k.id, CaseNumber: k.number, ClassificationVersion: 1,
		ItemCode: "09006", ItemName: "占道经营", Dispatchable: primary == "", PrimaryCaseId: primary, IncidentId: map[bool]string{true: "", false: "inc-1"}[primary == ""],
		Source: k.source, Area: &typesv1.Area{DistrictCode: district, StreetCode: street}})
}

func ref(k kase, task string, round uint32, st eventsv1.TaskState, rv eventsv1.ReviewState, due time.Time) *eventsv1.TaskRef {
	return &eventsv1.TaskRef{TaskId: task, CaseId: k.id, CaseNumber: k.number, DepartmentCode: dept, Role: eventsv1.TaskRole_TASK_ROLE_LEAD,
		State: st, DistrictCode: district, StreetCode: street, Round: round, Review: rv,
		Deadlines: &eventsv1.Deadlines{Complete: &eventsv1.Deadline{Due: timestamppb.New(due)}}}
}

// work runs one round of the lead's task: dispatch, sign for after an hour,
// complete after two more.
func (e *env) work(k kase, round uint32, review bool) string {
	task := uuid.NewString()
	due := e.clock.Now().Add(48 * time.Hour)
	rv := eventsv1.ReviewState_REVIEW_STATE_NOT_REQUIRED
	if review {
		rv = eventsv1.ReviewState_REVIEW_STATE_PENDING
	}
	e.publish(k.id, "task.dispatched", &eventsv1.TaskDispatched{Task: ref(k, task, round, eventsv1.TaskState_TASK_STATE_DISPATCHED, 0, due), Rule: "street-order"})
	e.clock.Advance(time.Hour)
	e.publish(k.id, "task.acknowledged", &eventsv1.TaskAcknowledged{Task: ref(k, task, round, eventsv1.TaskState_TASK_STATE_ACKNOWLEDGED, 0, due)})
	e.clock.Advance(2 * time.Hour)
	e.publish(k.id, "task.completed", &eventsv1.TaskCompleted{Task: ref(k, task, round, eventsv1.TaskState_TASK_STATE_COMPLETED, rv, due),
		Result: fmt.Sprintf("已清理占道摊位（第%d轮）", round), ReviewRequired: review})
	return task
}

func (e *env) callback(id string, reached, solved bool, s eventsv1.Satisfaction) (*feedback.Case, error) {
	c, _, err := e.svc.RecordCallback(context.Background(), everything, "hotline", feedback.CallbackInput{RequestID: uuid.NewString(), CaseID: id,
		Reached: reached, ContactedByUnit: reached, Solved: solved, Satisfaction: convert.SatisfactionIn(s)})
	return c, err
}

func TestLoopReopensAndCloses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
	if got := e.state(k.id).State; got != feedback.Received {
		t.Fatalf("state %s, want received", got)
	}
	e.classify(k, "")
	if got := e.state(k.id).State; got != feedback.Classified {
		t.Fatalf("state %s, want classified", got)
	}
	e.work(k, 0, false)
	c := e.state(k.id)
	if c.State != feedback.Replied || len(c.Replies) != 1 || c.CallbackDue.IsZero() {
		t.Fatalf("after completion: state %s, replies %d, callback due %v", c.State, len(c.Replies), c.CallbackDue)
	}
	// A redelivered completion changes nothing.
	evs, _ := e.store.Timeline(ctx, k.id)
	e.deliver(evs[len(evs)-3].Raw)
	if evs2, _ := e.store.Timeline(ctx, k.id); len(evs2) != len(evs) {
		t.Fatalf("redelivery stored %d events, want %d", len(evs2), len(evs))
	}
	if _, err := e.callback(k.id, false, false, 0); err != nil {
		t.Fatal(err)
	}
	if c := e.state(k.id); c.State != feedback.Replied || c.RetryAt.IsZero() {
		t.Fatalf("unreached: state %s retry %v", c.State, c.RetryAt)
	}
	c, err := e.callback(k.id, true, false, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != feedback.Dispatched || c.Round != 1 {
		t.Fatalf("unsatisfied: state %s round %d, want dispatched round 1", c.State, c.Round)
	}
	if _, err := e.callback(k.id, true, true, eventsv1.Satisfaction_SATISFACTION_SATISFIED); fault.KindOf(err) != fault.FailedPrecondition {
		t.Fatalf("callback on a reopened case: %v, want failed precondition", err)
	}
	e.work(k, 1, true)
	if got := e.state(k.id).State; got != feedback.InProgress {
		t.Fatalf("completion pending review: %s, want in_progress", got)
	}
	task := e.state(k.id).Tasks[1].ID
	e.publish(k.id, "task.completion_approved", &eventsv1.TaskCompletionApproved{Task: ref(k, task, 1, eventsv1.TaskState_TASK_STATE_COMPLETED,
		eventsv1.ReviewState_REVIEW_STATE_APPROVED, e.clock.Now().Add(48*time.Hour))})
	if c := e.state(k.id); c.State != feedback.Replied || len(c.Replies) != 2 {
		t.Fatalf("approved: state %s replies %d", c.State, len(c.Replies))
	}
	c, err = e.callback(k.id, true, true, eventsv1.Satisfaction_SATISFACTION_SATISFIED)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != feedback.Closed || c.CloseReason != "callback" {
		t.Fatalf("satisfied: state %s (%s)", c.State, c.CloseReason)
	}
	var types []string
	tl, _ := e.store.Timeline(ctx, k.id)
	for _, ev := range tl {
		types = append(types, ev.Type)
	}
	want := []string{"case.received", "case.classified", "task.dispatched", "task.acknowledged", "task.completed", "case.resolved",
		"case.replied", "case.callback_recorded", "case.callback_recorded", "case.reopened", "task.dispatched", "task.acknowledged",
		"task.completed", "task.completion_approved", "case.resolved", "case.replied", "case.callback_recorded", "case.closed"}
	if d := cmp.Diff(want, types); d != "" {
		t.Errorf("timeline mismatch (-want +got):\n%s", d)
	}
	if n, err := outbox.Pending(ctx, e.pool); err != nil || n != 9 {
		t.Errorf("outbox holds %d events (%v), want 9 of feedback's own", n, err)
	}
}

func TestNoCallbackAndWindowAndWithdraw(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	quiet := e.receive(typesv1.Source_SOURCE_HOTLINE, true)
	e.classify(quiet, "")
	e.work(quiet, 0, false)
	if c := e.state(quiet.id); c.State != feedback.Closed || c.CloseReason != "no_callback" {
		t.Fatalf("no_callback case: %s (%s)", c.State, c.CloseReason)
	}
	k := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
	e.classify(k, "")
	e.work(k, 0, false)
	due := e.state(k.id).CallbackDue
	if _, err := e.callback(k.id, false, false, 0); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(3 * time.Hour)
	if _, err := e.timers.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if c := e.state(k.id); c.State != feedback.Replied || !c.RetryAt.IsZero() {
		t.Fatalf("after the retry timer: %s retry %v", c.State, c.RetryAt)
	}
	e.clock.Set(due.Add(time.Minute))
	if _, err := e.timers.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if c := e.state(k.id); c.State != feedback.Closed || c.CloseReason != "callback_window_passed" {
		t.Fatalf("after the window: %s (%s)", c.State, c.CloseReason)
	}
	w := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
	e.publish(w.id, "case.followed_up", &eventsv1.CaseFollowedUp{CaseId: w.id, FollowUpId: "f1", Kind: eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW})
	if got := e.state(w.id).State; got != feedback.Withdrawn {
		t.Fatalf("withdrawn: %s", got)
	}
}

func TestPatrolAndMergedAndOutOfOrder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.receive(typesv1.Source_SOURCE_PATROL, false)
	e.classify(p, "")
	e.work(p, 0, false)
	if got := e.state(p.id).State; got != feedback.AwaitingRecheck {
		t.Fatalf("patrol: %s, want awaiting_recheck", got)
	}
	if _, err := e.callback(p.id, true, true, eventsv1.Satisfaction_SATISFACTION_SATISFIED); fault.KindOf(err) != fault.FailedPrecondition {
		t.Fatalf("callback on a patrol case: %v", err)
	}
	rc := func(passed bool) *feedback.Case {
		c, _, err := e.svc.RecordRecheck(ctx, everything, "patrol:w1", "w1", feedback.RecheckInput{RequestID: uuid.NewString(), CaseID: p.id, Passed: passed, Photos: []string{"s3://p/1.jpg"}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := rc(false); c.State != feedback.Dispatched || c.Round != 1 {
		t.Fatalf("failed re-check: %s round %d", c.State, c.Round)
	}
	e.work(p, 1, false)
	if c := rc(true); c.State != feedback.Closed {
		t.Fatalf("passed re-check: %s", c.State)
	}

	// A duplicate mirrors its primary, gets its own reply, and its bad
	// callback reopens the primary. Its classification arrives before its
	// receipt.
	primary := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
	e.classify(primary, "")
	dup := e.duplicate(primary, e.clock.Now().Add(-time.Minute))
	if got := e.state(dup.id).State; got != feedback.Merged {
		t.Fatalf("duplicate: %s, want merged", got)
	}
	e.work(primary, 0, false)
	d := e.state(dup.id)
	if d.State != feedback.Replied || len(d.Replies) != 1 {
		t.Fatalf("duplicate after the primary resolved: %s, %d replies", d.State, len(d.Replies))
	}
	if _, err := e.callback(dup.id, true, true, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED); err != nil {
		t.Fatal(err)
	}
	if c := e.state(primary.id); c.State != feedback.Dispatched || c.Round != 1 {
		t.Fatalf("primary after the duplicate's bad callback: %s round %d", c.State, c.Round)
	}
	if got := e.state(dup.id).State; got != feedback.Merged {
		t.Fatalf("duplicate after its bad callback: %s, want merged", got)
	}
}

func TestRebuildGivesIdenticalFigures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	start := e.clock.Now().Add(-time.Hour)
	for i := range 6 {
		k := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
		e.classify(k, "")
		e.work(k, 0, false)
		switch i % 3 {
		case 0:
			e.callback(k.id, true, true, eventsv1.Satisfaction_SATISFACTION_SATISFIED) //nolint:errcheck // checked by figures
		case 1:
			e.callback(k.id, true, true, eventsv1.Satisfaction_SATISFACTION_BASIC) //nolint:errcheck
		case 2:
			e.callback(k.id, true, false, eventsv1.Satisfaction_SATISFACTION_UNSATISFIED) //nolint:errcheck
			e.work(k, 1, false)
			e.callback(k.id, true, true, eventsv1.Satisfaction_SATISFACTION_SATISFIED) //nolint:errcheck
		}
	}
	x := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
	e.classify(x, "")
	e.publish(x.id, "case.excluded", &eventsv1.CaseExcluded{Case: &eventsv1.DispatchCaseRef{CaseId: x.id}, Reason: "不合理诉求"})
	period := feedback.Period{Start: start, End: e.clock.Now().Add(time.Hour)}
	before, err := e.svc.Figures(ctx, everything, feedback.ScopeStreet, street, period)
	if err != nil {
		t.Fatal(err)
	}
	// Hand-computed: 8 valid callbacks (6 first rounds + 2 reworked); 6
	// contacted... every reached callback here says contacted.
	if before.Cases != 6 || before.Excluded != 1 || before.Rates.Valid != 8 || before.Counts.Closed != 6 || before.Counts.Reworked != 2 ||
		before.Counts.ToHandle != 8 || before.Counts.Handled != 8 {
		t.Fatalf("figures %+v", before)
	}
	// 解决 6/8; 满意 (2·1 + 2·0.9 + 2·1 + 0·…)/8 = 5.8/8; composite 100(0.1 + 0.5·0.75 + 0.4·0.725) = 76.5
	if d := cmp.Diff(76.5, round2(before.Rates.Composite)); d != "" {
		t.Errorf("composite mismatch (-want +got):\n%s", d)
	}
	pareto, total, _ := e.svc.Pareto(ctx, everything, street, period)
	if _, err := e.pool.Exec(ctx, `DROP TABLE feedback.cases, feedback.replies, feedback.figure_cases, feedback.figure_tasks`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `DELETE FROM feedback.schema_migrations WHERE set_name = 'feedback' AND version IN (2, 3)`); err != nil {
		t.Fatal(err)
	}
	if err := pgdb.Migrate(ctx, e.pool, postgres.Schema, postgres.Migrations...); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := e.svc.Figures(ctx, everything, feedback.ScopeStreet, street, period)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("figures after rebuild mismatch (-before +after):\n%s", d)
	}
	pareto2, total2, _ := e.svc.Pareto(ctx, everything, street, period)
	if d := cmp.Diff(pareto, pareto2); d != "" || total != total2 {
		t.Errorf("pareto after rebuild mismatch (-before +after):\n%s", d)
	}
	dept, err := e.svc.Figures(ctx, everything, feedback.ScopeDepartment, dept, period)
	if err != nil || dept.Counts.ToHandle != 8 || dept.Score.Grade == "" {
		t.Errorf("department figures %+v (%v)", dept, err)
	}
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

// GetCase and Timeline find a case by its id, its case number and its
// hotline order number alike; an unknown one is NotFound naming what was
// asked, a malformed or ambiguous one InvalidArgument naming the field.
func TestReadsTakeAnyCaseReference(t *testing.T) {
	e := newEnv(t)
	k := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
	e.receive(typesv1.Source_SOURCE_HOTLINE, false) // another case no lookup may return
	orderNo := e.state(k.id).HotlineOrderNo
	if orderNo == "" {
		t.Fatal("feedback kept no hotline order number")
	}
	ctx := context.Background()
	for _, key := range [][3]string{{k.id, "", ""}, {"", k.number, ""}, {"", "", orderNo}} {
		c, _, err := e.svc.GetCase(ctx, everything, key[0], key[1], key[2])
		if err != nil || c.ID != k.id {
			t.Errorf("GetCase%q = %v, %v; want case %s", key, c, err, k.id)
		}
		c, evs, err := e.svc.Timeline(ctx, everything, key[0], key[1], key[2])
		if err != nil || c.ID != k.id || len(evs) != 1 || evs[0].Type != "case.received" {
			t.Errorf("Timeline%q = %v, %d events, %v; want case %s and its case.received", key, c, len(evs), err, k.id)
		}
	}
	for _, tc := range []struct {
		key  [3]string
		want string
	}{
		{[3]string{"", "GF-20260302-999999", ""}, `feedback knows no case with case number "GF-20260302-999999"`},
		{[3]string{"", "", "HL-none"}, `feedback knows no case with hotline order number "HL-none"`},
	} {
		if _, _, err := e.svc.Timeline(ctx, everything, tc.key[0], tc.key[1], tc.key[2]); fault.KindOf(err) != fault.NotFound || err.Error() != tc.want {
			t.Errorf("Timeline%q = %v, want NotFound %q", tc.key, err, tc.want)
		}
	}
	for _, key := range [][3]string{{"", "", ""}, {k.id, k.number, ""}, {"", "GF-1", ""}} {
		_, _, err := e.svc.GetCase(ctx, everything, key[0], key[1], key[2])
		var f *fault.Error
		if !errors.As(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) == 0 {
			t.Errorf("GetCase%q = %v, want InvalidArgument naming a field", key, err)
		}
	}
}

// Lists page with pkg/pagetoken's tokens: newest case first, every case once,
// and a token this service did not make is InvalidArgument on page_token.
func TestListCasesPages(t *testing.T) {
	e := newEnv(t)
	var want []string
	for range 5 {
		k := e.receive(typesv1.Source_SOURCE_HOTLINE, false)
		want = append([]string{k.id}, want...)
		e.clock.Advance(time.Minute)
	}
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		cases, next, err := e.svc.ListCases(context.Background(), feedback.Filter{Scope: everything, PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			got = append(got, c.ID)
		}
		if token = next; token == "" {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cases by page: mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"garbage!", "MTI"} {
		_, _, err := e.svc.ListCases(context.Background(), feedback.Filter{Scope: everything, PageToken: bad})
		var f *fault.Error
		if !errors.As(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) != 1 || f.Violations[0].Field != "page_token" {
			t.Errorf("ListCases(token %q) err = %v, want InvalidArgument on page_token", bad, err)
		}
		_, _, err = e.svc.ListReplies(context.Background(), everything, "", time.Time{}, 10, bad)
		if !errors.As(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) != 1 || f.Violations[0].Field != "page_token" {
			t.Errorf("ListReplies(token %q) err = %v, want InvalidArgument on page_token", bad, err)
		}
	}
}

// A page larger than the most a page holds is coerced to it (AIP-158), and
// paging goes on from there; no page size takes the default.
func TestListCasesPageSizeCoerced(t *testing.T) {
	e := newEnv(t)
	for range postgres.MaxPageSize + 1 {
		e.receive(typesv1.Source_SOURCE_HOTLINE, false)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		size, want int
		more       bool
	}{
		{10_000, postgres.MaxPageSize, true},
		{postgres.MaxPageSize, postgres.MaxPageSize, true},
		{0, 50, true},
		{postgres.MaxPageSize + 1, postgres.MaxPageSize, true},
	} {
		cases, next, err := e.svc.ListCases(ctx, feedback.Filter{Scope: everything, PageSize: tc.size})
		if err != nil {
			t.Fatal(err)
		}
		if len(cases) != tc.want || (next != "") != tc.more {
			t.Errorf("page_size %d: %d cases, next %q; want %d and more %v", tc.size, len(cases), next, tc.want, tc.more)
		}
		if tc.size == 10_000 {
			rest, next, err := e.svc.ListCases(ctx, feedback.Filter{Scope: everything, PageSize: tc.size, PageToken: next})
			if err != nil || len(rest) != 1 || next != "" {
				t.Errorf("the page after: %d cases, next %q, %v; want the last one", len(rest), next, err)
			}
		}
	}
}

// everything is admin's scope: these tests are about the store, not whom
// it serves (the grpcapi tests and e2e's matrix are).
var everything = policy.Scope{Kind: policy.All}
