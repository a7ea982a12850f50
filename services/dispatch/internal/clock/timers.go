package clock

import (
	"context"
	"time"

	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/jackc/pgx/v5"
)

// Updater applies a domain operation to a case inside a timer's
// transaction.
type Updater interface {
	UpdateTx(ctx context.Context, tx pgx.Tx, caseID string, create bool, now time.Time, op func(*dispatch.Case) (*dispatch.Commit, error)) error
}

// Handlers are the handlers of dispatch's timer kinds, for pkg/timer's
// worker: a task's clock point fires (warning, overdue, the escalation
// ladder), or a classification stops waiting for its case.received. A
// timer's payload is the id of the case it belongs to (the await timer's
// key is the case id). env builds an operation environment at the
// service's clock.
func Handlers(store Updater, env func(actor string) *dispatch.Env) map[string]timer.Handler {
	return map[string]timer.Handler{
		dispatch.TimerTaskClock: func(ctx context.Context, tx pgx.Tx, t timer.Timer) error {
			e := env(dispatch.SystemActor)
			return store.UpdateTx(ctx, tx, string(t.Payload), false, e.Now, func(c *dispatch.Case) (*dispatch.Commit, error) {
				c.FireClock(e, t.Key)
				return e.Commit(c)
			})
		},
		dispatch.TimerAwaitFacts: func(ctx context.Context, tx pgx.Tx, t timer.Timer) error {
			e := env(dispatch.SystemActor)
			return store.UpdateTx(ctx, tx, t.Key, false, e.Now, func(c *dispatch.Case) (*dispatch.Commit, error) {
				c.AwaitedTooLong(e)
				return e.Commit(c)
			})
		},
	}
}
