package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// setup gives a test its own migrated database and an effects table that
// stands for the change a request makes.
func setup(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := testenv.Pool(t, "idemtest", 16, idempotency.Migrations)
	if _, err := pool.Exec(context.Background(), `CREATE TABLE effects (id bigserial, request_id text NOT NULL, note text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return pool
}

func request(t *testing.T, principal, id, method string, content any) idempotency.Request {
	t.Helper()
	r, err := idempotency.NewRequest(principal, id, method, content)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type ackContent struct {
	TaskID string
	Note   string
}

// do runs one request the way a service does: Begin, then either the stored
// answer or the change and Save, all in one transaction. ran reports
// whether the change was made.
func do(ctx context.Context, pool *pgxpool.Pool, req idempotency.Request, note string, during func()) (res idempotency.Result, ran bool, err error) {
	err = pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		ran = false
		prior, err := idempotency.Begin(ctx, tx, req)
		if err != nil {
			return err
		}
		if prior != nil {
			res = *prior
			return nil
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO effects (request_id, note) VALUES ($1, $2) RETURNING id`, req.ID, note).Scan(&id); err != nil {
			return err
		}
		if during != nil {
			during()
		}
		ran = true
		res = idempotency.Result{Resource: fmt.Sprintf("effects/%d", id), Body: []byte(`{"note":"` + note + `"}`)}
		return idempotency.Save(ctx, tx, req, res)
	})
	return res, ran, err
}

func effects(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM effects`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantAlreadyExists(t *testing.T, err error, resource string) {
	t.Helper()
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != fault.AlreadyExists || f.Resource != resource {
		t.Fatalf("err = %v, want ALREADY_EXISTS naming %s", err, resource)
	}
}

func TestRepeatGetsTheFirstResult(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	req := request(t, "department:310106022-pcs", "ack-1", "AcknowledgeTask", ackContent{"t1", "已签收"})
	first, ran, err := do(ctx, pool, req, "first", nil)
	if err != nil || !ran {
		t.Fatalf("first: ran %v, %v", ran, err)
	}
	again, ran, err := do(ctx, pool, request(t, "department:310106022-pcs", "ack-1", "AcknowledgeTask", ackContent{"t1", "已签收"}), "second", nil)
	if err != nil || ran {
		t.Fatalf("repeat: ran %v, %v", ran, err)
	}
	if again.Resource != first.Resource || string(again.Body) != string(first.Body) {
		t.Fatalf("repeat answered %+v, want the first %+v", again, first)
	}
	if n := effects(t, pool); n != 1 {
		t.Fatalf("%d effects, want 1", n)
	}
}

func TestSameIDOtherContentIsAlreadyExists(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	first, _, err := do(ctx, pool, request(t, "hotline", "r1", "RecordCallback", ackContent{"c1", "满意"}), "first", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, ran, err := do(ctx, pool, request(t, "hotline", "r1", "RecordCallback", ackContent{"c1", "不满意"}), "second", nil)
	wantAlreadyExists(t, err, first.Resource)
	if ran || !strings.Contains(err.Error(), "other content") {
		t.Fatalf("ran %v, err %v", ran, err)
	}
	if n := effects(t, pool); n != 1 {
		t.Fatalf("%d effects, want 1", n)
	}
}

func TestSameIDOtherMethodIsAlreadyExists(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	content := ackContent{"t1", ""}
	first, _, err := do(ctx, pool, request(t, "department:x", "r1", "AcknowledgeTask", content), "ack", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The same content under another method is another request.
	_, ran, err := do(ctx, pool, request(t, "department:x", "r1", "CompleteTask", content), "complete", nil)
	wantAlreadyExists(t, err, first.Resource)
	if ran || !strings.Contains(err.Error(), "AcknowledgeTask") {
		t.Fatalf("ran %v, err %v", ran, err)
	}
}

func TestIDsAreScopedToThePrincipal(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	content := ackContent{"t1", ""}
	for _, p := range []string{"dispatcher:310106022", "dispatcher:310106021"} {
		if _, ran, err := do(ctx, pool, request(t, p, "same", "Supervise", content), p, nil); err != nil || !ran {
			t.Fatalf("%s: ran %v, %v", p, ran, err)
		}
	}
	if n := effects(t, pool); n != 2 {
		t.Fatalf("%d effects, want 2", n)
	}
}

// Two first requests with one id at once: the second waits for the first's
// transaction, then gets its result; the change is made once.
func TestConcurrentFirstRequestsApplyOnce(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	req := request(t, "hotline", "twin", "RecordCallback", ackContent{"c1", "满意"})
	inFirst, release := make(chan struct{}), make(chan struct{})
	type answer struct {
		res idempotency.Result
		ran bool
		err error
	}
	first := make(chan answer, 1)
	go func() {
		res, ran, err := do(ctx, pool, req, "first", func() { close(inFirst); <-release })
		first <- answer{res, ran, err}
	}()
	<-inFirst
	second := make(chan answer, 1)
	go func() {
		res, ran, err := do(ctx, pool, req, "second", nil)
		second <- answer{res, ran, err}
	}()
	select {
	case a := <-second:
		t.Fatalf("the twin did not wait for the first request: %+v", a)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	a, b := <-first, <-second
	if a.err != nil || !a.ran {
		t.Fatalf("first: %+v", a)
	}
	if b.err != nil || b.ran || b.res.Resource != a.res.Resource || string(b.res.Body) != string(a.res.Body) {
		t.Fatalf("twin: %+v, want the first's result %+v", b, a.res)
	}
	if n := effects(t, pool); n != 1 {
		t.Fatalf("%d effects, want 1", n)
	}

	// Many at once, none waiting on a hook: still one change, one answer.
	req = request(t, "hotline", "crowd", "RecordCallback", ackContent{"c2", "满意"})
	results := make([]answer, 8)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			res, ran, err := do(ctx, pool, req, fmt.Sprint(i), func() { time.Sleep(20 * time.Millisecond) })
			results[i] = answer{res, ran, err}
		})
	}
	wg.Wait()
	applied := 0
	for i, r := range results {
		if r.err != nil || r.res.Resource != results[0].res.Resource || string(r.res.Body) != string(results[0].res.Body) {
			t.Fatalf("call %d: %+v, call 0: %+v", i, r, results[0])
		}
		if r.ran {
			applied++
		}
	}
	if applied != 1 || effects(t, pool) != 2 {
		t.Fatalf("%d calls applied, %d effects; want 1 and 2", applied, effects(t, pool))
	}
}

// A concurrent twin with other content waits too, then is refused.
func TestConcurrentOtherContentIsAlreadyExists(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	inFirst, release := make(chan struct{}), make(chan struct{})
	first := make(chan idempotency.Result, 1)
	go func() {
		res, _, err := do(ctx, pool, request(t, "hotline", "r", "RecordCallback", ackContent{"c1", "a"}), "first", func() { close(inFirst); <-release })
		if err != nil {
			t.Error(err)
		}
		first <- res
	}()
	<-inFirst
	errc := make(chan error, 1)
	go func() {
		_, _, err := do(ctx, pool, request(t, "hotline", "r", "RecordCallback", ackContent{"c1", "b"}), "second", nil)
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond)
	close(release)
	wantAlreadyExists(t, <-errc, (<-first).Resource)
}

// A first request that rolls back leaves its key free: the twin that waited
// for it proceeds as the first.
func TestRolledBackFirstLeavesTheKeyFree(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	req := request(t, "hotline", "r", "RecordCallback", ackContent{"c1", "a"})
	inFirst, release := make(chan struct{}), make(chan struct{})
	failed := errors.New("precondition failed")
	done := make(chan error, 1)
	go func() {
		done <- pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
			if prior, err := idempotency.Begin(ctx, tx, req); err != nil || prior != nil {
				return fmt.Errorf("begin: %v %v", prior, err)
			}
			close(inFirst)
			<-release
			return failed
		})
	}()
	<-inFirst
	type answer struct {
		ran bool
		err error
	}
	second := make(chan answer, 1)
	go func() {
		_, ran, err := do(ctx, pool, req, "second", nil)
		second <- answer{ran, err}
	}()
	time.Sleep(200 * time.Millisecond)
	close(release)
	if err := <-done; !errors.Is(err, failed) {
		t.Fatalf("first: %v", err)
	}
	if a := <-second; a.err != nil || !a.ran {
		t.Fatalf("twin after a rollback: %+v, want it to run", a)
	}
}

func TestBadRequestIDIsInvalidArgument(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	for _, id := range []string{"", "  ", strings.Repeat("x", idempotency.MaxIDBytes+1), "bad\xff", "nul\x00"} {
		_, ran, err := do(ctx, pool, request(t, "hotline", id, "RecordCallback", nil), "x", nil)
		var f *fault.Error
		if !errors.As(err, &f) || f.Kind != fault.InvalidArgument || len(f.Violations) != 1 || f.Violations[0].Field != "request_id" || ran {
			t.Errorf("id %q: ran %v, %v; want INVALID_ARGUMENT on request_id", id, ran, err)
		}
	}
	if _, ran, err := do(ctx, pool, request(t, "hotline", strings.Repeat("界", 21), "RecordCallback", nil), "x", nil); err != nil || !ran {
		t.Errorf("a 63-byte id: ran %v, %v", ran, err)
	}
}

func TestPruneDeletesOldRequests(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	for i := range 5 {
		if _, _, err := do(ctx, pool, request(t, "hotline", fmt.Sprint(i), "M", i), "x", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `UPDATE idempotency_requests SET created_at = now() - interval '40 days' WHERE request_id IN ('0', '1', '2')`); err != nil {
		t.Fatal(err)
	}
	n, err := idempotency.Prune(ctx, pool, time.Now().Add(-idempotency.DefaultRetention))
	if err != nil || n != 3 {
		t.Fatalf("pruned %d, %v; want 3", n, err)
	}
	// A pruned id is free again; a kept one still answers.
	if _, ran, err := do(ctx, pool, request(t, "hotline", "0", "M", 99), "x", nil); err != nil || !ran {
		t.Fatalf("pruned id reused: ran %v, %v", ran, err)
	}
	if _, ran, err := do(ctx, pool, request(t, "hotline", "3", "M", 3), "x", nil); err != nil || ran {
		t.Fatalf("kept id repeated: ran %v, %v", ran, err)
	}

	// The Pruner does the same on its own until its context ends.
	if _, err := pool.Exec(ctx, `UPDATE idempotency_requests SET created_at = now() - interval '2 hours' WHERE request_id = '4'`); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- idempotency.Pruner{Pool: pool, Retention: time.Hour, Every: time.Hour}.Run(rctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM idempotency_requests WHERE request_id = '4')`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if !left {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Pruner did not prune an expired request")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	a := request(t, "p", "r", "Reclassify", map[string]string{"item": "06020"})
	if err := idempotency.Check(a, request(t, "p", "r", "Reclassify", map[string]string{"item": "06020"}), "cases/c/classifications/2"); err != nil {
		t.Errorf("same request: %v", err)
	}
	wantAlreadyExists(t, idempotency.Check(a, request(t, "p", "r", "Reclassify", map[string]string{"item": "06021"}), "cases/c/classifications/2"), "cases/c/classifications/2")
	wantAlreadyExists(t, idempotency.Check(a, request(t, "p", "r", "ResolveReview", map[string]string{"item": "06020"}), "cases/c/classifications/2"), "cases/c/classifications/2")
}
