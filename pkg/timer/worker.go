package timer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/gridflow/gridflow/pkg/pause"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Options tune a worker; zero values take the defaults noted.
type Options struct {
	// BatchSize is how many due timers one transaction claims (default 100).
	BatchSize int
	// Concurrency is how many batches may be in flight at once (default 4).
	// The pool should allow Concurrency+1 connections; the LISTEN
	// connection is separate.
	Concurrency int
	// PollInterval caps every sleep, so timers scheduled without a
	// notification (due beyond NotifyHorizon, by COPY, by hand) are still
	// found (default 1s, NotifyHorizon: keep it at most that in services).
	PollInterval time.Duration
	// RetryDelay and MaxRetryDelay space out retries of a failing timer:
	// after its n-th failure it is due again RetryDelay·2^(n-1) later,
	// capped (defaults 1s, 10m). A timer is never given up on.
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// HandlerTimeout bounds one handler call (default 30s).
	HandlerTimeout time.Duration
	// DrainTimeout bounds the batches still running after ctx ends
	// (default 10s); an unfinished batch rolls back and fires later.
	DrainTimeout time.Duration
	// Clock decides what is due (default SystemClock).
	Clock Clock
	// Scope, when set, wraps each batch's transaction and each timer's
	// savepoint, as consumer.Config.Scope does: the outbox relay's Scope,
	// so that the events handlers enqueue leave as soon as the batch
	// commits.
	Scope func(ctx context.Context) (context.Context, func(committed bool))
}

// Worker fires due timers of the kinds it has handlers for.
type Worker struct {
	pool     *pgxpool.Pool
	handlers map[string]Handler
	kinds    []string
	opts     Options
	log      *slog.Logger

	// wake is closed (and replaced) by Notify: a broadcast to the scheduler.
	mu   sync.Mutex
	wake chan struct{}
	// tokens asks idle firers for one more batch each.
	tokens chan struct{}

	fired    metric.Int64Counter
	failures metric.Int64Counter
	lag      metric.Float64Histogram
}

// minSleep is the shortest wait before looking again when the next timer is
// in the future: a few milliseconds of lag buy batches of several timers
// under a steady stream instead of one transaction per timer.
const minSleep = 10 * time.Millisecond

// lockedRetry is the wait when due timers exist but none could be claimed:
// other workers hold them, and will be done soon.
const lockedRetry = 50 * time.Millisecond

// NewWorker returns a worker for the timers table in pool's schema, firing
// the kinds in handlers; timers of other kinds are left to other workers.
func NewWorker(pool *pgxpool.Pool, handlers map[string]Handler, opts Options, log *slog.Logger) *Worker {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Second
	}
	if opts.MaxRetryDelay <= 0 {
		opts.MaxRetryDelay = 10 * time.Minute
	}
	if opts.HandlerTimeout <= 0 {
		opts.HandlerTimeout = 30 * time.Second
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 10 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if log == nil {
		log = slog.Default()
	}
	meter := otel.Meter("github.com/gridflow/gridflow/pkg/timer")
	fired, _ := meter.Int64Counter("gridflow_timer_fired_total", metric.WithDescription("timers fired and committed"))
	failures, _ := meter.Int64Counter("gridflow_timer_failures_total", metric.WithDescription("timer handler failures (each retried later)"))
	lag, _ := meter.Float64Histogram("gridflow_timer_fire_lag_seconds", metric.WithUnit("s"),
		metric.WithDescription("how late a timer fired, by the worker's clock"),
		metric.WithExplicitBucketBoundaries(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))
	return &Worker{
		pool: pool, handlers: maps.Clone(handlers), kinds: slices.Sorted(maps.Keys(handlers)), opts: opts,
		log: log, wake: make(chan struct{}), tokens: make(chan struct{}, opts.Concurrency),
		fired: fired, failures: failures, lag: lag,
	}
}

// Notify wakes the worker to look for due timers now; it never blocks. Call
// it after committing a timer due soon, or after moving a test clock (a
// ManualClock does so itself).
func (w *Worker) Notify() {
	w.mu.Lock()
	close(w.wake)
	w.wake = make(chan struct{})
	w.mu.Unlock()
}

func (w *Worker) wakeChan() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.wake
}

// offer asks one idle firer for a batch; if all are busy or already asked,
// there is nothing to do.
func (w *Worker) offer() {
	select {
	case w.tokens <- struct{}{}:
	default:
	}
}

// Run fires timers until ctx ends, then lets running batches finish (within
// DrainTimeout) and returns nil.
//
// One scheduler loop sleeps until the next due time (capped by
// PollInterval), a Notify, or a PostgreSQL notification from Schedule in any
// replica; it then hands a token to one of Concurrency firers. A firer that
// claims a full batch hands a token on, so concurrency grows with the
// backlog (a burst) and stays at one transaction for a trickle.
func (w *Worker) Run(ctx context.Context) error {
	if len(w.kinds) == 0 {
		return errors.New("timer: worker has no handlers")
	}
	if c, ok := w.opts.Clock.(*ManualClock); ok {
		defer c.subscribe(w)()
	}
	// Batches in flight finish with a context that outlives ctx by at most
	// DrainTimeout: a shutdown should not roll back work nearly done.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(w.opts.DrainTimeout, cancelWork) })
	defer stop()

	var wg sync.WaitGroup
	// A connection of its own LISTENs on the schema's channel: a timer
	// scheduled by any replica is seen at once rather than at the next poll.
	wg.Go(func() { pgdb.Listen(ctx, w.pool, channelSQL, w.log, w.Notify) })
	for range w.opts.Concurrency {
		wg.Go(func() { w.firer(ctx, work) })
	}
	w.schedule(ctx)
	wg.Wait()
	return nil
}

func (w *Worker) schedule(ctx context.Context) {
	for {
		wake := w.wakeChan() // before looking, so a Notify during the look is not lost
		wait := w.opts.PollInterval
		next, err := w.nextDue(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			w.log.WarnContext(ctx, "timer: reading next due time failed", "err", err)
		case next.IsZero():
			// nothing pending: wait for a notification or the poll
		default:
			until := next.Sub(w.opts.Clock.Now())
			if until <= 0 {
				w.offer()
				wait = lockedRetry // a firer's Notify usually comes first
			} else {
				wait = min(max(until, minSleep), w.opts.PollInterval)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (w *Worker) firer(ctx, work context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.tokens:
		}
		for ctx.Err() == nil {
			n, err := w.fireBatch(work)
			if err != nil {
				w.log.WarnContext(ctx, "timer: firing a batch failed; it will be retried", "err", err)
				pause.For(ctx, lockedRetry)
				break
			}
			if n < w.opts.BatchSize {
				if n > 0 {
					w.Notify() // the scheduler should look at the next due time now
				}
				break
			}
			w.offer() // a full batch: more may be due, let an idle peer help
		}
	}
}

// RunOnce fires every timer due by the worker's clock, batch after batch,
// and returns how many fired. It is Run without the waiting, for tests and
// tools; timers claimed by other workers meanwhile are skipped.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := w.fireBatch(ctx)
		total += n
		if err != nil || n < w.opts.BatchSize {
			return total, err
		}
	}
}

func (w *Worker) nextDue(ctx context.Context) (time.Time, error) {
	var next *time.Time
	err := w.pool.QueryRow(ctx, `SELECT min(due_at) FROM timers WHERE kind = ANY($1)`, w.kinds).Scan(&next)
	if err != nil || next == nil {
		return time.Time{}, err
	}
	return *next, nil
}

type failure struct {
	t   Timer
	err error
}

// fireBatch claims up to BatchSize due timers and fires them in one
// transaction, each handler under its own savepoint so one failure does not
// undo the others. It returns how many rows it claimed (fired or failed),
// which tells the caller whether more may be waiting.
func (w *Worker) fireBatch(ctx context.Context) (int, error) {
	now := w.opts.Clock.Now()
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	ctx, end := w.scope(ctx)
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
		end(committed)
	}()

	rows, err := tx.Query(ctx, `SELECT `+columns+` FROM timers WHERE due_at <= $1 AND kind = ANY($2)
		ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED`, now, w.kinds, w.opts.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("claim: %w", err)
	}
	batch, err := pgx.CollectRows(rows, scanTimer)
	if err != nil {
		return 0, fmt.Errorf("claim: %w", err)
	}
	if len(batch) == 0 {
		return 0, nil
	}

	fired := make([]Timer, 0, len(batch))
	var failed []failure
	for _, t := range batch {
		err := w.fire(ctx, tx, t)
		if err == nil {
			fired = append(fired, t)
			continue
		}
		if errors.Is(err, errTxBroken) {
			// The transaction is gone with everything fired so far; only
			// the timer that broke it is charged a failure, after the
			// rollback has released its row.
			_ = tx.Rollback(context.WithoutCancel(ctx))
			w.recordFailures(context.WithoutCancel(ctx), []failure{{t, err}})
			return len(batch), nil
		}
		failed = append(failed, failure{t, err})
	}

	if len(fired) > 0 {
		ids := make([]int64, len(fired))
		for i, t := range fired {
			ids[i] = t.ID
		}
		if _, err := tx.Exec(ctx, `DELETE FROM timers WHERE id = ANY($1)`, ids); err != nil {
			return 0, fmt.Errorf("delete fired timers: %w", err)
		}
	}
	// The failures are recorded in this transaction: their rows are locked
	// by it, and their handlers' effects were already undone by savepoint.
	if err := w.updateFailures(ctx, tx, failed); err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit fired timers: %w", err)
	}
	committed = true
	done := w.opts.Clock.Now()
	for _, t := range fired {
		attrs := metric.WithAttributes(attribute.String("kind", t.Kind))
		w.fired.Add(ctx, 1, attrs)
		w.lag.Record(ctx, done.Sub(t.DueAt).Seconds(), attrs)
	}
	w.logFailures(ctx, failed)
	return len(batch), nil
}

// scope begins Options.Scope's collection, if any.
func (w *Worker) scope(ctx context.Context) (context.Context, func(bool)) {
	if w.opts.Scope == nil {
		return ctx, func(bool) {}
	}
	return w.opts.Scope(ctx)
}

var errTxBroken = errors.New("transaction unusable after handler failure")

// fire runs one handler under a savepoint. A handler error rolls back to the
// savepoint; if even that fails (the connection died, the context ended) the
// whole transaction is lost, reported as errTxBroken.
func (w *Worker) fire(ctx context.Context, tx pgx.Tx, t Timer) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%w: savepoint: %w", errTxBroken, err)
	}
	sctx, end := w.scope(ctx)
	hctx, cancel := context.WithTimeout(sctx, w.opts.HandlerTimeout)
	err = w.call(hctx, sp, t)
	cancel()
	if err == nil {
		if err = sp.Commit(ctx); err == nil {
			end(true)
			return nil
		}
	}
	end(false)
	if rbErr := sp.Rollback(ctx); rbErr != nil {
		return fmt.Errorf("%w: %w (rollback: %w)", errTxBroken, err, rbErr)
	}
	return err
}

// call turns a handler panic into an ordinary failure, retried later like
// any other: one bad timer must not stop the rest.
func (w *Worker) call(ctx context.Context, tx pgx.Tx, t Timer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return w.handlers[t.Kind](ctx, tx, t)
}

func (w *Worker) retryAt(t Timer) time.Time {
	d := w.opts.RetryDelay
	for i := 0; i < t.Attempts && d < w.opts.MaxRetryDelay; i++ {
		d *= 2
	}
	return w.opts.Clock.Now().Add(min(d, w.opts.MaxRetryDelay))
}

// updateFailures charges each failed timer an attempt and pushes it back.
// WHERE id matches only the schedule that failed: a reschedule made
// meanwhile has a new id and its own fresh count.
func (w *Worker) updateFailures(ctx context.Context, tx pgx.Tx, failed []failure) error {
	if len(failed) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, f := range failed {
		b.Queue(`UPDATE timers SET attempts = attempts + 1, last_error = $2, due_at = $3 WHERE id = $1`,
			f.t.ID, truncate(f.err.Error(), 2000), w.retryAt(f.t).UTC())
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record timer failures: %w", err)
	}
	return nil
}

// recordFailures charges failures in a small transaction of their own.
func (w *Worker) recordFailures(ctx context.Context, failed []failure) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tx, err := w.pool.Begin(ctx)
	if err == nil {
		err = w.updateFailures(ctx, tx, failed)
		if err == nil {
			err = tx.Commit(ctx)
		} else {
			_ = tx.Rollback(ctx)
		}
	}
	if err != nil {
		w.log.ErrorContext(ctx, "timer: recording a failure failed; the timer fires again at once", "err", err)
	}
	w.logFailures(ctx, failed)
}

func (w *Worker) logFailures(ctx context.Context, failed []failure) {
	for _, f := range failed {
		w.failures.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", f.t.Kind)))
		w.log.WarnContext(ctx, "timer: handler failed; will retry", "kind", f.t.Kind, "key", f.t.Key,
			"attempt", f.t.Attempts+1, "retry_at", w.retryAt(f.t), "err", f.err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n]
}
