package postgres

import (
	"bytes"
	"context"
	"fmt"

	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/jackc/pgx/v5"
)

// A caller's request on one case (a callback, a re-check, a self-disposal
// check) in two round trips (issue 17: a callback took ten, the most any
// request of the loop took, and the hotline makes one for most orders):
//
//  1. BEGIN, the request's lock and look-up, the case's lock, its view and
//     the cases merged into it — what the command reads first, sent before
//     it asks (prefetch);
//  2. the log's new rows, the views, the outbox's messages, the request's
//     outcome and COMMIT — the writes, held until the command ends (pgdb.Lazy).
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
	tx, err := pgdb.BeginLazy(ctx, s.pool, pgx.TxOptions{})
	if err != nil {
		return err
	}
	// Whatever did not reach its COMMIT is rolled back (after a Commit this
	// does nothing).
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	// The request is begun before the case is locked, as BeginRequest
	// is: a twin waits at the request's lock and then finds its outcome.
	prior, err := idempotency.QueueBegin(tx.Held(), key)
	if err != nil {
		return err
	}
	pre := &prefetch{caseID: caseID, key: key, prior: prior}
	t := &txn{tx: tx, pre: pre, scoped: ctx, quiet: s.announcer != nil}
	tx.Hold(lockCaseSQL, caseID)
	loaded := t.queueLoadViews(tx.Held(), []string{caseID}, nil)
	tx.Hold(dependentsSQL, caseID).Query(func(rows pgx.Rows) error {
		deps, err := pgx.CollectRows(rows, pgx.RowTo[string])
		pre.deps = deps
		return err
	})
	if err := tx.Flush(ctx); err != nil {
		return fmt.Errorf("begin request %s and lock case %s: %w", req.ID, caseID, err)
	}
	pre.views, _ = loaded()

	if err := fn(t); err != nil {
		return err
	}
	// A held write that failed made PostgreSQL skip the rest, COMMIT
	// included.
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("save case %s: %w", caseID, err)
	}
	committed = true
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
	if h := t.holder(); t.pre == nil || h == nil || h.Held().Len() > 0 {
		return nil
	}
	return t.pre
}
