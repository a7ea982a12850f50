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
	"time"

	"github.com/gridflow/gridflow/pkg/pgdb"
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
// continues the caller's trace.
func Enqueue(ctx context.Context, tx pgx.Tx, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, m := range msgs {
		h := propagation.MapCarrier{}
		for k, v := range m.Headers {
			h[k] = v
		}
		if h["traceparent"] == "" {
			otel.GetTextMapPropagator().Inject(ctx, h)
		}
		hj, err := json.Marshal(map[string]string(h))
		if err != nil {
			return err
		}
		data := m.Data
		if data == nil {
			data = []byte{} // an empty payload is still a payload, not NULL
		}
		b.Queue(`INSERT INTO outbox (event_id, subject, data, headers) VALUES ($1, $2, $3, $4)`, m.ID, m.Subject, data, hj)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("outbox enqueue: %w", err)
	}
	return nil
}

// Relay publishes outbox rows.
type Relay struct {
	pool  *pgxpool.Pool
	js    jetstream.JetStream
	log   *slog.Logger
	batch int
	poll  time.Duration
	kick  chan struct{}

	published metric.Int64Counter
	failures  metric.Int64Counter
}

// RelayOptions tune a relay; zero values take the defaults.
type RelayOptions struct {
	BatchSize    int           // rows claimed per transaction (default 256)
	PollInterval time.Duration // how often to look without a Notify (default 250ms)
}

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
	return &Relay{pool: pool, js: js, log: log, batch: opts.BatchSize, poll: opts.PollInterval,
		kick: make(chan struct{}, 1), published: published, failures: failures}
}

// Notify wakes the relay after a commit; it never blocks.
func (r *Relay) Notify() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends. Rows are claimed with FOR UPDATE SKIP LOCKED,
// so several replicas share the work without publishing a row concurrently.
func (r *Relay) Run(ctx context.Context) error {
	backoff := r.poll
	for {
		n, err := r.Flush(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.failures.Add(ctx, 1)
			r.log.WarnContext(ctx, "outbox relay: publish failed; rows stay in the outbox", "err", err, "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = r.poll
		if n == r.batch {
			continue // more is waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.kick:
		case <-time.After(r.poll):
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

type row struct {
	id      int64
	eventID string
	subject string
	data    []byte
	headers map[string]string
}

// Flush publishes one batch and returns how many rows it published.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	var published int
	err := pgdb.InTx(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, event_id, subject, data, headers FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, r.batch)
		if err != nil {
			return err
		}
		batch, err := pgx.CollectRows(rows, func(rw pgx.CollectableRow) (row, error) {
			var x row
			err := rw.Scan(&x.id, &x.eventID, &x.subject, &x.data, &x.headers)
			return x, err
		})
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		// Publish the whole batch asynchronously, then wait for every ack:
		// one round trip of latency per batch instead of per event.
		futures := make([]jetstream.PubAckFuture, len(batch))
		for i, x := range batch {
			msg := &nats.Msg{Subject: x.subject, Data: x.data, Header: nats.Header{}}
			for k, v := range x.headers {
				msg.Header.Set(k, v)
			}
			f, err := r.js.PublishMsgAsync(msg, jetstream.WithMsgID(x.eventID))
			if err != nil {
				return fmt.Errorf("publish %s: %w", x.subject, err)
			}
			futures[i] = f
		}
		done := make([]int64, 0, len(batch))
		var errs []error
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
				return ctx.Err()
			}
		}
		if len(done) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE id = ANY($1)`, done); err != nil {
				return err
			}
		}
		published = len(done)
		if len(errs) > 0 {
			// Keep what was acknowledged: commit the deletes, report the rest.
			if err := tx.Commit(ctx); err != nil {
				return err
			}
			return errors.Join(errs...)
		}
		return nil
	})
	if published > 0 {
		r.published.Add(ctx, int64(published))
	}
	return published, err
}

// Pending counts rows not yet published (for readiness and tests).
func Pending(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int64, error) {
	var n int64
	err := db.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&n)
	return n, err
}
