package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
)

// gate holds the first call back until the consumer has delivered n
// messages to the runner (and a little longer, for them to reach its
// queue), so that the next transaction takes the rest as one batch.
func gate(t *testing.T, e env, name string, n int) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			eventually(t, fmt.Sprintf("%d messages delivered", n), func() bool {
				c, err := e.js.Consumer(context.Background(), natsjs.StreamGrid, name)
				if err != nil {
					return false
				}
				info, err := c.Info(context.Background())
				return err == nil && info.NumAckPending >= n
			})
			time.Sleep(200 * time.Millisecond)
		})
	}
}

// batchLog records what each batch transaction was given.
type batchLog struct {
	mu      sync.Mutex
	batches [][]string          // event ids per BatchHandler call
	seen    map[string][]uint64 // NumDelivered of each handler call per event
	txids   map[string]int64    // the transaction of each successful apply
	calls   map[string]int      // handler calls per event
}

func newBatchLog() *batchLog {
	return &batchLog{seen: map[string][]uint64{}, txids: map[string]int64{}, calls: map[string]int{}}
}

func (l *batchLog) batch(b *consumer.Batch) {
	var ids []string
	for _, m := range b.Messages() {
		ids = append(ids, m.EventID)
	}
	l.mu.Lock()
	l.batches = append(l.batches, ids)
	l.mu.Unlock()
}

// apply writes the event's effect and notes the transaction it ran in.
func (l *batchLog) apply(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
	l.mu.Lock()
	l.calls[msg.EventID]++
	l.seen[msg.EventID] = append(l.seen[msg.EventID], msg.NumDelivered)
	l.mu.Unlock()
	if err := insertEffect(ctx, tx, msg, ""); err != nil {
		return err
	}
	var txid int64
	if err := tx.QueryRow(ctx, `SELECT txid_current()`).Scan(&txid); err != nil {
		return err
	}
	l.mu.Lock()
	l.txids[msg.EventID] = txid
	l.mu.Unlock()
	return nil
}

func (l *batchLog) bigBatches() [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out [][]string
	for _, b := range l.batches {
		if len(b) > 1 {
			out = append(out, b)
		}
	}
	return out
}

// One transaction for the batch, a savepoint per message: a poison message
// in the middle is dead-lettered and a failing one retried, while the
// neighbours commit together, once.
func TestBatchPoisonInTheMiddleFailsAlone(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	const name, total = "test-batch-poison", 10
	log := newBatchLog()
	wait := gate(t, e, name, total)
	var flaky atomic.Int32
	h := func(ctx context.Context, b *consumer.Batch) error {
		wait()
		log.batch(b)
		b.Each(func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
			if err := log.apply(ctx, tx, msg); err != nil {
				return err
			}
			switch msg.EventID {
			case "ev-4":
				return consumer.Permanent(errors.New("unknown catalogue code"))
			case "ev-6":
				if flaky.Add(1) == 1 {
					return errors.New("lock timeout")
				}
			}
			return nil
		})
		return nil
	}
	r, err := consumer.NewBatch(e.js, e.pool, consumer.Config{Name: name, Subjects: []string{subject},
		NakDelay: 20 * time.Millisecond}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	for i := range total {
		e.publish(t, fmt.Sprintf("ev-%d", i), "x", nil)
	}
	start(t, r)

	dlq, err := e.js.CreateOrUpdateConsumer(context.Background(), natsjs.StreamDLQ, jetstream.ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := dlq.Next(jetstream.FetchMaxWait(20 * time.Second))
	if err != nil {
		t.Fatalf("no dead letter: %v", err)
	}
	if id, reason := got.Headers().Get(consumer.HeaderDLQMsgID), got.Headers().Get(natsjs.HeaderDLQReason); id != "ev-4" || !strings.Contains(reason, "unknown catalogue code") {
		t.Errorf("dead letter %s with reason %q, want ev-4's", id, reason)
	}
	eventually(t, "nine events handled", func() bool {
		return count(t, e.pool, `SELECT count(*) FROM consumer_handled WHERE consumer = $1`, name) == total-1
	})
	eventually(t, "everything settled", settled(t, e.js, name))

	for i := range total {
		id, want := fmt.Sprintf("ev-%d", i), 1
		if id == "ev-4" {
			want = 0
		}
		if n := count(t, e.pool, `SELECT count(*) FROM effects WHERE event_id = $1`, id); n != want {
			t.Errorf("%s applied %d times, want %d", id, n, want)
		}
	}
	// A fetch may return before every message has arrived, so the ten can
	// come in more than one batch: each of ev-4 and ev-6 must have been
	// handled beside neighbours, and those neighbours committed in one
	// transaction, on their first delivery.
	big := log.bigBatches()
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, culprit := range []string{"ev-4", "ev-6"} {
		i := slices.IndexFunc(big, func(b []string) bool { return slices.Contains(b, culprit) })
		if i < 0 {
			t.Fatalf("batches %v: want one holding %s with its neighbours", log.batches, culprit)
		}
		var tx int64
		for _, id := range big[i] {
			if id == "ev-4" || id == "ev-6" {
				continue
			}
			if tx == 0 {
				tx = log.txids[id]
			}
			if log.txids[id] != tx || !slices.Equal(log.seen[id], []uint64{1}) {
				t.Errorf("%s beside %s: transaction %d (want %d), deliveries %v (want [1])", id, culprit, log.txids[id], tx, log.seen[id])
			}
		}
	}
	if diff := cmp.Diff([]uint64{1, 2}, log.seen["ev-6"]); diff != "" {
		t.Errorf("ev-6 deliveries mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint64{1}, log.seen["ev-4"]); diff != "" {
		t.Errorf("ev-4 deliveries mismatch (-want +got):\n%s", diff)
	}
}

// A redelivery of an event whose batch committed is acked without reaching
// the handler, alone or beside new events, and so is a second copy of an
// event in one batch.
// crashBeforeFirstAck makes r commit event id's first delivery and then
// not ack it, as a replica that crashed in between; the returned counter
// holds NumDelivered of the delivery acked after that.
func crashBeforeFirstAck(r *consumer.Runner, id string) *atomic.Uint64 {
	var skipped atomic.Bool
	var redelivered atomic.Uint64
	consumer.SetBeforeAck(r, func(msg consumer.Message) bool {
		if msg.EventID != id {
			return true
		}
		if skipped.CompareAndSwap(false, true) {
			return false // committed, then "crashed" before acking
		}
		redelivered.Store(msg.NumDelivered)
		return true
	})
	return &redelivered
}

func TestBatchSkipsHandledIDs(t *testing.T) {
	t.Parallel()
	e := setup(t, &jetstream.StreamConfig{Name: natsjs.StreamGrid, Subjects: []string{natsjs.SubjectsGrid},
		Storage: jetstream.FileStorage, Duplicates: 100 * time.Millisecond})
	const name = "test-batch-dup"
	log := newBatchLog()
	wait := gate(t, e, name, 4)
	h := func(ctx context.Context, b *consumer.Batch) error {
		wait()
		log.batch(b)
		b.Each(log.apply)
		return nil
	}
	r, err := consumer.NewBatch(e.js, e.pool, consumer.Config{Name: name, Subjects: []string{subject},
		AckWait: time.Second}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	redelivered := crashBeforeFirstAck(r, "ev-b")
	e.publish(t, "ev-a", "1", nil)
	time.Sleep(300 * time.Millisecond) // past the stream's duplicate window
	e.publish(t, "ev-a", "1 again", nil)
	e.publish(t, "ev-b", "2", nil)
	e.publish(t, "ev-c", "3", nil)
	start(t, r)

	eventually(t, "ev-b's redelivery to be acked", func() bool { return redelivered.Load() >= 2 })
	eventually(t, "everything settled", settled(t, e.js, name))
	log.mu.Lock()
	defer log.mu.Unlock()
	if diff := cmp.Diff(map[string]int{"ev-a": 1, "ev-b": 1, "ev-c": 1}, log.calls); diff != "" {
		t.Errorf("handler calls mismatch (-want +got):\n%s", diff)
	}
	if n := count(t, e.pool, `SELECT count(*) FROM effects`); n != 3 {
		t.Errorf("effects = %d, want 3", n)
	}
}

// A batch whose transaction fails as a whole rolls back everything it wrote;
// its messages are handled again one per transaction, so the neighbours
// commit on their first delivery and only the culprit is retried and, in
// the end, dead-lettered.
func TestBatchFailingAsAWholeIsHandledOneByOne(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		breakTx    func(ctx context.Context, b *consumer.Batch) error
		wantReason string
	}{
		{
			name: "handler returns an error",
			breakTx: func(context.Context, *consumer.Batch) error {
				return errors.New("projection out of date")
			},
			wantReason: "projection out of date",
		},
		{
			name: "transaction aborted outside a savepoint",
			breakTx: func(ctx context.Context, b *consumer.Batch) error {
				_, err := b.Tx().Exec(ctx, `SELECT 1/0`)
				if err == nil {
					t.Error("1/0 succeeded")
				}
				return nil // the commit fails
			},
			wantReason: "commit",
		},
		{
			name: "handler panics",
			breakTx: func(context.Context, *consumer.Batch) error {
				panic("index out of range")
			},
			wantReason: "batch handler panicked: index out of range",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, nil)
			const name, total = "test-batch-whole", 6
			log := newBatchLog()
			wait := gate(t, e, name, total)
			h := func(ctx context.Context, b *consumer.Batch) error {
				wait()
				log.batch(b)
				b.Each(log.apply) // written, then lost with the transaction
				for _, m := range b.Messages() {
					if m.EventID == "ev-3" {
						return tt.breakTx(ctx, b)
					}
				}
				return nil
			}
			r, err := consumer.NewBatch(e.js, e.pool, consumer.Config{Name: name, Subjects: []string{subject},
				MaxDeliver: 2, NakDelay: 20 * time.Millisecond}, h, e.log)
			if err != nil {
				t.Fatal(err)
			}
			for i := range total {
				e.publish(t, fmt.Sprintf("ev-%d", i), "x", nil)
			}
			start(t, r)

			dlq, err := e.js.CreateOrUpdateConsumer(context.Background(), natsjs.StreamDLQ, jetstream.ConsumerConfig{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := dlq.Next(jetstream.FetchMaxWait(20 * time.Second))
			if err != nil {
				t.Fatalf("no dead letter: %v", err)
			}
			if id, reason := got.Headers().Get(consumer.HeaderDLQMsgID), got.Headers().Get(natsjs.HeaderDLQReason); id != "ev-3" || !strings.Contains(reason, tt.wantReason) {
				t.Errorf("dead letter %s with reason %q, want ev-3's containing %q", id, reason, tt.wantReason)
			}
			eventually(t, "everything settled", settled(t, e.js, name))

			// A fetch may return before every message arrived: look at the
			// batch that held ev-3, whichever it was.
			big := log.bigBatches()
			at := slices.IndexFunc(big, func(b []string) bool { return slices.Contains(b, "ev-3") })
			if at < 0 {
				t.Fatalf("batches %v: want ev-3 in a batch with neighbours", log.batches)
			}
			culprits := big[at]
			log.mu.Lock()
			defer log.mu.Unlock()
			for i := range total {
				id := fmt.Sprintf("ev-%d", i)
				want := 1
				if id == "ev-3" {
					want = 0
				}
				if n := count(t, e.pool, `SELECT count(*) FROM effects WHERE event_id = $1`, id); n != want {
					t.Errorf("%s applied %d times, want %d", id, n, want)
				}
				if id != "ev-3" && slices.Contains(culprits, id) && !slices.Equal(log.seen[id], []uint64{1, 1}) {
					t.Errorf("%s: deliveries %v, want [1 1] (in the batch, then alone, never redelivered)", id, log.seen[id])
				}
			}
			if diff := cmp.Diff([]uint64{1, 1, 2}, log.seen["ev-3"]); diff != "" {
				t.Errorf("ev-3 deliveries mismatch (-want +got):\n%s", diff)
			}
			if n := count(t, e.pool, `SELECT count(*) FROM consumer_handled`); n != total-1 {
				t.Errorf("%d handled ids, want %d", n, total-1)
			}
		})
	}
}

// With an OrderKey, the events of one case are handled in arrival order
// although several workers run at once; other cases go on in parallel.
func TestOrderKeyKeepsACaseInArrivalOrder(t *testing.T) {
	t.Parallel()
	for _, shape := range []string{"handler", "batch handler"} {
		t.Run(shape, func(t *testing.T) {
			t.Parallel()
			e := setup(t, nil)
			const cases, perCase = 5, 12
			var (
				mu    sync.Mutex
				order = map[string][]int{}
			)
			h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
				c, n, _ := strings.Cut(string(msg.Data), "/")
				seq, err := strconv.Atoi(n)
				if err != nil {
					return consumer.Permanent(err)
				}
				time.Sleep(time.Duration(seq%3) * time.Millisecond) // uneven work, as in life
				mu.Lock()
				order[c] = append(order[c], seq)
				mu.Unlock()
				return insertEffect(ctx, tx, msg, c)
			}
			cfg := consumer.Config{Name: "test-order", Subjects: []string{subject}, Concurrency: 4, BatchSize: 16,
				OrderKey: func(m consumer.Message) string { return m.Headers.Get("X-Case") }}
			var (
				r   *consumer.Runner
				err error
			)
			if shape == "handler" {
				r, err = consumer.New(e.js, e.pool, cfg, h, e.log)
			} else {
				r, err = consumer.NewBatch(e.js, e.pool, cfg, func(_ context.Context, b *consumer.Batch) error {
					b.Each(h)
					return nil
				}, e.log)
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range perCase {
				for c := range cases {
					id := fmt.Sprintf("c%d", c)
					e.publish(t, fmt.Sprintf("%s-%d", id, i), fmt.Sprintf("%s/%d", id, i), map[string]string{"X-Case": id})
				}
			}
			start(t, r)
			eventually(t, "every event handled", func() bool {
				return count(t, e.pool, `SELECT count(*) FROM effects`) == cases*perCase
			})
			eventually(t, "everything settled", settled(t, e.js, "test-order"))
			mu.Lock()
			defer mu.Unlock()
			want := make([]int, perCase)
			for i := range want {
				want[i] = i
			}
			for c := range cases {
				id := fmt.Sprintf("c%d", c)
				if diff := cmp.Diff(want, order[id]); diff != "" {
					t.Errorf("case %s handled out of order (-want +got):\n%s", id, diff)
				}
			}
		})
	}
}

func TestNewBatchRejectsBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := consumer.NewBatch(jsStub{}, nil, consumer.Config{Name: "classify-cases", Subjects: []string{subject}},
		func(context.Context, *consumer.Batch) error { return nil }, nil); err == nil {
		t.Error("NewBatch without a pool succeeded")
	}
	if _, err := consumer.NewBatch(nil, nil, consumer.Config{Name: "classify-cases", Subjects: []string{subject}}, nil, nil); err == nil {
		t.Error("NewBatch without a handler succeeded")
	}
}

// A batch handler for the pipeline-speed shape: decode the whole batch, read
// what it needs for all of it in one query, then apply each message in its
// own savepoint; one commit for the lot.
func ExampleNewBatch() {
	var (
		js   jetstream.JetStream // connected elsewhere
		pool *pgxpool.Pool
	)
	decode := func(b []byte) (string, error) { return string(b), nil }
	handler := func(ctx context.Context, b *consumer.Batch) error {
		ids := make([]string, len(b.Messages()))
		for i, m := range b.Messages() {
			id, err := decode(m.Data)
			if err != nil {
				b.Fail(i, consumer.Permanent(err)) // nothing written for it yet
				continue
			}
			ids[i] = id
		}
		if _, err := b.Tx().Exec(ctx, `SELECT id FROM cases WHERE id = ANY($1) FOR UPDATE`, ids); err != nil {
			return err // the batch fails whole; its messages are handled again one by one
		}
		b.Each(func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
			_, err := tx.Exec(ctx, `UPDATE cases SET events = events + 1 WHERE id = $1`, string(msg.Data))
			return err
		})
		return nil
	}
	r, err := consumer.NewBatch(js, pool, consumer.Config{Name: "feedback-events", Subjects: []string{"grid.>"},
		OrderKey: func(m consumer.Message) string { return m.Headers.Get("X-Case") }}, handler, nil)
	if err != nil {
		panic(err)
	}
	_ = r.Run
}

// BenchmarkConsume drains b.N messages through a handler that writes one row
// each: a transaction per message (New) against one per batch (NewBatch).
// Run it with a fixed count, e.g. -benchtime=3000x.
func BenchmarkConsume(b *testing.B) {
	for _, shape := range []string{"handler", "batch"} {
		b.Run(shape, func(b *testing.B) {
			e := setup(b, nil)
			for i := range b.N {
				e.publish(b, fmt.Sprintf("ev-%d", i), "x", nil)
			}
			h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
				return insertEffect(ctx, tx, msg, "")
			}
			cfg := consumer.Config{Name: "bench-consume", Subjects: []string{subject}}
			var (
				r   *consumer.Runner
				err error
			)
			if shape == "handler" {
				r, err = consumer.New(e.js, e.pool, cfg, h, e.log)
			} else {
				r, err = consumer.NewBatch(e.js, e.pool, cfg, func(_ context.Context, bt *consumer.Batch) error {
					bt.Each(h)
					return nil
				}, e.log)
			}
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start(b, r)
			eventually(b, "every message handled", func() bool {
				return count(b, e.pool, `SELECT count(*) FROM effects`) == b.N
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// Committed runs after each commit that handled something (the relay's
// Notify), when what was written is visible to others, and not for a
// transaction that rolled back.
func TestCommittedIsCalledAfterEachCommit(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	var (
		mu      sync.Mutex
		visible []int
	)
	h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		if err := insertEffect(ctx, tx, msg, ""); err != nil {
			return err
		}
		if msg.EventID == "ev-bad" {
			return consumer.Permanent(errors.New("unknown catalogue code"))
		}
		return nil
	}
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-committed", Subjects: []string{subject},
		Committed: func() {
			n := count(t, e.pool, `SELECT count(*) FROM effects`) // from another connection
			mu.Lock()
			visible = append(visible, n)
			mu.Unlock()
		}}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ev-1", "ev-bad", "ev-2", "ev-3"} {
		e.publish(t, id, "x", nil)
	}
	start(t, r)
	// Settled alone is not enough: a consumer just created may report
	// nothing pending for a moment before its first delivery.
	isSettled := settled(t, e.js, "test-committed")
	eventually(t, "three commits and everything settled", func() bool {
		mu.Lock()
		n := len(visible)
		mu.Unlock()
		return n >= 3 && isSettled()
	})
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]int{1, 2, 3}, visible); diff != "" {
		t.Errorf("effects visible at each Committed call mismatch (-want +got):\n%s", diff)
	}
}

// Settle gives outcomes without savepoints to a handler that decides in
// memory and writes the successful messages' effects itself at the end (as
// dispatch's batch does): a refused message is dead-lettered alone, a
// panicking one retried, and every other message's effect committed once.
func TestBatchSettleDecidesInMemory(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	const name, total = "test-batch-settle", 8
	wait := gate(t, e, name, total)
	var panicked atomic.Int32
	h := func(ctx context.Context, b *consumer.Batch) error {
		wait()
		var ok []consumer.Message
		for i, m := range b.Messages() {
			err := b.Settle(i, func() error {
				switch {
				case m.EventID == "ev-3":
					return consumer.Permanent(errors.New("unknown catalogue code"))
				case m.EventID == "ev-5" && panicked.Add(1) == 1:
					panic("a bug met once")
				}
				return nil
			})
			if err == nil {
				ok = append(ok, m)
			}
			if b.Settle(i, func() error { return nil }) == nil {
				t.Errorf("%s settled twice", m.EventID)
			}
		}
		for _, m := range ok {
			if err := insertEffect(ctx, b.Tx(), m, ""); err != nil {
				return err
			}
		}
		return nil
	}
	r, err := consumer.NewBatch(e.js, e.pool, consumer.Config{Name: name, Subjects: []string{subject},
		NakDelay: 20 * time.Millisecond}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	for i := range total {
		e.publish(t, fmt.Sprintf("ev-%d", i), "x", nil)
	}
	start(t, r)

	dlq, err := e.js.CreateOrUpdateConsumer(context.Background(), natsjs.StreamDLQ, jetstream.ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := dlq.Next(jetstream.FetchMaxWait(20 * time.Second))
	if err != nil {
		t.Fatalf("no dead letter: %v", err)
	}
	if id := got.Headers().Get(consumer.HeaderDLQMsgID); id != "ev-3" {
		t.Errorf("dead letter %s, want ev-3", id)
	}
	eventually(t, "seven events handled", func() bool {
		return count(t, e.pool, `SELECT count(*) FROM consumer_handled WHERE consumer = $1`, name) == total-1
	})
	eventually(t, "everything settled", settled(t, e.js, name))
	for i := range total {
		id, want := fmt.Sprintf("ev-%d", i), 1
		if id == "ev-3" {
			want = 0
		}
		if n := count(t, e.pool, `SELECT count(*) FROM effects WHERE event_id = $1`, id); n != want {
			t.Errorf("%s applied %d times, want %d", id, n, want)
		}
	}
	if panicked.Load() < 2 {
		t.Errorf("ev-5 handled %d times, want a retry after its panic", panicked.Load())
	}
}

// TestDedupedLeavesDuplicatesToItsHandler: a consumer whose handler keeps
// its own record of handled events (Config.Deduped, feedback's log) is
// handed a redelivered event again and the runner writes no
// consumer_handled row; what the handler stored stays once.
func TestDedupedLeavesDuplicatesToItsHandler(t *testing.T) {
	t.Parallel()
	e := setup(t, &jetstream.StreamConfig{Name: natsjs.StreamGrid, Subjects: []string{natsjs.SubjectsGrid},
		Storage: jetstream.FileStorage, Duplicates: 100 * time.Millisecond})
	const name = "test-batch-deduped"
	var mu sync.Mutex
	calls := map[string]int{}
	h := func(ctx context.Context, b *consumer.Batch) error {
		b.Each(func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
			mu.Lock()
			calls[msg.EventID]++
			mu.Unlock()
			// The handler's own record: an event's effect is stored once.
			_, err := tx.Exec(ctx, `INSERT INTO effects (event_id) SELECT $1
				WHERE NOT EXISTS (SELECT 1 FROM effects WHERE event_id = $1)`, msg.EventID)
			return err
		})
		return nil
	}
	r, err := consumer.NewBatch(e.js, e.pool, consumer.Config{Name: name, Subjects: []string{subject},
		AckWait: time.Second, Deduped: true}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	redelivered := crashBeforeFirstAck(r, "ev-b")
	e.publish(t, "ev-a", "1", nil)
	e.publish(t, "ev-b", "2", nil)
	start(t, r)

	eventually(t, "ev-b's redelivery to be acked", func() bool { return redelivered.Load() >= 2 })
	eventually(t, "everything settled", settled(t, e.js, name))
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(map[string]int{"ev-a": 1, "ev-b": 2}, calls); diff != "" {
		t.Errorf("handler calls mismatch (-want +got):\n%s", diff)
	}
	if n := count(t, e.pool, `SELECT count(*) FROM effects`); n != 2 {
		t.Errorf("effects = %d, want 2", n)
	}
	if n := count(t, e.pool, `SELECT count(*) FROM consumer_handled WHERE consumer = '`+name+`'`); n != 0 {
		t.Errorf("consumer_handled rows = %d, want none", n)
	}
}

// stall holds handlers back until released and tells when the first one
// reached it.
type stall struct {
	entered, release chan struct{}
	once             sync.Once
}

func newStall() *stall { return &stall{entered: make(chan struct{}), release: make(chan struct{})} }

// wait is called by a handler: it returns once the stall is released.
func (s *stall) wait(ctx context.Context) error {
	s.once.Do(func() { close(s.entered) })
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reached waits for the first handler to reach the stall.
func (s *stall) reached(t *testing.T, what string) {
	t.Helper()
	select {
	case <-s.entered:
	case <-time.After(20 * time.Second):
		t.Fatal(what)
	}
}

// A worker busy with a slow message holds back only its own queue: the
// runner goes on fetching, and what is fetched for the other workers is
// handled meanwhile — not after the slow one, as when every fetch waited
// for its last worker (issue 17).
func TestWorkersDoNotWaitForEachOther(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	st := newStall()
	h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		if string(msg.Data) == "slow" {
			if err := st.wait(ctx); err != nil {
				return err
			}
		}
		return insertEffect(ctx, tx, msg, string(msg.Data))
	}
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-apart", Subjects: []string{subject},
		Concurrency: 2, BatchSize: 4, FetchWait: 100 * time.Millisecond,
		OrderKey: func(m consumer.Message) string { return m.Headers.Get("X-Case") }}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	e.publish(t, "slow", "slow", map[string]string{"X-Case": "slow"})
	start(t, r)
	st.reached(t, "the slow message was not handled")
	time.Sleep(300 * time.Millisecond) // the fetch that brought it is over
	const fast = 12                    // of 12 keys, some go to the other worker
	for i := range fast {
		id := fmt.Sprintf("fast-%d", i)
		e.publish(t, id, "fast", map[string]string{"X-Case": id})
	}
	eventually(t, "fast messages handled while the slow one is in hand", func() bool {
		return count(t, e.pool, `SELECT count(*) FROM effects WHERE runner = 'fast'`) > 0
	})
	if n := count(t, e.pool, `SELECT count(*) FROM effects WHERE runner = 'slow'`); n != 0 {
		t.Fatalf("the slow message committed before it was released (%d)", n)
	}
	close(st.release)
	eventually(t, "every message handled", func() bool {
		return count(t, e.pool, `SELECT count(*) FROM effects`) == fast+1
	})
	eventually(t, "everything settled", settled(t, e.js, "test-apart"))
}

// A key whose backlog outgrows a batch does not hold the fetch back: the
// other workers go on with the keys behind it (issue 17), and the busy
// key's messages are still handled in arrival order once it moves.
func TestABusyKeysBacklogDoesNotIdleTheOtherWorkers(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	st := newStall()
	var (
		mu  sync.Mutex
		hot []int
	)
	h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		key, n, _ := strings.Cut(string(msg.Data), "/")
		if key == "hot" {
			if err := st.wait(ctx); err != nil {
				return err
			}
			seq, _ := strconv.Atoi(n)
			mu.Lock()
			hot = append(hot, seq)
			mu.Unlock()
		}
		return insertEffect(ctx, tx, msg, key)
	}
	const batch, backlog, others = 4, 20, 12 // the hot key's backlog is five batches
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-backlog", Subjects: []string{subject},
		Concurrency: 2, BatchSize: batch, FetchWait: 100 * time.Millisecond,
		OrderKey: func(m consumer.Message) string { return m.Headers.Get("X-Case") }}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	for i := range backlog {
		e.publish(t, fmt.Sprintf("hot-%d", i), fmt.Sprintf("hot/%d", i), map[string]string{"X-Case": "hot"})
	}
	for i := range others {
		id := fmt.Sprintf("other-%d", i)
		e.publish(t, id, "other/0", map[string]string{"X-Case": id})
	}
	start(t, r)
	st.reached(t, "the hot key's first message was not handled")
	// Of 12 keys, some go to the worker that is not stuck: before, the
	// stuck worker's full queue held the fetch back and none was handled.
	eventually(t, "other keys handled while the hot key is stuck", func() bool {
		return count(t, e.pool, `SELECT count(*) FROM effects WHERE runner = 'other'`) > 0
	})
	close(st.release)
	eventually(t, "every message handled", func() bool {
		return count(t, e.pool, `SELECT count(*) FROM effects`) == backlog+others
	})
	eventually(t, "everything settled", settled(t, e.js, "test-backlog"))
	mu.Lock()
	defer mu.Unlock()
	want := make([]int, backlog)
	for i := range want {
		want[i] = i
	}
	if diff := cmp.Diff(want, hot); diff != "" {
		t.Errorf("the hot key handled out of order (-want +got):\n%s", diff)
	}
}

// What one replica holds is bounded by MaxInHand (and the one fetch that
// is waiting for a free place), whatever the handler's pace.
func TestMaxInHandBoundsWhatIsFetched(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	st := newStall()
	h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		if err := st.wait(ctx); err != nil {
			return err
		}
		return insertEffect(ctx, tx, msg, "bounded")
	}
	const batch, inHand, total = 4, 6, 30
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-inhand", Subjects: []string{subject},
		BatchSize: batch, MaxInHand: inHand, FetchWait: 100 * time.Millisecond}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Config().MaxInHand; got != inHand {
		t.Fatalf("MaxInHand %d, want %d", got, inHand)
	}
	for i := range total {
		e.publish(t, fmt.Sprintf("m-%d", i), "m", nil)
	}
	start(t, r)
	st.reached(t, "no message was handled")
	time.Sleep(500 * time.Millisecond) // fetches enough to go past the bound, were it not kept
	c, err := e.js.Consumer(t.Context(), natsjs.StreamGrid, "test-inhand")
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := info.NumAckPending; n > inHand+batch {
		t.Errorf("%d messages delivered and unsettled, want ≤ MaxInHand %d + one fetch of %d", n, inHand, batch)
	}
	close(st.release)
	eventually(t, "every message handled", func() bool {
		return count(t, e.pool, `SELECT count(*) FROM effects`) == total
	})
	eventually(t, "everything settled", settled(t, e.js, "test-inhand"))
}

// A message Skip names is acked without a transaction: the handler never
// sees it and no handled record is written; the others are handled as
// ever.
func TestSkipAcksWithoutATransaction(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	var (
		mu   sync.Mutex
		seen []string
	)
	h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		mu.Lock()
		seen = append(seen, string(msg.Data))
		mu.Unlock()
		return insertEffect(ctx, tx, msg, string(msg.Data))
	}
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-skip", Subjects: []string{subject}, Concurrency: 2,
		Skip: func(m consumer.Message) bool {
			if string(m.Data) == "puzzling" {
				panic("a Skip that cannot tell")
			}
			return string(m.Data) == "nothing to do"
		}}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		data := "work"
		if i%2 == 0 {
			data = "nothing to do"
		}
		e.publish(t, fmt.Sprintf("s-%d", i), data, nil)
	}
	// A Skip that panics leaves the message to the handler and the
	// consumer running.
	e.publish(t, "s-puzzling", "puzzling", nil)
	start(t, r)
	eventually(t, "everything settled", settled(t, e.js, "test-skip"))
	eventually(t, "the work handled", func() bool { return count(t, e.pool, `SELECT count(*) FROM effects`) == 6 })
	if n := count(t, e.pool, `SELECT count(*) FROM consumer_handled WHERE consumer = 'test-skip'`); n != 6 {
		t.Errorf("%d handled records, want 6 (none for the skipped)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range seen {
		if s != "work" && s != "puzzling" {
			t.Errorf("the handler saw %q", s)
		}
	}
}
