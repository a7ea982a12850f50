package postgres

import (
	"bytes"
	"context"
	"fmt"

	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A caller's request on one case (a callback, a re-check, a self-disposal
// check) in two round trips (issue 17: a callback took ten, the most any
// request of the loop took, and the hotline makes one for most orders):
//
//  1. BEGIN, the request's lock and look-up, the case's lock, its view and
//     the cases merged into it — what the command reads first, sent before
//     it asks (prefetch);
//  2. the log's new rows, the views, the outbox's messages, the request's
//     outcome and COMMIT — the writes, held until the command ends (heldTx).
//
// A request that stops after the first (a repeat, a refusal) rolls back in
// a third. The domain code is InTx's: it asks the same questions in the same
// order, and the store answers the first ones from what it fetched.

// Command implements feedback.Store.
func (s *Store) Command(ctx context.Context, req feedback.Request, caseID string, fn func(feedback.Tx) error) error {
	key, err := idempotency.NewRequest(req.Principal, req.ID, req.Method, req.Content)
	if err != nil {
		return err
	}
	ctx, end := s.relay.Scope(ctx)
	committed := false
	defer func() { end(committed) }()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", pgdb.Translate(err))
	}
	defer func() {
		// Whatever did not reach its COMMIT is rolled back before the
		// connection goes back to the pool.
		if pc := conn.Conn().PgConn(); !pc.IsClosed() && pc.TxStatus() != 'I' {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		conn.Release()
	}()

	// The request is begun before the case is locked, as BeginRequest
	// is: a twin waits at the request's lock and then finds its outcome.
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	prior, err := idempotency.QueueBegin(b, key)
	if err != nil {
		return err
	}
	pre := &prefetch{caseID: caseID, key: key, prior: prior}
	t := &txn{pre: pre, scoped: ctx, quiet: s.announcer != nil}
	b.Queue(lockCaseSQL, caseID)
	loaded := t.queueLoadViews(b, []string{caseID}, nil)
	b.Queue(dependentsSQL, caseID).Query(func(rows pgx.Rows) error {
		deps, err := pgx.CollectRows(rows, pgx.RowTo[string])
		pre.deps = deps
		return err
	})
	br := conn.SendBatch(ctx, b)
	tx := br.Tx()
	if err := br.Close(); err != nil {
		return fmt.Errorf("begin request %s and lock case %s: %w", req.ID, caseID, pgdb.Translate(err))
	}
	pre.views, _ = loaded()

	t.held = &heldTx{Tx: tx, b: &pgx.Batch{}}
	t.tx = t.held
	if err := fn(t); err != nil {
		return err
	}
	last := t.held.take()
	last.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error {
		committed = ct.String() == "COMMIT"
		return nil
	})
	if err := conn.SendBatch(ctx, last).Close(); err != nil {
		// A statement that failed made PostgreSQL skip the rest, COMMIT
		// included. An answer the store could not take after a COMMIT that
		// ran (none is expected) leaves the events in the outbox for the
		// relay's poll, and a retry with the request's id gets its outcome.
		return fmt.Errorf("save case %s: %w", caseID, pgdb.Translate(err))
	}
	if !committed {
		return fmt.Errorf("save case %s: the transaction did not commit", caseID)
	}
	s.committed()
	if s.announcer != nil {
		s.announcer.Committed()
	}
	return nil
}

// prefetch is what Command read before its command asked: each answer is
// given once, and none once a write is held (the command would read past
// it).
type prefetch struct {
	caseID string
	key    idempotency.Request
	prior  func() (*idempotency.Result, error)
	views  map[string]*feedback.Case // the case's stored view, as LoadViews reads it
	deps   []string                  // the cases merged into it
	// given: what the command has been answered already.
	request, view, dependents bool
}

// heldTx is a command's transaction. The writes SaveBatch and SaveRequest
// queue on b wait for the COMMIT; any other statement sends them first, so
// that nothing the command reads misses what it wrote.
type heldTx struct {
	pgx.Tx
	b *pgx.Batch
}

// take returns the held writes and holds none.
func (h *heldTx) take() *pgx.Batch {
	b := h.b
	h.b = &pgx.Batch{}
	return b
}

// flush sends the held writes.
func (h *heldTx) flush(ctx context.Context) error {
	if h.b.Len() == 0 {
		return nil
	}
	if err := h.Tx.SendBatch(ctx, h.take()).Close(); err != nil {
		return fmt.Errorf("held writes: %w", pgdb.Translate(err))
	}
	return nil
}

func (h *heldTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := h.flush(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return h.Tx.Exec(ctx, sql, args...)
}

func (h *heldTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := h.flush(ctx); err != nil {
		return nil, err
	}
	return h.Tx.Query(ctx, sql, args...)
}

func (h *heldTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := h.flush(ctx); err != nil {
		return errRow{err}
	}
	return h.Tx.QueryRow(ctx, sql, args...)
}

// SendBatch sends the held writes ahead of b's statements, in one round
// trip.
func (h *heldTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if h.b.Len() == 0 {
		return h.Tx.SendBatch(ctx, b)
	}
	all := h.take()
	all.QueuedQueries = append(all.QueuedQueries, b.QueuedQueries...)
	return h.Tx.SendBatch(ctx, all)
}

func (h *heldTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := h.flush(ctx); err != nil {
		return 0, err
	}
	return h.Tx.CopyFrom(ctx, table, columns, src)
}

func (h *heldTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := h.flush(ctx); err != nil {
		return nil, err
	}
	return h.Tx.Begin(ctx)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// prefetched answers BeginRequest from the prefetch, when it is req's.
func (t *txn) prefetchedRequest(req idempotency.Request) (*idempotency.Result, bool, error) {
	p := t.fresh()
	if p == nil || p.request || p.key.Principal != req.Principal || p.key.ID != req.ID || p.key.Method != req.Method ||
		!bytes.Equal(p.key.Hash, req.Hash) {
		return nil, false, nil
	}
	p.request = true
	res, err := p.prior()
	return res, true, err
}

// fresh is the prefetch while its answers still hold: nil once a write is
// held.
func (t *txn) fresh() *prefetch {
	if t.pre == nil || t.held == nil || t.held.b.Len() > 0 {
		return nil
	}
	return t.pre
}
