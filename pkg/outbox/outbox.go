// Package outbox makes "change state and publish an event" atomic. Enqueue
// writes the event into the service's outbox table inside the same
// transaction as the change; a Relay publishes committed rows to JetStream
// with Nats-Msg-Id set to the event id (so a row published twice after a
// crash is stored once) and deletes them once the stream has acknowledged.
package outbox

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/pause"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/telemetry"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations creates the outbox table in a service's schema.
var Migrations = pgdb.Migrations{Name: "outbox", FS: migrationsFS, Dir: "migrations"}

// Message is one event to publish.
type Message struct {
	ID      string // event id; becomes Nats-Msg-Id
	Subject string
	Data    []byte
	Headers map[string]string
	// Ref, when set, names the state Data was built from, and Data is not
	// stored: the fast path publishes it from memory, and the poller (after a
	// crash, or while NATS was away) has RelayOptions.Rebuild make it again
	// from Ref. For an event that merely restates a row the same transaction
	// wrote, this halves what the transaction writes.
	Ref string
}

// Ref is a message stored by reference, for RelayOptions.Rebuild.
type Ref struct {
	EventID string
	Ref     string
}

// WithTrace returns m carrying ctx's trace context in its headers, for
// callers that enqueue on behalf of a request from another goroutine.
func WithTrace(ctx context.Context, m Message) Message {
	h := propagation.MapCarrier{}
	for k, v := range m.Headers {
		h[k] = v
	}
	otel.GetTextMapPropagator().Inject(ctx, h)
	m.Headers = h
	return m
}

// Enqueue stores msgs in tx. The caller's trace context is saved with each
// message (unless WithTrace already gave it one) so the published event
// continues the caller's trace. Within a Scope (Relay.InTx, a consumer's or
// a timer's transaction) the rows are published from memory once the
// transaction commits.
func Enqueue(ctx context.Context, tx pgx.Tx, msgs ...Message) error {
	_, err := EnqueueStored(ctx, tx, msgs...)
	return err
}

// deletePublished removes rows the stream has acknowledged. The relay's
// statements run with pgx.QueryExecModeExec, planned afresh each time: the
// outbox starts empty, and a plan cached then (PostgreSQL switches a prepared
// statement to a generic plan after five runs) scanned the whole table, every
// dead row included, at each delete — ~100 full scans a second under load,
// until autovacuum's next ANALYZE, a minute or more away.
const deletePublished = `DELETE FROM outbox WHERE id = ANY($1)`

// Relay publishes outbox rows.
type Relay struct {
	pool  *pgxpool.Pool
	js    jetstream.JetStream
	log   *slog.Logger
	batch int
	poll  time.Duration
	grace time.Duration
	kick  chan struct{}
	fast  chan Stored
	// urgent is the fast path of the emergency lane (pkg/lane): its rows
	// are published by a goroutine of their own, never behind a round of
	// routine rows waiting for their acks.
	urgent chan Stored
	// urgentInFlight counts hand-overs to the emergency path not yet
	// published: a routine round waits for none (awaitUrgent).
	urgentInFlight atomic.Int64

	rebuild func(ctx context.Context, tx pgx.Tx, refs []Ref) ([][]byte, error)
	gauges  time.Duration
	// noPoller: RelayOptions.NoPoller.
	noPoller bool

	// acked holds the ids of rows the fast paths published, until the
	// deleter removes them all in one statement (runDeletes).
	ackedMu   sync.Mutex
	acked     []int64
	ackedWake chan struct{}

	published metric.Int64Counter
	failures  metric.Int64Counter
}

// RelayOptions tune a relay; zero values take the defaults.
type RelayOptions struct {
	BatchSize    int           // rows claimed per transaction (default 256)
	PollInterval time.Duration // how often to look without a Notify (default 250ms)
	// Grace, when set, leaves rows younger than this to the fast path
	// (PublishCommitted): the poller then only picks up what the fast path
	// could not publish — after a crash, or while NATS was away.
	Grace time.Duration
	// Rebuild makes again, in refs' order, the payloads of messages stored
	// by reference (Message.Ref), reading what it needs through tx.
	// Required if the service enqueues such messages.
	Rebuild func(ctx context.Context, tx pgx.Tx, refs []Ref) ([][]byte, error)
	// GaugeInterval is how often the outbox's backlog is counted for
	// /metrics (default 15s; see GaugePending).
	GaugeInterval time.Duration
	// NoPoller leaves the outbox's poller to another process of the
	// service: this relay publishes only what its own process's
	// transactions commit (the fast and emergency paths), and what they
	// could not publish waits for that process's poller. For a process
	// that runs only the emergency lane (pkg/lane.Run), which must not
	// take up the routine backlog; it still drains the outbox when it
	// stops.
	NoPoller bool
}

// Gauges a relay reports on /metrics: the relay's backlog. Every replica
// of a service counts the same table; take their max, not their sum.
const (
	GaugePending   = "gridflow_outbox_pending_events"     // rows not yet published
	GaugeOldestAge = "gridflow_outbox_oldest_age_seconds" // how long the oldest has waited (0 when empty)
)

// NewRelay returns a relay over the outbox in pool's schema.
func NewRelay(pool *pgxpool.Pool, js jetstream.JetStream, log *slog.Logger, opts RelayOptions) *Relay {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	meter := otel.Meter("github.com/gridflow/gridflow/pkg/outbox")
	published, _ := meter.Int64Counter("gridflow_outbox_published_total", metric.WithDescription("events published from the outbox"))
	failures, _ := meter.Int64Counter("gridflow_outbox_publish_failures_total", metric.WithDescription("failed outbox publish rounds"))
	return &Relay{pool: pool, js: js, log: log, batch: opts.BatchSize, poll: opts.PollInterval, grace: opts.Grace,
		kick: make(chan struct{}, 1), fast: make(chan Stored, 1024), urgent: make(chan Stored, 256), published: published, failures: failures,
		rebuild: opts.Rebuild, gauges: opts.GaugeInterval, ackedWake: make(chan struct{}, 1), noPoller: opts.NoPoller}
}

// backlog counts the rows waiting and the age of the oldest (by id, the
// primary key: no scan for the minimum).
func (r *Relay) backlog(ctx context.Context) (map[string]float64, error) {
	var n int64
	var age float64
	err := r.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox),
		coalesce((SELECT extract(epoch FROM now() - created_at) FROM outbox ORDER BY id LIMIT 1), 0)::float8`).Scan(&n, &age)
	if err != nil {
		return nil, fmt.Errorf("outbox backlog: %w", err)
	}
	return map[string]float64{GaugePending: float64(n), GaugeOldestAge: max(age, 0)}, nil
}

// Stored is what EnqueueStored wrote in one transaction, to hand to
// PublishCommitted once that transaction has committed.
type Stored struct {
	rows []row
}

// EnqueueStored is Enqueue that also returns the stored rows, so that the
// caller can give them to the relay after its commit and spare the relay
// reading them back. All of msgs go in one statement: a row per statement
// cost PostgreSQL more than the rows themselves.
func EnqueueStored(ctx context.Context, tx pgx.Tx, msgs ...Message) (Stored, error) {
	if len(msgs) == 0 {
		return Stored{}, nil
	}
	ins, err := newInsert(ctx, msgs)
	if err != nil {
		return Stored{}, err
	}
	rows, err := tx.Query(ctx, insertSQL, ins.args...)
	if err != nil {
		return Stored{}, fmt.Errorf("outbox enqueue: %w", err)
	}
	if err := ins.read(ctx, rows); err != nil {
		return Stored{}, err
	}
	return Stored{rows: ins.rows}, nil
}

// insertSQL stores an enqueue's messages in one statement (insert.args).
const insertSQL = `INSERT INTO outbox (event_id, subject, data, ref, headers)
		SELECT e, s, d, r, h::jsonb FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::text[]) AS u (e, s, d, r, h)
		RETURNING id, event_id`

// insert is one enqueue of msgs, as EnqueueStored sends it and Queue
// queues it: the rows to publish, insertSQL's arguments, and where each
// event id's row sits so that read can give it its stored id.
type insert struct {
	rows []row
	args []any
	at   map[string]int
}

func newInsert(ctx context.Context, msgs []Message) (*insert, error) {
	var (
		ids      = make([]string, len(msgs))
		subjects = make([]string, len(msgs))
		data     = make([][]byte, len(msgs)) // nil (NULL) when stored by reference
		refs     = make([]*string, len(msgs))
		headers  = make([]string, len(msgs))
	)
	ins := &insert{rows: make([]row, 0, len(msgs)), at: make(map[string]int, len(msgs))}
	for i, m := range msgs {
		x, err := rowOf(ctx, m)
		if err != nil {
			return nil, err
		}
		if _, dup := ins.at[x.eventID]; dup {
			return nil, fmt.Errorf("outbox: event id %q twice in one enqueue", x.eventID)
		}
		ins.at[x.eventID] = i
		hj, _ := json.Marshal(x.headers)
		ids[i], subjects[i], headers[i] = x.eventID, x.subject, string(hj)
		if m.Ref != "" {
			refs[i] = &m.Ref
		} else {
			data[i] = x.data
		}
		ins.rows = append(ins.rows, x)
	}
	ins.args = []any{ids, subjects, data, refs, headers}
	return ins, nil
}

// read takes the stored ids from insertSQL's rows and, the insert
// complete, adds its rows to ctx's scope: published from memory once the
// scope commits.
func (ins *insert) read(ctx context.Context, rows pgx.Rows) error {
	var (
		id      int64
		eventID string
	)
	n, err := pgx.ForEachRow(rows, []any{&id, &eventID}, func() error {
		ins.rows[ins.at[eventID]].id = id
		return nil
	})
	if err == nil && n.RowsAffected() != int64(len(ins.rows)) {
		err = fmt.Errorf("stored %d of %d rows", n.RowsAffected(), len(ins.rows))
	}
	if err != nil {
		return fmt.Errorf("outbox enqueue: %w", err)
	}
	if s := scopeOf(ctx); s != nil {
		s.add(ins.rows)
	}
	return nil
}

// PublishCommitted hands committed rows to the fast path: they are published
// from memory and deleted once acknowledged. It never blocks; when the fast
// path is busy the rows are left to the poller. Rows in the emergency lane
// (pkg/lane) take a path of their own, so that an emergency never waits
// behind routine rows.
func (r *Relay) PublishCommitted(p Stored) {
	if len(p.rows) == 0 {
		return
	}
	if urgent, routine := splitUrgent(p.rows); len(urgent) > 0 {
		r.publishUrgent(Stored{rows: urgent})
		if len(routine) == 0 {
			return
		}
		p = Stored{rows: routine}
	}
	select {
	case r.fast <- p:
	default:
		r.Notify()
	}
}

// publishUrgent hands committed rows to the emergency path; it never
// blocks (when that path is full the rows are left to the poller).
func (r *Relay) publishUrgent(p Stored) {
	r.urgentInFlight.Add(1)
	select {
	case r.urgent <- p:
	default:
		r.urgentInFlight.Add(-1)
		r.Notify()
	}
}

// splitUrgent parts rows into the emergency lane's and the rest, each in
// its order; it allocates only when there are both.
func splitUrgent(rows []row) (urgent, routine []row) {
	n := 0
	for _, x := range rows {
		if lane.IsEmergency(x.subject) {
			n++
		}
	}
	switch n {
	case 0:
		return nil, rows
	case len(rows):
		return rows, nil
	}
	urgent, routine = make([]row, 0, n), make([]row, 0, len(rows)-n)
	for _, x := range rows {
		if lane.IsEmergency(x.subject) {
			urgent = append(urgent, x)
		} else {
			routine = append(routine, x)
		}
	}
	return urgent, routine
}

// runUrgent publishes the emergency lane's rows the moment they are handed
// over, each hand-over a round of its own.
func (r *Relay) runUrgent(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-r.urgent:
			r.publishAndDelete(ctx, p.rows, "outbox emergency path")
			r.urgentInFlight.Add(-1)
		}
	}
}

// awaitUrgent holds a routine round until every emergency handed over is
// published: it publishes one the emergency path has not taken yet, and
// waits for one that path is publishing. Without it the routine round could
// send its rows while the emergency path's goroutine had taken an emergency
// but not yet run (TestRelayEmergencyRowsLeaveFirst under load).
func (r *Relay) awaitUrgent(ctx context.Context) {
	for r.urgentInFlight.Load() > 0 && ctx.Err() == nil {
		select {
		case p := <-r.urgent:
			r.publishAndDelete(ctx, p.rows, "outbox emergency path")
			r.urgentInFlight.Add(-1)
		case <-ctx.Done():
		case <-time.After(time.Millisecond):
		}
	}
}

// runFast publishes what PublishCommitted handed over, coalescing what is
// waiting into one round of acks.
func (r *Relay) runFast(ctx context.Context) {
	for {
		var rows []row
		select {
		case <-ctx.Done():
			return
		case p := <-r.fast:
			rows = append(rows, p.rows...)
		}
		// An emergency handed over meanwhile goes before this round.
		r.awaitUrgent(ctx)
	more:
		for len(rows) < r.batch {
			select {
			case p := <-r.fast:
				rows = append(rows, p.rows...)
			default:
				break more
			}
		}
		r.publishAndDelete(ctx, rows, "outbox fast path")
	}
}

// publishAndDelete publishes rows from memory and hands those the stream
// acknowledged to the deleter; what failed is left to the poller.
func (r *Relay) publishAndDelete(ctx context.Context, rows []row, path string) {
	acked, err := r.publish(ctx, rows)
	if len(acked) > 0 {
		r.deleteLater(acked)
		r.published.Add(ctx, int64(len(acked)))
	}
	if err != nil && ctx.Err() == nil {
		r.log.WarnContext(ctx, path+": publish failed; the poller will retry", "err", err)
	}
}

// deleteLinger is how long the deleter lets published ids gather before it
// deletes them. A delete outside a transaction is a commit of its own, and
// each fast-path round (a group commit of intake's, a consumer's batch) was
// one: in a shortened make bench at 200 orders/s, 1.07 deletes per order
// across the services (0.37 with a 50 ms linger), each with its WAL flush,
// for rows nobody reads. The poller leaves rows younger than its grace
// (seconds) alone, so a row deleted this much later is never published
// twice; after a crash in between, the stream's duplicate window drops the
// second copy.
const deleteLinger = 200 * time.Millisecond

// deleteLater queues ids for the deleter; it never blocks.
func (r *Relay) deleteLater(ids []int64) {
	r.ackedMu.Lock()
	r.acked = append(r.acked, ids...)
	r.ackedMu.Unlock()
	select {
	case r.ackedWake <- struct{}{}:
	default:
	}
}

// deleteAcked deletes, in one statement, every published row queued so
// far. On failure the ids are queued again: a row left behind is at worst
// published again, which the stream drops as a duplicate.
func (r *Relay) deleteAcked(ctx context.Context) error {
	r.ackedMu.Lock()
	ids := r.acked
	r.acked = nil
	r.ackedMu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	if _, err := r.pool.Exec(ctx, deletePublished, pgx.QueryExecModeExec, ids); err != nil {
		r.ackedMu.Lock()
		r.acked = append(ids, r.acked...)
		r.ackedMu.Unlock()
		return fmt.Errorf("outbox: delete published rows: %w", err)
	}
	return nil
}

// runDeletes removes what the fast paths published, a deleteLinger's worth
// at a time, and what is left once ctx ends.
func (r *Relay) runDeletes(ctx context.Context) {
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := r.deleteAcked(dctx); err != nil {
			r.log.WarnContext(dctx, "outbox: published rows not deleted at shutdown; the next start publishes them again (the stream drops the copies)", "err", err)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.ackedWake:
		}
		if !pause.For(ctx, deleteLinger) {
			return
		}
		if err := r.deleteAcked(ctx); err != nil && ctx.Err() == nil {
			r.log.WarnContext(ctx, "outbox: deleting published rows failed; retrying", "err", err)
		}
	}
}

// Notify wakes the relay after a commit; it never blocks.
func (r *Relay) Notify() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Background is a relay running for its service's whole life; see Start.
type Background struct {
	relay *Relay
	ctx   context.Context
	stop  context.CancelFunc
	ready chan struct{}
	done  chan error
}

// Start runs the relay in the background until Stop — not until ctx ends,
// so that what the service commits while it stops still leaves. It first
// runs prepare (declaring the streams, retrying while NATS is away: the
// service meanwhile takes work, which the outbox holds) and then publishes.
func (r *Relay) Start(ctx context.Context, prepare func(context.Context) error) *Background {
	bctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	b := &Background{relay: r, ctx: bctx, stop: stop, ready: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		_ = prepare(bctx) // fails only when stopped; Run then returns at once
		close(b.ready)
		b.done <- r.Run(bctx)
	}()
	return b
}

// Context lasts until Stop, for work whose events must still be published
// while the service stops.
func (b *Background) Context() context.Context { return b.ctx }

// OnceReady runs run once prepare has returned (the streams exist), or
// returns nil if ctx ends first.
func (b *Background) OnceReady(ctx context.Context, run func(context.Context) error) error {
	select {
	case <-b.ready:
		return run(ctx)
	case <-ctx.Done():
		return nil
	}
}

// Stop publishes what is left, for at most timeout (the rest leaves at the
// next start), stops the relay and returns how its run ended.
func (b *Background) Stop(timeout time.Duration) error {
	b.relay.DrainFor(b.ctx, timeout)
	b.stop()
	return <-b.done
}

// Run publishes until ctx ends. Rows are claimed with FOR UPDATE SKIP LOCKED,
// so several replicas share the work without publishing a row concurrently.
func (r *Relay) Run(ctx context.Context) error {
	fastDone, urgentDone, deletesDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() { r.runFast(ctx); close(fastDone) }()
	go func() { r.runUrgent(ctx); close(urgentDone) }()
	// The deleter outlives the fast paths, to delete their last rounds.
	dctx, stopDeletes := context.WithCancel(context.WithoutCancel(ctx))
	go func() { r.runDeletes(dctx); close(deletesDone) }()
	defer func() { <-fastDone; <-urgentDone; stopDeletes(); <-deletesDone }()
	gaugesDone := make(chan struct{})
	go func() {
		defer close(gaugesDone)
		telemetry.PolledGauges{Scope: "github.com/gridflow/gridflow/pkg/outbox",
			Gauges: map[string]string{
				GaugePending:   "events committed and not yet published (the relay's backlog)",
				GaugeOldestAge: "how long the oldest unpublished event has waited, in seconds",
			},
			Every: r.gauges, Poll: r.backlog}.Run(ctx, r.log)
	}()
	defer func() { <-gaugesDone }()
	if r.noPoller {
		<-ctx.Done()
		return nil
	}
	backoff := r.poll
	// With a grace, what a commit wakes the relay for is the fast path's
	// (its rows are younger than the grace): a poll then finds nothing and
	// costs a query per commit — one per consumer transaction, hundreds a
	// second under load. The poller then keeps to its timer, and while it
	// finds nothing it looks every half grace (issue 17).
	kick, idle := r.kick, r.poll
	if r.grace > 0 {
		kick, idle = nil, max(r.poll, r.grace/2)
	}
	for {
		n, err := r.Flush(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.failures.Add(ctx, 1)
			r.log.WarnContext(ctx, "outbox relay: publish failed; rows stay in the outbox", "err", err, "retry_in", backoff)
			if !pause.For(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = r.poll
		if n == r.batch {
			continue // more is waiting
		}
		wait := r.poll
		if n == 0 {
			wait = idle
		}
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
		case <-time.After(wait):
		}
	}
}

type row struct {
	id      int64
	eventID string
	subject string
	data    []byte
	ref     string // set when data was not stored
	headers map[string]string
}

// rowOf prepares m for storage: the caller's trace context joins its headers
// (unless WithTrace already gave it one), and an empty payload is stored as
// empty, not NULL.
func rowOf(ctx context.Context, m Message) (row, error) {
	if m.ID == "" || m.Subject == "" {
		return row{}, errors.New("outbox: a message needs an id and a subject")
	}
	h := propagation.MapCarrier{}
	for k, v := range m.Headers {
		h[k] = v
	}
	if h["traceparent"] == "" {
		otel.GetTextMapPropagator().Inject(ctx, h)
	}
	data := m.Data
	if data == nil {
		data = []byte{}
	}
	return row{eventID: m.ID, subject: m.Subject, data: data, headers: h}, nil
}

// Flush publishes one batch and returns how many rows it published.
func (r *Relay) Flush(ctx context.Context) (int, error) { return r.flush(ctx, r.grace) }

// Drain publishes every row, young or old, until the outbox is empty or ctx
// ends: for a clean stop, so nothing waits for the next start.
func (r *Relay) Drain(ctx context.Context) error {
	for {
		n, err := r.flush(ctx, 0)
		if err != nil || n == 0 {
			return err
		}
	}
}

// DrainFor is Drain bounded by timeout, for a service's last act; what is
// left is logged and leaves at the next start.
func (r *Relay) DrainFor(ctx context.Context, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := r.Drain(ctx); err != nil {
		r.log.WarnContext(ctx, "outbox not drained at shutdown; the next start publishes the rest", "err", err)
	}
}

func (r *Relay) flush(ctx context.Context, grace time.Duration) (int, error) {
	// What the fast paths published and not yet deleted goes first, so
	// that the poll (a drain's above all) does not publish it again.
	if err := r.deleteAcked(ctx); err != nil {
		return 0, err
	}
	var published int
	err := pgdb.InTx(ctx, r.pool, func(tx pgx.Tx) error {
		// Look only at the head of the table in id order, where anything
		// older than the grace is. Filtering the whole table on created_at
		// scanned every young row the fast path was about to delete, and
		// every dead one autovacuum had not reached yet, at each poll. (With
		// several relays, a backlog's head goes to one of them at a time.)
		rows, err := tx.Query(ctx, `SELECT id, event_id, subject, data, coalesce(ref, ''), headers FROM outbox
			WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT $1) AND created_at <= now() - $2::interval
			ORDER BY id FOR UPDATE SKIP LOCKED`, pgx.QueryExecModeExec, r.batch, grace)
		if err != nil {
			return err
		}
		batch, err := pgx.CollectRows(rows, func(rw pgx.CollectableRow) (row, error) {
			var x row
			err := rw.Scan(&x.id, &x.eventID, &x.subject, &x.data, &x.ref, &x.headers)
			return x, err
		})
		if err != nil || len(batch) == 0 {
			return err
		}
		if err := r.rebuildData(ctx, tx, batch); err != nil {
			return err
		}
		// The emergency lane's rows leave first (pkg/lane).
		if urgent, routine := splitUrgent(batch); len(urgent) > 0 && len(routine) > 0 {
			batch = append(urgent, routine...)
		}
		done, perr := r.publish(ctx, batch)
		if len(done) > 0 {
			if _, err := tx.Exec(ctx, deletePublished, pgx.QueryExecModeExec, done); err != nil {
				return err
			}
		}
		published = len(done)
		if perr != nil {
			// Keep what was acknowledged: commit the deletes, report the rest.
			if err := tx.Commit(ctx); err != nil {
				return err
			}
			return perr
		}
		return nil
	})
	if published > 0 {
		r.published.Add(ctx, int64(published))
	}
	return published, err
}

// rebuildData fills in the payloads of rows stored by reference.
func (r *Relay) rebuildData(ctx context.Context, tx pgx.Tx, batch []row) error {
	var (
		refs []Ref
		at   []int
	)
	for i, x := range batch {
		if x.ref != "" {
			refs = append(refs, Ref{EventID: x.eventID, Ref: x.ref})
			at = append(at, i)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	if r.rebuild == nil {
		return fmt.Errorf("outbox: %d rows are stored by reference but the relay has no Rebuild", len(refs))
	}
	data, err := r.rebuild(ctx, tx, refs)
	if err == nil && len(data) != len(refs) {
		err = fmt.Errorf("rebuilt %d payloads for %d rows", len(data), len(refs))
	}
	if err != nil {
		return fmt.Errorf("outbox: rebuild payloads: %w", err)
	}
	for k, i := range at {
		batch[i].data = data[k]
	}
	return nil
}

// publish sends rows asynchronously and then waits for every ack: one round
// trip of latency per batch instead of per event. It returns the ids the
// stream acknowledged.
func (r *Relay) publish(ctx context.Context, batch []row) ([]int64, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	var errs []error
	for _, x := range batch {
		msg := &nats.Msg{Subject: x.subject, Data: x.data, Header: nats.Header{}}
		for k, v := range x.headers {
			msg.Header.Set(k, v)
		}
		f, err := r.js.PublishMsgAsync(msg, jetstream.WithMsgID(x.eventID))
		if err != nil {
			errs = append(errs, fmt.Errorf("publish %s: %w", x.subject, err))
			break
		}
		futures = append(futures, f)
	}
	done := make([]int64, 0, len(futures))
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
wait:
	for i, f := range futures {
		select {
		case <-f.Ok():
			done = append(done, batch[i].id)
		case err := <-f.Err():
			errs = append(errs, fmt.Errorf("publish %s: %w", batch[i].subject, err))
		case <-timeout.C:
			errs = append(errs, errors.New("timed out waiting for JetStream acks"))
			break wait
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
			break wait
		}
	}
	return done, errors.Join(errs...)
}

// Pending counts rows not yet published (for readiness and tests).
func Pending(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int64, error) {
	var n int64
	err := db.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&n)
	return n, err
}
