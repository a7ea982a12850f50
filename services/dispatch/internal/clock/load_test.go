package clock_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/pkg/workcal"
	"github.com/gridflow/gridflow/services/dispatch/internal/clock"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/gridflow/gridflow/services/dispatch/internal/events"
	"github.com/gridflow/gridflow/services/dispatch/internal/postgres"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// TestClockLoad measures dispatch's clock against the targets with
// dispatch's real timer handler — lock the case, fire the task's clock
// point, save the case and task, write task.warned to the outbox and set
// the task's next timer — rather than pkg/timer's bare load test:
//
//   - one million pending timers; a stream of 1,000 due per second for a
//     minute fires within 2 s of due;
//   - a burst of 20,000 due at one instant (working days end together)
//     all fire within 30 s, none twice.
//
// It is a measurement, not a timed test: it reports the figures and fails
// only if a timer fired twice or not at all. It runs only on request:
//
//	GRIDFLOW_DISPATCH_LOAD=1 go test -run TestClockLoad -v -timeout 30m ./internal/clock/
//
// GRIDFLOW_DISPATCH_LOAD_CONCURRENCY and _BATCH set the worker's options
// (defaults: dispatch's, 4 and 100). The outbox relay does not run: the
// events stay in the outbox, where they are counted.
func TestClockLoad(t *testing.T) {
	if os.Getenv("GRIDFLOW_DISPATCH_LOAD") != "1" {
		t.Skip("set GRIDFLOW_DISPATCH_LOAD=1 to run the clock load measurement")
	}
	total, steadyN, burstN, burstAt := 1_000_000, 60_000, 20_000, 20*time.Second
	if os.Getenv("GRIDFLOW_DISPATCH_LOAD_SMALL") == "1" { // a quick check of the harness
		total, steadyN, burstN, burstAt = 10_000, 2_000, 1_000, 2*time.Second
	}
	farN := total - steadyN - burstN
	opts := timer.Options{Concurrency: 4, BatchSize: 100}
	if v, err := strconv.Atoi(os.Getenv("GRIDFLOW_DISPATCH_LOAD_CONCURRENCY")); err == nil {
		opts.Concurrency = v
	}
	if v, err := strconv.Atoi(os.Getenv("GRIDFLOW_DISPATCH_LOAD_BATCH")); err == nil {
		opts.BatchSize = v
	}
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testenv.DatabaseURL(t), postgres.Schema, int32(opts.Concurrency+4))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, postgres.Schema, postgres.Migrations...); err != nil {
		t.Fatal(err)
	}
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	// t0, the start of the due stream, is set once the bulk is in.
	var t0 time.Time
	due := func(i int) time.Time {
		if i < steadyN {
			return t0.Add(time.Duration(i) * time.Millisecond)
		}
		return t0.Add(burstAt)
	}
	// One case with one open task per due timer. The task's warning point
	// has passed and its timer is due at due(i): firing it fires the
	// warning and sets the timer to the overdue point, hours ahead.
	caseIDs, taskIDs := make([]string, steadyN+burstN), make([]string, steadyN+burstN)
	for i := range caseIDs {
		caseIDs[i], taskIDs[i] = uuid.NewString(), uuid.NewString()
	}
	received := began.Add(-24 * time.Hour)
	caseRow := func(i int) []any {
		c := &dispatch.Case{ID: caseIDs[i], Number: fmt.Sprintf("GF-20260302-%07d", i), Status: dispatch.CaseRouted,
			Area:      dispatch.Area{District: "310106", Street: "310106022", Community: "0", Grid: "0"},
			Class:     &dispatch.Classification{Version: 1, Item: "H04001", Dispatchable: true, ReceivedAt: received},
			CreatedAt: received, UpdatedAt: received}
		c.RoutedWith = c.Class
		body, _ := json.Marshal(c)
		return []any{caseIDs[i], c.Number, "310106", "310106022", string(c.Status), body, received, received}
	}
	taskRow := func(i int) []any {
		d := began.Add(-time.Hour)
		tk := &dispatch.Task{ID: taskIDs[i], CaseID: caseIDs[i], Department: "310106022-pcs", Role: dispatch.Lead,
			State: dispatch.Dispatched, Reason: dispatch.Routed, Rule: "noise", DispatchedAt: received, UpdatedAt: received,
			Deadlines: dispatch.Deadlines{Start: received, Warn: 0.8,
				Ack:      dispatch.Limit{Due: d.Add(4 * time.Hour), WarnAt: d, Duration: workcal.ClockTime(26 * time.Hour)},
				Complete: dispatch.Limit{Due: d.Add(30 * 24 * time.Hour), WarnAt: d.Add(20 * 24 * time.Hour), Duration: workcal.ClockTime(31 * 24 * time.Hour)}}}
		body, _ := json.Marshal(tk)
		return []any{taskIDs[i], caseIDs[i], tk.Department, string(tk.State), received, body}
	}
	copyRows := func(table string, cols []string, n int, row func(i int) []any) {
		t.Helper()
		i := 0
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			i++
			return row(i - 1), nil
		})); err != nil {
			t.Fatal(err)
		}
	}
	n := steadyN + burstN
	copyRows("cases", []string{"case_id", "case_number", "district", "street", "status", "body", "created_at", "updated_at"}, n, caseRow)
	copyRows("tasks", []string{"task_id", "case_id", "department", "state", "updated_at", "body"}, n, taskRow)
	// The rest of the million: tasks whose clocks stand weeks ahead.
	farCase := []byte(uuid.NewString())
	copyRows("timers", []string{"kind", "key", "due_at", "payload"}, farN, func(i int) []any {
		return []any{dispatch.TimerTaskClock, "far-" + strconv.Itoa(i), began.Add(24*time.Hour + time.Duration(i)*2*time.Second), farCase}
	})
	for _, tbl := range []string{"cases", "tasks", "timers"} {
		if _, err := pool.Exec(ctx, `ANALYZE `+tbl); err != nil {
			t.Fatal(err)
		}
	}
	t0 = time.Now().Add(10 * time.Second).Truncate(time.Millisecond)
	copyRows("timers", []string{"kind", "key", "due_at", "payload"}, n, func(i int) []any {
		return []any{dispatch.TimerTaskClock, taskIDs[i], due(i), []byte(caseIDs[i])}
	})
	t.Logf("set up %d cases and tasks and %d timers in %v", n, total, time.Since(began).Round(time.Millisecond))
	if time.Now().After(t0) {
		t.Fatalf("setup overran the start of the due stream by %v; the figures would be meaningless", time.Since(t0))
	}

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	refOf := func() *reference.Set { return ref }
	store := postgres.New(pool, nil)
	svc := dispatch.New(store, events.Encode, nil, refOf, time.Now, dispatch.DefaultPolicy())
	w := timer.NewWorker(pool, clock.Handlers(store, svc.Env), opts, quiet)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	deadline := t0.Add(time.Duration(steadyN)*time.Millisecond + 2*time.Minute)
	for {
		time.Sleep(time.Second)
		pending, err := outbox.Pending(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		if pending >= int64(n) || time.Now().After(deadline) {
			break
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Each firing wrote one task.warned; its occurred_at is when it fired.
	rows, err := pool.Query(ctx, `SELECT data FROM outbox WHERE subject LIKE 'grid.task.warned.%'`)
	if err != nil {
		t.Fatal(err)
	}
	dueOf := make(map[string]time.Time, n)
	inBurst := make(map[string]bool, burstN)
	for i, id := range taskIDs {
		dueOf[id] = due(i)
		inBurst[id] = i >= steadyN
	}
	type firing struct {
		due time.Time
		lag float64
	}
	var stream []firing
	fired := map[string]int{}
	var steady, burst []float64
	var burstEnd time.Time
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			t.Fatal(err)
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(data, &env); err != nil {
			t.Fatal(err)
		}
		id := env.GetTaskWarned().GetTask().GetTaskId()
		fired[id]++
		at := env.GetOccurredAt().AsTime()
		lag := at.Sub(dueOf[id]).Seconds()
		if inBurst[id] {
			burst = append(burst, lag)
			if at.After(burstEnd) {
				burstEnd = at
			}
		} else {
			steady = append(steady, lag)
			stream = append(stream, firing{dueOf[id], lag})
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The stream's timers due while the burst was being worked off wait
	// behind it; the others show the steady state.
	var calm []float64
	for _, f := range stream {
		if f.due.Before(t0.Add(burstAt)) || f.due.After(burstEnd) {
			calm = append(calm, f.lag)
		}
	}
	dups := 0
	for _, c := range fired {
		dups += c - 1
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM timers WHERE due_at <= $1`, t0.Add(burstAt+time.Minute)).Scan(&left); err != nil {
		t.Fatal(err)
	}
	pct := func(xs []float64, p float64) float64 {
		if len(xs) == 0 {
			return 0
		}
		slices.Sort(xs)
		return xs[min(len(xs)-1, int(p*float64(len(xs))))]
	}
	t.Logf("worker: Concurrency=%d BatchSize=%d; handler = dispatch's task clock (case lock, fire, save, outbox, next timer)", opts.Concurrency, opts.BatchSize)
	t.Logf("steady stream, 1,000/s (%d timers, %d fired): fire lag p50 %.3fs  p99 %.3fs  max %.3fs",
		steadyN, len(steady), pct(steady, 0.5), pct(steady, 0.99), pct(steady, 1))
	t.Logf("  … outside the burst's window (%d timers): p50 %.3fs  p99 %.3fs  max %.3fs", len(calm), pct(calm, 0.5), pct(calm, 0.99), pct(calm, 1))
	t.Logf("burst of %d at one instant on top of the stream (%d fired): lag p50 %.3fs  p99 %.3fs  max %.3fs; all fired %.2fs after due (%.0f firings/s)",
		burstN, len(burst), pct(burst, 0.5), pct(burst, 0.99), pct(burst, 1), burstEnd.Sub(t0.Add(burstAt)).Seconds(),
		float64(len(burst))/max(burstEnd.Sub(t0.Add(burstAt)).Seconds(), 0.001))
	t.Logf("%d tasks fired, %d twice; %d due timers left unfired; %d pending timers throughout",
		len(fired), dups, left, farN)
	if dups > 0 {
		t.Errorf("%d timers fired twice", dups)
	}
	if len(fired) != n || left != 0 {
		t.Errorf("%d of %d due timers fired", len(fired), n)
	}
}
