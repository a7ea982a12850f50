// Package idempotency makes gridflow's write RPCs idempotent, in one table
// and one protocol for every service that owns write requests (DESIGN.md,
// "Conventions across services"): every write carries a client request id
// (at most 64 bytes) scoped to the calling principal; the same id with the
// same method and content gets the first result; the same id with other
// content, or for another method, is ALREADY_EXISTS naming what the first
// request made.
//
// The protocol runs inside the caller's transaction, the one that makes the
// request's change:
//
//	prior, err := idempotency.Begin(ctx, tx, req)  // first thing the transaction locks
//	if err != nil { return err }                    // ALREADY_EXISTS, or a bad request id
//	if prior != nil { return decode(prior.Body) }   // a repeat: answer as the first time
//	... make the change, compute the result ...
//	return idempotency.Save(ctx, tx, req, idempotency.Result{Resource: "tasks/" + id, Body: encode(res)})
//
// Concurrent first requests with one id cannot both apply: Begin takes a
// transaction-scoped lock on the key before it looks, so a twin waits until
// the first transaction ends and then sees its committed result (a repeat)
// or, if it rolled back, finds nothing and proceeds as the first. No caller
// sees a unique violation; one in Save means a row was written around Begin
// and is reported as an internal error. Begin must come before the
// transaction takes any other lock, so every caller locks in the same order
// and twins wait before doing any work; the transaction must be READ
// COMMITTED (the default), where each statement sees what committed before
// it.
//
// A result is what the service answered, encoded by the service as it
// documents (a proto message marshalled, or JSON with explicit tags); the
// package stores and returns the bytes. Rows are kept for a retention
// (DefaultRetention) and pruned by Prune or a Pruner; an id reused after
// that is a new request.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/pause"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/requestid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations creates the idempotency_requests table in a service's schema.
var Migrations = pgdb.Migrations{Name: "idempotency", FS: migrationsFS, Dir: "migrations"}

// DefaultRetention is how long requests are kept when a Pruner is given
// none: far beyond any client's retries.
const DefaultRetention = 30 * 24 * time.Hour

// Request is one write request as the protocol sees it.
type Request struct {
	Principal string // the caller, auth.Principal.String()
	ID        string // the client's request id
	Method    string // the RPC, e.g. "AcknowledgeTask"
	Hash      []byte // SHA-256 of Method and the content (NewRequest)
}

// NewRequest fingerprints content, the request's fields as plain data, for
// method: SHA-256 over the method, a NUL and content's JSON. Two requests
// are the same when their methods and content JSON are equal.
func NewRequest(principal, id, method string, content any) (Request, error) {
	b, err := json.Marshal(content)
	if err != nil {
		return Request{}, fmt.Errorf("idempotency: fingerprint %s: %w", method, err)
	}
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write(b)
	return Request{Principal: principal, ID: id, Method: method, Hash: h.Sum(nil)}, nil
}

// Result is what the first request answered.
type Result struct {
	// Resource names what the request made or changed ("tasks/<id>",
	// "cases/<id>/classifications/3"); ALREADY_EXISTS names it.
	Resource string
	// Body is the answer, encoded by the service.
	Body []byte
}

// MaxIDBytes bounds a client request id (pkg/requestid).
const MaxIDBytes = requestid.MaxBytes

func (r Request) check() error {
	if r.Principal == "" || r.Method == "" || len(r.Hash) == 0 {
		return fmt.Errorf("idempotency: request %q lacks a principal, method or hash (use NewRequest)", r.ID)
	}
	var vs fault.Violations
	requestid.Check(r.ID, &vs)
	return vs.Err()
}

// Check tells whether req repeats first, the request stored under the same
// key: nil when it does (same method, same content), ALREADY_EXISTS naming
// resource when it does not.
func Check(first, req Request, resource string) error {
	switch {
	case first.Method != req.Method:
		return fault.AlreadyExistsf(resource, "request id %q was already used for %s (%s)", req.ID, first.Method, resource)
	case !bytes.Equal(first.Hash, req.Hash):
		return fault.AlreadyExistsf(resource, "request id %q was already used for %s with other content (%s)", req.ID, first.Method, resource)
	}
	return nil
}

// Begin starts req in tx. It returns nil when req is the first request with
// its key: the caller makes its change and calls Save before tx commits,
// and a twin waits for tx to end. It returns the first result when req
// repeats a committed request, and ALREADY_EXISTS (naming the first
// request's resource) when the key was used for other content or another
// method. A bad request id is INVALID_ARGUMENT.
func Begin(ctx context.Context, tx pgx.Tx, req Request) (*Result, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, lockSQL, req.Principal, req.ID); err != nil {
		return nil, fmt.Errorf("idempotency: lock request %s: %w", req.ID, pgdb.Translate(err))
	}
	// A statement after the lock: it sees what a twin committed meanwhile.
	first := Request{Principal: req.Principal, ID: req.ID}
	var res Result
	err := tx.QueryRow(ctx, lookupSQL, req.Principal, req.ID).Scan(&first.Method, &first.Hash, &res.Resource, &res.Body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("idempotency: look up request %s: %w", req.ID, pgdb.Translate(err))
	}
	if err := Check(first, req, res.Resource); err != nil {
		return nil, err
	}
	return &res, nil
}

// Save records res as the answer to req, a first request Begin returned nil
// for in the same transaction.
func Save(ctx context.Context, tx pgx.Tx, req Request, res Result) error {
	if err := req.check(); err != nil {
		return err
	}
	if res.Resource == "" || res.Body == nil {
		return fmt.Errorf("idempotency: request %s of %s saved without a resource or body", req.ID, req.Method)
	}
	_, err := tx.Exec(ctx, saveSQL, req.Principal, req.ID, req.Method, req.Hash, res.Resource, res.Body)
	if err := pgdb.Translate(err); err != nil {
		if errors.Is(err, pgdb.ErrUniqueViolation) {
			return fmt.Errorf("idempotency: request %s of %s was recorded around Begin's lock: %w", req.ID, req.Method, err)
		}
		return fmt.Errorf("idempotency: save request %s: %w", req.ID, err)
	}
	return nil
}

// Prune deletes the requests recorded before cutoff, in batches that keep
// locks short, and returns how many it deleted.
func Prune(ctx context.Context, pool *pgxpool.Pool, cutoff time.Time) (int64, error) {
	const batch = 5000
	var total int64
	for {
		tag, err := pool.Exec(ctx, `DELETE FROM idempotency_requests WHERE (principal, request_id) IN (
			SELECT principal, request_id FROM idempotency_requests WHERE created_at < $1 LIMIT $2)`, cutoff, batch)
		if err != nil {
			return total, fmt.Errorf("idempotency: prune: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < batch {
			return total, nil
		}
	}
}

// Pruner prunes a service's requests about hourly. Every replica may run
// one: the deletes are idempotent.
type Pruner struct {
	Pool *pgxpool.Pool
	// Retention is how long a request is kept (DefaultRetention when zero).
	Retention time.Duration
	Log       *slog.Logger
	// Every is the pause between rounds (an hour, jittered, when zero).
	Every time.Duration
}

// Run prunes until ctx ends, then returns nil.
func (p Pruner) Run(ctx context.Context) error {
	retention, every, log := p.Retention, p.Every, p.Log
	if retention <= 0 {
		retention = DefaultRetention
	}
	if every <= 0 {
		every = time.Hour
	}
	if log == nil {
		log = slog.Default()
	}
	for {
		n, err := Prune(ctx, p.Pool, time.Now().Add(-retention))
		if err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "idempotency: pruning requests failed", "err", err)
		} else if n > 0 {
			log.InfoContext(ctx, "idempotency: pruned requests", "rows", n, "retention", retention)
		}
		// Jitter keeps replicas that started together apart.
		if !pause.For(ctx, every+time.Duration(rand.Int64N(int64(every)/6+1))) {
			return nil
		}
	}
}
