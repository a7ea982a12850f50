// Package reloadlog records every load of reference data by a running
// service — the set it starts with and each reload after (SIGHUP, or an RPC
// that asks) — in the service's own schema, and lists them back, newest
// first. Who, when, the digest before and after, and the outcome are kept, so
// that a city can tell which 责任清单 decided a case and who put it in force.
//
// Each service owns its records (its schema holds Migrations) and answers
// for them through its own API; a reload is recorded after it ran, whatever
// its outcome. A record that cannot be written is logged and does not undo
// the reload: the set in force must not depend on the database being up.
package reloadlog

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/reference"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations creates the reference_reloads table in a service's schema.
var Migrations = pgdb.Migrations{Name: "reloadlog", FS: migrationsFS, Dir: "migrations"}

// Log is one service's record of its reference-data loads.
type Log struct {
	pool     *pgxpool.Pool
	service  string
	instance string
	now      func() time.Time
}

// New returns the log of service in the pool's schema, which must hold
// Migrations.
func New(pool *pgxpool.Pool, service string) *Log {
	host, _ := os.Hostname()
	return &Log{pool: pool, service: service, instance: fmt.Sprintf("%s:%d", host, os.Getpid()), now: time.Now}
}

// Record writes one load; Service, Instance and (when zero) At are filled
// in. It returns the record as stored.
func (l *Log) Record(ctx context.Context, r reference.Reload) (reference.Reload, error) {
	r.Service, r.Instance = l.service, l.instance
	if r.At.IsZero() {
		r.At = l.now()
	}
	r.At = r.At.UTC().Truncate(time.Microsecond)
	err := l.pool.QueryRow(ctx, `INSERT INTO reference_reloads (service, instance, at, by_whom, digest, previous, outcome, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		r.Service, r.Instance, r.At, r.By, r.Digest, r.Previous, string(r.Outcome), r.Error).Scan(&r.ID)
	if err != nil {
		return r, fmt.Errorf("reloadlog: record: %w", pgdb.Translate(err))
	}
	return r, nil
}

// RecordStart records the set a process starts with.
func (l *Log) RecordStart(ctx context.Context, digest string) error {
	_, err := l.Record(ctx, reference.Reload{By: "start", Digest: digest, Outcome: reference.Started})
	return err
}

// ErrPageToken is a page token this log did not issue.
var ErrPageToken = pagetoken.ErrInvalid

// List returns up to pageSize records, newest first, starting after the
// page token ("" for the first page), and the token of the next page ("" at
// the end).
func (l *Log) List(ctx context.Context, pageSize int, token string) ([]reference.Reload, string, error) {
	if pageSize <= 0 {
		return nil, "", errors.New("reloadlog: page size must be positive")
	}
	before := int64(1<<63 - 1)
	if token != "" {
		n, err := pagetoken.DecodeSeq(token)
		if err != nil {
			return nil, "", ErrPageToken
		}
		before = n
	}
	rows, err := l.pool.Query(ctx, `SELECT id, service, instance, at, by_whom, digest, previous, outcome, error
		FROM reference_reloads WHERE id < $1 ORDER BY id DESC LIMIT $2`, before, pageSize+1)
	if err != nil {
		return nil, "", fmt.Errorf("reloadlog: list: %w", pgdb.Translate(err))
	}
	defer rows.Close()
	var out []reference.Reload
	for rows.Next() {
		var r reference.Reload
		var outcome string
		if err := rows.Scan(&r.ID, &r.Service, &r.Instance, &r.At, &r.By, &r.Digest, &r.Previous, &outcome, &r.Error); err != nil {
			return nil, "", fmt.Errorf("reloadlog: list: %w", err)
		}
		r.Outcome = reference.ReloadOutcome(outcome)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("reloadlog: list: %w", pgdb.Translate(err))
	}
	next := ""
	if len(out) > pageSize {
		out = out[:pageSize]
		next = pagetoken.EncodeSeq(out[len(out)-1].ID)
	}
	return out, next, nil
}

// Reloadable is what pkg/process reloads on SIGHUP (reference.Live).
type Reloadable interface {
	Name() string
	Attrs() []any
	Refresh(ctx context.Context) error
}

// Recorded wraps what a SIGHUP reloads so that each reload is recorded as
// asked for by "SIGHUP". digest names the value in force (the set's
// Digest). Pass the result to process.ReloadOnHangup.
func (l *Log) Recorded(r Reloadable, digest func() string, log *slog.Logger) Reloadable {
	return &recorded{Reloadable: r, log: l, digest: digest, logger: log}
}

type recorded struct {
	Reloadable
	log    *Log
	digest func() string
	logger *slog.Logger
}

// Refresh reloads and records the outcome; the reload's error is returned
// as it was, a failure to record is only logged.
func (r *recorded) Refresh(ctx context.Context) error {
	prev := r.digest()
	err := r.Reloadable.Refresh(ctx)
	rec := reference.Reload{By: "SIGHUP", Previous: prev, Digest: r.digest(), Outcome: reference.Reloaded}
	switch {
	case err != nil:
		rec.Outcome, rec.Error = reference.Failed, err.Error()
	case rec.Digest == prev:
		rec.Outcome = reference.Unchanged
	}
	if _, rerr := r.log.Record(ctx, rec); rerr != nil {
		r.logger.ErrorContext(ctx, r.Name()+": the reload is not recorded", "err", rerr, "outcome", rec.Outcome, "digest", rec.Digest)
	}
	return err
}

// Start opens service's log in pool's schema, records the set the process
// starts with (digest names it) and returns the log, for the service's
// ListReferenceReloads, and r wrapped so that every SIGHUP reload is
// recorded too — pass it to process.ReloadOnHangup.
func Start(ctx context.Context, pool *pgxpool.Pool, service string, r Reloadable, digest func() string, log *slog.Logger) (*Log, Reloadable, error) {
	l := New(pool, service)
	if err := l.RecordStart(ctx, digest()); err != nil {
		return nil, nil, err
	}
	return l, l.Recorded(r, digest, log), nil
}
