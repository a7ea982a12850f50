// Package natsjs connects to NATS and declares gridflow's JetStream streams:
// GRID on grid.> (every domain event) and GRID_DLQ on dlq.> (dead letters,
// dlq.<consumer>.<original subject>, the reason in a header). It also carries
// the OpenTelemetry trace context in message headers.
//
// One place declares the streams (EnsureStreams, run by `gridctl nats
// streams` as the streams user in the stack's setup step); services only
// wait for them to exist (WaitStreams), and their NATS users may not create
// or change a stream (pkg/natsauth).
package natsjs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/pause"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// Stream names and subjects (DESIGN.md).
const (
	StreamGrid      = "GRID"
	SubjectsGrid    = "grid.>"
	StreamDLQ       = "GRID_DLQ"
	SubjectsDLQ     = "dlq.>"
	HeaderDLQReason = "Gridflow-Dlq-Reason"
)

// Connect dials url and keeps reconnecting for as long as the process runs:
// a service outlives a NATS restart, and its outbox holds events meanwhile.
// opts come after gridflow's own (a user's credentials: User).
func Connect(ctx context.Context, url, name string, log *slog.Logger, opts ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(url, append([]nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrl()) }),
		// A refused publish or subscription (pkg/natsauth's permissions)
		// comes back asynchronously: say so, or it looks like a timeout.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Error("nats error", "subject", sub.Subject, "err", err)
				return
			}
			log.Error("nats error", "err", err)
		}),
	}, opts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("nats connect %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// User returns the options that connect as the NATS user name: its inbox
// prefix (natsauth.InboxPrefix: the only subjects it may subscribe to) and,
// when nkeyFile is set, its nkey seed. Without nkeyFile it connects
// without credentials, as to the in-process server of integration tests.
func User(name, nkeyFile string) ([]nats.Option, error) {
	opts := []nats.Option{nats.CustomInboxPrefix(natsauth.InboxPrefix(name))}
	if nkeyFile == "" {
		return opts, nil
	}
	nkey, err := nats.NkeyOptionFromSeed(nkeyFile)
	if err != nil {
		return nil, fmt.Errorf("nats user %s: nkey seed %s: %w", name, nkeyFile, err)
	}
	return append(opts, nkey), nil
}

// Default retention of the streams (GRIDFLOW_STREAM_MAX_AGE,
// GRIDFLOW_DLQ_MAX_AGE). GRID: 30 days (DESIGN.md) — every service keeps
// what it needs in its own tables, so the stream is for replay after an
// outage and for a consumer added later, and a month covers both; what it
// holds is masked. GRID_DLQ: 14 days — a dead letter waits for a person,
// and two weeks cover the longest public holiday (9 days at Spring
// Festival) plus a working week; dead letters are masked too.
const (
	DefaultMaxAge    = 30 * 24 * time.Hour
	DefaultDLQMaxAge = 14 * 24 * time.Hour
)

// StreamOptions size the streams: R1 on one machine, R3 in a cluster.
type StreamOptions struct {
	Replicas  int
	MaxAge    time.Duration // GRID; default DefaultMaxAge
	DLQMaxAge time.Duration // GRID_DLQ; default DefaultDLQMaxAge, or MaxAge when shorter
}

// EnsureStreams creates or updates GRID and GRID_DLQ: the one declaration
// of the streams, run by `gridctl nats streams` (and by tests that run
// NATS in process).
func EnsureStreams(ctx context.Context, js jetstream.JetStream, opts StreamOptions) error {
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.DLQMaxAge <= 0 {
		// A dead letter never outlives the events around it: a city that
		// shortens GRID's retention shortens the dead letters' with it.
		opts.DLQMaxAge = min(DefaultDLQMaxAge, opts.MaxAge)
	}
	for _, cfg := range []jetstream.StreamConfig{
		{Name: StreamGrid, Subjects: []string{SubjectsGrid}, Storage: jetstream.FileStorage, Replicas: opts.Replicas,
			MaxAge: opts.MaxAge, Duplicates: 2 * time.Minute, Description: "gridflow domain events"},
		{Name: StreamDLQ, Subjects: []string{SubjectsDLQ}, Storage: jetstream.FileStorage, Replicas: opts.Replicas,
			MaxAge: opts.DLQMaxAge, Description: "gridflow dead letters: dlq.<consumer>.<original subject>"},
	} {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// Ready reports whether JetStream answers (for readiness checks).
func Ready(ctx context.Context, js jetstream.JetStream) error {
	_, err := js.AccountInfo(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("jetstream: %w", err)
	}
	return err
}

// HeaderCarrier adapts nats.Header to OpenTelemetry propagation.
type HeaderCarrier nats.Header

func (c HeaderCarrier) Get(key string) string { return nats.Header(c).Get(key) }
func (c HeaderCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

var _ propagation.TextMapCarrier = HeaderCarrier{}

// ExtractTrace returns ctx continuing the trace carried in h.
func ExtractTrace(ctx context.Context, h nats.Header) context.Context {
	if h == nil {
		return ctx
	}
	return otel.GetTextMapPropagator().Extract(ctx, HeaderCarrier(h))
}

// WaitStreams waits until GRID and GRID_DLQ exist, looking every second
// while NATS is away or the streams are not declared yet, until they do or
// ctx ends. Services call it before their relay and consumers start, not
// before they serve: intake takes orders meanwhile and its outbox holds
// them. Services never declare the streams themselves: the stack's setup
// step does (EnsureStreams).
func WaitStreams(ctx context.Context, js jetstream.JetStream, log *slog.Logger) error {
	for {
		err := streamsExist(ctx, js)
		if err == nil || ctx.Err() != nil {
			return err
		}
		log.WarnContext(ctx, "streams not ready; waiting for them to be declared (gridctl nats streams)", "err", err)
		if !pause.For(ctx, time.Second) {
			return ctx.Err()
		}
	}
}

func streamsExist(ctx context.Context, js jetstream.JetStream) error {
	for _, name := range []string{StreamGrid, StreamDLQ} {
		if _, err := js.Stream(ctx, name); err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
	}
	return nil
}
