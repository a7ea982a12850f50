// Package process wires a gridflow service's process: signal handling, the
// JSON logger and telemetry, then — one call each, in the order the main
// makes them — the migrated PostgreSQL pool, the JetStream connection, the
// outbox relay, the consumers and workers, the gRPC server and the admin
// port, and at the end the wait and the ordered stop.
//
// A service's main stays its composition root and reads top to bottom:
//
//	config → Start → pool + migrate → JetStream → relay → consumers → gRPC → admin → Wait
//
// The Process only removes the wiring every main repeated (the readiness
// check, the relay's start and drain, a consumer waiting for the streams,
// the auth interceptor, the errgroup, the graceful stop); what is built, and
// in what order, stays in the main. Nothing is started before Wait except
// the relay (so that a service takes work while NATS is away, held in its
// outbox) and the SIGHUP reload.
//
// Stopping is the reverse of starting: on SIGINT or SIGTERM the gRPC server
// stops taking calls and finishes those in flight (forced after
// GRIDFLOW_SHUTDOWN_TIMEOUT), consumers finish the messages they hold and
// workers stop; then the relay publishes what they committed and stops, and
// Close releases NATS, the pool and telemetry.
package process

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gridflow/gridflow/pkg/adminserver"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/listener"
	"github.com/gridflow/gridflow/pkg/logging"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/ratelimit"
	"github.com/gridflow/gridflow/pkg/telemetry"
	"github.com/gridflow/gridflow/pkg/tlsconfig"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
)

// Main runs run until SIGINT or SIGTERM and exits non-zero on error.
func Main(run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// Process is one service's process as its main wires it. Its methods are
// called from the main's goroutine, in order; Wait runs what they built.
type Process struct {
	Log       *slog.Logger
	Telemetry *telemetry.Telemetry

	ctx     context.Context
	service string
	base    config.Base

	closers    []func() // in the order things were built; Close runs them backwards
	checks     map[string]adminserver.Check
	tasks      []func(context.Context) error // run and supervised by Wait
	addrs      []any                         // what Wait serves on, for its log line
	publishing *outbox.Background
	relay      *outbox.Relay
	stopped    bool // the relay was stopped by Wait
}

// Start builds the logger and telemetry and logs the configuration, secrets
// masked. Defer Close right after it.
func Start(ctx context.Context, service string, base config.Base, cfg any) (*Process, error) {
	log := logging.New(os.Stdout, service, base.LogLevel)
	tel, err := telemetry.Setup(ctx, telemetry.Config{Service: service, OTLPEndpoint: base.OTLPEndpoint})
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	log.InfoContext(ctx, "starting", config.Attrs(cfg)...)
	p := &Process{Log: log, Telemetry: tel, ctx: ctx, service: service, base: base,
		checks: map[string]adminserver.Check{}}
	p.closers = append(p.closers, func() {
		_ = tel.Shutdown(context.WithoutCancel(ctx)) // best effort at exit
	})
	return p, nil
}

// Close releases what the process built, last built first: it stops the
// relay if Wait did not (a start that failed half way), then closes NATS and
// the pool and flushes telemetry.
func (p *Process) Close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.closers = nil
}

// Reloadable is what a SIGHUP reloads: reference.Live, which holds the
// reference set or a service's bundle built on it, and auth.Live, the
// credentials (keys and deny list).
type Reloadable interface {
	// Name says what it holds, for the log ("reference data").
	Name() string
	// Attrs describe what is in force, for the log (a digest, a version).
	Attrs() []any
	// Refresh loads again; on error what is in force stays.
	Refresh(ctx context.Context) error
}

// ReloadOnHangup logs what r holds and reloads it on every SIGHUP, logging
// the outcome, until the process's context ends.
func (p *Process) ReloadOnHangup(r Reloadable) {
	ctx, log := p.ctx, p.Log
	log.InfoContext(ctx, r.Name()+" loaded", r.Attrs()...)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
			}
			if err := r.Refresh(ctx); err != nil {
				log.ErrorContext(ctx, r.Name()+" reload failed; keeping what was loaded", "err", err)
				continue
			}
			log.InfoContext(ctx, r.Name()+" reloaded", r.Attrs()...)
		}
	}()
}

// Postgres opens the service's schema (GRIDFLOW_DATABASE_URL,
// GRIDFLOW_DATABASE_MAX_CONNS, every statement bounded by
// GRIDFLOW_DATABASE_STATEMENT_TIMEOUT), applies its migrations and makes
// the pool part of the admin port's readiness check.
func (p *Process) Postgres(schema string, sets ...pgdb.Migrations) (*pgxpool.Pool, error) {
	opts := []pgdb.Option{pgdb.StatementTimeout(p.base.DatabaseStatementTimeout)}
	pool, err := pgdb.OpenMigratedWith(p.ctx, p.base.DatabaseURL, schema, p.base.DatabaseMaxConns, opts, sets...)
	if err != nil {
		return nil, err
	}
	p.closers = append(p.closers, pool.Close)
	p.checks["postgres"] = func(ctx context.Context) error { return pool.Ping(ctx) }
	return pool, nil
}

// JetStream connects to NATS (GRIDFLOW_NATS_URL) as the service's own NATS
// user (GRIDFLOW_NATS_NKEY_FILE, its inbox prefix _INBOX_<service>); the
// connection retries in the background while NATS is away. A tls:// URL
// connects with TLS, trusting GRIDFLOW_TLS_CA_FILE and showing the
// service's certificate.
func (p *Process) JetStream() (jetstream.JetStream, error) {
	user, err := natsjs.User(p.service, p.base.NATSNkeyFile)
	if err != nil {
		return nil, err
	}
	secure, err := natsTLS(p.base)
	if err != nil {
		return nil, err
	}
	nc, js, err := natsjs.Connect(p.ctx, p.base.NATSURL, p.service, p.Log, append(user, secure...)...)
	if err != nil {
		return nil, err
	}
	p.closers = append(p.closers, nc.Close)
	return js, nil
}

// natsTLS returns the options that make the NATS connection TLS when the
// URL asks for it (tls://).
func natsTLS(base config.Base) ([]nats.Option, error) {
	if !strings.Contains(base.NATSURL, "tls://") {
		return nil, nil
	}
	cfg, err := tlsconfig.Client{CAFile: base.TLSCAFile, CertFile: base.TLSCertFile, KeyFile: base.TLSKeyFile}.Config()
	if err != nil {
		return nil, fmt.Errorf("nats (GRIDFLOW_NATS_URL is tls://): %w", err)
	}
	return []nats.Option{nats.Secure(cfg)}, nil
}

// Relay makes the service's outbox relay and starts it now: it waits for
// the streams, which the stack's setup step declares (while NATS is away or
// they are not there yet, the service takes work, which the outbox holds),
// and then publishes. It outlives everything that writes events: Wait stops
// it last, after publishing what they committed.
func (p *Process) Relay(pool *pgxpool.Pool, js jetstream.JetStream, opts outbox.RelayOptions) *outbox.Relay {
	relay := outbox.NewRelay(pool, js, p.Log, opts)
	p.relay = relay
	p.publishing = relay.Start(p.ctx, func(ctx context.Context) error {
		return natsjs.WaitStreams(ctx, js, p.Log)
	})
	p.closers = append(p.closers, func() {
		if !p.stopped {
			_ = p.publishing.Stop(p.base.ShutdownTimeout)
		}
	})
	return relay
}

// Publishing lasts until the relay has stopped, for work whose events must
// still be published while the service stops (intake's group commit).
func (p *Process) Publishing() context.Context { return p.publishing.Context() }

// Consume runs r once the relay has found the streams, until the process
// stops; call Relay first. Unless r's configuration names another scope,
// what its handlers enqueue leaves through the relay's fast path as soon as
// their transaction commits (outbox.Relay.Scope).
func (p *Process) Consume(r *consumer.Runner) {
	if p.relay != nil {
		r.ScopeUnlessSet(p.relay.Scope)
	}
	p.Go(func(ctx context.Context) error {
		if p.publishing == nil {
			return errors.New("process: Consume needs the relay, which waits for the streams")
		}
		return p.publishing.OnceReady(ctx, r.Run)
	})
}

// Go runs work (a timer worker, a listener) beside the servers once Wait
// starts, until the process stops. An error from it stops the process.
func (p *Process) Go(work func(ctx context.Context) error) {
	p.tasks = append(p.tasks, work)
}

// GRPCOption adds to what GRPC builds.
type GRPCOption func(*grpcserver.Options)

// RateLimit limits every caller of the server to its role's rate (see
// pkg/ratelimit); intake sets it from INTAKE_RATE_LIMITS.
func RateLimit(limits ratelimit.Limits) GRPCOption {
	return func(o *grpcserver.Options) { o.RateLimit = ratelimit.New(limits) }
}

// GRPC makes the service's gRPC server — every call authenticated with the
// keys in GRIDFLOW_AUTH_KEY_DIR (else GRIDFLOW_AUTH_PUBLIC_KEY_FILE) and
// checked against the deny list, both reloaded on SIGHUP and when their
// files change — requests bounded by
// GRIDFLOW_GRPC_MAX_RECV_BYTES, TLS when GRIDFLOW_TLS_CERT_FILE names a
// certificate (mutual with GRIDFLOW_TLS_CLIENT_AUTH) — listening on addr
// (setting names the variable that moves it). Register the service on it;
// Wait serves it and stops it gracefully.
func (p *Process) GRPC(addr, setting string, extra ...GRPCOption) (*grpcserver.Server, error) {
	creds, err := p.credentials()
	if err != nil {
		return nil, err
	}
	tlsCfg, err := serverTLS(p.base)
	if err != nil {
		return nil, err
	}
	lis, err := p.listen(addr, setting, "grpc")
	if err != nil {
		return nil, err
	}
	opts := grpcserver.Options{Logger: p.Log, Verifier: creds.Verifier(), TLS: tlsCfg,
		MaxRecvMsgSize: p.base.GRPCMaxRecvBytes}
	for _, o := range extra {
		o(&opts)
	}
	srv := grpcserver.New(opts)
	p.Go(func(ctx context.Context) error { return serveGRPC(ctx, srv.Server, lis, p.base.ShutdownTimeout) })
	return srv, nil
}

// credentials loads the keys tokens are checked with and the deny list
// (GRIDFLOW_AUTH_KEY_DIR or GRIDFLOW_AUTH_PUBLIC_KEY_FILE,
// GRIDFLOW_AUTH_KEY_OVERLAP, GRIDFLOW_AUTH_DENY_LIST_FILE), reloads them on
// SIGHUP and whenever their files change (every
// GRIDFLOW_AUTH_RELOAD_INTERVAL).
func (p *Process) credentials() (*auth.Live, error) {
	src := auth.Source{KeyDir: p.base.AuthKeyDir, Overlap: p.base.AuthKeyOverlap, DenyListFile: p.base.AuthDenyListFile}
	if src.KeyDir == "" {
		src.KeyFile = p.base.AuthPublicKeyFile
	}
	live, err := auth.NewLive(src)
	if err != nil {
		return nil, fmt.Errorf("credentials (GRIDFLOW_AUTH_KEY_DIR, GRIDFLOW_AUTH_PUBLIC_KEY_FILE, GRIDFLOW_AUTH_DENY_LIST_FILE): %w", err)
	}
	p.ReloadOnHangup(live)
	p.Go(func(ctx context.Context) error { return live.Poll(ctx, p.base.AuthReloadInterval, p.Log) })
	return live, nil
}

func serverTLS(base config.Base) (*tls.Config, error) {
	s := tlsconfig.Server{CertFile: base.TLSCertFile, KeyFile: base.TLSKeyFile}
	if base.TLSClientAuth {
		if base.TLSCAFile == "" {
			return nil, errors.New("GRIDFLOW_TLS_CLIENT_AUTH needs GRIDFLOW_TLS_CA_FILE, the CA that signs the clients")
		}
		s.ClientCAFile = base.TLSCAFile
	}
	cfg, err := s.Config()
	if err != nil {
		return nil, fmt.Errorf("gRPC (GRIDFLOW_TLS_CERT_FILE, GRIDFLOW_TLS_KEY_FILE): %w", err)
	}
	return cfg, nil
}

// HTTP serves h on addr (the console's door).
func (p *Process) HTTP(addr, setting string, h http.Handler) error {
	lis, err := p.listen(addr, setting, "http")
	if err != nil {
		return err
	}
	p.Go(func(ctx context.Context) error { return serveHTTP(ctx, lis, h) })
	return nil
}

// Admin serves the admin port on addr: /healthz, /readyz (the checks of
// what the process built, e.g. its pool), /metrics and pprof.
func (p *Process) Admin(addr, setting string) error {
	lis, err := p.listen(addr, setting, "admin")
	if err != nil {
		return err
	}
	h := adminserver.New(p.Telemetry.Metrics, p.checks)
	p.Go(func(ctx context.Context) error { return serveHTTP(ctx, lis, h) })
	return nil
}

func (p *Process) listen(addr, setting, what string) (net.Listener, error) {
	lis, err := listener.Listen(addr, setting)
	if err != nil {
		return nil, err
	}
	p.closers = append(p.closers, func() { _ = lis.Close() }) // when Wait never served it
	p.addrs = append(p.addrs, what, addr)
	return lis, nil
}

func serveHTTP(ctx context.Context, lis net.Listener, h http.Handler) error {
	if err := adminserver.Serve(ctx, lis, h); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Wait serves and runs everything built until the process's context ends
// or one of them fails, then stops them — the gRPC server gracefully,
// consumers after the messages they hold — and last the relay, which
// publishes what they committed (for at most GRIDFLOW_SHUTDOWN_TIMEOUT).
func (p *Process) Wait() error {
	g, gctx := errgroup.WithContext(p.ctx)
	for _, task := range p.tasks {
		g.Go(func() error { return task(gctx) })
	}
	p.Log.InfoContext(p.ctx, "serving", p.addrs...)
	err := g.Wait()
	if p.publishing != nil {
		p.stopped = true
		err = errors.Join(err, p.publishing.Stop(p.base.ShutdownTimeout))
	}
	return err
}

// serveGRPC serves srv on lis until ctx ends, then stops gracefully, forcing
// the stop after timeout so a hung stream cannot hold the process.
func serveGRPC(ctx context.Context, srv *grpc.Server, lis net.Listener, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		srv.Stop()
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}
