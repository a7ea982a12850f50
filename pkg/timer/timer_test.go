package timer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const schema = "tmtest"

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// setup migrates a fresh database and returns a way to open pools on it (one
// per simulated replica).
func setup(t *testing.T) (open func() *pgxpool.Pool) {
	t.Helper()
	url := testenv.DatabaseURL(t)
	open = func() *pgxpool.Pool {
		t.Helper()
		pool, err := pgdb.Open(context.Background(), url, schema, 8)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return pool
	}
	pool := open()
	ctx := context.Background()
	if err := pgdb.Migrate(ctx, pool, schema, timer.Migrations); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE effects (kind text, key text, payload bytea, worker text)`); err != nil {
		t.Fatal(err)
	}
	return open
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// record is a handler that applies a timer by writing an effects row.
func record(worker string) timer.Handler {
	return func(ctx context.Context, tx pgx.Tx, tm timer.Timer) error {
		_, err := tx.Exec(ctx, `INSERT INTO effects (kind, key, payload, worker) VALUES ($1, $2, $3, $4)`,
			tm.Kind, tm.Key, tm.Payload, worker)
		return err
	}
}

func schedule(t *testing.T, pool *pgxpool.Pool, kind, key string, due time.Time, payload string) {
	t.Helper()
	err := pgdb.InTx(context.Background(), pool, func(tx pgx.Tx) error {
		return timer.Schedule(context.Background(), tx, kind, key, due, []byte(payload))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func cancel(t *testing.T, pool *pgxpool.Pool, kind, key string) {
	t.Helper()
	err := pgdb.InTx(context.Background(), pool, func(tx pgx.Tx) error {
		return timer.Cancel(context.Background(), tx, kind, key)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// run starts w.Run until the returned stop is called (or the test ends).
func run(t *testing.T, w *timer.Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestLifecycle drives one worker with a manual clock through schedules,
// reschedules and cancels, firing with RunOnce after each clock move.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	type step struct {
		schedule  time.Duration // schedule "k" this far after t0 (with payload) …
		payload   string
		cancel    bool          // … or cancel it …
		advance   time.Duration // … or move the clock and fire
		wantFired int           // effects so far
		wantLast  string        // payload of the last effect, if any
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"fires when due, not before", []step{
			{schedule: time.Hour, payload: "p"},
			{advance: 59 * time.Minute, wantFired: 0},
			{advance: time.Minute, wantFired: 1, wantLast: "p"},
			{advance: 24 * time.Hour, wantFired: 1},
		}},
		{"reschedule later moves it", []step{
			{schedule: time.Hour, payload: "old"},
			{schedule: 2 * time.Hour, payload: "new"},
			{advance: time.Hour, wantFired: 0},
			{advance: time.Hour, wantFired: 1, wantLast: "new"},
		}},
		{"reschedule earlier moves it", []step{
			{schedule: 2 * time.Hour, payload: "old"},
			{schedule: 30 * time.Minute, payload: "new"},
			{advance: 30 * time.Minute, wantFired: 1, wantLast: "new"},
			{advance: 2 * time.Hour, wantFired: 1},
		}},
		{"cancel removes it", []step{
			{schedule: time.Hour, payload: "p"},
			{cancel: true},
			{advance: 2 * time.Hour, wantFired: 0},
		}},
		{"cancel of an absent timer is fine", []step{
			{cancel: true},
			{advance: time.Hour, wantFired: 0},
		}},
		{"schedule after firing sets a new timer", []step{
			{schedule: time.Hour, payload: "first"},
			{advance: time.Hour, wantFired: 1, wantLast: "first"},
			{schedule: 3 * time.Hour, payload: "second"},
			{advance: 2 * time.Hour, wantFired: 2, wantLast: "second"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool := setup(t)()
			ctx := context.Background()
			clock := timer.NewManualClock(t0)
			w := timer.NewWorker(pool, map[string]timer.Handler{"warn": record("")}, timer.Options{Clock: clock}, testLog(t))
			for i, s := range tt.steps {
				switch {
				case s.schedule != 0:
					schedule(t, pool, "warn", "k", t0.Add(s.schedule), s.payload)
					continue
				case s.cancel:
					cancel(t, pool, "warn", "k")
					if _, err := timer.Lookup(ctx, pool, "warn", "k"); !errors.Is(err, pgdb.ErrNotFound) {
						t.Fatalf("step %d: Lookup after Cancel: %v, want ErrNotFound", i, err)
					}
					continue
				}
				clock.Advance(s.advance)
				if _, err := w.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
				if n := count(t, pool, `SELECT count(*) FROM effects`); n != s.wantFired {
					t.Fatalf("step %d (clock %v): %d fired, want %d", i, clock.Now().Sub(t0), n, s.wantFired)
				}
				if s.wantLast != "" {
					var last string
					if err := pool.QueryRow(ctx, `SELECT convert_from(payload, 'UTF8') FROM effects ORDER BY ctid DESC LIMIT 1`).Scan(&last); err != nil {
						t.Fatal(err)
					}
					if last != s.wantLast {
						t.Errorf("step %d: fired payload %q, want %q", i, last, s.wantLast)
					}
				}
			}
		})
	}
}

func TestHandlerErrorRetriesWithBackoff(t *testing.T) {
	t.Parallel()
	pool := setup(t)()
	ctx := context.Background()
	clock := timer.NewManualClock(t0)
	var calls atomic.Int32
	flaky := func(ctx context.Context, tx pgx.Tx, tm timer.Timer) error {
		if err := record("")(ctx, tx, tm); err != nil { // must be rolled back on failure
			return err
		}
		if n := calls.Add(1); n <= 2 {
			return fmt.Errorf("department directory unavailable (%d)", n)
		}
		return nil
	}
	w := timer.NewWorker(pool, map[string]timer.Handler{"flaky": flaky, "ok": record("")},
		timer.Options{Clock: clock, RetryDelay: time.Minute}, testLog(t))
	schedule(t, pool, "flaky", "k", t0, "")
	schedule(t, pool, "ok", "k", t0, "") // same batch: must not be held back by its neighbour

	type want struct {
		fired, attempts int
		lastError       string
		dueAt           time.Time
	}
	check := func(step string, wt want) {
		t.Helper()
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, pool, `SELECT count(*) FROM effects`); n != wt.fired {
			t.Errorf("%s: %d effects, want %d", step, n, wt.fired)
		}
		tm, err := timer.Lookup(ctx, pool, "flaky", "k")
		if wt.attempts == 0 {
			if !errors.Is(err, pgdb.ErrNotFound) {
				t.Errorf("%s: timer still pending (%v), want it fired", step, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if tm.Attempts != wt.attempts || !strings.Contains(tm.LastError, wt.lastError) || !tm.DueAt.Equal(wt.dueAt) {
			t.Errorf("%s: attempts %d, last error %q, due %v; want %d, %q, %v", step,
				tm.Attempts, tm.LastError, tm.DueAt.UTC(), wt.attempts, wt.lastError, wt.dueAt)
		}
	}
	check("first try", want{fired: 1, attempts: 1, lastError: "unavailable (1)", dueAt: t0.Add(time.Minute)})
	clock.Advance(59 * time.Second)
	check("before the retry", want{fired: 1, attempts: 1, lastError: "unavailable (1)", dueAt: t0.Add(time.Minute)})
	clock.Advance(time.Second)
	// Second failure at t0+1m: the delay doubles.
	check("second try", want{fired: 1, attempts: 2, lastError: "unavailable (2)", dueAt: t0.Add(3 * time.Minute)})
	clock.Advance(2 * time.Minute)
	check("third try", want{fired: 2})
}

func TestHandlerMayRescheduleItsOwnTimer(t *testing.T) {
	t.Parallel()
	pool := setup(t)()
	ctx := context.Background()
	clock := timer.NewManualClock(t0)
	var fired atomic.Int32
	every := func(ctx context.Context, tx pgx.Tx, tm timer.Timer) error {
		fired.Add(1)
		return timer.Schedule(ctx, tx, tm.Kind, tm.Key, tm.DueAt.Add(time.Hour), tm.Payload)
	}
	w := timer.NewWorker(pool, map[string]timer.Handler{"hourly": every}, timer.Options{Clock: clock}, testLog(t))
	schedule(t, pool, "hourly", "report", t0, "x")
	for i := 1; i <= 3; i++ {
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if int(fired.Load()) != i {
			t.Fatalf("round %d: fired %d times", i, fired.Load())
		}
		tm, err := timer.Lookup(ctx, pool, "hourly", "report")
		if err != nil {
			t.Fatalf("round %d: the rescheduled timer is gone: %v", i, err)
		}
		if want := t0.Add(time.Duration(i) * time.Hour); !tm.DueAt.Equal(want) {
			t.Fatalf("round %d: due %v, want %v", i, tm.DueAt, want)
		}
		clock.Advance(time.Hour)
	}
}

func TestTwoWorkersFireEachTimerOnce(t *testing.T) {
	t.Parallel()
	open := setup(t)
	poolA, poolB := open(), open()
	const total = 2000
	now := time.Now()
	err := pgdb.InTx(context.Background(), poolA, func(tx pgx.Tx) error {
		for i := range total {
			// Half due already, half over the next second.
			due := now.Add(time.Duration(i-total/2) * time.Millisecond)
			if err := timer.Schedule(context.Background(), tx, "warn", fmt.Sprint(i), due, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, pool := range map[string]*pgxpool.Pool{"a": poolA, "b": poolB} {
		w := timer.NewWorker(pool, map[string]timer.Handler{"warn": record(name)},
			timer.Options{BatchSize: 50, Concurrency: 2}, testLog(t))
		run(t, w)
	}
	eventually(t, "every timer to fire", 30*time.Second, func() bool {
		return count(t, poolA, `SELECT count(*) FROM effects`) >= total && count(t, poolA, `SELECT count(*) FROM timers`) == 0
	})
	if n := count(t, poolA, `SELECT count(*) FROM effects`); n != total {
		t.Errorf("%d firings of %d timers", n, total)
	}
	if n := count(t, poolA, `SELECT count(DISTINCT key) FROM effects`); n != total {
		t.Errorf("%d distinct timers fired, want %d", n, total)
	}
	for _, name := range []string{"a", "b"} {
		if n := count(t, poolA, `SELECT count(*) FROM effects WHERE worker = $1`, name); n == 0 {
			t.Errorf("worker %s fired nothing", name)
		}
	}
}

// A worker stopped in the middle of a batch rolls it back; a new worker (a
// restarted replica) fires everything it left, each timer once.
func TestRestartFiresWhatTheOldWorkerLeft(t *testing.T) {
	t.Parallel()
	open := setup(t)
	pool := open()
	now := time.Now()
	schedule(t, pool, "warn", "a", now.Add(-time.Second), "")
	schedule(t, pool, "warn", "stuck", now, "")
	schedule(t, pool, "warn", "later", now.Add(time.Hour), "")

	entered := make(chan struct{})
	var once sync.Once
	stuck := func(ctx context.Context, tx pgx.Tx, tm timer.Timer) error {
		if tm.Key != "stuck" {
			return record("old")(ctx, tx, tm)
		}
		once.Do(func() { close(entered) })
		<-ctx.Done() // hangs until the shutdown gives up on it
		return ctx.Err()
	}
	clock := timer.NewManualClock(now)
	old := timer.NewWorker(pool, map[string]timer.Handler{"warn": stuck},
		timer.Options{Clock: clock, DrainTimeout: 100 * time.Millisecond, RetryDelay: time.Millisecond}, testLog(t))
	stop := run(t, old)
	<-entered
	stop()
	if n := count(t, pool, `SELECT count(*) FROM effects`); n != 0 {
		t.Fatalf("%d effects committed from a batch that was cut short", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM timers`); n != 3 {
		t.Fatalf("%d timers left, want all 3", n)
	}

	clock.Advance(time.Hour)
	fresh := timer.NewWorker(open(), map[string]timer.Handler{"warn": record("new")}, timer.Options{Clock: clock}, testLog(t))
	run(t, fresh)
	eventually(t, "the new worker to fire all three", 10*time.Second, func() bool {
		return count(t, pool, `SELECT count(*) FROM effects WHERE worker = 'new'`) == 3
	})
	if n := count(t, pool, `SELECT count(*) FROM effects`); n != 3 {
		t.Errorf("%d firings, want 3", n)
	}
}

// A timer scheduled elsewhere (another replica's transaction) wakes a worker
// through LISTEN/NOTIFY long before its poll interval.
func TestScheduleElsewhereWakesWorker(t *testing.T) {
	t.Parallel()
	open := setup(t)
	pool := open()
	w := timer.NewWorker(open(), map[string]timer.Handler{"warn": record("")},
		timer.Options{PollInterval: time.Hour}, testLog(t))
	run(t, w)
	time.Sleep(300 * time.Millisecond) // the worker is asleep for the hour, listening

	due := time.Now().Add(200 * time.Millisecond)
	schedule(t, pool, "warn", "soon", due, "")
	eventually(t, "the timer to fire", 5*time.Second, func() bool {
		return count(t, pool, `SELECT count(*) FROM effects`) == 1
	})
	if late := time.Since(due); late > 2*time.Second {
		t.Errorf("fired %v late", late)
	}
	if early := time.Until(due); early > 0 {
		t.Errorf("fired %v early", early)
	}
}

func TestAdvancingManualClockWakesRun(t *testing.T) {
	t.Parallel()
	pool := setup(t)()
	clock := timer.NewManualClock(t0)
	w := timer.NewWorker(pool, map[string]timer.Handler{"overdue": record("")},
		timer.Options{Clock: clock, PollInterval: time.Hour}, testLog(t))
	schedule(t, pool, "overdue", "task-1", t0.Add(4*time.Hour), "")
	run(t, w)
	clock.Advance(3 * time.Hour)
	time.Sleep(200 * time.Millisecond)
	if n := count(t, pool, `SELECT count(*) FROM effects`); n != 0 {
		t.Fatalf("fired %d timers an hour early", n)
	}
	clock.Advance(time.Hour)
	eventually(t, "the timer to fire after the clock moved", 5*time.Second, func() bool {
		return count(t, pool, `SELECT count(*) FROM effects`) == 1
	})
}

func TestWorkerLeavesOtherKindsAlone(t *testing.T) {
	t.Parallel()
	pool := setup(t)()
	ctx := context.Background()
	clock := timer.NewManualClock(t0)
	schedule(t, pool, "mine", "1", t0, "")
	schedule(t, pool, "theirs", "1", t0, "")
	w := timer.NewWorker(pool, map[string]timer.Handler{"mine": record("")}, timer.Options{Clock: clock}, testLog(t))
	if n, err := w.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want 1 fired", n, err)
	}
	if _, err := timer.Lookup(ctx, pool, "theirs", "1"); err != nil {
		t.Errorf("a timer of a kind without a handler was touched: %v", err)
	}
}

func TestScheduleRejectsBadInput(t *testing.T) {
	t.Parallel()
	pool := setup(t)()
	tests := []struct {
		name, kind string
		due        time.Time
	}{
		{"empty kind", "", t0},
		{"zero due time", "warn", time.Time{}},
	}
	for _, tt := range tests {
		err := pgdb.InTx(context.Background(), pool, func(tx pgx.Tx) error {
			return timer.Schedule(context.Background(), tx, tt.kind, "k", tt.due, nil)
		})
		if err == nil {
			t.Errorf("%s: Schedule succeeded, want an error", tt.name)
		}
	}
}
