package outbox

import (
	"context"
	"sync"

	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/jackc/pgx/v5"
)

// A scope collects the rows Enqueue stores through a context during one
// transaction, so that the relay publishes them from memory once that
// transaction has committed (PublishCommitted) instead of reading them back
// at its next poll. Scopes nest as savepoints do: a savepoint's rows join
// its transaction's when it is released and are forgotten when it rolls
// back, so a message whose savepoint failed never publishes an event the
// database does not hold.
type scope struct {
	mu   sync.Mutex
	rows []row
}

type scopeKey struct{}

func (s *scope) add(rows []row) {
	s.mu.Lock()
	s.rows = append(s.rows, rows...)
	s.mu.Unlock()
}

func (s *scope) take() []row {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := s.rows
	s.rows = nil
	return rows
}

func scopeOf(ctx context.Context) *scope {
	s, _ := ctx.Value(scopeKey{}).(*scope)
	return s
}

// Scope begins a transaction's (or, inside one, a savepoint's) collection
// of what Enqueue stores through the returned context. Call end once the
// transaction or savepoint is over: end(true) after a commit hands the rows
// to the fast path (a savepoint's to its transaction's scope), end(false)
// after a rollback forgets them. Rows enqueued with a context outside any
// scope are left to the poller.
//
// A nil relay collects nothing: the poller of some other process publishes
// (tests that run without a relay).
func (r *Relay) Scope(ctx context.Context) (context.Context, func(committed bool)) {
	if r == nil {
		return ctx, func(bool) {}
	}
	parent := scopeOf(ctx)
	s := &scope{}
	urgent := lane.InEmergency(ctx)
	return context.WithValue(ctx, scopeKey{}, s), func(committed bool) {
		rows := s.take()
		switch {
		case !committed || len(rows) == 0:
		case parent != nil:
			parent.add(rows)
		case urgent:
			// The emergency lane's transaction: all it wrote leaves on
			// the emergency path, its task.dispatched too (pkg/lane).
			r.publishUrgent(Stored{rows: rows})
		default:
			r.PublishCommitted(Stored{rows: rows})
		}
	}
}

// InTx runs fn in a transaction of its own on db and publishes what fn
// enqueued through its context from memory once the transaction commits:
// the one way classify, dispatch and feedback run a transaction that
// writes events. fn must enqueue with the context it is given (or one
// made with Within).
func (r *Relay) InTx(ctx context.Context, db pgdb.Beginner, fn func(ctx context.Context, tx pgx.Tx) error) error {
	ctx, end := r.Scope(ctx)
	err := pgdb.InTx(ctx, db, func(tx pgx.Tx) error { return fn(ctx, tx) })
	end(err == nil)
	return err
}

// Within returns ctx carrying the scope of scoped (a context Scope or
// InTx made), for a store whose transaction object outlives the context it
// was bound with: an Enqueue made with the result joins that transaction's
// scope. Without a scope in scoped, ctx is returned unchanged.
func Within(ctx, scoped context.Context) context.Context {
	if scoped == nil {
		return ctx
	}
	s := scopeOf(scoped)
	if s == nil || s == scopeOf(ctx) {
		return ctx
	}
	return context.WithValue(ctx, scopeKey{}, s)
}
