package idempotency

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The protocol's statements, sent one by one (Begin, Save) or queued on a
// batch (QueueBegin, QueueSave).
const (
	// Advisory locks are database-wide and services share a database: the
	// schema keeps their keys apart. A hash collision only makes two
	// unrelated requests wait for each other.
	lockSQL = `SELECT pg_advisory_xact_lock(hashtext('gridflow-idempotency'),
		hashtext(current_schema() || '/' || $1 || '/' || $2))`
	lookupSQL = `SELECT method, request_hash, resource, result FROM idempotency_requests
		WHERE principal = $1 AND request_id = $2`
	saveSQL = `INSERT INTO idempotency_requests (principal, request_id, method, request_hash, resource, result)
		VALUES ($1, $2, $3, $4, $5, $6)`
)

// QueueBegin is Begin for a store that sends its transaction's statements
// in batches (issue 17: a department's sign-for spent two round trips on
// Begin alone): it queues Begin's lock and its look-up on b, and prior,
// called once b has been sent without error, answers what Begin would have.
// The look-up runs after the lock as a statement of its own, so it sees
// what a twin committed meanwhile, as Begin's does; b must be the first
// thing the transaction sends, so that the lock is taken before any other.
// A bad request id is INVALID_ARGUMENT at once, before anything is queued.
func QueueBegin(b *pgx.Batch, req Request) (prior func() (*Result, error), err error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	b.Queue(lockSQL, req.Principal, req.ID)
	var (
		found bool
		first = Request{Principal: req.Principal, ID: req.ID}
		res   Result
	)
	b.Queue(lookupSQL, req.Principal, req.ID).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&first.Method, &first.Hash, &res.Resource, &res.Body)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("idempotency: look up request %s: %w", req.ID, err)
		}
		found = true
		return nil
	})
	return func() (*Result, error) {
		if !found {
			return nil, nil
		}
		if err := Check(first, req, res.Resource); err != nil {
			return nil, err
		}
		return &res, nil
	}, nil
}

// QueueSave is Save queued on b, sent with the transaction's last writes.
func QueueSave(b *pgx.Batch, req Request, res Result) error {
	if err := req.check(); err != nil {
		return err
	}
	if res.Resource == "" || res.Body == nil {
		return fmt.Errorf("idempotency: request %s of %s saved without a resource or body", req.ID, req.Method)
	}
	b.Queue(saveSQL, req.Principal, req.ID, req.Method, req.Hash, res.Resource, res.Body)
	return nil
}
