package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/pkg/workcal"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/gridflow/gridflow/services/dispatch/internal/events"
	"github.com/gridflow/gridflow/services/dispatch/internal/postgres"
	"github.com/gridflow/gridflow/services/dispatch/internal/routing"
)

var refSet = func() *reference.Set {
	s, err := reference.LoadDefault()
	if err != nil {
		panic(err)
	}
	return s
}()

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// at reads a Shanghai wall-clock time.
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

const (
	dis = "310106"
	zj  = "310106022" // 芷江西路街道
	lf  = "310106021" // 临汾路街道
)

// env is a store on a fresh migrated database; commits counts the store's
// "events committed" calls (the relay's Notify in production).
type env struct {
	pool    *pgxpool.Pool
	store   *postgres.Store
	commits atomic.Int64
	seq     int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{pool: testenv.Pool(t, postgres.Schema, 8, postgres.Migrations...)}
	e.store = newStore(e.pool, func() { e.commits.Add(1) })
	return e
}

// newStore is the store as the service builds it, committed told of
// committed events.
func newStore(pool *pgxpool.Pool, committed func()) *postgres.Store {
	return postgres.New(pool, committed)
}

// finished ends an operation as the service does: Finish with the
// reference set, its events encoded for the outbox.
func finished(c *dispatch.Case) (*dispatch.Commit, error) {
	return (&dispatch.Env{Ref: refSet, Encode: events.Encode}).Commit(c)
}

// txOp is op as UpdateTx takes it: run, then finished.
func txOp(op func(*dispatch.Case) error) func(*dispatch.Case) (*dispatch.Commit, error) {
	return func(c *dispatch.Case) (*dispatch.Commit, error) {
		if err := op(c); err != nil {
			return nil, err
		}
		return finished(c)
	}
}

// updateOp is op as Update takes it: run, then finished, with an empty
// result.
func updateOp(op func(*dispatch.Case) error) func(*dispatch.Case) (*dispatch.Result, *dispatch.Commit, error) {
	return func(c *dispatch.Case) (*dispatch.Result, *dispatch.Commit, error) {
		cm, err := txOp(op)(c)
		if err != nil {
			return nil, nil, err
		}
		return &dispatch.Result{}, cm, nil
	}
}

func denv(now time.Time, actor string) *dispatch.Env {
	return &dispatch.Env{Now: now, Actor: actor, Ref: refSet, Policy: dispatch.DefaultPolicy(), NewID: dispatch.NewID}
}

// consume runs op on a case in a transaction of its own, as the event
// consumer and the timers do.
func (e *env) consume(t *testing.T, caseID string, create bool, now time.Time, op func(*dispatch.Case)) {
	t.Helper()
	err := pgdb.InTx(context.Background(), e.pool, func(tx pgx.Tx) error {
		return e.store.UpdateTx(context.Background(), tx, caseID, create, now, txOp(func(c *dispatch.Case) error { op(c); return nil }))
	})
	if err != nil {
		t.Fatalf("update case %s: %v", caseID, err)
	}
}

// kase names a stored case and its lead task.
type kase struct {
	id, number, orderNo, task string
}

func facts(orderNo, street string, received time.Time) dispatch.Facts {
	return dispatch.Facts{Title: "楼上噪声", Content: "每天晚上装修噪声", Source: reference.FromHotline, AppealType: reference.Complaint,
		ReceivedAt: received, Area: dispatch.Area{District: dis, Street: street, Community: "0", Grid: "0"},
		Address: dispatch.Address{Raw: "共和新路1001号302室", Road: "共和新路", Number: 1001, Room: "302"}, HotlineOrderNo: orderNo}
}

func class(v int, street string, received time.Time) dispatch.Classification {
	return dispatch.Classification{Version: v, Item: "H04001", Urgency: reference.Normal, Dispatchable: true, Source: reference.FromHotline,
		AppealType: reference.Complaint, ReceivedAt: received, Area: dispatch.Area{District: dis, Street: street, Community: "0", Grid: "0"}}
}

// newCase stores a noise complaint in street as the consumer would from
// case.received and case.classified: it is routed to the street's police
// station (one lead task).
func (e *env) newCase(t *testing.T, street string, received time.Time) kase {
	t.Helper()
	e.seq++
	k := kase{id: dispatch.NewID(), number: fmt.Sprintf("GF-20260302-%06d", e.seq), orderNo: fmt.Sprintf("12345-%d", 880000+e.seq)}
	e.consume(t, k.id, true, received, func(c *dispatch.Case) {
		c.Received(denv(received, dispatch.SystemActor), k.number, facts(k.orderNo, street, received))
	})
	e.consume(t, k.id, true, received, func(c *dispatch.Case) {
		c.Classified(denv(received, dispatch.SystemActor), k.number, class(1, street, received))
		if len(c.Tasks) != 1 {
			t.Fatalf("case %s routed to %d tasks, want 1", k.id, len(c.Tasks))
		}
		k.task = c.Tasks[0].ID
	})
	return k
}

// update runs op on the target's case through Update (the service's path).
func (e *env) update(t *testing.T, target dispatch.Target, op func(*dispatch.Case) error) {
	t.Helper()
	_, err := e.store.Update(context.Background(), target, nil, updateOp(op))
	if err != nil {
		t.Fatalf("update %+v: %v", target, err)
	}
}

func (e *env) find(t *testing.T, id string) *dispatch.Case {
	t.Helper()
	c, err := e.store.FindCase(context.Background(), caseref.Ref{Kind: caseref.ID, Value: id})
	if err != nil {
		t.Fatalf("find case %s: %v", id, err)
	}
	return c
}

// subjects lists the outbox's rows in publication order.
func subjects(t *testing.T, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) []string {
	t.Helper()
	rows, err := q.Query(context.Background(), `SELECT subject FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var ignoreTracking = cmpopts.IgnoreUnexported(dispatch.Case{})

// unset lists the exported fields of v (recursing into dispatch's own
// types) that hold their zero value.
func unset(path string, v reflect.Value, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			*out = append(*out, path)
			return
		}
		unset(path, v.Elem(), out)
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			*out = append(*out, path)
		} else if v.Kind() == reflect.Slice {
			unset(path+"[0]", v.Index(0), out)
		}
	case reflect.Struct:
		if !strings.Contains(v.Type().PkgPath(), "/services/dispatch/") {
			if v.IsZero() {
				*out = append(*out, path)
			}
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				unset(path+"."+f.Name, v.Field(i), out)
			}
		}
	default:
		if v.IsZero() {
			*out = append(*out, path)
		}
	}
}

func limit(due time.Time, d workcal.Duration, src string) dispatch.Limit {
	return dispatch.Limit{Due: due, WarnAt: due.Add(-time.Hour), Duration: d, Source: src, Unconfirmed: true}
}

func deadlines(start time.Time) dispatch.Deadlines {
	return dispatch.Deadlines{Start: start, Ack: limit(start.Add(2*time.Hour), workcal.Working(2*time.Hour), "sla:complaint"),
		OnSite:   limit(start.Add(4*time.Hour), workcal.ClockTime(4*time.Hour), "rule:noise"),
		Complete: limit(start.Add(15*24*time.Hour), workcal.Days(15), "sla:complaint"), Warn: 0.8}
}

// fill sets every field of a case and of its task to a value of its own,
// keeping the ids that tie them together.
func fill(c *dispatch.Case, tk *dispatch.Task, now time.Time) {
	area := dispatch.Area{District: dis, Street: zj, Community: "310106022001", Grid: "310106022001001"}
	rj := dispatch.Rejection{TaskID: tk.ID, Department: zj + "-cgzd", Reason: dispatch.NotMyDuty, Note: "不属本单位职责", Area: lf, At: now.Add(-time.Hour)}
	*tk = dispatch.Task{ID: tk.ID, CaseID: c.ID, CaseNumber: "GF-20260302-000777", Department: zj + "-pcs", Role: dispatch.Lead,
		State: dispatch.Completed, Review: dispatch.ReviewPending, ReviewRequired: true, Deadlines: deadlines(now.Add(-3 * time.Hour)),
		Round: 2, Reason: dispatch.Reassigned, Rule: "noise", Whistle: true, Replaces: dispatch.NewID(), ForwardedTo: zj + "-cgzd",
		DispatchedAt: now.Add(-3 * time.Hour), AcknowledgedAt: now.Add(-2 * time.Hour), ETA: now.Add(time.Hour), AckNote: "马上到",
		Rejection: &rj, Extension: &dispatch.Extension{RequestedDue: now.Add(20 * 24 * time.Hour), Reason: "需协调物业", RequestedAt: now.Add(-90 * time.Minute),
			Decided: true, Granted: true, Note: "同意"},
		Extensions: 1, Progress: []dispatch.Progress{{Text: "已到现场", OnSite: true, At: now.Add(-80 * time.Minute)}}, OnSiteReported: true,
		Completion: &dispatch.Completion{Result: "已劝停夜间施工", Evidence: []string{"s3://evidence/1.jpg"}, At: now.Add(-time.Minute), ReviewNote: "请补照片"},
		Returns:    1, Urges: 3, UpdatedAt: now, Warned: true, Overdue: true, Supervised: true, Escalated: true, Fired: []string{"ack.warn"}}
	cl := &dispatch.Classification{Version: 3, Item: "H04001", ItemName: "噪声扰民", Label: "噪声", Labels: []string{"噪声", "夜间"},
		Urgency: reference.Urgent, IncidentID: dispatch.NewID(), Dispatchable: true, Area: area, Source: reference.FromHotline,
		AppealType: reference.Complaint, ReceivedAt: now.Add(-4 * time.Hour), ClassifiedAt: now.Add(-3 * time.Hour)}
	routed := *cl
	routed.Version = 2
	full := dispatch.Case{ID: c.ID, Number: "GF-20260302-000777", Area: area,
		Facts: &dispatch.Facts{Title: "楼上噪声", Content: "每天晚上装修噪声",
			Address: dispatch.Address{Raw: "共和新路1001弄2号302室", District: "静安区", Street: "芷江西路街道", Road: "共和新路", Lane: 1001,
				Number: 2, Building: "2号楼", Room: "302", Compound: "某小区", Shop: "某店", Key: "共和新路|1001|2"},
			Attachments: []dispatch.Attachment{{URI: "s3://attachments/a.jpg", MediaType: "image/jpeg", Name: "a.jpg"}},
			Source:      reference.FromHotline, AppealType: reference.Complaint, Urgency: reference.Urgent, ReceivedAt: now.Add(-4 * time.Hour),
			Area: area, Whistle: []string{zj + "-cgzd"}, CatalogueCode: "H04001", HotlineOrderNo: "12345-ROUNDTRIP"},
		Class: cl, Status: dispatch.Parked, RoutedWith: &routed, Deadlines: deadlines(now.Add(-4 * time.Hour)),
		Path:   []routing.Step{{Rule: "noise", Line: 12, Why: "item H04001", Fired: true}},
		Digest: "sha256:abc", Queue: &dispatch.QueueEntry{Reason: dispatch.QueueRejected, Since: now.Add(-30 * time.Minute), Detail: "not_my_duty", Rejection: &rj},
		Arbitration: &dispatch.Arbitration{OpenedAt: now.Add(-20 * time.Minute)}, LeadRejections: []dispatch.Rejection{rj},
		Excluded: true, ExcludedReason: "重复诉求", Parking: &dispatch.Parking{At: now, Reason: "待拆违", ReviewDate: workcal.Date{Year: 2026, Month: 4, Day: 1},
			Resume: dispatch.CaseRouted},
		CancelReason: "测试", Round: 2, AwaitingFacts: true, CreatedAt: now.Add(-4 * time.Hour), UpdatedAt: now, Tasks: c.Tasks}
	// Self-disposal (issue 20).
	full.Facts.SelfDisposed, full.SentBack = true, true
	// Field by field: the case's unexported tracking (what the operation
	// changed) must survive for the store to save the task.
	dst, src := reflect.ValueOf(c).Elem(), reflect.ValueOf(full)
	for i := range dst.NumField() {
		if dst.Type().Field(i).IsExported() {
			dst.Field(i).Set(src.Field(i))
		}
	}
}

// What is saved is what is loaded: every field of a case and of its tasks,
// and the columns queries filter on agree with the body.
func TestCaseRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := at("2026-03-02 10:00")
	k := e.newCase(t, zj, recv)
	now := at("2026-03-02 11:00")
	var saved *dispatch.Case
	e.update(t, dispatch.Target{TaskID: k.task}, func(c *dispatch.Case) error {
		// Acknowledging marks the task changed; then every field is set.
		if _, err := c.Acknowledge(denv(now, "department:"+zj+"-pcs"), k.task, time.Time{}, ""); err != nil {
			return err
		}
		fill(c, c.Task(k.task), now)
		saved = c
		return nil
	})
	var missing []string
	unset("Case", reflect.ValueOf(*saved), &missing)
	// Finish, not fill, sets a task's Clock: a completed task's is cleared
	// (a zero time), which is a value.
	missing = slices.DeleteFunc(missing, func(p string) bool {
		return p == "Case.Tasks[0].Clock" && saved.Tasks[0].Clock != nil
	})
	if len(missing) > 0 {
		t.Fatalf("fill leaves %v unset: a new field must be filled here so the round trip covers it", missing)
	}
	for _, ref := range []caseref.Ref{{Kind: caseref.ID, Value: k.id}, {Kind: caseref.Number, Value: "GF-20260302-000777"},
		{Kind: caseref.OrderNo, Value: "12345-ROUNDTRIP"}} {
		got, err := e.store.FindCase(context.Background(), ref)
		if err != nil {
			t.Fatalf("FindCase(%s): %v", ref, err)
		}
		if diff := cmp.Diff(saved, got, ignoreTracking); diff != "" {
			t.Errorf("FindCase(%s) mismatch (-want +got):\n%s", ref, diff)
		}
	}
	got, err := e.store.CaseOfTask(context.Background(), k.task)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saved, got, ignoreTracking); diff != "" {
		t.Errorf("CaseOfTask mismatch (-want +got):\n%s", diff)
	}

	type columns struct {
		Number, District, Street, Status, OrderNo string
		Queued, Arbitration                       time.Time
		Department, State                         string
		TaskUpdated                               time.Time
	}
	var col columns
	if err := e.pool.QueryRow(context.Background(), `SELECT c.case_number, c.district, c.street, c.status, c.hotline_order_no,
		c.queued_at, c.arbitration_at, t.department, t.state, t.updated_at FROM cases c JOIN tasks t USING (case_id) WHERE c.case_id = $1`, k.id).
		Scan(&col.Number, &col.District, &col.Street, &col.Status, &col.OrderNo, &col.Queued, &col.Arbitration, &col.Department, &col.State,
			&col.TaskUpdated); err != nil {
		t.Fatal(err)
	}
	tk := saved.Tasks[0]
	want := columns{saved.Number, dis, zj, string(dispatch.Parked), "12345-ROUNDTRIP", saved.Queue.Since, saved.Arbitration.OpenedAt,
		tk.Department, string(tk.State), tk.UpdatedAt}
	if diff := cmp.Diff(want, col); diff != "" {
		t.Errorf("columns mismatch (-want +got):\n%s", diff)
	}
}

// A case is found by its id, its case number or its hotline order number
// (the order number may come after the classification); anything else is
// NotFound naming what was asked.
func TestFindCaseByReference(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := at("2026-03-02 10:00")
	a := e.newCase(t, zj, recv)
	// b is classified before case.received arrives: its number comes with
	// the classification, its order number with the facts.
	b := kase{id: dispatch.NewID(), number: "GF-20260302-000900", orderNo: "12345-LATE"}
	e.consume(t, b.id, true, recv, func(c *dispatch.Case) { c.Classified(denv(recv, dispatch.SystemActor), b.number, class(1, lf, recv)) })
	if _, err := e.store.FindCase(context.Background(), caseref.Ref{Kind: caseref.OrderNo, Value: b.orderNo}); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("order number before case.received: err = %v, want NotFound", err)
	}
	e.consume(t, b.id, false, recv.Add(time.Second), func(c *dispatch.Case) {
		c.Received(denv(recv.Add(time.Second), dispatch.SystemActor), b.number, facts(b.orderNo, lf, recv))
	})

	for _, tc := range []struct {
		name   string
		ref    caseref.Ref
		wantID string // "": NotFound
	}{
		{"id", caseref.Ref{Kind: caseref.ID, Value: a.id}, a.id},
		{"case number", caseref.Ref{Kind: caseref.Number, Value: a.number}, a.id},
		{"order number", caseref.Ref{Kind: caseref.OrderNo, Value: a.orderNo}, a.id},
		{"late order number", caseref.Ref{Kind: caseref.OrderNo, Value: b.orderNo}, b.id},
		{"number from the classification", caseref.Ref{Kind: caseref.Number, Value: b.number}, b.id},
		{"unknown id", caseref.Ref{Kind: caseref.ID, Value: dispatch.NewID()}, ""},
		{"malformed id", caseref.Ref{Kind: caseref.ID, Value: "not-a-uuid"}, ""},
		{"unknown number", caseref.Ref{Kind: caseref.Number, Value: "GF-20260302-999999"}, ""},
		{"unknown order number", caseref.Ref{Kind: caseref.OrderNo, Value: "12345-NONE"}, ""},
		{"an order number is not a case number", caseref.Ref{Kind: caseref.Number, Value: a.orderNo}, ""},
		{"no reference", caseref.Ref{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.store.FindCase(context.Background(), tc.ref)
			if tc.wantID == "" {
				var f *fault.Error
				if !errors.As(err, &f) || f.Kind != fault.NotFound || !strings.Contains(f.Message, tc.ref.String()) {
					t.Fatalf("FindCase(%s) = %v, %v; want NotFound naming %s", tc.ref, c, err, tc.ref)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != tc.wantID || len(c.Tasks) != 1 || c.Tasks[0].CaseID != tc.wantID {
				t.Fatalf("FindCase(%s) = case %s with %d tasks, want %s with its task", tc.ref, c.ID, len(c.Tasks), tc.wantID)
			}
		})
	}

	for _, id := range []string{dispatch.NewID(), "not-a-uuid"} {
		if _, err := e.store.CaseOfTask(context.Background(), id); fault.KindOf(err) != fault.NotFound {
			t.Errorf("CaseOfTask(%q) = %v, want NotFound", id, err)
		}
		_, err := e.store.Update(context.Background(), dispatch.Target{TaskID: id}, nil, func(*dispatch.Case) (*dispatch.Result, *dispatch.Commit, error) {
			t.Errorf("op called for task %q", id)
			return nil, nil, nil
		})
		if fault.KindOf(err) != fault.NotFound {
			t.Errorf("Update(task %q) = %v, want NotFound", id, err)
		}
	}
	_, err := e.store.Update(context.Background(), dispatch.Target{CaseID: dispatch.NewID()}, nil, func(*dispatch.Case) (*dispatch.Result, *dispatch.Commit, error) {
		t.Error("op called for an unknown case")
		return nil, nil, nil
	})
	if fault.KindOf(err) != fault.NotFound {
		t.Errorf("Update(unknown case) = %v, want NotFound", err)
	}
	// Without create, a consumer's update of a case dispatch never saw is
	// no error and does nothing; a case id that is no uuid is poison.
	called := false
	e.consume(t, dispatch.NewID(), false, recv, func(*dispatch.Case) { called = true })
	if called {
		t.Error("op called for a missing case without create")
	}
	err = pgdb.InTx(context.Background(), e.pool, func(tx pgx.Tx) error {
		return e.store.UpdateTx(context.Background(), tx, "case-1", true, recv, txOp(func(*dispatch.Case) error { return nil }))
	})
	if !errors.Is(err, dispatch.ErrBadCaseID) {
		t.Errorf("UpdateTx(bad id) = %v, want ErrBadCaseID", err)
	}
}

// waitFor polls cond until it holds, failing after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Updates of one case serialise on its row lock, so none is lost; updates
// of another case go on meanwhile.
func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := at("2026-03-02 10:00")
	a, b := e.newCase(t, zj, recv), e.newCase(t, lf, recv)
	for _, k := range []kase{a, b} {
		e.update(t, dispatch.Target{TaskID: k.task}, func(c *dispatch.Case) error {
			_, err := c.Acknowledge(denv(recv.Add(time.Minute), "department:x"), k.task, time.Time{}, "")
			return err
		})
	}
	progress := func(k kase, text string) func(*dispatch.Case) error {
		return func(c *dispatch.Case) error {
			_, err := c.ReportProgress(denv(recv.Add(time.Hour), "department:x"), k.task, text, false)
			return err
		}
	}

	// Eight reports at once on one case: every one is kept.
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := e.store.Update(context.Background(), dispatch.Target{CaseID: a.id}, nil, updateOp(progress(a, fmt.Sprintf("report %d", i))))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.find(t, a.id).Task(a.task).Progress; len(got) != n {
		t.Fatalf("%d progress reports kept, want %d: %+v", len(got), n, got)
	}

	// One transaction holds case a. A second update of a waits for it; an
	// update of b does not.
	hold, holding := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := e.store.Update(context.Background(), dispatch.Target{CaseID: a.id}, nil, updateOp(func(c *dispatch.Case) error {
			close(holding)
			<-hold
			return progress(a, "first")(c)
		}))
		first <- err
	}()
	<-holding
	second := make(chan error, 1)
	var sawFirst bool
	go func() {
		_, err := e.store.Update(context.Background(), dispatch.Target{TaskID: a.task}, nil, updateOp(func(c *dispatch.Case) error {
			p := c.Task(a.task).Progress
			sawFirst = len(p) > 0 && p[len(p)-1].Text == "first"
			return progress(a, "second")(c)
		}))
		second <- err
	}()
	waitFor(t, "the second update to wait on the case's row lock", func() bool {
		var waiting int
		err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return err == nil && waiting == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.store.Update(ctx, dispatch.Target{CaseID: b.id}, nil, updateOp(progress(b, "meanwhile"))); err != nil {
		t.Fatalf("update of another case while a is held: %v", err)
	}
	select {
	case err := <-second:
		t.Fatalf("the second update of a finished (%v) while the first held the case", err)
	default:
	}
	close(hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if !sawFirst {
		t.Error("the second update did not see the first one's change")
	}
	var texts []string
	for _, p := range e.find(t, a.id).Task(a.task).Progress[n:] {
		texts = append(texts, p.Text)
	}
	if diff := cmp.Diff([]string{"first", "second"}, texts); diff != "" {
		t.Errorf("progress after the held updates mismatch (-want +got):\n%s", diff)
	}
}

// The events and timers of a change commit with it and vanish with its
// rollback; the relay is told only of committed events.
func TestOutboxAndTimersCommitWithTheChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	recv := at("2026-03-02 10:00")
	k := e.newCase(t, zj, recv)
	pcs := zj + "-pcs"
	subj := func(event string) string { return "grid.task." + event + "." + pcs + "." + dis + "." + zj }
	if diff := cmp.Diff([]string{subj("dispatched")}, subjects(t, e.pool)); diff != "" {
		t.Fatalf("outbox after routing mismatch (-want +got):\n%s", diff)
	}
	clock, err := timer.Lookup(ctx, e.pool, dispatch.TimerTaskClock, k.task)
	if err != nil {
		t.Fatal(err)
	}
	// The clock's first point: the acknowledgement warning, 80 % of the
	// 2 working hours.
	if !clock.DueAt.Equal(at("2026-03-02 11:36")) || string(clock.Payload) != k.id {
		t.Fatalf("task clock = due %s payload %q, want %s and the case id", clock.DueAt, clock.Payload, at("2026-03-02 11:36"))
	}

	// An operation that fails leaves the case, the outbox and the timers
	// as they were, and tells the relay nothing.
	commits := e.commits.Load()
	boom := errors.New("boom")
	_, err = e.store.Update(ctx, dispatch.Target{TaskID: k.task}, nil, updateOp(func(c *dispatch.Case) error {
		if _, err := c.Acknowledge(denv(recv.Add(time.Minute), "department:"+pcs), k.task, time.Time{}, ""); err != nil {
			return err
		}
		return boom
	}))
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want %v", err, boom)
	}
	if st := e.find(t, k.id).Task(k.task).State; st != dispatch.Dispatched {
		t.Errorf("task is %s after a failed update, want dispatched", st)
	}
	if got := subjects(t, e.pool); len(got) != 1 {
		t.Errorf("outbox after a failed update = %v, want the dispatch only", got)
	}
	if now, err := timer.Lookup(ctx, e.pool, dispatch.TimerTaskClock, k.task); err != nil || now.ID != clock.ID || !now.DueAt.Equal(clock.DueAt) {
		t.Errorf("task clock after a failed update = %+v, %v; want %+v", now, err, clock)
	}
	if got := e.commits.Load(); got != commits {
		t.Errorf("relay told %d times of a failed update", got-commits)
	}

	// An operation that changes nothing enqueues nothing.
	e.update(t, dispatch.Target{CaseID: k.id}, func(*dispatch.Case) error { return nil })
	if got := e.commits.Load(); got != commits {
		t.Errorf("relay told of an update without events")
	}

	// Acknowledging: its event, the clock moved on to the on-site or
	// completion points, the relay told once.
	e.update(t, dispatch.Target{TaskID: k.task}, func(c *dispatch.Case) error {
		_, err := c.Acknowledge(denv(recv.Add(time.Minute), "department:"+pcs), k.task, time.Time{}, "")
		return err
	})
	if diff := cmp.Diff([]string{subj("dispatched"), subj("acknowledged")}, subjects(t, e.pool)); diff != "" {
		t.Errorf("outbox after acknowledging mismatch (-want +got):\n%s", diff)
	}
	moved, err := timer.Lookup(ctx, e.pool, dispatch.TimerTaskClock, k.task)
	if err != nil || !moved.DueAt.After(clock.DueAt) {
		t.Errorf("task clock after acknowledging = %+v, %v; want later than %s", moved, err, clock.DueAt)
	}
	if got := e.commits.Load(); got != commits+1 {
		t.Errorf("relay told %d times of one update with events, want once", got-commits)
	}

	// Completing ends the clock: its timer goes.
	e.update(t, dispatch.Target{TaskID: k.task}, func(c *dispatch.Case) error {
		_, err := c.Complete(denv(recv.Add(2*time.Hour), "department:"+pcs), k.task, "已处理", nil)
		return err
	})
	if _, err := timer.Lookup(ctx, e.pool, dispatch.TimerTaskClock, k.task); !errors.Is(err, pgdb.ErrNotFound) {
		t.Errorf("task clock after completion: %v, want none", err)
	}

	// A consumer's transaction that rolls back takes the new case, its
	// task, its event and its timer with it.
	id := dispatch.NewID()
	var task string
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []func(*dispatch.Case) error{
		func(c *dispatch.Case) error {
			c.Received(denv(recv, dispatch.SystemActor), "N", facts("12345-RB", zj, recv))
			return nil
		},
		func(c *dispatch.Case) error {
			c.Classified(denv(recv, dispatch.SystemActor), "N", class(1, zj, recv))
			task = c.Tasks[0].ID
			return nil
		},
	} {
		if err := e.store.UpdateTx(ctx, tx, id, true, recv, txOp(op)); err != nil {
			t.Fatal(err)
		}
	}
	if got := subjects(t, tx); len(got) != 4 {
		t.Errorf("outbox inside the transaction = %v, want its dispatch too", got)
	}
	if _, err := timer.Lookup(ctx, tx, dispatch.TimerTaskClock, task); err != nil {
		t.Errorf("task clock inside the transaction: %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := subjects(t, e.pool); len(got) != 3 {
		t.Errorf("outbox after the rollback = %v, want the 3 committed events", got)
	}
	if _, err := timer.Lookup(ctx, e.pool, dispatch.TimerTaskClock, task); !errors.Is(err, pgdb.ErrNotFound) {
		t.Errorf("task clock after the rollback: %v, want none", err)
	}
	if _, err := e.store.FindCase(ctx, caseref.Ref{Kind: caseref.ID, Value: id}); fault.KindOf(err) != fault.NotFound {
		t.Errorf("case after the rollback: %v, want NotFound", err)
	}
	if _, err := e.store.CaseOfTask(ctx, task); fault.KindOf(err) != fault.NotFound {
		t.Errorf("task after the rollback: %v, want NotFound", err)
	}
}

// A classification that comes before case.received waits for it on a timer
// scheduled with the change; the facts' arrival cancels it.
func TestAwaitFactsTimer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	recv := at("2026-03-02 10:00")
	id := dispatch.NewID()
	e.consume(t, id, true, recv, func(c *dispatch.Case) { c.Classified(denv(recv, dispatch.SystemActor), "N", class(1, zj, recv)) })
	tm, err := timer.Lookup(ctx, e.pool, dispatch.TimerAwaitFacts, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := recv.Add(dispatch.DefaultPolicy().AwaitFacts); !tm.DueAt.Equal(want) || string(tm.Payload) != id {
		t.Errorf("await timer = due %s payload %q; want %s and the case id", tm.DueAt, tm.Payload, want)
	}
	if got := subjects(t, e.pool); len(got) != 0 {
		t.Errorf("outbox while awaiting the facts = %v, want nothing", got)
	}
	e.consume(t, id, false, recv.Add(time.Second), func(c *dispatch.Case) {
		c.Received(denv(recv.Add(time.Second), dispatch.SystemActor), "N", facts("12345-AW", zj, recv))
	})
	if _, err := timer.Lookup(ctx, e.pool, dispatch.TimerAwaitFacts, id); !errors.Is(err, pgdb.ErrNotFound) {
		t.Errorf("await timer after the facts came: %v, want none", err)
	}
	c := e.find(t, id)
	if len(c.Tasks) != 1 {
		t.Fatalf("%d tasks once the facts came, want 1", len(c.Tasks))
	}
	if _, err := timer.Lookup(ctx, e.pool, dispatch.TimerTaskClock, c.Tasks[0].ID); err != nil {
		t.Errorf("task clock: %v", err)
	}
}

func ids(tasks []*dispatch.Task) []string {
	out := make([]string, len(tasks))
	for i, t := range tasks {
		out[i] = t.ID
	}
	return out
}

// listAll follows the page tokens to the end.
func listAll(t *testing.T, st *postgres.Store, f dispatch.TaskFilter) ([]string, int) {
	t.Helper()
	var all []string
	pages := 0
	for {
		tasks, next, err := st.ListTasks(context.Background(), f)
		if err != nil {
			t.Fatalf("ListTasks(%+v): %v", f, err)
		}
		if len(tasks) > f.PageSize {
			t.Fatalf("page of %d tasks, page size %d", len(tasks), f.PageSize)
		}
		pages++
		all = append(all, ids(tasks)...)
		if next == "" {
			return all, pages
		}
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		f.PageToken = next
	}
}

func badPageToken(t *testing.T, err error) {
	t.Helper()
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) != 1 || f.Violations[0].Field != "page_token" {
		t.Errorf("err = %v, want InvalidArgument on page_token", err)
	}
}

// ListTasks: what each scope and filter selects, most recently changed
// first; paging through every page gives the whole list once, ties in the
// change time included.
func TestListTasks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := at("2026-03-02 09:00")
	var zjCases, lfCases []kase
	// Five cases in 芷江西路 routed at one instant (equal change times, and
	// sub-microsecond ones as time.Now gives), two in 临汾路 later.
	same := recv.Add(123456789 * time.Nanosecond)
	for range 5 {
		zjCases = append(zjCases, e.newCase(t, zj, same))
	}
	for i := range 2 {
		lfCases = append(lfCases, e.newCase(t, lf, recv.Add(time.Duration(i+1)*time.Hour)))
	}
	// One 芷江西路 task is acknowledged last: it is the most recent.
	acked := zjCases[2]
	e.update(t, dispatch.Target{TaskID: acked.task}, func(c *dispatch.Case) error {
		_, err := c.Acknowledge(denv(recv.Add(5*time.Hour), "department:"+zj+"-pcs"), acked.task, time.Time{}, "")
		return err
	})

	// The expected order: updated_at descending, then task id descending.
	var zjTasks []string
	for _, k := range zjCases {
		if k != acked {
			zjTasks = append(zjTasks, k.task)
		}
	}
	slices.Sort(zjTasks)
	slices.Reverse(zjTasks)
	zjAll := append([]string{acked.task}, zjTasks...)
	lfAll := []string{lfCases[1].task, lfCases[0].task}
	everything := append([]string{acked.task}, append(slices.Clone(lfAll), zjTasks...)...)

	all := dispatch.Scope{Kind: policy.All}
	for _, tc := range []struct {
		name string
		f    dispatch.TaskFilter
		want []string
	}{
		{"admin", dispatch.TaskFilter{Scope: all}, everything},
		{"district", dispatch.TaskFilter{Scope: dispatch.Scope{Kind: policy.District, Code: dis}}, everything},
		{"other district", dispatch.TaskFilter{Scope: dispatch.Scope{Kind: policy.District, Code: "310101"}}, nil},
		{"street", dispatch.TaskFilter{Scope: dispatch.Scope{Kind: policy.Street, Code: zj}}, zjAll},
		{"department", dispatch.TaskFilter{Scope: dispatch.Scope{Kind: policy.Department, Code: lf + "-pcs"}}, lfAll},
		{"admin filters a department", dispatch.TaskFilter{Scope: all, Department: zj + "-pcs"}, zjAll},
		{"a street's dispatcher never sees another street", dispatch.TaskFilter{Scope: dispatch.Scope{Kind: policy.Street, Code: zj}, Department: lf + "-pcs"}, nil},
		{"a department never sees another's", dispatch.TaskFilter{Scope: dispatch.Scope{Kind: policy.Department, Code: lf + "-pcs"}, Department: zj + "-pcs"}, nil},
		{"case id", dispatch.TaskFilter{Scope: all, Case: caseref.Ref{Kind: caseref.ID, Value: lfCases[0].id}}, []string{lfCases[0].task}},
		{"case number", dispatch.TaskFilter{Scope: all, Case: caseref.Ref{Kind: caseref.Number, Value: zjCases[1].number}}, []string{zjCases[1].task}},
		{"order number", dispatch.TaskFilter{Scope: all, Case: caseref.Ref{Kind: caseref.OrderNo, Value: zjCases[4].orderNo}}, []string{zjCases[4].task}},
		{"case outside the scope", dispatch.TaskFilter{Scope: dispatch.Scope{Kind: policy.Street, Code: lf}, Case: caseref.Ref{Kind: caseref.Number, Value: zjCases[1].number}}, nil},
		{"unknown order number", dispatch.TaskFilter{Scope: all, Case: caseref.Ref{Kind: caseref.OrderNo, Value: "12345-NONE"}}, nil},
		{"state", dispatch.TaskFilter{Scope: all, States: []dispatch.TaskState{dispatch.Acknowledged}}, []string{acked.task}},
		{"states", dispatch.TaskFilter{Scope: dispatch.Scope{Kind: policy.Street, Code: zj}, States: []dispatch.TaskState{dispatch.Dispatched, dispatch.Completed}}, zjTasks},
		{"state and department", dispatch.TaskFilter{Scope: all, Department: lf + "-pcs", States: []dispatch.TaskState{dispatch.Acknowledged}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{100, 2, 1} {
				f := tc.f
				f.PageSize = size
				got, pages := listAll(t, e.store, f)
				if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("page size %d: tasks mismatch (-want +got):\n%s", size, diff)
				}
				if want := max(1, (len(tc.want)+size-1)/size); pages != want {
					t.Errorf("page size %d: %d pages for %d tasks, want %d: no empty last page", size, pages, len(tc.want), want)
				}
			}
		})
	}

	if _, _, err := e.store.ListTasks(context.Background(), dispatch.TaskFilter{PageSize: 10}); fault.KindOf(err) != fault.PermissionDenied {
		t.Errorf("ListTasks without a scope = %v, want PermissionDenied", err)
	}
	for _, tok := range []string{"x", "bm90LWEtdG9rZW4"} {
		_, _, err := e.store.ListTasks(context.Background(), dispatch.TaskFilter{Scope: all, PageSize: 10, PageToken: tok})
		badPageToken(t, err)
	}
}

// ListCases: the dispatch queue and arbitration, oldest first, per scope,
// paged.
func TestListCases(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := at("2026-03-02 09:00")
	reject := func(k kase, now time.Time) {
		t.Helper()
		e.update(t, dispatch.Target{TaskID: k.task}, func(c *dispatch.Case) error {
			_, _, err := c.Reject(denv(now, "department:x"), k.task, dispatch.Rejection{Reason: dispatch.NotMyDuty, Note: "不属本单位"})
			return err
		})
	}
	// Rejected in this order: zj2, lf0, zj0, zj1 (oldest first in the queue).
	zj0, zj1, zj2 := e.newCase(t, zj, recv), e.newCase(t, zj, recv), e.newCase(t, zj, recv)
	lf0 := e.newCase(t, lf, recv)
	for i, k := range []kase{zj2, lf0, zj0, zj1} {
		reject(k, recv.Add(time.Duration(i+1)*time.Minute))
	}
	// zj0 is given to another unit (holding the noise case's power), which
	// rejects it too: arbitration.
	other := "310106-gafj"
	e.update(t, dispatch.Target{CaseID: zj0.id}, func(c *dispatch.Case) error {
		_, err := c.Reassign(denv(recv.Add(10*time.Minute), "dispatcher:"+zj), "", other, "")
		return err
	})
	var again string
	for _, tk := range e.find(t, zj0.id).Tasks {
		if tk.Department == other {
			again = tk.ID
		}
	}
	reject(kase{task: again}, recv.Add(11*time.Minute))

	all := dispatch.Scope{Kind: policy.All}
	for _, tc := range []struct {
		name string
		f    dispatch.CaseFilter
		want []string
	}{
		{"queue, admin", dispatch.CaseFilter{Scope: all}, []string{zj2.id, lf0.id, zj1.id}},
		{"queue, district", dispatch.CaseFilter{Scope: dispatch.Scope{Kind: policy.District, Code: dis}}, []string{zj2.id, lf0.id, zj1.id}},
		{"queue, street", dispatch.CaseFilter{Scope: dispatch.Scope{Kind: policy.Street, Code: zj}}, []string{zj2.id, zj1.id}},
		{"queue, other street", dispatch.CaseFilter{Scope: dispatch.Scope{Kind: policy.Street, Code: lf}}, []string{lf0.id}},
		{"queue, other district", dispatch.CaseFilter{Scope: dispatch.Scope{Kind: policy.District, Code: "310101"}}, nil},
		{"arbitration, admin", dispatch.CaseFilter{Scope: all, Arbitration: true}, []string{zj0.id}},
		{"arbitration, its street", dispatch.CaseFilter{Scope: dispatch.Scope{Kind: policy.Street, Code: zj}, Arbitration: true}, []string{zj0.id}},
		{"arbitration, other street", dispatch.CaseFilter{Scope: dispatch.Scope{Kind: policy.Street, Code: lf}, Arbitration: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{100, 1} {
				f := tc.f
				f.PageSize = size
				var got []string
				pages := 1
				for ; ; pages++ {
					cases, next, err := e.store.ListCases(context.Background(), f)
					if err != nil {
						t.Fatal(err)
					}
					if len(cases) > size || pages > 10 {
						t.Fatalf("page %d: %d cases, page size %d", pages, len(cases), size)
					}
					for _, c := range cases {
						got = append(got, c.ID)
						if (c.Queue == nil) != f.Arbitration || (c.Arbitration == nil) == f.Arbitration {
							t.Errorf("case %s listed with queue %+v, arbitration %+v", c.ID, c.Queue, c.Arbitration)
						}
					}
					if next == "" {
						break
					}
					f.PageToken = next
				}
				if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("page size %d: cases mismatch (-want +got):\n%s", size, diff)
				}
				if want := max(1, (len(tc.want)+size-1)/size); pages != want {
					t.Errorf("page size %d: %d pages for %d cases, want %d: no empty last page", size, pages, len(tc.want), want)
				}
			}
		})
	}

	if _, _, err := e.store.ListCases(context.Background(), dispatch.CaseFilter{PageSize: 10}); fault.KindOf(err) != fault.PermissionDenied {
		t.Errorf("ListCases without a scope = %v, want PermissionDenied", err)
	}
	_, _, err := e.store.ListCases(context.Background(), dispatch.CaseFilter{Scope: all, PageSize: 10, PageToken: "x"})
	badPageToken(t, err)
}

// Cases stored before the case-reference columns came (migration 0002) are
// found by their hotline order number all the same: the migration reads it
// from their bodies.
func TestOrderNumberOfEarlierCases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testenv.DatabaseURL(t), postgres.Schema, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	first, err := os.ReadFile("migrations/0001_dispatch.sql")
	if err != nil {
		t.Fatal(err)
	}
	var before []pgdb.Migrations
	for _, set := range postgres.Migrations {
		if set.Name == "dispatch" {
			set = pgdb.Migrations{Name: set.Name, FS: fstest.MapFS{"0001_dispatch.sql": {Data: first}}, Dir: "."}
		}
		before = append(before, set)
	}
	if err := pgdb.Migrate(ctx, pool, postgres.Schema, before...); err != nil {
		t.Fatal(err)
	}
	recv := at("2026-03-02 10:00")
	withOrder, without := dispatch.NewID(), dispatch.NewID()
	for _, old := range []struct {
		id, number string
		facts      *dispatch.Facts
	}{
		{withOrder, "GF-20260302-000001", &dispatch.Facts{Title: "噪声", HotlineOrderNo: "12345-OLD"}},
		{without, "GF-20260302-000002", &dispatch.Facts{Title: "巡查"}},
	} {
		id := old.id
		c := dispatch.NewCase(id, recv)
		c.Number, c.Facts = old.number, old.facts
		body, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO cases (case_id, case_number, status, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
			id, c.Number, c.Status, body, recv); err != nil {
			t.Fatal(err)
		}
	}
	if err := pgdb.Migrate(ctx, pool, postgres.Schema, postgres.Migrations...); err != nil {
		t.Fatal(err)
	}
	st := newStore(pool, nil)
	c, err := st.FindCase(ctx, caseref.Ref{Kind: caseref.OrderNo, Value: "12345-OLD"})
	if err != nil || c.ID != withOrder {
		t.Fatalf("FindCase(order number of an earlier case) = %v, %v; want case %s", c, err, withOrder)
	}
	var orderNo string
	if err := pool.QueryRow(ctx, `SELECT hotline_order_no FROM cases WHERE case_id = $1`, without).Scan(&orderNo); err != nil || orderNo != "" {
		t.Errorf("order number of an earlier case without one = %q, %v; want empty", orderNo, err)
	}
}

// A write that changes only a task leaves its case's row as it was (issue
// 17: rewriting the case beside each sign-for and completion was the loop's
// costliest statement), and the case read back is the same but for its
// updated_at; a write that changes the case writes its row.
func TestTaskOnlyWriteLeavesTheCaseRow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := at("2026-03-02 10:00")
	k := e.newCase(t, zj, recv)
	ctx := context.Background()
	version := func() (xmin string, updated time.Time) {
		t.Helper()
		if err := e.pool.QueryRow(ctx, `SELECT xmin::text, updated_at FROM cases WHERE case_id = $1`, k.id).Scan(&xmin, &updated); err != nil {
			t.Fatal(err)
		}
		return xmin, updated
	}
	x0, u0 := version()
	before := e.find(t, k.id)
	now := recv.Add(time.Hour)
	e.update(t, dispatch.Target{TaskID: k.task}, func(c *dispatch.Case) error {
		_, err := c.Acknowledge(denv(now, "department:"+zj+"-pcs"), k.task, time.Time{}, "已签收")
		return err
	})
	if x1, u1 := version(); x1 != x0 || !u1.Equal(u0) {
		t.Errorf("acknowledging a task rewrote its case's row: xmin %s → %s, updated_at %s → %s", x0, x1, u0, u1)
	}
	after := e.find(t, k.id)
	if got := after.Task(k.task); got.State != dispatch.Acknowledged || got.AckNote != "已签收" || !got.UpdatedAt.Equal(now) {
		t.Errorf("task after acknowledging: state %s, note %q, updated %s", got.State, got.AckNote, got.UpdatedAt)
	}
	if diff := cmp.Diff(before, after, ignoreTracking, cmpopts.IgnoreFields(dispatch.Case{}, "Tasks")); diff != "" {
		t.Errorf("case beside a task-only write mismatch (-want +got):\n%s", diff)
	}

	e.update(t, dispatch.Target{CaseID: k.id}, func(c *dispatch.Case) error {
		return c.Cancel(denv(now.Add(time.Minute), "dispatcher:"+zj), "重复工单")
	})
	if x2, u2 := version(); x2 == x0 || !u2.Equal(now.Add(time.Minute)) {
		t.Errorf("cancelling the case did not write its row: xmin %s → %s, updated_at %s", x0, x2, u2)
	}
	if got := e.find(t, k.id); got.Status != dispatch.Cancelled || got.CancelReason != "重复工单" {
		t.Errorf("case after cancelling: status %s, reason %q", got.Status, got.CancelReason)
	}
}
