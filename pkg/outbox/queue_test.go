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
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
)

// TestQueuePublishesFromMemoryOnCommit: messages queued on a batch (one
// round trip with the transaction's other writes) join the scope as
// Enqueue's do: published from memory once the transaction commits, never
// when it rolls back.
func TestQueuePublishesFromMemoryOnCommit(t *testing.T) {
	pool, js := setup(t)
	ctx, relay, stop := hourRelay(t, pool, js)
	defer stop()

	send := func(fail bool, msgs ...outbox.Message) error {
		return relay.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			b := &pgx.Batch{}
			b.Queue(`SELECT 1`)
			if err := outbox.Queue(ctx, b, msgs...); err != nil {
				return err
			}
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
			if fail {
				return errors.New("rolled back")
			}
			return nil
		})
	}
	if err := send(false, msg(31), msg(32)); err != nil {
		t.Fatal(err)
	}
	if err := send(true, msg(33)); err == nil {
		t.Fatal("the failing transaction committed")
	}
	if err := send(false, msg(34), msg(34)); err == nil {
		t.Fatal("one event id twice was queued")
	}

	awaitPublished(t, pool, js, 2)
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
	if fmt.Sprint(ids) != "[sc-31 sc-32]" {
		t.Errorf("published %v, want [sc-31 sc-32]: the rolled-back transaction's row never leaves", ids)
	}
}

// TestQueueStoredHandsTheRowsToTheCaller: a batch sent outside any
// transaction or scope (intake's emergency, one implicit transaction) gets
// its stored rows back from QueueStored, and PublishCommitted sends them
// from memory; a batch that fails gives nothing to publish.
func TestQueueStoredHandsTheRowsToTheCaller(t *testing.T) {
	pool, js := setup(t)
	ctx, relay, stop := hourRelay(t, pool, js)
	defer stop()

	b := &pgx.Batch{}
	b.Queue(`SELECT 1`)
	out, err := outbox.QueueStored(ctx, b, msg(41), msg(42))
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	relay.PublishCommitted(*out)

	failing := &pgx.Batch{}
	if _, err := outbox.QueueStored(ctx, failing, msg(43)); err != nil {
		t.Fatal(err)
	}
	failing.Queue(`SELECT 1/0`) // fails the implicit transaction, the insert with it
	if err := pool.SendBatch(ctx, failing).Close(); err == nil {
		t.Fatal("a batch dividing by zero succeeded")
	}

	awaitPublished(t, pool, js, 2)
	if n := streamCount(t, js); n != 2 {
		t.Errorf("%d messages in the stream, want 2", n)
	}
}

// hourRelay runs a relay whose poller would not look for an hour, so that
// what reaches the stream was published from memory. stop ends it.
func hourRelay(t *testing.T, pool *pgxpool.Pool, js jetstream.JetStream) (context.Context, *outbox.Relay, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	relay := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{PollInterval: time.Hour, Grace: time.Hour})
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	time.Sleep(100 * time.Millisecond) // the first (empty) poll passes
	return ctx, relay, func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// awaitPublished waits up to 5 s for n messages in the stream and none left
// in the outbox, then a moment more for anything else to arrive.
func awaitPublished(t *testing.T, pool *pgxpool.Pool, js jetstream.JetStream, n uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for streamCount(t, js) < n || pending(t, pool) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: %d messages in the stream, %d rows in the outbox; want %d and 0", streamCount(t, js), pending(t, pool), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // nothing else arrives
}
