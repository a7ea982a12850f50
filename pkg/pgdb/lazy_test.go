package pgdb_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lazyPool is a pool whose round trips wire counts, on a schema with an
// empty table of items.
func lazyPool(t *testing.T) (*pgxpool.Pool, *testenv.Wire) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testenv.DatabaseURL(t), "lazytest", 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS items; CREATE TABLE items (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	return testenv.TracedPool(t, pool)
}

func beginLazy(t *testing.T, pool *pgxpool.Pool) *pgdb.Lazy {
	t.Helper()
	tx, err := pgdb.BeginLazy(context.Background(), pool, pgx.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// items are the ids committed.
func items(t *testing.T, pool *pgxpool.Pool) []int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT id FROM items ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// A Lazy transaction spends no round trip on its BEGIN, on what it holds, or
// on a COMMIT with nothing to commit; what it holds is in place before
// anything sent after it reads, in the same round trip where it can be.
func TestLazyRoundTrips(t *testing.T) {
	pool, wire := lazyPool(t)
	ctx := context.Background()
	trips := func(what string, want int, f func()) {
		t.Helper()
		n := wire.Trips()
		f()
		if got := wire.Trips() - n; got != want {
			t.Errorf("%s: %d round trips, want %d", what, got, want)
		}
	}
	begin := func() *pgdb.Lazy { return beginLazy(t, pool) }

	trips("a transaction that sent and held nothing", 0, func() {
		if err := begin().Commit(ctx); err != nil {
			t.Fatal(err)
		}
	})

	trips("BEGIN, two held writes, a held lock and a batch that reads them; a held write and COMMIT", 2, func() {
		tx := begin()
		tx.Hold(`INSERT INTO items VALUES (1)`)
		var returned int
		tx.Hold(`INSERT INTO items VALUES (2) RETURNING id`).QueryRow(func(r pgx.Row) error { return r.Scan(&returned) })
		if err := pgdb.LockKeys(ctx, tx, "lazytest", []string{"a", "b"}); err != nil {
			t.Fatal(err)
		}
		b := &pgx.Batch{}
		b.Queue(`SELECT count(*) FROM items`)
		br := tx.SendBatch(ctx, b)
		var n int
		if err := br.QueryRow().Scan(&n); err != nil || n != 2 { // the batch's own result, read directly
			t.Fatalf("count behind the held writes = %d, %v; want 2", n, err)
		}
		if err := br.Close(); err != nil {
			t.Fatal(err)
		}
		if returned != 2 {
			t.Errorf("a held write's callback read %d, want 2", returned)
		}
		tx.Hold(`INSERT INTO items VALUES (3)`)
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if got := items(t, pool); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("committed %v, want [1 2 3]", got)
	}

	trips("BEGIN with an Exec, a QueryRow and a Query each after a held write, COMMIT", 4, func() {
		tx := begin()
		if _, err := tx.Exec(ctx, `INSERT INTO items VALUES (4)`); err != nil {
			t.Fatal(err)
		}
		tx.Hold(`INSERT INTO items VALUES (5)`)
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM items`).Scan(&n); err != nil || n != 5 {
			t.Fatalf("count = %d, %v; want 5", n, err)
		}
		tx.Hold(`DELETE FROM items WHERE id = 5`)
		rows, err := tx.Query(ctx, `SELECT id FROM items WHERE id >= 4 ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		if ids, err := pgx.CollectRows(rows, pgx.RowTo[int]); err != nil || !slices.Equal(ids, []int{4}) {
			t.Fatalf("rows behind a held delete = %v, %v; want [4]", ids, err)
		}
		tx.Hold(`INSERT INTO items VALUES (5)`)
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	})

	// A savepoint's BEGIN, its INSERT, its ROLLBACK TO go straight to the
	// connection.
	trips("a savepoint after a held write, rolled back", 5, func() {
		tx := begin()
		tx.Hold(`INSERT INTO items VALUES (6)`)
		sp, err := tx.Begin(ctx) // BEGIN, the held write, SAVEPOINT
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sp.Exec(ctx, `INSERT INTO items VALUES (7)`); err != nil {
			t.Fatal(err)
		}
		if err := sp.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if got := items(t, pool); !slices.Equal(got, []int{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("committed %v, want [1 … 6]: 7 rolled back with its savepoint", got)
	}
}

// A held write that fails takes the COMMIT with it: nothing of the
// transaction is stored, the connection goes back clean, and Rollback
// after Commit says the transaction is closed.
func TestLazyFailures(t *testing.T) {
	pool, _ := lazyPool(t)
	ctx := context.Background()
	begin := func() *pgdb.Lazy { return beginLazy(t, pool) }
	tx := begin()
	tx.Hold(`INSERT INTO items VALUES (1)`)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); !errors.Is(err, pgx.ErrTxClosed) {
		t.Errorf("Rollback after Commit = %v, want ErrTxClosed", err)
	}

	tx = begin()
	tx.Hold(`INSERT INTO items VALUES (2)`)
	tx.Hold(`INSERT INTO items VALUES (1)`) // taken: fails
	tx.Hold(`INSERT INTO items VALUES (3)`)
	err := tx.Commit(ctx)
	if !errors.Is(pgdb.Translate(err), pgdb.ErrUniqueViolation) {
		t.Errorf("Commit after a failing held write = %v, want a unique violation", err)
	}

	tx = begin()
	if _, err := tx.Exec(ctx, `INSERT INTO items VALUES (4)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	tx = begin()
	if _, err := tx.Exec(ctx, `INSERT INTO items VALUES (1)`); err == nil { // fails: the transaction is aborted
		t.Fatal("a taken key inserted")
	}
	if err := tx.Commit(ctx); err == nil {
		t.Error("Commit of a failed transaction succeeded")
	}

	if got := items(t, pool); !slices.Equal(got, []int{1}) {
		t.Errorf("committed %v, want [1]", got)
	}
	// Every connection came back outside a transaction.
	for range 4 {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s := conn.Conn().PgConn().TxStatus(); s != 'I' {
			t.Errorf("a pooled connection in transaction state %c", s)
		}
		defer conn.Release()
	}
}
