package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func TestMain(m *testing.M) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	os.Exit(m.Run())
}

const subject = "grid.case.received.310106.310106022"

type env struct {
	pool *pgxpool.Pool
	js   jetstream.JetStream
	log  *slog.Logger
}

// setup gives a test its own database (migrated, plus an effects table the
// handlers write to) and its own NATS server. If stream is not nil it is
// created instead of the standard streams.
func setup(t testing.TB, grid *jetstream.StreamConfig) env {
	t.Helper()
	ctx := context.Background()
	pool := testenv.Pool(t, "cstest", 8, consumer.Migrations)
	if _, err := pool.Exec(ctx, `CREATE TABLE effects (id bigserial, event_id text NOT NULL, runner text NOT NULL DEFAULT '')`); err != nil {
		t.Fatal(err)
	}
	ns := testenv.NATS(t)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	nc, js, err := natsjs.Connect(ctx, ns.ClientURL(), "test", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := natsjs.EnsureStreams(ctx, js, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if grid != nil {
		if _, err := js.UpdateStream(ctx, *grid); err != nil {
			t.Fatal(err)
		}
	}
	return env{pool: pool, js: js, log: log}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (e env) publish(t testing.TB, id string, data string, hdr map[string]string) {
	t.Helper()
	msg := nats.NewMsg(subject)
	msg.Data = []byte(data)
	for k, v := range hdr {
		msg.Header.Set(k, v)
	}
	var opts []jetstream.PublishOpt
	if id != "" {
		opts = append(opts, jetstream.WithMsgID(id))
	}
	if _, err := e.js.PublishMsg(context.Background(), msg, opts...); err != nil {
		t.Fatal(err)
	}
}

// start runs r until the test ends (or the returned stop is called) and
// fails the test if Run returns an error.
func start(t testing.TB, r *consumer.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func count(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// settled reports whether the durable consumer exists and has delivered and
// seen acked (or terminated) everything.
func settled(t testing.TB, js jetstream.JetStream, name string) func() bool {
	return func() bool {
		c, err := js.Consumer(context.Background(), natsjs.StreamGrid, name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return false // the runner has not created it yet
		}
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.NumPending == 0 && info.NumAckPending == 0
	}
}

func insertEffect(ctx context.Context, tx pgx.Tx, msg consumer.Message, runner string) error {
	_, err := tx.Exec(ctx, `INSERT INTO effects (event_id, runner) VALUES ($1, $2)`, msg.EventID, runner)
	return err
}

func TestTransientFailureIsRetriedAndHandledOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	var (
		mu       sync.Mutex
		attempts = map[string]int{}
		traces   = map[string]trace.TraceID{}
	)
	h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		mu.Lock()
		attempts[msg.EventID]++
		n := attempts[msg.EventID]
		traces[msg.EventID] = trace.SpanContextFromContext(ctx).TraceID()
		mu.Unlock()
		if err := insertEffect(ctx, tx, msg, ""); err != nil {
			return err
		}
		if msg.EventID == "ev-flaky" && n == 1 {
			return errors.New("database hiccup") // the insert above must roll back
		}
		return nil
	}
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-retry", Subjects: []string{"grid.case.>"},
		NakDelay: 20 * time.Millisecond}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	e.publish(t, "ev-ok", "a", map[string]string{"traceparent": traceparent})
	e.publish(t, "ev-flaky", "b", nil)
	e.publish(t, "", "no id", nil) // falls back to the stream sequence (3)

	eventually(t, "three events handled", func() bool {
		return count(t, e.pool, `SELECT count(*) FROM consumer_handled WHERE consumer = 'test-retry'`) == 3
	})
	eventually(t, "everything acked", settled(t, e.js, "test-retry"))

	for _, id := range []string{"ev-ok", "ev-flaky", "seq:3"} {
		if n := count(t, e.pool, `SELECT count(*) FROM effects WHERE event_id = $1`, id); n != 1 {
			t.Errorf("%s applied %d times, want 1", id, n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts["ev-flaky"] != 2 || attempts["ev-ok"] != 1 {
		t.Errorf("attempts = %v, want ev-flaky twice and ev-ok once", attempts)
	}
	if got := traces["ev-ok"].String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("handler trace id = %s, want the one from the traceparent header", got)
	}
}

func TestRedeliveryAfterCommitIsNotHandledAgain(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	var calls atomic.Int32
	h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		calls.Add(1)
		return insertEffect(ctx, tx, msg, "")
	}
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-crash", Subjects: []string{subject},
		AckWait: time.Second}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	var hooks atomic.Int32
	var redelivered atomic.Uint64
	consumer.SetBeforeAck(r, func(msg consumer.Message) bool {
		if hooks.Add(1) == 1 {
			return false // committed, then "crashed" before acking
		}
		redelivered.Store(msg.NumDelivered)
		return true
	})
	start(t, r)
	e.publish(t, "ev-1", "x", nil)

	eventually(t, "the redelivery to be acked", func() bool { return hooks.Load() >= 2 })
	eventually(t, "everything acked", settled(t, e.js, "test-crash"))
	if n := calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}
	if n := redelivered.Load(); n != 2 {
		t.Errorf("second sighting was delivery %d, want 2", n)
	}
	if n := count(t, e.pool, `SELECT count(*) FROM effects`); n != 1 {
		t.Errorf("effects = %d, want 1", n)
	}
}

// Two stream messages with the same Nats-Msg-Id (the relay republished the
// event after the stream's duplicate window) are one event.
func TestSameEventIDTwiceIsHandledOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, &jetstream.StreamConfig{Name: natsjs.StreamGrid, Subjects: []string{natsjs.SubjectsGrid},
		Storage: jetstream.FileStorage, Duplicates: 100 * time.Millisecond})
	var calls atomic.Int32
	h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		calls.Add(1)
		return insertEffect(ctx, tx, msg, "")
	}
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-dup", Subjects: []string{subject}}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	e.publish(t, "ev-1", "first", nil)
	time.Sleep(300 * time.Millisecond)
	e.publish(t, "ev-1", "second", nil)
	s, err := e.js.Stream(context.Background(), natsjs.StreamGrid)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(context.Background()); err != nil || info.State.Msgs != 2 {
		t.Fatalf("stream holds %v messages (err %v), want both copies", info.State.Msgs, err)
	}
	start(t, r)
	eventually(t, "both copies acked", settled(t, e.js, "test-dup"))
	if n := calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}
}

func TestPoisonMessagesAreDeadLettered(t *testing.T) {
	t.Parallel()
	decodeInt := func(b []byte) (int, error) { return strconv.Atoi(string(b)) }
	tests := []struct {
		name       string
		handler    consumer.Handler
		maxDeliver int
		wantCalls  int32  // handler (or decoder) invocations
		wantReason string // substring of the reason header
	}{
		{
			name: "permanent error",
			handler: func(context.Context, pgx.Tx, consumer.Message) error {
				return consumer.Permanent(errors.New("unknown catalogue code"))
			},
			wantCalls:  1,
			wantReason: "unknown catalogue code",
		},
		{
			name: "undecodable payload",
			handler: consumer.Decoding(decodeInt, func(context.Context, pgx.Tx, consumer.Message, int) error {
				return nil
			}),
			wantCalls:  1,
			wantReason: "decode " + subject,
		},
		{
			name: "max deliveries",
			handler: func(context.Context, pgx.Tx, consumer.Message) error {
				return errors.New("still down")
			},
			maxDeliver: 3,
			wantCalls:  3,
			wantReason: "failed on all 3 deliveries, last: still down",
		},
		{
			name: "panic",
			handler: func(context.Context, pgx.Tx, consumer.Message) error {
				panic("nil map")
			},
			maxDeliver: 2,
			wantCalls:  2,
			wantReason: "handler panicked: nil map",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, nil)
			var calls atomic.Int32
			h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
				calls.Add(1)
				// Written before failing: must not survive.
				if err := insertEffect(ctx, tx, msg, ""); err != nil {
					return err
				}
				return tt.handler(ctx, tx, msg)
			}
			name := "test-poison"
			r, err := consumer.New(e.js, e.pool, consumer.Config{Name: name, Subjects: []string{subject},
				MaxDeliver: tt.maxDeliver, NakDelay: 20 * time.Millisecond}, h, e.log)
			if err != nil {
				t.Fatal(err)
			}
			start(t, r)
			e.publish(t, "ev-bad", "not a number", map[string]string{"X-Origin": "hotline"})

			dlq, err := e.js.CreateOrUpdateConsumer(context.Background(), natsjs.StreamDLQ, jetstream.ConsumerConfig{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := dlq.Next(jetstream.FetchMaxWait(20 * time.Second))
			if err != nil {
				t.Fatalf("no dead letter: %v", err)
			}
			if want := "dlq." + name + "." + subject; got.Subject() != want {
				t.Errorf("dead letter subject = %q, want %q", got.Subject(), want)
			}
			if string(got.Data()) != "not a number" {
				t.Errorf("dead letter data = %q, want the original", got.Data())
			}
			hdr := got.Headers()
			if reason := hdr.Get(natsjs.HeaderDLQReason); !strings.Contains(reason, tt.wantReason) {
				t.Errorf("reason = %q, want it to contain %q", reason, tt.wantReason)
			}
			if hdr.Get("X-Origin") != "hotline" || hdr.Get(consumer.HeaderDLQMsgID) != "ev-bad" || hdr.Get(consumer.HeaderDLQStreamSeq) != "1" {
				t.Errorf("dead letter headers = %v, want the originals kept", hdr)
			}

			// Terminated: not redelivered, nothing pending, nothing applied.
			eventually(t, "the message to be settled", settled(t, e.js, name))
			time.Sleep(300 * time.Millisecond)
			if n := calls.Load(); n != tt.wantCalls {
				t.Errorf("handler called %d times, want %d", n, tt.wantCalls)
			}
			if n := count(t, e.pool, `SELECT count(*) FROM effects`); n != 0 {
				t.Errorf("%d effects survived a failed handler", n)
			}
			if n := count(t, e.pool, `SELECT count(*) FROM consumer_handled`); n != 0 {
				t.Errorf("%d dedup records survived a failed handler", n)
			}
		})
	}
}

func TestReplicasShareOneDurableConsumer(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	const total = 300
	for i := range total {
		e.publish(t, fmt.Sprintf("ev-%d", i), "x", nil)
	}
	cfg := consumer.Config{Name: "test-shared", Subjects: []string{"grid.case.>", "grid.task.>"}, BatchSize: 8}
	for _, replica := range []string{"a", "b"} {
		h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
			time.Sleep(time.Millisecond) // let the other replica get a word in
			return insertEffect(ctx, tx, msg, replica)
		}
		r, err := consumer.New(e.js, e.pool, cfg, h, e.log)
		if err != nil {
			t.Fatal(err)
		}
		start(t, r)
	}
	eventually(t, "every event handled", func() bool {
		return count(t, e.pool, `SELECT count(DISTINCT event_id) FROM effects`) == total
	})
	eventually(t, "everything acked", settled(t, e.js, "test-shared"))
	if n := count(t, e.pool, `SELECT count(*) FROM effects`); n != total {
		t.Errorf("%d effects for %d events: some were handled twice", n, total)
	}
	for _, replica := range []string{"a", "b"} {
		if n := count(t, e.pool, `SELECT count(*) FROM effects WHERE runner = $1`, replica); n == 0 {
			t.Errorf("replica %s handled nothing", replica)
		}
	}
}

func TestShutdownFinishesAndAcksMessagesInHand(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	const total = 20
	for i := range total {
		e.publish(t, fmt.Sprintf("ev-%d", i), "x", nil)
	}
	started := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		once.Do(func() {
			close(started)
			<-release
		})
		return insertEffect(ctx, tx, msg, "")
	}
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-drain", Subjects: []string{subject}}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, r)
	<-started
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	time.Sleep(100 * time.Millisecond) // cancel lands while the first message is in the handler
	close(release)
	<-stopped

	if n := count(t, e.pool, `SELECT count(*) FROM effects`); n != total {
		t.Errorf("%d of %d messages in hand were handled before Run returned", n, total)
	}
	eventually(t, "the acks to land", settled(t, e.js, "test-drain"))
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	h := func(context.Context, pgx.Tx, consumer.Message) error { return nil }
	tests := []struct {
		name string
		cfg  consumer.Config
	}{
		{"no purpose", consumer.Config{Name: "classify", Subjects: []string{subject}}},
		{"dot in name", consumer.Config{Name: "classify.cases", Subjects: []string{subject}}},
		{"upper case", consumer.Config{Name: "Classify-cases", Subjects: []string{subject}}},
		{"no subjects", consumer.Config{Name: "classify-cases"}},
		{"empty subject", consumer.Config{Name: "classify-cases", Subjects: []string{""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A non-nil pool and JetStream are required but never touched by New.
			if _, err := consumer.New(jsStub{}, &pgxpool.Pool{}, tt.cfg, h, nil); err == nil {
				t.Errorf("New(%+v) succeeded, want an error", tt.cfg)
			}
		})
	}
}

type jsStub struct{ jetstream.JetStream }

// A configuration the server refuses (here: no such stream) is a deployment
// error: Run reports it instead of retrying forever.
func TestRunReportsRefusedConfig(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	h := func(context.Context, pgx.Tx, consumer.Message) error { return nil }
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-refused", Stream: "MISSING", Subjects: []string{subject}}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Run(ctx); err == nil || ctx.Err() != nil {
		t.Errorf("Run = %v (ctx %v), want the server's refusal", err, ctx.Err())
	}
}

// TestDatabaseOutageIsHeldNotDeadLettered: a handler failing because the
// database cannot be reached, for longer than MaxDeliver's retries, does
// not dead-letter the event: the runner holds it (one delivery, kept in
// hand) and handles it once the database answers.
func TestDatabaseOutageIsHeldNotDeadLettered(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	var (
		mu        sync.Mutex
		calls     int
		delivered uint64
	)
	h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		mu.Lock()
		calls++
		n := calls
		delivered = msg.NumDelivered
		mu.Unlock()
		if n <= 6 {
			return fmt.Errorf("insert effect: %w", pgdb.ErrUnavailable) // as a handler sees PostgreSQL restarting
		}
		return insertEffect(ctx, tx, msg, "")
	}
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-outage", Subjects: []string{"grid.case.>"},
		MaxDeliver: 2, NakDelay: 10 * time.Millisecond, MaxNakDelay: 40 * time.Millisecond}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	e.publish(t, "ev-outage", "a", nil)
	eventually(t, "the event handled", func() bool {
		return count(t, e.pool, `SELECT count(*) FROM effects WHERE event_id = 'ev-outage'`) == 1
	})
	eventually(t, "everything acked", settled(t, e.js, "test-outage"))
	mu.Lock()
	defer mu.Unlock()
	if calls != 7 || delivered != 1 {
		t.Errorf("handler called %d times, last on delivery %d; want 7 calls on the first delivery", calls, delivered)
	}
	dlq, err := e.js.Stream(context.Background(), natsjs.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := dlq.Info(context.Background()); err != nil || info.State.Msgs != 0 {
		t.Errorf("GRID_DLQ holds %v messages (%v), want none", info.State.Msgs, err)
	}
}

// Issue 17, emergencies first: the emergency lane's runner has a database
// connection of its own, so a pool saturated by routine work (here: every
// connection held) does not hold an emergency's transaction.
func TestEmergencyRunnerHasItsOwnConnection(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	committed := make(chan struct{}, 1)
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-emergencies", Subjects: []string{"grid.case.received.*.*.emergency"},
		BatchSize: 1, Committed: func() { committed <- struct{}{} }},
		func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
			_, err := tx.Exec(ctx, `INSERT INTO effects (event_id) VALUES ($1)`, msg.EventID)
			return err
		}, e.log)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Config().Reserved {
		t.Fatal("a runner of the emergency lane alone is not Reserved")
	}
	// The routine work: every connection of the service's pool in use.
	for range e.pool.Config().MaxConns {
		c, err := e.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
	}
	stop := start(t, r)
	defer stop()
	msg := nats.NewMsg(subject + ".emergency")
	msg.Data = []byte("gas")
	if _, err := e.js.PublishMsg(ctx, msg, jetstream.WithMsgID("ev-gas")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-committed:
	case <-time.After(15 * time.Second):
		t.Fatal("the emergency was not handled while the pool was saturated")
	}
}

// Issue 17: the emergency lane's runner runs its transactions in a context
// marked lane.WithEmergency, so that the outbox publishes what they enqueue
// on its emergency path (task.dispatched included); a routine runner's are
// not marked.
func TestEmergencyRunnerMarksItsTransactions(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	for _, c := range []struct {
		name, subject string
		want          bool
	}{
		{"test-emergencies", "grid.case.received.*.*.emergency", true},
		{"test-routine", "grid.case.received.*.*", false},
	} {
		marked := make(chan bool, 1)
		r, err := consumer.New(e.js, e.pool, consumer.Config{Name: c.name, Subjects: []string{c.subject}, BatchSize: 1,
			Scope: func(ctx context.Context) (context.Context, func(bool)) {
				marked <- lane.InEmergency(ctx)
				return ctx, func(bool) {}
			}},
			func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error { return nil }, e.log)
		if err != nil {
			t.Fatal(err)
		}
		stop := start(t, r)
		msg := nats.NewMsg(lane.Subject(subject, c.want))
		if _, err := e.js.PublishMsg(ctx, msg, jetstream.WithMsgID("ev-"+c.name)); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-marked:
			if got != c.want {
				t.Errorf("%s: transaction marked as the emergency lane's: %v, want %v", c.name, got, c.want)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: the message was not handled", c.name)
		}
		stop()
	}
}

// Issue 17: a message's transaction begins in the round trip that records
// its id (a batch of the two), not in one of its own — a round trip fewer
// for every transaction of a recording consumer, an emergency lane's too.
// What it handled is committed, and a failed handler still rolls back.
func TestBeginTravelsWithTheRecord(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	traced, wire := testenv.TracedPool(t, e.pool)
	var fail atomic.Bool
	fail.Store(true)
	h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		if err := insertEffect(ctx, tx, msg, ""); err != nil {
			return err
		}
		if fail.Swap(false) {
			return errors.New("the first try fails")
		}
		return nil
	}
	r, err := consumer.New(e.js, traced, consumer.Config{Name: "test-begin", Subjects: []string{subject}, NakDelay: 10 * time.Millisecond}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	e.publish(t, "ev-b", "one", nil)
	start(t, r)
	eventually(t, "the message acked", settled(t, e.js, "test-begin"))
	if n := count(t, e.pool, `SELECT count(*) FROM effects WHERE event_id = 'ev-b'`); n != 1 {
		t.Errorf("%d effects of ev-b, want 1 (the failed try's rolled back)", n)
	}
	if n := count(t, e.pool, `SELECT count(*) FROM consumer_handled WHERE consumer = 'test-begin' AND event_id = 'ev-b'`); n != 1 {
		t.Errorf("ev-b recorded %d times, want 1", n)
	}
	alone, batches := wire.Sent()
	for _, q := range alone {
		if strings.EqualFold(q, "begin") {
			t.Errorf("a BEGIN was sent alone; statements sent alone: %q", alone)
			break
		}
	}
	began := 0
	for _, b := range batches {
		if len(b) == 2 && strings.EqualFold(b[0], "begin") && strings.HasPrefix(b[1], "INSERT INTO consumer_handled") {
			began++
		}
	}
	if began != 2 {
		t.Errorf("%d batches began a transaction and recorded the id, want 2 (the failed try and the retry): %q", began, batches)
	}
}
