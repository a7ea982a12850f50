package testenv

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Wire records what pgx connections send, for tests that count round trips
// (issue 17): each statement sent alone, each batch's statements and each
// COPY — a round trip each (a COPY's protocol takes two; it counts as
// one). Set it as a ConnConfig.Tracer, or open a pool with TracedPool.
type Wire struct {
	mu      sync.Mutex
	alone   []string
	batches [][]string
	copies  int
}

var (
	_ pgx.QueryTracer    = (*Wire)(nil)
	_ pgx.BatchTracer    = (*Wire)(nil)
	_ pgx.CopyFromTracer = (*Wire)(nil)
)

// TracedPool opens a second pool with pool's settings whose connections
// record in the returned Wire what they send; it closes when the test ends.
func TracedPool(t testing.TB, pool *pgxpool.Pool) (*pgxpool.Pool, *Wire) {
	t.Helper()
	w := &Wire{}
	cfg := pool.Config()
	cfg.ConnConfig.Tracer = w
	traced, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(traced.Close)
	return traced, w
}

func (w *Wire) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	w.mu.Lock()
	w.alone = append(w.alone, strings.TrimSpace(d.SQL))
	w.mu.Unlock()
	return ctx
}

func (w *Wire) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (w *Wire) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	sqls := make([]string, len(d.Batch.QueuedQueries))
	for i, q := range d.Batch.QueuedQueries {
		sqls[i] = strings.TrimSpace(q.SQL)
	}
	w.mu.Lock()
	w.batches = append(w.batches, sqls)
	w.mu.Unlock()
	return ctx
}

func (w *Wire) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (w *Wire) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func (w *Wire) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	w.mu.Lock()
	w.copies++
	w.mu.Unlock()
	return ctx
}

func (w *Wire) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// Trips is how many round trips have been sent.
func (w *Wire) Trips() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.alone) + len(w.batches) + w.copies
}

// Statements is how many statements have been sent, BEGIN and COMMIT
// included: those sent alone, those in batches, and the COPYs.
func (w *Wire) Statements() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(w.alone) + w.copies
	for _, b := range w.batches {
		n += len(b)
	}
	return n
}

// Sent returns the statements sent alone and each batch's, in order.
func (w *Wire) Sent() (alone []string, batches [][]string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.alone...), append([][]string(nil), w.batches...)
}
