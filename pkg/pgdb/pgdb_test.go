package pgdb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMigrateOnceAndTranslate(t *testing.T) {
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testenv.DatabaseURL(t), "mtest", 4)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	fsys := fstest.MapFS{
		"m/0001_things.sql": {Data: []byte(`CREATE TABLE things (id int PRIMARY KEY)`)},
		"m/0002_more.sql":   {Data: []byte(`INSERT INTO things VALUES (1)`)},
	}
	set := pgdb.Migrations{Name: "things", FS: fsys, Dir: "m"}
	for range 2 { // the second run applies nothing
		if err := pgdb.Migrate(ctx, pool, "mtest", set); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM mtest.things`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("things = %d, %v; want 1 row (each migration once)", n, err)
	}
	_, err = pool.Exec(ctx, `INSERT INTO things VALUES (1)`)
	if !errors.Is(pgdb.Translate(err), pgdb.ErrUniqueViolation) {
		t.Errorf("Translate(duplicate) = %v, want ErrUniqueViolation", pgdb.Translate(err))
	}
	err = pool.QueryRow(ctx, `SELECT id FROM things WHERE id = 2`).Scan(&n)
	if !errors.Is(pgdb.Translate(err), pgdb.ErrNotFound) {
		t.Errorf("Translate(no rows) = %v, want ErrNotFound", err)
	}

	// InTx rolls back on error.
	boom := errors.New("boom")
	err = pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO things VALUES (2)`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM things`).Scan(&n); err != nil || n != 1 {
		t.Errorf("after rollback things = %d, want 1", n)
	}

	bad := fstest.MapFS{"m/1_x.sql": {Data: []byte(`SELECT 1`)}}
	if err := pgdb.Migrate(ctx, pool, "mtest", pgdb.Migrations{Name: "bad", FS: bad, Dir: "m"}); err == nil {
		t.Error("a badly named migration file was accepted")
	}
}

func TestStatementTimeout(t *testing.T) {
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testenv.DatabaseURL(t), "mtest", 2, pgdb.StatementTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if got := pool.Config().ConnConfig.ConnectTimeout; got != pgdb.DefaultConnectTimeout {
		t.Errorf("connect timeout %v, want %v when the URL sets none", got, pgdb.DefaultConnectTimeout)
	}
	var setting string
	if err := pool.QueryRow(ctx, `SHOW statement_timeout`).Scan(&setting); err != nil {
		t.Fatal(err)
	}
	if setting != "200ms" {
		t.Errorf("statement_timeout = %q, want 200ms", setting)
	}
	start := time.Now()
	_, err = pool.Exec(ctx, `SELECT pg_sleep(5)`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("a 5 s statement: %v, want SQLSTATE 57014 (query_canceled)", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancelled after %v, want about 200ms", d)
	}
	// Migrations are not bound by it (a schema of its own, so that the
	// migration runs on every test run).
	if _, err := pool.Exec(ctx, `DROP SCHEMA IF EXISTS mslow CASCADE`); err != nil {
		t.Fatal(err)
	}
	set := pgdb.Migrations{Name: "slow", FS: fstest.MapFS{"m/0001_slow.sql": {Data: []byte(`SELECT pg_sleep(0.5)`)}}, Dir: "m"}
	if err := pgdb.Migrate(ctx, pool, "mslow", set); err != nil {
		t.Fatalf("a migration longer than the timeout: %v", err)
	}
}

// TestUnreachableIsUnavailable: a database that cannot be reached is
// UNAVAILABLE (a client retries with the same request id), found where it
// shows — at begin, from a server shutting down, on a cut connection — and
// nothing else is: a refused statement stays what it was.
func TestUnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want fault.Kind
	}{
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, fault.Unavailable},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, fault.Unavailable},
		{"connection failure", &pgconn.PgError{Code: "08006"}, fault.Unavailable},
		{"conn closed", fmt.Errorf("exec: %w", pgconn.ErrConnClosed), fault.Unavailable},
		{"cut mid-read", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), fault.Unavailable},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, fault.Unavailable},
		{"syntax error", &pgconn.PgError{Code: "42601"}, fault.Internal},
		{"unique violation", &pgconn.PgError{Code: "23505"}, fault.Internal},
		{"other", errors.New("boom"), fault.Internal},
	} {
		if got := fault.KindOf(pgdb.Translate(tc.err)); got != tc.want {
			t.Errorf("%s: kind %v, want %v", tc.name, got, tc.want)
		}
	}

	// A real failed connect, through InTx: nothing listens on the port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, "postgres://nobody@"+addr+"/none?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	err = pgdb.InTx(ctx, pool, func(pgx.Tx) error { return nil })
	if fault.KindOf(err) != fault.Unavailable || !errors.Is(err, pgdb.ErrUnavailable) {
		t.Fatalf("InTx on a database that is not there: %v (kind %v), want unavailable", err, fault.KindOf(err))
	}
}
