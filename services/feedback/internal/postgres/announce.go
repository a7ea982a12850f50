package postgres

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Announcer sends the NOTIFY that wakes watchers of the log
// (EventsChannelSQL) after the consumer's transactions commit, instead of
// in them (issue 17). PostgreSQL serialises the commits of transactions
// that NOTIFY on one lock held until their commit is flushed: measured on
// this host with pgbench, 8 clients each inserting a row, 6,689 and 2,897
// commits/s without a NOTIFY, 905 and 1,118 with one — and every feedback
// batch (and every timer any service sets, pkg/timer) queued there behind
// the others. The consumer's commits now only kick the Announcer, whose
// one goroutine sends a NOTIFY of its own (not waiting for its flush: a
// lost wake-up costs a watcher its poll, FEEDBACK_WATCH_POLL) for every
// run of commits. A watcher is woken after the events are visible, as
// before. The API's transactions are announced too (Store.WithAnnouncer);
// the timer worker's, few, still notify in themselves (SaveBatch of a
// transaction bound with Bind), and so does pkg/timer when a transaction
// sets a timer.
type Announcer struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	kick chan struct{}
}

// NewAnnouncer returns an announcer; Run sends its notifications.
func NewAnnouncer(pool *pgxpool.Pool, log *slog.Logger) *Announcer {
	if log == nil {
		log = slog.Default()
	}
	return &Announcer{pool: pool, log: log, kick: make(chan struct{}, 1)}
}

// Committed asks for a NOTIFY; kicks while one is on its way are one. It
// never blocks (consumer.Config.Committed).
func (a *Announcer) Committed() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// Run sends a NOTIFY for each run of kicks until ctx ends.
func (a *Announcer) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.kick:
		}
		if err := a.notify(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "feedback: announcing new events failed; watchers poll", "err", err)
		}
	}
}

// notify is one statement, its own transaction: set_config's local
// setting lasts to that transaction's commit, which then does not wait.
func (a *Announcer) notify(ctx context.Context) error {
	_, err := a.pool.Exec(ctx, `SELECT set_config('synchronous_commit', 'off', true), pg_notify(`+EventsChannelSQL+`, '')`)
	return err
}
