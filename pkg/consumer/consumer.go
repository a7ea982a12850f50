// Package consumer runs gridflow's idempotent event consumers: a durable
// JetStream pull consumer whose handler runs in a PostgreSQL transaction that
// also records the event ids, so an event redelivered after its change
// committed is acknowledged without being applied twice (DESIGN.md, "Events
// and subjects": at-least-once delivery made exactly-once in effect).
//
// Every replica of a service runs a Runner with the same Config; they share
// one durable consumer, and the server hands each message to one of them at
// a time. Poison messages (a Permanent handler error, a payload that does not
// decode, or MaxDeliver attempts used up) are copied to the GRID_DLQ stream on
// dlq.<consumer>.<original subject> with the reason in natsjs.HeaderDLQReason
// and only then terminated, so nothing is lost; a dead letter can be
// replayed to its durable alone (ReplaySubject, gridctl dlq replay). Other
// errors are retried with a growing delay — except a database out of reach,
// which is no fault of the message: the runner holds the message (its
// delivery kept open with InProgress) and tries again until the database
// answers, so an outage longer than MaxDeliver's retries dead-letters
// nothing. A message is acked only once the transaction that recorded it as
// handled has committed.
//
// Two handler shapes share that contract. A Handler (New) applies one event
// in a transaction of its own. A BatchHandler (NewBatch) is given what has
// arrived for its worker, up to BatchSize messages, in one transaction, and applies
// each message in a savepoint of it (Batch.Apply): one commit for the batch,
// while a message that fails rolls back alone and takes its own outcome —
// acked, retried or dead-lettered as if it had been handled by itself. A batch
// whose transaction fails as a whole (commit, a lost connection, an error
// returned by the BatchHandler) is handled again one message per transaction,
// so a message that breaks the transaction cannot take its neighbours with
// it. Under light load a batch is one message: the runner never waits to fill
// one.
//
// Order is not guaranteed: redeliveries, several replicas and Concurrency > 1
// all reorder events, and a message that fails is retried after those behind
// it. Within one replica, messages with the same Config.OrderKey (a case)
// are handled in arrival order, one after another, by one worker; without
// an OrderKey only Concurrency 1 keeps a replica's handling in stream order.
// Workers do not wait for each other: fetching goes on while they work,
// held back only when the replica holds Config.MaxInHand messages, so one
// busy key's backlog does not idle the other workers (issue 17).
// Handlers must tolerate late and out-of-order events (a classification
// carries a version; a consumer ignores an older one).
package consumer

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/pause"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/telemetry"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations creates the consumer_handled table in a service's schema.
var Migrations = pgdb.Migrations{Name: "consumer", FS: migrationsFS, Dir: "migrations"}

// Headers added to a dead letter besides natsjs.HeaderDLQReason. The original
// Nats-Msg-Id is moved to HeaderDLQMsgID: the dead letter is published with
// its own id, "<consumer>:<event id>", so that two consumers dead-lettering
// the same event are not collapsed by GRID_DLQ's duplicate window.
const (
	HeaderDLQMsgID      = "Gridflow-Dlq-Msg-Id"
	HeaderDLQStreamSeq  = "Gridflow-Dlq-Stream-Seq"
	HeaderDLQDeliveries = "Gridflow-Dlq-Deliveries"
)

// Config describes one durable consumer. Zero durations and counts take the
// defaults noted.
type Config struct {
	// Name is the durable name, <service>-<purpose> (e.g. classify-cases).
	// It is also a subject token of the dead-letter subject.
	Name string
	// Subjects filter the stream; at least one.
	Subjects []string
	// Stream defaults to natsjs.StreamGrid.
	Stream string

	AckWait    time.Duration // server redelivers an unacked message after this (default 30s)
	MaxDeliver int           // deliveries before a failing message is dead-lettered (default 10)
	BatchSize  int           // messages per Fetch, and the most one BatchHandler transaction takes (default 64)
	FetchWait  time.Duration // how long one Fetch waits for messages; bounds shutdown (default 2s)
	// Concurrency is how many transactions run at once (default 1, which
	// keeps a single replica's handling in stream order).
	Concurrency int
	// MaxInHand bounds the messages one replica holds fetched and not yet
	// settled; the fetch waits while it holds this many (default
	// 4·Concurrency·BatchSize). With an OrderKey, a key whose messages
	// come faster than its worker handles them queues up here while the
	// other workers go on with theirs.
	MaxInHand int
	// OrderKey, when set, names what must be handled in arrival order (a
	// case id): messages with one key go to one of Concurrency workers,
	// which handles them one after another. Unset, any worker takes the
	// next message.
	OrderKey func(Message) string
	// Committed, when set, is called after each transaction that handled a
	// message has committed: the outbox relay's Notify, so that the events
	// a handler enqueued leave now rather than at the relay's next poll.
	// It must not block.
	Committed func()
	// Scope, when set, wraps each transaction, and each message's
	// savepoint in a batch: it returns the context to run it in and a
	// function called once it is over, with true if it committed (a
	// savepoint: was released). The outbox relay's Scope, so that what a
	// handler enqueues is published from memory as soon as the transaction
	// commits rather than at the relay's next poll.
	Scope func(ctx context.Context) (context.Context, func(committed bool))
	// HandlerTimeout bounds one transaction: a message's for a Handler, a
	// batch's for a BatchHandler (default AckWait).
	HandlerTimeout time.Duration
	// NakDelay and MaxNakDelay shape retries: the n-th failed delivery is
	// redelivered after about NakDelay·2^(n-1), capped (defaults 1s, 1m).
	NakDelay    time.Duration
	MaxNakDelay time.Duration
	// DrainTimeout bounds the work done after ctx ends on messages already
	// fetched (default 10s); whatever is left is redelivered after AckWait.
	DrainTimeout time.Duration
	// GaugeInterval is how often the consumer's lag and dead letters are
	// read from NATS for /metrics (default 15s; see Gauges).
	GaugeInterval time.Duration
	// Retention is how long handled ids are kept. It must exceed the
	// stream's max age, or a redelivery could find its record pruned
	// (default 35 days, GRID keeps 30). Negative disables pruning.
	Retention time.Duration
	// Reserved gives the runner database connections of its own, one per
	// worker, opened when Run starts, outside the pool it was given: a
	// pool saturated by the service's routine work cannot hold its
	// transactions. A runner whose every filter subject is in the
	// emergency lane (pkg/lane) is reserved whatever this says (issue 17).
	Reserved bool
	// Deduped says the handler itself recognises an event it has handled
	// already, in its own tables and under its own locks (feedback keeps
	// every event id in its log, checked under the case's lock): the
	// runner then records no consumer_handled rows for this consumer, an
	// insert per transaction and its index entries fewer (issue 17). Two
	// copies of one event in a unit are still handed over once. Only for a
	// BatchHandler or Handler that is idempotent by event id on its own.
	// Its transaction is a pgdb.Lazy: BEGIN goes with the handler's first
	// statement, what it holds (pgdb.Holder) with its next or the COMMIT.
	Deduped bool
	// Skip, when set, reports whether the handler would leave a message
	// alone (a patrol re-check's consumer and a hotline case's events):
	// such a message is acked as it arrives, with no transaction and no
	// handled record (issue 17). It must be cheap, must not block, and
	// must answer false when in doubt: a skipped message is never seen by
	// the handler (nor is one whose Skip panicked: the handler takes it).
	Skip func(Message) bool
}

// emergencyOnly reports whether every subject is a filter of the
// emergency lane.
func emergencyOnly(subjects []string) bool {
	for _, s := range subjects {
		if !lane.IsEmergency(s) {
			return false
		}
	}
	return len(subjects) > 0
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*-[a-z0-9_-]+$`)

func (c *Config) setDefaults() error {
	if !nameRE.MatchString(c.Name) {
		return fmt.Errorf("consumer: name %q is not <service>-<purpose> in lower case", c.Name)
	}
	if len(c.Subjects) == 0 {
		return fmt.Errorf("consumer %s: no filter subjects", c.Name)
	}
	for _, s := range c.Subjects {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return fmt.Errorf("consumer %s: bad filter subject %q", c.Name, s)
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	if c.Stream == "" {
		c.Stream = natsjs.StreamGrid
	}
	def(&c.AckWait, DefaultAckWait)
	defInt(&c.MaxDeliver, 10)
	defInt(&c.BatchSize, 64)
	def(&c.FetchWait, 2*time.Second)
	defInt(&c.Concurrency, 1)
	defInt(&c.MaxInHand, 4*c.Concurrency*c.BatchSize)
	def(&c.HandlerTimeout, c.AckWait)
	def(&c.NakDelay, time.Second)
	def(&c.MaxNakDelay, time.Minute)
	def(&c.DrainTimeout, 10*time.Second)
	if c.Retention == 0 {
		c.Retention = 35 * 24 * time.Hour
	}
	if emergencyOnly(c.Subjects) {
		c.Reserved = true
	}
	return nil
}

// Runner consumes one durable consumer until its context ends.
type Runner struct {
	js   jetstream.JetStream
	pool *pgxpool.Pool
	// txPool runs the handlers' transactions: pool, or while a Reserved
	// runner runs, a pool of its own (Config.Reserved).
	txPool  *pgxpool.Pool
	cfg     Config
	handler BatchHandler
	maxTx   int // messages per transaction: 1 for a Handler, BatchSize for a BatchHandler
	// emergency: every filter subject is in the emergency lane (pkg/lane).
	emergency bool
	log       *slog.Logger
	tracer    trace.Tracer
	attrs     metric.MeasurementOption

	handled, duplicates, skipped, deadLettered, errs, batchFailures metric.Int64Counter

	// beforeAck, when set (tests only), runs after a commit and before the
	// ack; returning false skips the ack, as if the process died there.
	beforeAck func(Message) bool
}

// New validates cfg and returns a runner that applies each message with
// handler in a transaction of its own; nothing touches NATS or PostgreSQL
// until Run. The pool's schema must hold Migrations.
func New(js jetstream.JetStream, pool *pgxpool.Pool, cfg Config, handler Handler, log *slog.Logger) (*Runner, error) {
	if handler == nil {
		return nil, errors.New("consumer: New needs a handler")
	}
	return newRunner(js, pool, cfg, perMessage(handler), 1, log)
}

// NewBatch is New for a handler of whole batches: up to cfg.BatchSize
// messages, as many as have arrived, in one transaction.
func NewBatch(js jetstream.JetStream, pool *pgxpool.Pool, cfg Config, handler BatchHandler, log *slog.Logger) (*Runner, error) {
	if handler == nil {
		return nil, errors.New("consumer: NewBatch needs a handler")
	}
	return newRunner(js, pool, cfg, handler, 0, log)
}

func newRunner(js jetstream.JetStream, pool *pgxpool.Pool, cfg Config, handler BatchHandler, maxTx int, log *slog.Logger) (*Runner, error) {
	if js == nil || pool == nil {
		return nil, errors.New("consumer: a runner needs a JetStream and a pool")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if maxTx <= 0 {
		maxTx = cfg.BatchSize
	}
	if log == nil {
		log = slog.Default()
	}
	const scope = "github.com/gridflow/gridflow/pkg/consumer"
	meter := otel.Meter(scope)
	counter := func(name, desc string) metric.Int64Counter {
		c, _ := meter.Int64Counter(name, metric.WithDescription(desc))
		return c
	}
	return &Runner{
		js: js, pool: pool, txPool: pool, cfg: cfg, handler: handler, maxTx: maxTx, emergency: emergencyOnly(cfg.Subjects),
		log:          log.With("consumer", cfg.Name),
		tracer:       otel.Tracer(scope),
		attrs:        metric.WithAttributeSet(attribute.NewSet(attribute.String("consumer", cfg.Name))),
		handled:      counter("gridflow_consumer_handled_total", "events handled and committed"),
		duplicates:   counter("gridflow_consumer_duplicates_total", "redelivered events skipped because already handled"),
		skipped:      counter("gridflow_consumer_skipped_total", "events acked unhandled because the handler would leave them alone (Config.Skip)"),
		deadLettered: counter("gridflow_consumer_dead_lettered_total", "events moved to the dead-letter stream"),
		errs:         counter("gridflow_consumer_errors_total", "handler failures (each rolled back)"),
		batchFailures: counter("gridflow_consumer_batch_failures_total",
			"batch transactions that failed as a whole; their messages were handled again one by one"),
	}, nil
}

// Config returns the configuration in use, defaults filled in.
func (r *Runner) Config() Config { return r.cfg }

// ScopeUnlessSet sets Config.Scope when the configuration left it unset;
// call it before Run. pkg/process gives every consumer its relay's scope
// this way, so that no consumer of a service with a relay is left to its
// polls.
func (r *Runner) ScopeUnlessSet(scope func(ctx context.Context) (context.Context, func(committed bool))) {
	if r.cfg.Scope == nil {
		r.cfg.Scope = scope
	}
}

func (r *Runner) consumerConfig() jetstream.ConsumerConfig {
	return DurableConfig(r.cfg.Name, r.cfg.Subjects, r.cfg.AckWait)
}

// DefaultAckWait is how long the server waits for an ack before it
// redelivers, unless a Config says otherwise.
const DefaultAckWait = 30 * time.Second

// DurableConfig is the server-side configuration of a gridflow durable
// consumer: explicit acks, every message from the start, redelivered after
// ackWait, never given up on by the server; its filter is subjects and the
// durable's replay subject.
func DurableConfig(name string, subjects []string, ackWait time.Duration) jetstream.ConsumerConfig {
	cc := jetstream.ConsumerConfig{
		Durable:   name,
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   ackWait,
		// The server never gives up on a message by itself: the runner
		// dead-letters at MaxDeliver. A server-side limit would drop a
		// message silently whenever the last attempt died before it could
		// be dead-lettered.
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Description:   "gridflow consumer " + name,
	}
	// Every durable also takes its own replays (replay.go): dead letters put
	// back in front of it and of no other consumer.
	subjects = append(slices.Clone(subjects), replayFilter(name))
	cc.FilterSubjects = subjects
	return cc
}

// Declare creates or updates the durable consumer name on stream with the
// filter subjects (DurableConfig, DefaultAckWait). Where NATS has users,
// only the setup step may (gridctl nats streams); services then bind to
// what it declared.
func Declare(ctx context.Context, js jetstream.JetStream, stream, name string, subjects []string) (jetstream.Consumer, error) {
	return js.CreateOrUpdateConsumer(ctx, stream, DurableConfig(name, subjects, DefaultAckWait))
}

// filterOf is a consumer's filter subjects, whichever form holds them.
func filterOf(c jetstream.ConsumerConfig) []string {
	if c.FilterSubject != "" {
		return []string{c.FilterSubject}
	}
	return c.FilterSubjects
}

// bind returns the durable consumer as declared when it exists with the
// runner's filter and ack wait; otherwise it creates or updates it — which, where NATS
// has users, only the setup step may do: the error then says so.
func (r *Runner) bind(ctx context.Context) (jetstream.Consumer, error) {
	c, err := r.js.Consumer(ctx, r.cfg.Stream, r.cfg.Name)
	if err == nil {
		have := c.CachedInfo().Config
		if slices.Equal(filterOf(have), filterOf(r.consumerConfig())) && have.AckWait == r.cfg.AckWait {
			return c, nil
		}
	}
	what := "is not declared"
	if err == nil {
		have := c.CachedInfo().Config
		what = fmt.Sprintf("is declared with the filter %v and ack wait %s, not %v and %s",
			filterOf(have), have.AckWait, filterOf(r.consumerConfig()), r.cfg.AckWait)
	}
	c, cerr := r.js.CreateOrUpdateConsumer(ctx, r.cfg.Stream, r.consumerConfig())
	if cerr != nil {
		return nil, fmt.Errorf("durable consumer %s %s, and this process may not declare it (the setup step does: gridctl nats streams): %w",
			r.cfg.Name, what, cerr)
	}
	return c, nil
}

// Run fetches and handles messages until ctx ends. Then it stops fetching,
// handles and acks what it already holds (within DrainTimeout) and returns
// nil. It keeps retrying while NATS is unreachable; it returns an error only
// if the consumer configuration is refused.
func (r *Runner) Run(ctx context.Context) error {
	// Messages in hand are finished with a context that outlives ctx by at
	// most DrainTimeout, so a shutdown does not abort half-done work.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(r.cfg.DrainTimeout, cancelWork) })
	defer stop()

	if r.cfg.Reserved {
		reserved, err := r.reserve(ctx)
		if err != nil {
			return err
		}
		r.txPool = reserved
		defer func() { r.txPool = r.pool; reserved.Close() }()
	}

	// The gauges start once the durable is bound: before, there is no lag
	// to read.
	gctx, stopGauges := context.WithCancel(ctx)
	var gauges sync.WaitGroup
	gaugesStarted := false
	defer gauges.Wait()
	defer stopGauges()

	if r.cfg.Retention > 0 {
		// No query outlives Run: the caller closes the pool next.
		pctx, stopPruning := context.WithCancel(ctx)
		var pruning sync.WaitGroup
		pruning.Go(func() { r.pruneLoop(pctx) })
		defer pruning.Wait()
		defer stopPruning()
	}

	// The workers live as long as Run: a fetch hands its messages over and
	// the next fetch starts at once, so no worker waits for the slowest
	// one's last unit before it gets more (issue 17). Once fetching stops
	// they finish what they hold, before the acks are flushed.
	workers := r.startWorkers(work)
	defer workers.stop()
	var cons jetstream.Consumer
	retry := 500 * time.Millisecond
	for ctx.Err() == nil {
		if cons == nil {
			c, err := r.bind(ctx)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				if refused(err) {
					return fmt.Errorf("consumer %s: %w", r.cfg.Name, err)
				}
				r.log.WarnContext(ctx, "consumer: cannot bind its durable consumer; retrying", "err", err, "retry_in", retry)
				pause.For(ctx, retry)
				retry = min(retry*2, 10*time.Second)
				continue
			}
			cons = c
			if !gaugesStarted {
				gaugesStarted = true
				gauges.Go(func() { r.gauges().Run(gctx, r.log) })
			}
		}
		// The fetch is not tied to ctx: cancelling a pull would abandon
		// messages the server already sent (redelivered only after
		// AckWait). Instead no new fetch starts once ctx ends, and the last
		// one ends within FetchWait.
		batch, err := cons.Fetch(r.cfg.BatchSize, jetstream.FetchMaxWait(r.cfg.FetchWait))
		if err == nil {
			for m := range batch.Messages() {
				workers.put(work, m)
			}
			err = batch.Error()
		}
		if err != nil {
			// Re-create the consumer on the next round: it may have been
			// deleted, or the server restarted without it.
			cons = nil
			r.log.WarnContext(ctx, "consumer: fetch failed", "err", err, "retry_in", retry)
			pause.For(ctx, retry)
			retry = min(retry*2, 10*time.Second)
			continue
		}
		retry = 500 * time.Millisecond
	}
	workers.stop()
	// Acks are fire-and-forget publishes: flush them before the caller
	// closes the connection.
	if nc := r.js.Conn(); nc != nil && !nc.IsClosed() {
		if err := nc.FlushTimeout(5 * time.Second); err != nil {
			r.log.Warn("consumer: flushing acks at shutdown", "err", err)
		}
	}
	return nil
}

// reserve opens the Reserved runner's own connections: the pool's
// settings (schema, statement timeout, hooks) with a connection per worker,
// held open. Connecting is lazy: a database out of reach now is an outage
// the runner already handles message by message.
func (r *Runner) reserve(ctx context.Context) (*pgxpool.Pool, error) {
	cfg := r.pool.Config()
	cfg.MaxConns = int32(r.cfg.Concurrency)
	cfg.MinConns = cfg.MaxConns
	p, err := pgxpool.NewWithConfig(context.WithoutCancel(ctx), cfg)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: reserved connections: %w", r.cfg.Name, err)
	}
	return p, nil
}

// Gauges a runner reports on /metrics, labelled with its consumer's name,
// read from NATS every GaugeInterval: what the alerts and the autoscaler
// watch (deploy/prometheus). Every replica of a service reports the same
// server-side values; take their max, not their sum.
const (
	GaugePending     = "gridflow_consumer_pending_messages"     // in the stream, not yet delivered
	GaugeAckPending  = "gridflow_consumer_ack_pending_messages" // delivered, not yet acked
	GaugeDeadLetters = "gridflow_consumer_dead_letters"         // in GRID_DLQ now, waiting for a replay
)

func (r *Runner) gauges() telemetry.PolledGauges {
	return telemetry.PolledGauges{
		Scope: "github.com/gridflow/gridflow/pkg/consumer",
		Attrs: []attribute.KeyValue{attribute.String("consumer", r.cfg.Name)},
		Gauges: map[string]string{
			GaugePending:     "messages on the durable consumer's subjects not yet delivered (its lag)",
			GaugeAckPending:  "messages delivered and not yet acked",
			GaugeDeadLetters: "the consumer's dead letters in GRID_DLQ (gridctl dlq list)",
		},
		Every: r.cfg.GaugeInterval,
		Poll: func(ctx context.Context) (map[string]float64, error) {
			c, err := r.js.Consumer(ctx, r.cfg.Stream, r.cfg.Name)
			if err != nil {
				return nil, err
			}
			info, err := c.Info(ctx)
			if err != nil {
				return nil, err
			}
			dlq, err := r.js.Stream(ctx, natsjs.StreamDLQ)
			if err != nil {
				return nil, err
			}
			dinfo, err := dlq.Info(ctx, jetstream.WithSubjectFilter(DeadLetterPrefix+r.cfg.Name+".>"))
			if err != nil {
				return nil, err
			}
			var dead uint64
			for _, n := range dinfo.State.Subjects {
				dead += n
			}
			return map[string]float64{GaugePending: float64(info.NumPending),
				GaugeAckPending: float64(info.NumAckPending), GaugeDeadLetters: float64(dead)}, nil
		},
	}
}

// refused tells configuration errors (retrying cannot help) from outages.
func refused(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code == 400 || apiErr.ErrorCode == jetstream.JSErrCodeStreamNotFound
	}
	return errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrInvalidConsumerName)
}

// delivery is one fetched message on its way through the runner.
type delivery struct {
	jm   jetstream.Msg
	msg  Message
	err  error           // unreadable metadata
	ctx  context.Context // carries the message's span
	span trace.Span
}

// workers are a runner's transaction workers and the queues that feed
// them. Without an OrderKey every worker takes from one queue; with one,
// each worker has its own and a key always goes to the same worker, so the
// messages of one key are handled in arrival order across fetches too. The
// queues are not bounded one by one: a busy worker's queue never holds the
// fetching back while the others idle (issue 17: one road's reports once
// kept three of classify's four workers waiting). What is in hand is
// bounded as a whole, by Config.MaxInHand.
type workers struct {
	r        *Runner
	queues   []*queue
	handling sync.WaitGroup // the workers
	ticking  sync.WaitGroup // the InProgress ticker
	stopped  sync.Once

	mu     sync.Mutex
	inHand map[jetstream.Msg]struct{} // at most MaxInHand
	room   sync.Cond                  // on mu: a message in hand was released
	done   chan struct{}
}

// queue is a worker's queue (or, without an OrderKey, every worker's).
type queue struct {
	mu     sync.Mutex
	cond   sync.Cond
	items  []*delivery
	closed bool
}

func newQueue() *queue {
	q := &queue{}
	q.cond.L = &q.mu
	return q
}

func (q *queue) push(d *delivery) {
	q.mu.Lock()
	q.items = append(q.items, d)
	q.mu.Unlock()
	q.cond.Signal()
}

// take waits for the queue's first message and returns it with as many
// more as are already waiting, up to n, in arrival order; nil once the
// queue is closed and empty.
func (q *queue) take(n int) []*delivery {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	k := min(n, len(q.items))
	if k == 0 {
		return nil
	}
	unit := slices.Clone(q.items[:k])
	clear(q.items[:k])
	q.items = q.items[k:]
	if len(q.items) > 0 {
		q.cond.Signal() // a queue shared by several workers: the next one takes the rest
	}
	return unit
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// startWorkers starts cfg.Concurrency workers handling what put hands
// them in ctx, and a ticker telling the server every half AckWait that
// the messages in hand are still being worked on.
func (r *Runner) startWorkers(ctx context.Context) *workers {
	w := &workers{r: r, inHand: map[jetstream.Msg]struct{}{}, done: make(chan struct{})}
	w.room.L = &w.mu
	w.queues = make([]*queue, 1)
	if r.cfg.OrderKey != nil {
		w.queues = make([]*queue, r.cfg.Concurrency)
	}
	for i := range w.queues {
		w.queues[i] = newQueue()
	}
	for i := range r.cfg.Concurrency {
		q := w.queues[i%len(w.queues)]
		w.handling.Go(func() { r.work(ctx, q, w.release) })
	}
	w.ticking.Go(func() {
		t := time.NewTicker(r.cfg.AckWait / 2)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
				w.mu.Lock()
				for m := range w.inHand {
					_ = m.InProgress() // an already acked message answers ErrMsgAlreadyAckd
				}
				w.mu.Unlock()
			}
		}
	})
	return w
}

// put hands m to its worker's queue, waiting while MaxInHand messages are
// in hand.
func (w *workers) put(ctx context.Context, m jetstream.Msg) {
	d := w.r.receive(ctx, m)
	if d.err == nil && w.r.skips(d) {
		w.r.skip(d)
		return
	}
	w.mu.Lock()
	for len(w.inHand) >= w.r.cfg.MaxInHand {
		w.room.Wait()
	}
	w.inHand[m] = struct{}{}
	w.mu.Unlock()
	q := w.queues[0]
	if len(w.queues) > 1 {
		h := fnv.New32a()
		_, _ = h.Write([]byte(w.r.cfg.OrderKey(d.msg)))
		q = w.queues[h.Sum32()%uint32(len(w.queues))]
	}
	q.push(d)
}

// release ends d's span and forgets it once it is settled.
func (w *workers) release(d *delivery) {
	d.span.End()
	w.mu.Lock()
	delete(w.inHand, d.jm)
	w.mu.Unlock()
	w.room.Signal()
}

// stop lets the workers finish what they hold and waits for them; only
// the first call does anything.
func (w *workers) stop() {
	w.stopped.Do(func() {
		for _, q := range w.queues {
			q.close()
		}
		w.handling.Wait()
		close(w.done)
		w.ticking.Wait()
	})
}

// receive reads a message's metadata and starts its span.
func (r *Runner) receive(ctx context.Context, jm jetstream.Msg) *delivery {
	msg, err := toMessage(r.cfg.Name, jm)
	ctx = natsjs.ExtractTrace(ctx, jm.Headers())
	ctx, span := r.tracer.Start(ctx, "process "+jm.Subject(), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", jm.Subject()),
			attribute.String("messaging.consumer.group.name", r.cfg.Name),
			attribute.String("messaging.message.id", msg.EventID),
			attribute.Int64("messaging.nats.delivery_count", int64(msg.NumDelivered)),
		))
	return &delivery{jm: jm, msg: msg, err: err, ctx: ctx, span: span}
}

// work handles what arrives on q: each time, the first message waiting and
// as many more as have already arrived, up to maxTx, in one transaction.
func (r *Runner) work(ctx context.Context, q *queue, release func(*delivery)) {
	for {
		taken := q.take(r.maxTx)
		if taken == nil {
			return
		}
		unit := taken[:0]
		for _, d := range taken {
			if r.reject(d) {
				release(d)
				continue
			}
			unit = append(unit, d)
		}
		if len(unit) > 0 {
			r.handleUnit(ctx, unit)
			for _, d := range unit {
				release(d)
			}
		}
	}
}

// skips asks Config.Skip about d. A Skip that panics leaves the message to
// the handler, and the fetch loop, which asks it, is not taken down: one
// bad event must not stop the consumer.
func (r *Runner) skips(d *delivery) (skip bool) {
	if r.cfg.Skip == nil {
		return false
	}
	defer func() {
		if p := recover(); p != nil {
			r.log.ErrorContext(d.ctx, "consumer: Skip panicked; the handler takes the message", "event_id", d.msg.EventID, "panic", p)
			skip = false
		}
	}()
	return r.cfg.Skip(d.msg)
}

// skip acks a message Config.Skip says the handler would leave alone.
func (r *Runner) skip(d *delivery) {
	defer d.span.End()
	d.span.SetAttributes(attribute.Bool("gridflow.skipped", true))
	if err := d.jm.Ack(); err != nil {
		r.log.WarnContext(d.ctx, "consumer: ack of a skipped message failed; it comes back and is skipped again",
			"event_id", d.msg.EventID, "err", err)
	}
	r.skipped.Add(d.ctx, 1, r.attrs)
}

// reject dead-letters a message that must not reach the handler.
func (r *Runner) reject(d *delivery) bool {
	switch {
	case d.err != nil:
		r.deadLetter(d.ctx, d.jm, d.msg, "unreadable JetStream metadata: "+d.err.Error())
		return true
	case d.msg.NumDelivered > uint64(r.cfg.MaxDeliver):
		// An earlier attempt died (or could not dead-letter) on the last
		// allowed delivery. Handling it again could kill this replica too.
		r.deadLetter(d.ctx, d.jm, d.msg, fmt.Sprintf("delivered %d times, over MaxDeliver %d", d.msg.NumDelivered, r.cfg.MaxDeliver))
		return true
	}
	return false
}

// handleUnit handles unit in one transaction and settles each message by
// its outcome. If the transaction fails as a whole, each message of a unit
// of several is handled again alone.
func (r *Runner) handleUnit(ctx context.Context, unit []*delivery) {
	outs, err := r.transact(ctx, unit)
	if err != nil {
		if len(unit) > 1 {
			r.batchFailures.Add(ctx, 1, r.attrs)
			r.log.WarnContext(ctx, "consumer: batch failed as a whole; handling its messages one by one",
				"messages", len(unit), "err", err)
			for _, d := range unit {
				r.handleUnit(ctx, []*delivery{d})
			}
			return
		}
		outs = []outcome{{set: true, err: err}}
	}
	for i, d := range unit {
		o := outs[i]
		// A database out of reach is no fault of the message: it is held
		// (its delivery kept open with InProgress) and tried again until the
		// database answers, rather than nak'd — each nak is a delivery, and
		// an outage longer than MaxDeliver's retries would dead-letter
		// healthy events.
		for attempt := 1; outage(o.err); attempt++ {
			if !r.hold(ctx, d, attempt, o.err) {
				break // shutting down: settled as before, redelivered later
			}
			o = r.transactOne(ctx, d)
		}
		r.settle(d, o)
	}
}

// outage reports whether err says the database could not be reached.
func outage(err error) bool {
	return err != nil && errors.Is(pgdb.Translate(err), pgdb.ErrUnavailable)
}

// transactOne handles one message alone and returns its outcome.
func (r *Runner) transactOne(ctx context.Context, d *delivery) outcome {
	outs, err := r.transact(ctx, []*delivery{d})
	if err != nil {
		return outcome{set: true, err: err}
	}
	return outs[0]
}

// hold waits before the attempt-th retry of d while the database is out of
// reach (NakDelay doubling up to MaxNakDelay), telling the server every
// third of AckWait that d is still in hand so that it is not redelivered.
// It returns false when ctx ends first.
func (r *Runner) hold(ctx context.Context, d *delivery, attempt int, err error) bool {
	delay := r.nakDelay(uint64(attempt))
	r.log.WarnContext(ctx, "consumer: the database is unavailable; holding the message to try again", "subject", d.msg.Subject,
		"event_id", d.msg.EventID, "attempt", attempt, "retry_in", delay, "err", err)
	for end := time.Now().Add(delay); ; {
		_ = d.jm.InProgress()
		step := min(time.Until(end), r.cfg.AckWait/3)
		if step <= 0 {
			return true
		}
		if !pause.For(ctx, step) {
			return false
		}
	}
}

// transact runs the handler over unit in one transaction with the handled
// ids. The ids are recorded first, in one statement: a concurrent attempt at
// the same event (a redelivery racing a slow first attempt) blocks on its
// row and then finds it. The ids of messages that failed are deleted before
// the commit, so their retries are not taken for duplicates; when nothing
// was handled the transaction rolls back instead.
func (r *Runner) transact(ctx context.Context, unit []*delivery) (outs []outcome, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.HandlerTimeout)
	defer cancel()
	if len(unit) > 1 {
		links := make([]trace.Link, len(unit))
		for i, d := range unit {
			links[i] = trace.Link{SpanContext: d.span.SpanContext()}
		}
		var span trace.Span
		ctx, span = r.tracer.Start(ctx, "process batch", trace.WithLinks(links...),
			trace.WithAttributes(attribute.Int("messaging.batch.message_count", len(unit))))
		defer span.End()
	}

	ids := make([]string, len(unit))
	for i, d := range unit {
		ids[i] = d.msg.EventID
	}
	tx, fresh, err := r.begin(ctx, ids)
	if err != nil {
		return nil, err
	}
	ctx, end := r.scope(ctx)
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
		end(committed)
	}()

	outs = make([]outcome, len(unit))
	b := &Batch{tx: tx, scope: r.scope}
	var at []int // unit index of each of b's messages
	for i, d := range unit {
		if !fresh[d.msg.EventID] {
			outs[i] = outcome{set: true, dup: true}
			continue
		}
		delete(fresh, d.msg.EventID) // a second copy in this unit is a duplicate
		// The message's span, under the transaction's deadline.
		b.msgs = append(b.msgs, d.msg)
		b.ctxs = append(b.ctxs, trace.ContextWithSpan(ctx, d.span))
		at = append(at, i)
	}
	if len(b.msgs) == 0 {
		return outs, nil
	}
	b.outs = make([]outcome, len(b.msgs))
	if err := r.callBatch(ctx, b); err != nil {
		return nil, err
	}
	var failed []string
	for j, o := range b.outs {
		if !o.set {
			r.log.ErrorContext(ctx, "consumer: batch handler left a message without an outcome; it will be retried",
				"event_id", b.msgs[j].EventID)
			o = outcome{set: true, err: errors.New("batch handler gave no outcome")}
		}
		if o.err != nil {
			failed = append(failed, b.msgs[j].EventID)
		}
		outs[at[j]] = o
	}
	if len(failed) == len(b.msgs) {
		return outs, nil // nothing handled: roll back
	}
	if len(failed) > 0 && !r.cfg.Deduped {
		if _, err := tx.Exec(ctx, `DELETE FROM consumer_handled WHERE consumer = $1 AND event_id = ANY($2)`,
			r.cfg.Name, failed); err != nil {
			return nil, fmt.Errorf("forget failed events: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	committed = true
	if r.cfg.Committed != nil {
		r.cfg.Committed()
	}
	return outs, nil
}

// begin starts a unit's transaction and tells which of its ids are new:
// for a runner that records them, in the same round trip as the BEGIN (one
// batch that begins the transaction and records the ids, issue 17: under
// load each round trip waits for the CPU, an emergency's too); for a
// Deduped one, all of them, and its BEGIN travels with the handler's first
// statement (pgdb.Lazy: what the handler holds, with the next one or the
// COMMIT).
func (r *Runner) begin(ctx context.Context, ids []string) (pgx.Tx, map[string]bool, error) {
	fresh := make(map[string]bool, len(ids))
	if r.cfg.Deduped {
		tx, err := pgdb.BeginLazy(ctx, r.txPool, pgx.TxOptions{})
		if err != nil {
			return nil, nil, err
		}
		for _, id := range ids {
			fresh[id] = true
		}
		return tx, fresh, nil
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	b.Queue(recordSQL, r.cfg.Name, sorted).Query(func(rows pgx.Rows) error {
		var id string
		_, err := pgx.ForEachRow(rows, []any{&id}, func() error {
			fresh[id] = true
			return nil
		})
		return err
	})
	br := r.txPool.SendBatch(ctx, b)
	tx := br.Tx()
	if err := br.Close(); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx)) // gives the connection back
		return nil, nil, fmt.Errorf("begin and record handled events: %w", err)
	}
	return tx, fresh, nil
}

// recordSQL inserts the handled ids and returns those that were not there.
// They come sorted, so that two transactions recording overlapping ids take
// their row locks in one order and cannot deadlock on them.
const recordSQL = `INSERT INTO consumer_handled (consumer, event_id)
		SELECT $1, id FROM unnest($2::text[]) WITH ORDINALITY AS t (id, n) ORDER BY n
		ON CONFLICT DO NOTHING RETURNING event_id`

// scope begins cfg.Scope's collection, if any. An emergency lane's
// runner marks it so (lane.WithEmergency): what its transactions enqueue
// leaves on the outbox's emergency path, not behind routine rounds.
func (r *Runner) scope(ctx context.Context) (context.Context, func(bool)) {
	if r.cfg.Scope == nil {
		return ctx, func(bool) {}
	}
	if r.emergency {
		ctx = lane.WithEmergency(ctx)
	}
	return r.cfg.Scope(ctx)
}

// callBatch turns a batch handler's panic into a failure of the batch.
func (r *Runner) callBatch(ctx context.Context, b *Batch) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("batch handler panicked: %v", p)
		}
	}()
	return r.handler(ctx, b)
}

// settle acks, dead-letters or naks a message by its outcome; a message
// that was handled is acked only after its transaction committed.
func (r *Runner) settle(d *delivery, o outcome) {
	ctx, jm, msg, span := d.ctx, d.jm, d.msg, d.span
	switch err := o.err; {
	case err == nil:
		if r.beforeAck != nil && !r.beforeAck(msg) {
			return
		}
		if err := jm.Ack(); err != nil {
			// Committed but not acked: the redelivery will be skipped as a duplicate.
			r.log.WarnContext(ctx, "consumer: ack failed", "event_id", msg.EventID, "err", err)
		}
		if o.dup {
			span.SetAttributes(attribute.Bool("gridflow.duplicate", true))
			r.duplicates.Add(ctx, 1, r.attrs)
		} else {
			r.handled.Add(ctx, 1, r.attrs)
		}
	case IsPermanent(err):
		r.failed(ctx, span, err)
		r.deadLetter(ctx, jm, msg, err.Error())
	case msg.NumDelivered >= uint64(r.cfg.MaxDeliver):
		r.failed(ctx, span, err)
		r.deadLetter(ctx, jm, msg, fmt.Sprintf("failed on all %d deliveries, last: %v", msg.NumDelivered, err))
	default:
		r.failed(ctx, span, err)
		delay := r.nakDelay(msg.NumDelivered)
		r.log.WarnContext(ctx, "consumer: handler failed; will retry", "subject", msg.Subject, "event_id", msg.EventID,
			"delivery", msg.NumDelivered, "retry_in", delay, "err", err)
		if err := jm.NakWithDelay(delay); err != nil {
			r.log.WarnContext(ctx, "consumer: nak failed; redelivery waits for AckWait", "event_id", msg.EventID, "err", err)
		}
	}
}

func (r *Runner) failed(ctx context.Context, span trace.Span, err error) {
	r.errs.Add(ctx, 1, r.attrs)
	span.RecordError(err)
	span.SetStatus(codes.Error, "handler failed")
}

func (r *Runner) nakDelay(delivered uint64) time.Duration {
	d := r.cfg.NakDelay
	for i := uint64(1); i < delivered && d < r.cfg.MaxNakDelay; i++ {
		d *= 2
	}
	d = min(d, r.cfg.MaxNakDelay)
	// ±20 % jitter spreads the retries of a batch that failed together.
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// deadLetter copies the message to GRID_DLQ and terminates it only once the
// copy is stored; if the copy fails, the message is left to be redelivered.
func (r *Runner) deadLetter(ctx context.Context, jm jetstream.Msg, msg Message, reason string) {
	reason = headerValue(reason)
	// A replay goes back under its original subject and keeps the original
	// event's id and sequence (copied with the headers below).
	out := nats.NewMsg(DeadLetterPrefix + r.cfg.Name + "." + msg.Subject)
	out.Data = jm.Data()
	for k, vs := range jm.Headers() {
		// Nats-* headers were directives to the original publish
		// (expected sequence, TTL …) and would misdirect this one.
		if strings.HasPrefix(k, "Nats-") {
			continue
		}
		out.Header[k] = append([]string(nil), vs...)
	}
	dlqID := r.cfg.Name + ":" + msg.EventID
	if msg.ReplayOf == 0 {
		if id := jm.Headers().Get(jetstream.MsgIDHeader); id != "" {
			out.Header.Set(HeaderDLQMsgID, id)
		}
		out.Header.Set(HeaderDLQStreamSeq, strconv.FormatUint(msg.StreamSeq, 10))
	} else {
		// Its own id: the first dead letter of this event may be younger
		// than GRID_DLQ's duplicate window, and this one must not be
		// dropped as its copy.
		dlqID += ":replay:" + strconv.FormatUint(msg.StreamSeq, 10)
	}
	out.Header.Set(natsjs.HeaderDLQReason, reason)
	out.Header.Set(HeaderDLQDeliveries, strconv.FormatUint(msg.NumDelivered, 10))

	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := r.js.PublishMsg(pctx, out, jetstream.WithMsgID(dlqID),
		jetstream.WithExpectStream(natsjs.StreamDLQ)); err != nil {
		delay := r.nakDelay(msg.NumDelivered)
		r.log.ErrorContext(ctx, "consumer: dead-letter publish failed; message kept for redelivery",
			"subject", msg.Subject, "event_id", msg.EventID, "reason", reason, "err", err, "retry_in", delay)
		_ = jm.NakWithDelay(delay)
		return
	}
	r.deadLettered.Add(ctx, 1, r.attrs)
	r.log.WarnContext(ctx, "consumer: message dead-lettered", "subject", msg.Subject, "event_id", msg.EventID,
		"delivery", msg.NumDelivered, "reason", reason)
	if err := jm.TermWithReason(reason); err != nil {
		// Redelivered later and dead-lettered again; GRID_DLQ's duplicate
		// window drops the second copy.
		r.log.WarnContext(ctx, "consumer: term failed", "event_id", msg.EventID, "err", err)
	}
}

// headerValue makes s safe as one NATS header value: one line, bounded.
func headerValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	const limit = 1024
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// toMessage reads what a handler sees of jm, a delivery to durable; a
// replay is given its original subject and event id.
func toMessage(durable string, jm jetstream.Msg) (Message, error) {
	msg := Message{Subject: jm.Subject(), Data: jm.Data(), Headers: jm.Headers()}
	msg.EventID = jm.Headers().Get(jetstream.MsgIDHeader)
	fromReplay(durable, jm, &msg)
	meta, err := jm.Metadata()
	if err != nil {
		if msg.EventID == "" {
			msg.EventID = "unknown"
		}
		return msg, err
	}
	msg.NumDelivered = meta.NumDelivered
	msg.StreamSeq = meta.Sequence.Stream
	msg.Published = meta.Timestamp
	if msg.EventID == "" {
		msg.EventID = "seq:" + strconv.FormatUint(meta.Sequence.Stream, 10)
	}
	return msg, nil
}

// pruneLoop forgets handled ids once their events can no longer be
// redelivered (older than Retention). Every replica prunes; the deletes are
// idempotent and batched to keep locks short.
func (r *Runner) pruneLoop(ctx context.Context) {
	for {
		n, err := Prune(ctx, r.pool, r.cfg.Name, time.Now().Add(-r.cfg.Retention))
		if err != nil && ctx.Err() == nil {
			r.log.WarnContext(ctx, "consumer: pruning handled ids failed", "err", err)
		} else if n > 0 {
			r.log.InfoContext(ctx, "consumer: pruned handled ids", "rows", n)
		}
		if !pause.For(ctx, time.Hour+time.Duration(rand.Int64N(int64(10*time.Minute)))) {
			return
		}
	}
}

// Prune deletes the handled ids of consumer recorded before cutoff and
// returns how many it deleted.
func Prune(ctx context.Context, pool *pgxpool.Pool, consumer string, cutoff time.Time) (int64, error) {
	var total int64
	for {
		tag, err := pool.Exec(ctx, `DELETE FROM consumer_handled WHERE consumer = $1 AND event_id IN (
			SELECT event_id FROM consumer_handled WHERE consumer = $1 AND handled_at < $2 LIMIT 5000)`, consumer, cutoff)
		if err != nil {
			return total, fmt.Errorf("prune consumer_handled: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < 5000 {
			return total, nil
		}
	}
}
