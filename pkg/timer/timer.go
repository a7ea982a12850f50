// Package timer gives services durable timers: PostgreSQL rows in the
// service's own schema, claimed by workers with FOR UPDATE SKIP LOCKED, so
// replicas share them and a restart loses none (DESIGN.md).
//
// A timer is named by (kind, key) — e.g. ("task.warn", task id) — and carries
// a payload. Schedule and Cancel take the caller's transaction, so a timer is
// set or cleared together with the state change that calls for it. A Worker
// fires a due timer by calling the kind's Handler in the transaction that
// deletes the row: the handler's effects (usually a state change plus an
// outbox event) and the deletion commit together, so a timer fires once, and
// a failed handler leaves no trace except the retry bookkeeping.
//
// "Due" is decided by the worker's Clock, passed to every query, never by
// SQL now(): tests move a ManualClock and watch timers fire.
package timer

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations creates the timers table in a service's schema.
var Migrations = pgdb.Migrations{Name: "timer", FS: migrationsFS, Dir: "migrations"}

// Timer is one pending timer as its handler sees it.
type Timer struct {
	ID        int64 // changes on every (re)schedule
	Kind      string
	Key       string
	DueAt     time.Time
	Payload   []byte
	Attempts  int    // failed firings so far
	LastError string // the last failure, "" if none
	CreatedAt time.Time
}

// Handler fires t inside tx, the transaction that deletes t's row. Returning
// an error rolls back what the handler did and keeps the timer: it is
// retried later with a growing delay. A handler may Schedule the same kind
// and key again (a repeating timer); the new schedule survives the firing.
type Handler func(ctx context.Context, tx pgx.Tx, t Timer) error

// The notification channel is per schema, computed the same way by Schedule
// (in SQL) and the worker's listener, so only that service's workers wake.
const channelSQL = `left('gridflow_timers_' || current_schema(), 63)`

// NotifyHorizon is how soon a timer must be due for Schedule and Queue to
// wake the workers: a later one is found by the workers' own poll, which
// looks at least every PollInterval (default, and this horizon, 1s). The
// notification is not free: PostgreSQL serialises the commits of notifying
// transactions on one cluster-wide lock held until each is flushed (issue
// 17 measured 6,689 commits/s without a NOTIFY against 905 with one), and a
// task's SLA timers, due hours ahead, were set in every dispatch
// transaction. A worker configured to poll less often than this sees timers
// due beyond the horizon at its poll.
const NotifyHorizon = time.Second

// soonSQL is true for a due_at within NotifyHorizon of the statement's own
// clock (clock_timestamp, not the transaction's start); a test's ManualClock
// in the past makes every timer soon, as before.
const soonSQL = `due_at < clock_timestamp() + interval '1 second'`

// Schedule sets the timer (kind, key) to fire at dueAt, replacing any pending
// timer with the same kind and key (a moved deadline): its due time and
// payload change, and its failed attempts are forgotten. A timer due within
// NotifyHorizon wakes the workers listening on the schema's channel when tx
// commits; a later one is found by their poll.
func Schedule(ctx context.Context, tx pgx.Tx, kind, key string, dueAt time.Time, payload []byte) error {
	if kind == "" {
		return errors.New("timer: schedule: empty kind")
	}
	if dueAt.IsZero() {
		return fmt.Errorf("timer: schedule %s/%s: zero due time", kind, key)
	}
	if payload == nil {
		payload = []byte{}
	}
	_, err := tx.Exec(ctx, `
		WITH up AS (
			INSERT INTO timers (kind, key, due_at, payload) VALUES ($1, $2, $3, $4)
			ON CONFLICT (kind, key) DO UPDATE
				SET id = DEFAULT, due_at = EXCLUDED.due_at, payload = EXCLUDED.payload,
				    attempts = 0, last_error = NULL
			RETURNING due_at)
		SELECT pg_notify(`+channelSQL+`, '') FROM up WHERE `+soonSQL, kind, key, dueAt.UTC(), payload)
	if err != nil {
		return fmt.Errorf("timer: schedule %s/%s: %w", kind, key, pgdb.Translate(err))
	}
	return nil
}

// Cancel removes the timer (kind, key) if it is pending; cancelling an absent
// timer is not an error. A timer being fired right now is waited for: Cancel
// then finds it gone (it fired) or still there (its handler failed) and
// removes it.
func Cancel(ctx context.Context, tx pgx.Tx, kind, key string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM timers WHERE kind = $1 AND key = $2`, kind, key); err != nil {
		return fmt.Errorf("timer: cancel %s/%s: %w", kind, key, pgdb.Translate(err))
	}
	return nil
}

// Querier is a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const columns = `id, kind, key, due_at, payload, attempts, coalesce(last_error, ''), created_at`

func scanTimer(row pgx.CollectableRow) (Timer, error) {
	var t Timer
	err := row.Scan(&t.ID, &t.Kind, &t.Key, &t.DueAt, &t.Payload, &t.Attempts, &t.LastError, &t.CreatedAt)
	return t, err
}

// Lookup returns the pending timer (kind, key), or an error wrapping
// pgdb.ErrNotFound if there is none.
func Lookup(ctx context.Context, db Querier, kind, key string) (Timer, error) {
	rows, err := db.Query(ctx, `SELECT `+columns+` FROM timers WHERE kind = $1 AND key = $2`, kind, key)
	if err != nil {
		return Timer{}, fmt.Errorf("timer: lookup %s/%s: %w", kind, key, err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanTimer)
	if err != nil {
		return Timer{}, fmt.Errorf("timer: lookup %s/%s: %w", kind, key, pgdb.Translate(err))
	}
	return t, nil
}
