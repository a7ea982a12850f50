// Package natsjs connects to NATS and sets up gridflow's JetStream streams:
// GRID on grid.> (every domain event) and GRID_DLQ on dlq.> (dead letters,
// dlq.<consumer>.<original subject>, the reason in a header). It also carries
// the OpenTelemetry trace context in message headers.
package natsjs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

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
// extra options apply last (TLS: nats.Secure with the service's tls.Config).
func Connect(ctx context.Context, url, name string, log *slog.Logger, extra ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrl()) }),
		all(extra),
	)
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

// all applies opts in order, as one option.
func all(opts []nats.Option) nats.Option {
	return func(o *nats.Options) error {
		for _, opt := range opts {
			if err := opt(o); err != nil {
				return err
			}
		}
		return nil
	}
}

// StreamOptions size the streams: R1 on one machine, R3 in a cluster.
type StreamOptions struct {
	Replicas int
	MaxAge   time.Duration // default 30 days
}

// EnsureStreams creates or updates GRID and GRID_DLQ.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, opts StreamOptions) error {
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 30 * 24 * time.Hour
	}
	for _, cfg := range []jetstream.StreamConfig{
		{Name: StreamGrid, Subjects: []string{SubjectsGrid}, Storage: jetstream.FileStorage, Replicas: opts.Replicas,
			MaxAge: opts.MaxAge, Duplicates: 2 * time.Minute, Description: "gridflow domain events"},
		{Name: StreamDLQ, Subjects: []string{SubjectsDLQ}, Storage: jetstream.FileStorage, Replicas: opts.Replicas,
			MaxAge: opts.MaxAge, Description: "gridflow dead letters: dlq.<consumer>.<original subject>"},
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

// EnsureStreamsRetry declares the streams, retrying every second while NATS
// is away, until it succeeds or ctx ends. Services call it before their
// relay and consumers start, not before they serve: intake takes orders
// while NATS is down and its outbox holds them.
func EnsureStreamsRetry(ctx context.Context, js jetstream.JetStream, opts StreamOptions, log *slog.Logger) error {
	for {
		err := EnsureStreams(ctx, js, opts)
		if err == nil || ctx.Err() != nil {
			return err
		}
		log.WarnContext(ctx, "streams not ready; retrying", "err", err)
		if !pause.For(ctx, time.Second) {
			return ctx.Err()
		}
	}
}
