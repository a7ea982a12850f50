package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
)

func setup(t *testing.T) (*pgxpool.Pool, jetstream.JetStream) {
	t.Helper()
	pool := testenv.Pool(t, "obtest", 4, outbox.Migrations)
	_, js := testenv.JetStream(t)
	return pool, js
}

func enqueue(t *testing.T, pool *pgxpool.Pool, from, n int, commit bool) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []outbox.Message
	for i := from; i < from+n; i++ {
		msgs = append(msgs, outbox.Message{ID: fmt.Sprintf("ev-%d", i), Subject: "grid.case.received.310106.310106022", Data: []byte(fmt.Sprint(i))})
	}
	if err := outbox.Enqueue(ctx, tx, msgs...); err != nil {
		t.Fatal(err)
	}
	if commit {
		err = tx.Commit(ctx)
	} else {
		err = tx.Rollback(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func streamCount(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), natsjs.StreamGrid)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestRelayPublishesCommittedRowsOnce(t *testing.T) {
	pool, js := setup(t)
	ctx := context.Background()
	enqueue(t, pool, 0, 600, true)
	enqueue(t, pool, 1000, 50, false) // rolled back: never published

	relay := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{BatchSize: 256})
	total := 0
	for {
		n, err := relay.Flush(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != 600 {
		t.Errorf("published %d rows, want 600", total)
	}
	if n, _ := outbox.Pending(ctx, pool); n != 0 {
		t.Errorf("outbox still holds %d rows", n)
	}
	if got := streamCount(t, js); got != 600 {
		t.Errorf("stream holds %d messages, want 600", got)
	}

	// A row published again (as after a crash between publish and delete)
	// is dropped by the stream's duplicate window: the event id is the Nats-Msg-Id.
	enqueue(t, pool, 0, 10, true)
	if _, err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := streamCount(t, js); got != 600 {
		t.Errorf("after republishing: stream holds %d messages, want 600", got)
	}
}

func TestRelayRunWakesOnNotify(t *testing.T) {
	pool, js := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	relay := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{PollInterval: time.Hour})
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	time.Sleep(100 * time.Millisecond) // let the first (empty) round pass
	enqueue(t, pool, 0, 3, true)
	relay.Notify()
	deadline := time.Now().Add(10 * time.Second)
	for streamCount(t, js) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("relay did not publish after Notify")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestEnqueueKeepsTraceHeaders(t *testing.T) {
	pool, _ := setup(t)
	ctx := context.Background()
	err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		return outbox.Enqueue(ctx, tx, outbox.Message{ID: "x", Subject: "grid.x", Data: nil, Headers: map[string]string{"A": "b"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]string
	if err := pool.QueryRow(ctx, `SELECT headers FROM outbox`).Scan(&h); err != nil {
		t.Fatal(err)
	}
	if h["A"] != "b" {
		t.Errorf("headers = %v, want A=b kept", h)
	}
}

// TestFastPath: rows handed over after commit are published from memory and
// deleted; rows never handed over wait for the poller's grace period.
func TestFastPath(t *testing.T) {
	pool, js := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A long grace makes the two paths tell apart without a tight timing
	// assertion: only the fast path can publish before the grace is over.
	const grace = 4 * time.Second
	relay := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{PollInterval: 20 * time.Millisecond, Grace: grace})
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()

	var stored outbox.Stored
	err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		var err error
		stored, err = outbox.EnqueueStored(ctx, tx,
			outbox.Message{ID: "fast-1", Subject: "grid.case.received.310106.310106022", Data: []byte("a")},
			outbox.Message{ID: "fast-2", Subject: "grid.case.received.310106.310106022", Data: []byte("b")})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	relay.PublishCommitted(stored)
	for streamCount(t, js) < 2 {
		if time.Since(start) > grace/2 {
			t.Fatal("fast path did not publish before the poller's grace was half over")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Not handed over (as after a crash between commit and hand-over): the
	// poller publishes it once it is older than the grace period.
	enqueue(t, pool, 100, 1, true)
	deadline := time.Now().Add(grace + 10*time.Second)
	for streamCount(t, js) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("poller did not publish the row left behind")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		n, _ := outbox.Pending(ctx, pool)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows left in the outbox", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}

// A message stored by reference keeps no payload in the table: the fast path
// publishes it from memory, and the poller (here: nothing was handed over, as
// after a crash) has Rebuild make it again.
func TestStoredByReference(t *testing.T) {
	pool, js := setup(t)
	ctx := context.Background()
	var stored outbox.Stored
	err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		var err error
		stored, err = outbox.EnqueueStored(ctx, tx,
			outbox.Message{ID: "ref-1", Subject: "grid.case.received.310106.310106022", Data: []byte("payload of case-1"), Ref: "case-1"},
			outbox.Message{ID: "ref-2", Subject: "grid.case.received.310106.310106022", Data: []byte("plain")})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = stored // not handed over
	var nullData int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE data IS NULL AND ref = 'case-1'`).Scan(&nullData); err != nil || nullData != 1 {
		t.Fatalf("rows stored by reference without data = %d (%v), want 1", nullData, err)
	}

	// Without Rebuild the relay refuses rather than publish nothing.
	if _, err := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{}).Flush(ctx); err == nil {
		t.Fatal("relay without Rebuild published rows stored by reference")
	}

	var asked []outbox.Ref
	relay := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{
		Rebuild: func(ctx context.Context, tx pgx.Tx, refs []outbox.Ref) ([][]byte, error) {
			asked = append(asked, refs...)
			out := make([][]byte, len(refs))
			for i, r := range refs {
				out[i] = []byte("payload of " + r.Ref)
			}
			return out, nil
		}})
	if n, err := relay.Flush(ctx); err != nil || n != 2 {
		t.Fatalf("Flush = %d, %v; want 2", n, err)
	}
	if len(asked) != 1 || asked[0] != (outbox.Ref{EventID: "ref-1", Ref: "case-1"}) {
		t.Errorf("Rebuild asked for %v, want only ref-1/case-1", asked)
	}
	s, err := js.Stream(ctx, natsjs.StreamGrid)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for seq := uint64(1); seq <= 2; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		got[m.Header.Get("Nats-Msg-Id")] = string(m.Data)
	}
	if got["ref-1"] != "payload of case-1" || got["ref-2"] != "plain" {
		t.Errorf("published %v", got)
	}
}

// A started relay waits for prepare, publishes until Stop (not until the
// caller's context ends) and drains what was committed before it stops.
func TestStartRunsUntilStop(t *testing.T) {
	pool, js := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	relay := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{PollInterval: time.Hour})
	bg := relay.Start(ctx, func(context.Context) error { <-release; return nil })

	ran := make(chan struct{})
	go func() {
		_ = bg.OnceReady(context.Background(), func(context.Context) error { close(ran); return nil })
	}()
	select {
	case <-ran:
		t.Fatal("OnceReady ran before prepare returned")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-ran
	if err := bg.OnceReady(ctx, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}

	cancel() // the service is stopping; the relay is not yet
	if bg.Context().Err() != nil {
		t.Fatal("the relay's context ended with the caller's")
	}
	enqueue(t, pool, 0, 3, true) // committed while stopping, never handed over
	if err := bg.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if n := streamCount(t, js); n != 3 {
		t.Errorf("%d events published by Stop, want 3", n)
	}
	if bg.Context().Err() == nil {
		t.Error("the relay's context outlived Stop")
	}
}

// streamSeqOf is the stream sequence of the message with Nats-Msg-Id id.
func streamSeqs(t *testing.T, js jetstream.JetStream) map[string]uint64 {
	t.Helper()
	ctx := context.Background()
	cons, err := js.OrderedConsumer(ctx, natsjs.StreamGrid, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	n := streamCount(t, js)
	for uint64(len(out)) < n {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(out), n, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		out[m.Headers().Get(jetstream.MsgIDHeader)] = meta.Sequence.Stream
	}
	return out
}

// Issue 17, emergencies first: an emergency row committed behind a long
// run of routine rows leaves on a path of its own, not after them — from
// memory (PublishCommitted) and from the poller alike.
func TestRelayEmergencyRowsLeaveFirst(t *testing.T) {
	const routine = 2000
	msgs := func(prefix string) []outbox.Message {
		var out []outbox.Message
		for i := range routine {
			out = append(out, outbox.Message{ID: fmt.Sprintf("%s-%d", prefix, i), Subject: "grid.case.received.310106.310106022", Data: []byte("r")})
		}
		return append(out, outbox.Message{ID: prefix + "-gas", Subject: "grid.case.received.310106.310106022.emergency", Data: []byte("e")})
	}
	t.Run("fast path", func(t *testing.T) {
		pool, js := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		relay := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{PollInterval: time.Hour, Grace: time.Hour})
		done := make(chan error, 1)
		go func() { done <- relay.Run(ctx) }()
		if err := relay.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			return outbox.Enqueue(ctx, tx, msgs("fast")...)
		}); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); streamCount(t, js) < routine+1; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d published", streamCount(t, js), routine+1)
			}
		}
		seq := streamSeqs(t, js)["fast-gas"]
		t.Logf("the emergency, enqueued after %d routine rows in one transaction, is the stream's message %d", routine, seq)
		if seq == 0 || seq > routine/2 {
			t.Errorf("the emergency was published as message %d of %d; want it ahead of most of the routine rows", seq, routine+1)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("poller", func(t *testing.T) {
		pool, js := setup(t)
		ctx := context.Background()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := outbox.Enqueue(ctx, tx, msgs("poll")[routine-100:]...); err != nil { // 100 routine, then the emergency
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		relay := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{BatchSize: 256})
		if n, err := relay.Flush(ctx); err != nil || n != 101 {
			t.Fatalf("flush: %d, %v", n, err)
		}
		if seq := streamSeqs(t, js)["poll-gas"]; seq != 1 {
			t.Errorf("the emergency was published as message %d of 101; want the first", seq)
		}
	})
}

// Issue 17: what an emergency lane's transaction enqueues (a consumer of
// the lane marks its context with lane.WithEmergency) leaves on the
// emergency path even under a subject of the routine lane — task.dispatched,
// the page — and so overtakes routine rows handed over just before it.
func TestRelayEmergencyTransactionsRowsLeaveFirst(t *testing.T) {
	const rounds, perRound = 40, 50
	pool, js := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	relay := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{BatchSize: perRound, PollInterval: time.Hour, Grace: time.Hour})
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	// The routine transactions commit first; their rows are handed over
	// (as their scopes would) right before the emergency's, so that the
	// fast path holds a backlog of rounds when the page arrives.
	var routine []outbox.Stored
	for r := range rounds {
		var msgs []outbox.Message
		for i := range perRound {
			msgs = append(msgs, outbox.Message{ID: fmt.Sprintf("routine-%d-%d", r, i), Subject: "grid.task.dispatched.d1.310106.310106022", Data: []byte("r")})
		}
		if err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
			st, err := outbox.EnqueueStored(ctx, tx, msgs...)
			routine = append(routine, st)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	ectx, end := relay.Scope(lane.WithEmergency(ctx))
	if err := pgdb.InTx(ectx, pool, func(tx pgx.Tx) error {
		return outbox.Enqueue(ectx, tx, outbox.Message{ID: "page", Subject: "grid.task.dispatched.d1.310106.310106022", Data: []byte("e")})
	}); err != nil {
		t.Fatal(err)
	}
	for _, st := range routine {
		relay.PublishCommitted(st)
	}
	end(true)
	total := uint64(rounds*perRound + 1)
	for deadline := time.Now().Add(30 * time.Second); streamCount(t, js) < total; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d published", streamCount(t, js), total)
		}
	}
	seq := streamSeqs(t, js)["page"]
	t.Logf("the emergency transaction's task.dispatched, handed over after %d routine rows, is the stream's message %d", total-1, seq)
	if seq == 0 || seq > total/2 {
		t.Errorf("the page was published as message %d of %d; want it ahead of most of the routine rows", seq, total)
	}
	// The fast paths' rows are deleted too, in rounds of their own.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n, err := outbox.Pending(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d published rows left in the outbox", n)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A relay without a poller (the emergency lane's own process, pkg/lane.Run)
// publishes what its process's transactions commit and leaves every other
// row to the poller of the service's other process.
func TestRelayWithoutPollerLeavesOtherRows(t *testing.T) {
	pool, js := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	relay := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{PollInterval: 10 * time.Millisecond, NoPoller: true})
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()

	// Left behind (another process's row, or one a fast path failed on).
	enqueue(t, pool, 1, 1, true)
	// Its own emergency transaction.
	ectx, end := relay.Scope(lane.WithEmergency(ctx))
	if err := pgdb.InTx(ectx, pool, func(tx pgx.Tx) error {
		return outbox.Enqueue(ectx, tx, outbox.Message{ID: "page", Subject: "grid.task.dispatched.d1.310106.310106022", Data: []byte("e")})
	}); err != nil {
		t.Fatal(err)
	}
	end(true)
	for deadline := time.Now().Add(10 * time.Second); streamCount(t, js) < 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the relay did not publish its own transaction's row")
		}
	}
	time.Sleep(300 * time.Millisecond) // thirty of the poll intervals it does not run
	if n := streamCount(t, js); n != 1 {
		t.Fatalf("%d messages in the stream; want only the emergency's (no poller)", n)
	}
	if seqs := streamSeqs(t, js); seqs["page"] == 0 {
		t.Fatalf("the stream holds %v, not the emergency's row", seqs)
	}

	// The other process's relay, with its poller, publishes the rest.
	other := outbox.NewRelay(pool, js, slog.Default(), outbox.RelayOptions{PollInterval: 10 * time.Millisecond})
	octx, stopOther := context.WithCancel(ctx)
	otherDone := make(chan error, 1)
	go func() { otherDone <- other.Run(octx) }()
	for deadline := time.Now().Add(10 * time.Second); streamCount(t, js) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the poller did not publish the row left behind")
		}
	}
	stopOther()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-otherDone; err != nil {
		t.Fatal(err)
	}
}
