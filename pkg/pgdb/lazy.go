package pgdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Lazy is a transaction that spends no round trip of its own on its BEGIN,
// nor on the writes it is told to hold, nor on its COMMIT when it did
// nothing (issue 17: under load every round trip waits for the CPU, at both
// ends):
//
//   - its BEGIN travels with its first statement;
//   - what Hold queues — writes and locks, whose results nobody reads —
//     travels with the next statement, or with the COMMIT;
//   - a Commit with nothing sent and nothing held sends nothing.
//
// Statements keep their order: anything sent goes after the BEGIN and the
// held statements, in the same round trip (SendBatch, Exec, Query,
// QueryRow) or, for a COPY or a savepoint, in the one before it. A held
// statement that fails makes PostgreSQL skip what follows it in its round
// trip, COMMIT included: the error comes back from the statement, or the
// Commit, it travelled with, and nothing is committed.
//
// A Lazy is one goroutine's, like any pgx.Tx. Commit and Rollback give its
// connection back to the pool.
type Lazy struct {
	conn  *pgxpool.Conn
	opts  pgx.TxOptions
	tx    pgx.Tx     // once the BEGIN was sent; nil before
	held  *pgx.Batch // sent ahead of the next statement
	ended bool
}

// BeginLazy acquires a connection of pool for a Lazy transaction; nothing
// is sent yet.
func BeginLazy(ctx context.Context, pool *pgxpool.Pool, opts pgx.TxOptions) (*Lazy, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", Translate(err))
	}
	return &Lazy{conn: conn, opts: opts, held: &pgx.Batch{}}, nil
}

// Hold queues sql to be sent ahead of the transaction's next statement or
// with its COMMIT. Its result is read then: a QueuedQuery's Exec, Query or
// QueryRow callback runs at that time.
func (l *Lazy) Hold(sql string, args ...any) *pgx.QueuedQuery {
	return l.held.Queue(sql, args...)
}

// Held is the batch Hold queues on, for code that queues its writes on a
// pgx.Batch of its own making.
func (l *Lazy) Held() *pgx.Batch { return l.held }

// pending reports whether a statement sent now must carry more in front of
// it: the BEGIN, or held statements.
func (l *Lazy) pending() bool { return l.tx == nil || l.held.Len() > 0 }

// front is what goes ahead of b: the BEGIN if it is still unsent, the held
// statements, then b's. It also says how many results come ahead of b's.
func (l *Lazy) front(b *pgx.Batch) (*pgx.Batch, int) {
	all := &pgx.Batch{}
	if l.tx == nil {
		all.BeginTx(l.opts)
	}
	all.QueuedQueries = append(all.QueuedQueries, l.held.QueuedQueries...)
	ahead := all.Len()
	l.held = &pgx.Batch{}
	if b != nil {
		all.QueuedQueries = append(all.QueuedQueries, b.QueuedQueries...)
	}
	return all, ahead
}

// send sends b behind what is pending.
func (l *Lazy) send(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if l.ended {
		return pgx.FailedBatchResults(b, pgx.ErrTxClosed)
	}
	if !l.pending() {
		return l.tx.SendBatch(ctx, b)
	}
	begins := l.tx == nil
	all, ahead := l.front(b)
	br := l.conn.SendBatch(ctx, all)
	if begins {
		l.tx = br.Tx()
	}
	return &behind{BatchResults: br, ahead: all.QueuedQueries[:ahead]}
}

// sendOne sends sql behind what is pending.
func (l *Lazy) sendOne(ctx context.Context, sql string, args []any) pgx.BatchResults {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	return l.send(ctx, b)
}

// Flush sends what is pending now, alone — the BEGIN, the held statements —
// and runs the held statements' callbacks.
func (l *Lazy) Flush(ctx context.Context) error {
	if l.ended {
		return pgx.ErrTxClosed
	}
	if !l.pending() {
		return nil
	}
	if err := l.send(ctx, &pgx.Batch{}).Close(); err != nil {
		return fmt.Errorf("begin and held statements: %w", Translate(err))
	}
	return nil
}

// SendBatch sends b behind the BEGIN and the held statements, in one round
// trip; its results are b's alone.
func (l *Lazy) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults { return l.send(ctx, b) }

// Exec runs sql behind the BEGIN and the held statements, in one round
// trip.
func (l *Lazy) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if !l.ended && !l.pending() {
		return l.tx.Exec(ctx, sql, args...)
	}
	br := l.sendOne(ctx, sql, args)
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query runs sql behind the BEGIN and the held statements, in one round
// trip.
func (l *Lazy) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if !l.ended && !l.pending() {
		return l.tx.Query(ctx, sql, args...)
	}
	br := l.sendOne(ctx, sql, args)
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow runs sql behind the BEGIN and the held statements, in one round
// trip.
func (l *Lazy) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if !l.ended && !l.pending() {
		return l.tx.QueryRow(ctx, sql, args...)
	}
	br := l.sendOne(ctx, sql, args)
	return batchRow{row: br.QueryRow(), br: br}
}

func (l *Lazy) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := l.Flush(ctx); err != nil {
		return 0, err
	}
	return l.tx.CopyFrom(ctx, table, columns, src)
}

// Begin starts a savepoint, once what is pending was sent; the savepoint's
// own statements go straight to the connection, holding nothing.
func (l *Lazy) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := l.Flush(ctx); err != nil {
		return nil, err
	}
	return l.tx.Begin(ctx)
}

func (l *Lazy) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if err := l.Flush(ctx); err != nil {
		return nil, err
	}
	return l.tx.Prepare(ctx, name, sql)
}

// LargeObjects begins the transaction, if it has not, for its large
// objects (gridflow keeps none).
func (l *Lazy) LargeObjects() pgx.LargeObjects {
	if err := l.Flush(context.Background()); err != nil || l.tx == nil {
		return pgx.LargeObjects{}
	}
	return l.tx.LargeObjects()
}

func (l *Lazy) Conn() *pgx.Conn { return l.conn.Conn() }

// Commit sends the held statements and the COMMIT in one round trip, or
// nothing if the transaction never began and holds nothing. It fails if a
// held statement failed, or the transaction had failed before (PostgreSQL
// then answers the COMMIT with a ROLLBACK).
func (l *Lazy) Commit(ctx context.Context) error {
	if l.ended {
		return pgx.ErrTxClosed
	}
	defer l.end(ctx)
	if l.tx == nil && l.held.Len() == 0 {
		return nil // nothing was sent or held: nothing to commit
	}
	var tag pgconn.CommandTag
	b := &pgx.Batch{}
	b.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error {
		tag = ct
		return nil
	})
	if err := l.send(ctx, b).Close(); err != nil {
		return fmt.Errorf("commit: %w", Translate(err))
	}
	if tag.String() != "COMMIT" {
		return fmt.Errorf("commit: the transaction had failed (%s)", tag)
	}
	return nil
}

// Rollback ends the transaction without committing; after a Commit it
// returns pgx.ErrTxClosed, like a pgx.Tx's.
func (l *Lazy) Rollback(ctx context.Context) error {
	if l.ended {
		return pgx.ErrTxClosed
	}
	l.end(ctx)
	return nil
}

// end rolls back whatever is still open on the connection and gives it back
// to the pool.
func (l *Lazy) end(ctx context.Context) {
	l.ended = true
	l.held = &pgx.Batch{}
	if pc := l.conn.Conn().PgConn(); !pc.IsClosed() && pc.TxStatus() != 'I' {
		if _, err := l.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
			_ = pc.Close(context.WithoutCancel(ctx)) // never back to the pool in a transaction
		}
	}
	l.conn.Release()
}

// behind is the results of a batch sent behind the BEGIN and held
// statements: those come first, and are read (their callbacks run) before
// the first of the batch's own is handed out.
type behind struct {
	pgx.BatchResults
	ahead []*pgx.QueuedQuery
	err   error
}

// skip reads the results ahead of the batch's own.
func (b *behind) skip() error {
	for len(b.ahead) > 0 && b.err == nil {
		qq := b.ahead[0]
		b.ahead = b.ahead[1:]
		if qq.Fn != nil {
			b.err = qq.Fn(b.BatchResults)
		} else {
			_, b.err = b.BatchResults.Exec()
		}
	}
	return b.err
}

func (b *behind) Exec() (pgconn.CommandTag, error) {
	if err := b.skip(); err != nil {
		return pgconn.CommandTag{}, err
	}
	return b.BatchResults.Exec()
}

func (b *behind) Query() (pgx.Rows, error) {
	if err := b.skip(); err != nil {
		return nil, err
	}
	return b.BatchResults.Query()
}

func (b *behind) QueryRow() pgx.Row {
	if err := b.skip(); err != nil {
		return errRow{err}
	}
	return b.BatchResults.QueryRow()
}

// Close reads what is left, running the callbacks of the held statements
// and of the batch's own, and returns the first error.
func (b *behind) Close() error {
	err := b.skip()
	if cerr := b.BatchResults.Close(); err == nil {
		err = cerr
	}
	return err
}

// batchRows are the rows of a query sent in a batch: done with them, the
// batch is closed, and its error is theirs.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	if !r.closed {
		r.closed = true
		r.Rows.Close()
		r.err = r.br.Close()
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// batchRow is the row of a query sent in a batch: scanned, the batch is
// closed.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

var _ pgx.Tx = (*Lazy)(nil)

// Holder is a transaction that can hold statements for its next round trip
// (Lazy).
type Holder interface {
	Hold(sql string, args ...any) *pgx.QueuedQuery
	Held() *pgx.Batch
}
