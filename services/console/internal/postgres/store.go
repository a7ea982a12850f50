// Package postgres is the console's store: accounts, sign-in failures and
// sessions in the console's own schema (identity, not domain state).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/console/internal/accounts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema is the console's PostgreSQL schema.
const Schema = "console"

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations are the console's tables.
var Migrations = []pgdb.Migrations{{Name: "console", FS: migrationsFS, Dir: "migrations"}}

// Store implements accounts.Store.
type Store struct{ pool *pgxpool.Pool }

// New returns the store over a pool bound to Schema.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

var _ accounts.Store = (*Store)(nil)

// CreateAccount inserts a; a person id already taken is AlreadyExists.
func (s *Store) CreateAccount(ctx context.Context, a accounts.Account, hash string, now time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO accounts (person_id, name, principal, password_hash, enabled, updated_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, a.PersonID, a.Name, a.Principal.String(), hash, a.Enabled, a.UpdatedBy, now)
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return fault.AlreadyExistsf("accounts/"+a.PersonID, "an account %q already exists", a.PersonID)
	}
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	return nil
}

const accountCols = `a.person_id, a.name, a.principal, a.enabled, a.updated_by, a.created_at, a.updated_at`

func scanAccount(row pgx.Row, extra ...any) (accounts.Account, error) {
	var a accounts.Account
	var principal string
	dest := append([]any{&a.PersonID, &a.Name, &principal, &a.Enabled, &a.UpdatedBy, &a.CreatedAt, &a.UpdatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return a, err
	}
	p, err := auth.ParsePrincipal(principal)
	if err != nil {
		return a, fmt.Errorf("account %s: stored principal: %w", a.PersonID, err)
	}
	a.Principal = p
	return a, nil
}

// Accounts lists every account by person id.
func (s *Store) Accounts(ctx context.Context) ([]accounts.Account, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+accountCols+` FROM accounts a ORDER BY a.person_id`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var out []accounts.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Account returns one account and its password hash.
func (s *Store) Account(ctx context.Context, personID string) (accounts.Account, string, error) {
	var hash string
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+`, a.password_hash FROM accounts a WHERE a.person_id = $1`, personID), &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, "", accounts.ErrNoAccount
	}
	if err != nil {
		return a, "", fmt.Errorf("account: %w", err)
	}
	return a, hash, nil
}

// SetEnabled changes the flag; disabling deletes the account's sessions in
// the same transaction.
func (s *Store) SetEnabled(ctx context.Context, personID string, enabled bool, by string, now time.Time) error {
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE accounts SET enabled = $2, updated_by = $3, updated_at = $4 WHERE person_id = $1`, personID, enabled, by, now)
		if err != nil {
			return fmt.Errorf("set enabled: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return accounts.ErrNoAccount
		}
		if !enabled {
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE person_id = $1`, personID); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
		}
		return nil
	})
}

// SetPassword replaces the hash and deletes the account's sessions.
func (s *Store) SetPassword(ctx context.Context, personID, hash, by string, now time.Time) error {
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE accounts SET password_hash = $2, updated_by = $3, updated_at = $4 WHERE person_id = $1`, personID, hash, by, now)
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return accounts.ErrNoAccount
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE person_id = $1`, personID); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return nil
	})
}

// LockedUntil is the end of name's lockout, zero when it is not locked.
func (s *Store) LockedUntil(ctx context.Context, name string, now time.Time) (time.Time, error) {
	var until *time.Time
	err := s.pool.QueryRow(ctx, `SELECT locked_until FROM sign_in_failures WHERE name = $1 AND locked_until > $2`, name, now).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) || until == nil {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("lockout: %w", err)
	}
	return *until, nil
}

// RecordFailure counts one failure in one statement, so concurrent
// attempts cannot slip past the count.
func (s *Store) RecordFailure(ctx context.Context, name string, now time.Time, max int, window, lockFor time.Duration) (time.Time, error) {
	var until *time.Time
	reset := `f.last_failure <= $4::timestamptz OR f.locked_until <= $2::timestamptz`
	err := s.pool.QueryRow(ctx, `
		INSERT INTO sign_in_failures AS f (name, failures, last_failure, locked_until)
		VALUES ($1, 1, $2::timestamptz, CASE WHEN $3::int <= 1 THEN $5::timestamptz END)
		ON CONFLICT (name) DO UPDATE SET
			failures = CASE WHEN `+reset+` THEN 1 ELSE f.failures + 1 END,
			last_failure = $2::timestamptz,
			locked_until = CASE WHEN (CASE WHEN `+reset+` THEN 1 ELSE f.failures + 1 END) >= $3::int THEN $5::timestamptz END
		RETURNING locked_until`, name, now, max, now.Add(-window), now.Add(lockFor)).Scan(&until)
	if err != nil {
		return time.Time{}, fmt.Errorf("record failure: %w", err)
	}
	if until == nil {
		return time.Time{}, nil
	}
	return *until, nil
}

// ClearFailures forgets name's failures (a successful sign-in, a reset).
func (s *Store) ClearFailures(ctx context.Context, name string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sign_in_failures WHERE name = $1`, name); err != nil {
		return fmt.Errorf("clear failures: %w", err)
	}
	return nil
}

// CreateSession stores a session by its id's hash.
func (s *Store) CreateSession(ctx context.Context, sess accounts.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (id_hash, person_id, csrf, created_at, last_seen, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, sess.IDHash, sess.Account.PersonID, sess.CSRF, sess.CreatedAt, sess.LastSeen, sess.ExpiresAt)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// TouchSession finds a live session and marks it seen, in one statement.
func (s *Store) TouchSession(ctx context.Context, idHash []byte, now, idleSince time.Time) (accounts.Session, error) {
	sess := accounts.Session{IDHash: idHash}
	a, err := scanAccount(s.pool.QueryRow(ctx, `
		UPDATE sessions s SET last_seen = $2
		FROM accounts a
		WHERE s.id_hash = $1 AND a.person_id = s.person_id AND a.enabled
		  AND s.last_seen > $3 AND s.expires_at > $2
		RETURNING `+accountCols+`, s.csrf, s.created_at, s.last_seen, s.expires_at`, idHash, now, idleSince),
		&sess.CSRF, &sess.CreatedAt, &sess.LastSeen, &sess.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return accounts.Session{}, accounts.ErrNoSession
	}
	if err != nil {
		return accounts.Session{}, fmt.Errorf("session: %w", err)
	}
	sess.Account = a
	return sess, nil
}

// DeleteSession ends one session.
func (s *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes idle and expired sessions.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleSince time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE last_seen <= $2 OR expires_at <= $1`, now, idleSince)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}
