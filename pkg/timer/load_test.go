package timer_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/jackc/pgx/v5"
)

// TestTimerLoad measures the worker against DESIGN.md's targets: with a
// million pending timers, due ones fire within 2 s at 1,000 firings/s, and a
// burst of 20,000 due at one instant all fire within 30 s, none twice.
//
// It is a measurement, not a timed test: it reports the figures and fails
// only if a timer fired twice or not at all. It takes a few minutes and a
// database with room for a million rows, so it runs only on request:
//
//	GRIDFLOW_TIMER_LOAD=1 go test -run TestTimerLoad -v -timeout 30m ./timer/
//
// GRIDFLOW_TIMER_LOAD_CONCURRENCY and GRIDFLOW_TIMER_LOAD_BATCH override the
// worker's Concurrency and BatchSize.
func TestTimerLoad(t *testing.T) {
	if os.Getenv("GRIDFLOW_TIMER_LOAD") != "1" {
		t.Skip("set GRIDFLOW_TIMER_LOAD=1 to run the timer load measurement")
	}
	const (
		total     = 1_000_000
		steadyN   = 60_000 // due at 1,000/s for a minute …
		burstN    = 20_000 // … and this many at one instant, 20 s in
		burstAt   = 20 * time.Second
		farFuture = total - steadyN - burstN
	)
	opts := timer.Options{}
	if v, err := strconv.Atoi(os.Getenv("GRIDFLOW_TIMER_LOAD_CONCURRENCY")); err == nil {
		opts.Concurrency = v
	}
	if v, err := strconv.Atoi(os.Getenv("GRIDFLOW_TIMER_LOAD_BATCH")); err == nil {
		opts.BatchSize = v
	}

	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testenv.DatabaseURL(t), schema, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, schema, timer.Migrations); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE fired (key text NOT NULL, due_at timestamptz NOT NULL, fired_at timestamptz NOT NULL)`); err != nil {
		t.Fatal(err)
	}

	copyRows := func(n int, row func(i int) (string, time.Time)) {
		t.Helper()
		i := 0
		_, err := pool.CopyFrom(ctx, pgx.Identifier{"timers"}, []string{"kind", "key", "due_at", "payload"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i == n {
					return nil, nil
				}
				key, due := row(i)
				i++
				return []any{"load", key, due, []byte("{}")}, nil
			}))
		if err != nil {
			t.Fatal(err)
		}
	}

	began := time.Now()
	// The million pending: due over the next month, never during the run.
	copyRows(farFuture, func(i int) (string, time.Time) {
		return "far-" + strconv.Itoa(i), began.Add(24*time.Hour + time.Duration(i)*2*time.Second)
	})
	t0 := time.Now().Add(5 * time.Second).Truncate(time.Millisecond)
	copyRows(steadyN, func(i int) (string, time.Time) {
		return "s-" + strconv.Itoa(i), t0.Add(time.Duration(i) * time.Millisecond)
	})
	copyRows(burstN, func(i int) (string, time.Time) { return "b-" + strconv.Itoa(i), t0.Add(burstAt) })
	if _, err := pool.Exec(ctx, `ANALYZE timers`); err != nil {
		t.Fatal(err)
	}
	t.Logf("inserted %d timers with COPY in %v", total, time.Since(began).Round(time.Millisecond))
	if time.Now().After(t0) {
		t.Fatalf("setup overran the start of the due stream by %v; the figures would be meaningless", time.Since(t0))
	}

	record := func(ctx context.Context, tx pgx.Tx, tm timer.Timer) error {
		_, err := tx.Exec(ctx, `INSERT INTO fired (key, due_at, fired_at) VALUES ($1, $2, clock_timestamp())`, tm.Key, tm.DueAt)
		return err
	}
	w := timer.NewWorker(pool, map[string]timer.Handler{"load": record}, opts, testLog(t))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()

	deadline := t0.Add(steadyN*time.Millisecond + 2*time.Minute)
	for {
		time.Sleep(time.Second)
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM fired`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= steadyN+burstN || time.Now().After(deadline) {
			break
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	var r struct {
		fired, distinct, pending                     int
		steadyP50, steadyP99, steadyMax              float64
		calmP50, calmP99, calmMax                    float64
		burstP50, burstP99, burstMax, burstClearSecs float64
	}
	burstDue := t0.Add(burstAt)
	err = pool.QueryRow(ctx, `
		WITH lag AS (SELECT key, due_at, extract(epoch FROM fired_at - due_at) AS s FROM fired),
		     burst_end AS (SELECT max(due_at + s * interval '1 second') AS at FROM lag WHERE key LIKE 'b-%')
		SELECT
			(SELECT count(*) FROM fired), (SELECT count(DISTINCT key) FROM fired),
			(SELECT count(*) FROM timers WHERE key NOT LIKE 'far-%'),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY s) FILTER (WHERE key LIKE 's-%'),
			percentile_cont(0.99) WITHIN GROUP (ORDER BY s) FILTER (WHERE key LIKE 's-%'),
			coalesce(max(s) FILTER (WHERE key LIKE 's-%'), 0),
			coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY s) FILTER (WHERE key LIKE 's-%' AND (due_at < $1 OR due_at > (SELECT at FROM burst_end))), 0),
			coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY s) FILTER (WHERE key LIKE 's-%' AND (due_at < $1 OR due_at > (SELECT at FROM burst_end))), 0),
			coalesce(max(s) FILTER (WHERE key LIKE 's-%' AND (due_at < $1 OR due_at > (SELECT at FROM burst_end))), 0),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY s) FILTER (WHERE key LIKE 'b-%'),
			percentile_cont(0.99) WITHIN GROUP (ORDER BY s) FILTER (WHERE key LIKE 'b-%'),
			coalesce(max(s) FILTER (WHERE key LIKE 'b-%'), 0),
			coalesce(extract(epoch FROM (SELECT at FROM burst_end) - $1), 0)
		FROM lag`, burstDue).Scan(&r.fired, &r.distinct, &r.pending,
		&r.steadyP50, &r.steadyP99, &r.steadyMax, &r.calmP50, &r.calmP99, &r.calmMax,
		&r.burstP50, &r.burstP99, &r.burstMax, &r.burstClearSecs)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("Concurrency=%d BatchSize=%d", max(opts.Concurrency, 0), max(opts.BatchSize, 0))
	t.Logf("worker options (0 = default): %s", cfg)
	t.Logf("steady stream, 1,000/s for 60 s (%d timers): fire lag p50 %.3fs  p99 %.3fs  max %.3fs",
		steadyN, r.steadyP50, r.steadyP99, r.steadyMax)
	t.Logf("  … outside the burst's window: p50 %.3fs  p99 %.3fs  max %.3fs", r.calmP50, r.calmP99, r.calmMax)
	t.Logf("burst of %d due at one instant (on top of the stream): lag p50 %.3fs  p99 %.3fs  max %.3fs; all fired %.2fs after due (%.0f firings/s)",
		burstN, r.burstP50, r.burstP99, r.burstMax, r.burstClearSecs, float64(burstN)/max(r.burstClearSecs, 0.001))
	t.Logf("fired %d rows for %d distinct timers: %d duplicates; %d due timers left unfired; %d pending timers throughout",
		r.fired, r.distinct, r.fired-r.distinct, r.pending, farFuture)
	if r.fired != r.distinct {
		t.Errorf("%d timers fired twice", r.fired-r.distinct)
	}
	if r.distinct != steadyN+burstN || r.pending != 0 {
		t.Errorf("%d of %d due timers fired, %d left", r.distinct, steadyN+burstN, r.pending)
	}
}
