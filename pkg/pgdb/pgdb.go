// Package pgdb is gridflow's PostgreSQL plumbing over pgx/v5: a pool bound to
// the service's own schema, embedded numbered migrations applied at start,
// the InTx helper, and the one function that turns driver errors into
// something domain code can test for.
package pgdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gridflow/gridflow/pkg/fault"
)

var schemaName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// DefaultConnectTimeout bounds a connection attempt when the URL sets no
// connect_timeout.
const DefaultConnectTimeout = 10 * time.Second

// Option adjusts the pool Open makes.
type Option func(*pgxpool.Config)

// StatementTimeout bounds every statement the pool's connections run
// (PostgreSQL's statement_timeout): a query that would hold a connection
// longer is cancelled by the server and fails with SQLSTATE 57014, so one
// runaway statement cannot take the pool. 0 leaves the server's setting.
// Migrate lifts it for its own transaction: a migration may take long.
func StatementTimeout(d time.Duration) Option {
	return func(cfg *pgxpool.Config) {
		if d > 0 {
			cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(d.Milliseconds(), 10)
		}
	}
}

// Open returns a pool whose connections use schema (and public) by default.
// Each service owns one schema and never reads another's tables. TLS to the
// server is the URL's (pgx reads sslmode, sslrootcert, sslcert and sslkey
// from it): sslmode=verify-full checks the server's certificate and name.
func Open(ctx context.Context, url, schema string, maxConns int32, opts ...Option) (*pgxpool.Pool, error) {
	if !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("pgdb: bad schema name %q", schema)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgdb: parse database url: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema + ",public"
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "gridflow-" + schema
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	// A server that does not answer (a failover, a dropped route) fails a
	// connection attempt in seconds rather than after the kernel's TCP
	// timeout; connect_timeout in the URL still wins.
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	for _, o := range opts {
		o(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgdb: open: %w", err)
	}
	return pool, nil
}

// OpenMigrated opens a pool on schema and applies the migration sets: every
// service's first two steps.
func OpenMigrated(ctx context.Context, url, schema string, maxConns int32, sets ...Migrations) (*pgxpool.Pool, error) {
	return OpenMigratedWith(ctx, url, schema, maxConns, nil, sets...)
}

// OpenMigratedWith is OpenMigrated with options for the pool.
func OpenMigratedWith(ctx context.Context, url, schema string, maxConns int32, opts []Option, sets ...Migrations) (*pgxpool.Pool, error) {
	pool, err := Open(ctx, url, schema, maxConns, opts...)
	if err != nil {
		return nil, err
	}
	if err := Migrate(ctx, pool, schema, sets...); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate %s: %w", schema, err)
	}
	return pool, nil
}

// Migrations is a named set of numbered SQL files (0001_name.sql …) applied
// in order, each once. Sets let shared packages (outbox, timers) ship their
// own tables into every service's schema.
type Migrations struct {
	Name string
	FS   fs.FS
	Dir  string
	// Steps are migrations SQL cannot express (decoding stored protobuf,
	// masking text with Go's rules), numbered in the same sequence as the
	// files and applied in order with them, each once, in the same
	// transaction.
	Steps []Step
}

// Step is one migration written in Go.
type Step struct {
	Version int
	Name    string // like a file's: lower case, digits and _
	Run     func(ctx context.Context, tx pgx.Tx) error
}

var migrationFile = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// Migrate creates schema if needed and applies the sets in order, holding an
// advisory lock so that replicas starting together do not race.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string, sets ...Migrations) error {
	if !schemaName.MatchString(schema) {
		return fmt.Errorf("pgdb: bad schema name %q", schema)
	}
	return InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('gridflow-migrate-' || $1))`, schema); err != nil {
			return fmt.Errorf("migrate lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		if _, err := tx.Exec(ctx, `SET LOCAL search_path TO `+schema+`, public`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			set_name text NOT NULL, version int NOT NULL, name text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (set_name, version))`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		for _, set := range sets {
			if err := applySet(ctx, tx, set); err != nil {
				return err
			}
		}
		return nil
	})
}

func applySet(ctx context.Context, tx pgx.Tx, set Migrations) error {
	entries, err := fs.ReadDir(set.FS, set.Dir)
	if err != nil {
		return fmt.Errorf("migrations %s: %w", set.Name, err)
	}
	type file struct {
		version int
		name    string
		step    *Step
	}
	var files []file
	seen := map[int]string{}
	for i, st := range set.Steps {
		if prev, dup := seen[st.Version]; dup {
			return fmt.Errorf("migrations %s: %s and step %s share version %d", set.Name, prev, st.Name, st.Version)
		}
		seen[st.Version] = st.Name
		files = append(files, file{st.Version, fmt.Sprintf("%04d_%s (go)", st.Version, st.Name), &set.Steps[i]})
	}
	for _, e := range entries {
		m := migrationFile.FindStringSubmatch(e.Name())
		if m == nil {
			return fmt.Errorf("migrations %s: %q is not named NNNN_name.sql", set.Name, e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if prev, dup := seen[v]; dup {
			return fmt.Errorf("migrations %s: %s and %s share version %d", set.Name, prev, e.Name(), v)
		}
		seen[v] = e.Name()
		files = append(files, file{version: v, name: e.Name()})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].version < files[j].version })
	for _, f := range files {
		var applied bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE set_name = $1 AND version = $2)`, set.Name, f.version).Scan(&applied); err != nil {
			return err
		}
		if applied {
			continue
		}
		if f.step != nil {
			if err := f.step.Run(ctx, tx); err != nil {
				return fmt.Errorf("migration %s/%s: %w", set.Name, f.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (set_name, version, name) VALUES ($1, $2, $3)`, set.Name, f.version, f.name); err != nil {
				return err
			}
			continue
		}
		sql, err := fs.ReadFile(set.FS, path.Join(set.Dir, f.name))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, string(sql)); err != nil {
			return fmt.Errorf("migration %s/%s: %w", set.Name, f.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (set_name, version, name) VALUES ($1, $2, $3)`, set.Name, f.version, f.name); err != nil {
			return err
		}
	}
	return nil
}

// Beginner is a pool or a connection.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise (and on panic). A database that cannot be reached at begin
// or commit is ErrUnavailable (Translate); fn's own errors pass through.
func InTx(ctx context.Context, db Beginner, fn func(pgx.Tx) error) (err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", Translate(err))
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", Translate(err))
	}
	return nil
}

// Errors domain code can test for after Translate.
var (
	ErrNotFound        = errors.New("not found")
	ErrUniqueViolation = errors.New("unique violation")
	ErrSerialization   = errors.New("serialization failure")
)

// ErrUnavailable is the fault a call answers with while the database
// cannot be reached (restarting, failing over, the network gone): UNAVAILABLE,
// which tells a client to send the same request again — every write carries
// a request id, so a retry after a commit whose answer was lost is the same
// write, not a second one.
var ErrUnavailable = &fault.Error{Kind: fault.Unavailable, Message: "the database is unavailable: try again"}

// Translate turns driver errors into the sentinels above (wrapping the
// original so logs keep the SQLSTATE), and a database that cannot be
// reached into ErrUnavailable; other errors pass through.
func Translate(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return fmt.Errorf("%w (%s): %w", ErrUniqueViolation, pgErr.ConstraintName, err)
		case "40001", "40P01":
			return fmt.Errorf("%w: %w", ErrSerialization, err)
		}
	}
	if unreachable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// unreachable reports whether err says the database could not be reached
// or went away mid-call, rather than refusing the statement: a failed
// connect, a connection closed or cut, the server shutting down or not yet
// accepting connections (SQLSTATE class 08, 57P01–57P03). The chaos test
// restarts PostgreSQL under load; these used to answer INTERNAL, which a
// client must not retry.
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var connectErr *pgconn.ConnectError
	var netErr *net.OpError
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
