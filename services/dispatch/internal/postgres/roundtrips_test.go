package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/gridflow/gridflow/services/dispatch/internal/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// signing is a migrated database with a store whose pool counts its round
// trips, and a supply of cases routed to one task each.
type signing struct {
	pool  *pgxpool.Pool
	store *postgres.Store
	wire  *testenv.Wire
	seq   int
}

func newSigning(tb testing.TB) *signing {
	tb.Helper()
	pool := testenv.Pool(tb, postgres.Schema, 8, postgres.Migrations...)
	traced, wire := testenv.TracedPool(tb, pool)
	return &signing{pool: pool, store: postgres.New(traced, nil), wire: wire}
}

// routed stores a case as the consumer would from case.received and
// case.classified and returns its lead task's id.
func (s *signing) routed(tb testing.TB, received time.Time) string {
	tb.Helper()
	s.seq++
	id, number := dispatch.NewID(), fmt.Sprintf("GF-20260302-%06d", s.seq)
	var task string
	for i, op := range []func(c *dispatch.Case){
		func(c *dispatch.Case) {
			c.Received(denv(received, dispatch.SystemActor), number, facts(fmt.Sprintf("12345-%d", 770000+s.seq), zj, received))
		},
		func(c *dispatch.Case) {
			c.Classified(denv(received, dispatch.SystemActor), number, class(1, zj, received))
			task = c.Tasks[0].ID
		},
	} {
		err := pgdb.InTx(context.Background(), s.pool, func(tx pgx.Tx) error {
			return s.store.UpdateTx(context.Background(), tx, id, true, received, txOp(func(c *dispatch.Case) error { op(c); return nil }))
		})
		if err != nil {
			tb.Fatalf("case %s, step %d: %v", id, i, err)
		}
	}
	return task
}

// signAndComplete is what a department does with a task, through Update as
// the service calls it: a sign-for and a completion, each with its request.
func (s *signing) signAndComplete(tb testing.TB, task string, now time.Time) {
	tb.Helper()
	actor := "department:" + zj + "-pcs"
	steps := []struct {
		method string
		op     func(c *dispatch.Case) error
	}{
		{"AcknowledgeTask", func(c *dispatch.Case) error {
			_, err := c.Acknowledge(denv(now, actor), task, time.Time{}, "已签收，安排人员前往")
			return err
		}},
		{"CompleteTask", func(c *dispatch.Case) error {
			_, err := c.Complete(denv(now.Add(time.Hour), actor), task, "已到现场处置完毕", []string{"evidence/" + task + ".jpg"})
			return err
		}},
	}
	for _, st := range steps {
		req := &dispatch.Request{Principal: actor, ID: st.method + "-" + task, Method: st.method, Content: task}
		if _, err := s.store.Update(context.Background(), dispatch.Target{TaskID: task}, req, updateOp(st.op)); err != nil {
			tb.Fatalf("%s %s: %v", st.method, task, err)
		}
	}
}

// A department's sign-for and completion are two round trips each (issue
// 17: eight each before): BEGIN with the request's lock and look-up and the
// case's lock and read; the writes with the result and COMMIT.
func TestSignForAndCompleteRoundTrips(t *testing.T) {
	t.Parallel()
	s := newSigning(t)
	recv := at("2026-03-02 10:00")
	task := s.routed(t, recv)
	trips0, stmts0 := s.wire.Trips(), s.wire.Statements()
	s.signAndComplete(t, task, recv.Add(time.Hour))
	trips, stmts := s.wire.Trips(), s.wire.Statements()
	if got := trips - trips0; got != 4 {
		t.Errorf("a sign-for and a completion took %d round trips, want 4 (2 each)", got)
	}
	t.Logf("a sign-for and a completion: %d round trips, %d statements", trips-trips0, stmts-stmts0)
}

// BenchmarkSignForAndComplete measures a department's sign-for and
// completion through the store on a real PostgreSQL: per op (the two
// writes), round trips and statements sent, the test process's CPU, and
// with DISPATCH_BENCH_PG_PID naming the postmaster, its backends' CPU
// (issue 17; run with -benchtime=Nx, each op takes a case of its own).
func BenchmarkSignForAndComplete(b *testing.B) {
	s := newSigning(b)
	recv := at("2026-03-02 10:00")
	tasks := make([]string, b.N)
	for i := range tasks {
		tasks[i] = s.routed(b, recv)
	}
	pg, _ := strconv.Atoi(os.Getenv("DISPATCH_BENCH_PG_PID"))
	trips0, stmts0 := s.wire.Trips(), s.wire.Statements()
	cpu0, pg0 := selfCPU(), childrenCPU(pg)
	b.ResetTimer()
	for i := range b.N {
		s.signAndComplete(b, tasks[i], recv.Add(time.Hour))
	}
	b.StopTimer()
	trips, stmts := s.wire.Trips(), s.wire.Statements()
	n := float64(b.N)
	b.ReportMetric(float64(trips-trips0)/n, "trips/op")
	b.ReportMetric(float64(stmts-stmts0)/n, "stmts/op")
	b.ReportMetric(float64((selfCPU()-cpu0).Microseconds())/n, "cpu-µs/op")
	if pg != 0 {
		b.ReportMetric(float64((childrenCPU(pg)-pg0).Microseconds())/n, "pg-cpu-µs/op")
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childrenCPU is the CPU the postmaster's children have used so far.
func childrenCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, c := range strings.Fields(string(b)) {
		st, err := os.ReadFile("/proc/" + c + "/stat")
		if err != nil {
			continue
		}
		// utime and stime are fields 14 and 15, after the command in parentheses.
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+2:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(u+k) * 10 * time.Millisecond // USER_HZ = 100
	}
	return total
}

// A write refused after the first round trip (the task is not in a state
// to complete) is rolled back in a second: nothing is stored, the request's
// id stays free for a write that can be made, and no connection is left in
// a transaction.
func TestRefusedWriteRollsBack(t *testing.T) {
	t.Parallel()
	s := newSigning(t)
	recv := at("2026-03-02 10:00")
	task := s.routed(t, recv)
	actor := "department:" + zj + "-pcs"
	req := &dispatch.Request{Principal: actor, ID: "CompleteTask-" + task, Method: "CompleteTask", Content: task}
	complete := updateOp(func(c *dispatch.Case) error {
		_, err := c.Complete(denv(recv.Add(time.Hour), actor), task, "已处置", nil)
		return err
	})
	trips0 := s.wire.Trips()
	if _, err := s.store.Update(context.Background(), dispatch.Target{TaskID: task}, req, complete); err == nil {
		t.Fatal("completing a task not signed for was not refused")
	}
	if trips := s.wire.Trips(); trips-trips0 != 2 {
		t.Errorf("a refused write took %d round trips, want 2 (the read, the rollback)", trips-trips0)
	}
	var open int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND state LIKE 'idle in transaction%'`).Scan(&open); err != nil {
		t.Fatal(err)
	}
	if open != 0 {
		t.Errorf("%d connections left idle in a transaction", open)
	}
	s.signAndComplete(t, task, recv.Add(time.Hour)) // the same request ids, now applied
	c, err := s.store.CaseOfTask(context.Background(), task)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Task(task); got.State != dispatch.Completed {
		t.Errorf("task after the retry: %s, want completed", got.State)
	}
}
