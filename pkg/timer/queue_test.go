package timer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/jackc/pgx/v5"
)

// TestQueue: Queue does what Schedule and Cancel would, the last op of a
// kind and key winning — a new timer, a moved one (its id renewed and its
// failed attempts forgotten), one cancelled after being scheduled in the
// same batch, and one cancelled that was there.
func TestQueue(t *testing.T) {
	ctx := context.Background()
	pool := setup(t)()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := timer.Schedule(ctx, tx, "warn", "moved", t0, []byte("a")); err != nil {
			return err
		}
		return timer.Schedule(ctx, tx, "warn", "gone", t0, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE timers SET attempts = 3, last_error = 'boom' WHERE key = 'moved'`); err != nil {
		t.Fatal(err)
	}
	before, err := timer.Lookup(ctx, pool, "warn", "moved")
	if err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	if err := timer.Queue(b, []timer.Op{
		{Kind: "warn", Key: "new", At: t0.Add(time.Hour), Payload: []byte("n")},
		{Kind: "warn", Key: "moved", At: t0.Add(time.Hour), Payload: []byte("a")},
		{Kind: "warn", Key: "moved", At: t0.Add(2 * time.Hour), Payload: []byte("b")},
		{Kind: "warn", Key: "brief", At: t0, Payload: []byte("x")},
		{Kind: "warn", Key: "brief", Cancel: true},
		{Kind: "warn", Key: "gone", Cancel: true},
	}); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() }); err != nil {
		t.Fatal(err)
	}
	if tm, err := timer.Lookup(ctx, pool, "warn", "new"); err != nil || !tm.DueAt.Equal(t0.Add(time.Hour)) || string(tm.Payload) != "n" {
		t.Errorf("new: %+v, %v", tm, err)
	}
	tm, err := timer.Lookup(ctx, pool, "warn", "moved")
	if err != nil || !tm.DueAt.Equal(t0.Add(2*time.Hour)) || string(tm.Payload) != "b" || tm.ID == before.ID ||
		tm.Attempts != 0 || tm.LastError != "" {
		t.Errorf("moved: %+v, %v (before %+v)", tm, err, before)
	}
	for _, k := range []string{"brief", "gone"} {
		if _, err := timer.Lookup(ctx, pool, "warn", k); !errors.Is(err, pgdb.ErrNotFound) {
			t.Errorf("%s: %v, want no timer", k, err)
		}
	}
	if err := timer.Queue(&pgx.Batch{}, []timer.Op{{Kind: "warn", Key: "k"}}); err == nil {
		t.Error("a schedule without a due time was queued")
	}
}
