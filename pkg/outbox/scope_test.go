package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
)

func msg(i int) outbox.Message {
	return outbox.Message{ID: fmt.Sprintf("sc-%d", i), Subject: "grid.case.received.310106.310106022", Data: []byte(fmt.Sprint(i))}
}

// TestScopePublishesFromMemoryOnCommit: with a poller that would not look
// for an hour, what a scoped transaction enqueued reaches the stream as it
// commits; a savepoint rolled back inside it, and a transaction rolled back
// whole, publish nothing.
func TestScopePublishesFromMemoryOnCommit(t *testing.T) {
	pool, js := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	relay := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{PollInterval: time.Hour, Grace: time.Hour})
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	time.Sleep(100 * time.Millisecond) // the first (empty) poll passes

	// Committed: two messages, one of them from a released savepoint, and
	// a savepoint rolled back between them.
	err := relay.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		if err := outbox.Enqueue(ctx, tx, msg(1)); err != nil {
			return err
		}
		for i, fail := range []bool{true, false} {
			sctx, end := relay.Scope(ctx)
			err := pgdb.InTx(sctx, tx, func(sp pgx.Tx) error {
				if err := outbox.Enqueue(sctx, sp, msg(10+i)); err != nil {
					return err
				}
				if fail {
					return errors.New("poison")
				}
				return nil
			})
			end(err == nil)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Rolled back whole.
	_ = relay.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		if err := outbox.Enqueue(ctx, tx, msg(20)); err != nil {
			return err
		}
		return errors.New("rolled back")
	})

	deadline := time.Now().Add(5 * time.Second)
	for streamCount(t, js) < 2 || pending(t, pool) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: %d messages in the stream, %d rows in the outbox; want 2 and 0", streamCount(t, js), pending(t, pool))
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // nothing else arrives
	s, _ := js.Stream(ctx, natsjs.StreamGrid)
	var ids []string
	for seq := uint64(1); seq <= 3; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.Header.Get(jetstream.MsgIDHeader))
	}
	if fmt.Sprint(ids) != "[sc-1 sc-11]" {
		t.Errorf("published %v, want [sc-1 sc-11]: the rolled-back savepoint's and transaction's rows never leave", ids)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func pending(t *testing.T, pool *pgxpool.Pool) int64 {
	t.Helper()
	n, err := outbox.Pending(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
