// Package process is the shared start and stop of a gridflow binary:
// signal handling, the JSON logger, telemetry, the admin HTTP server and the
// graceful stop of a gRPC server. Each service's main stays a composition
// root: it reads its config, builds its dependencies in order and supervises
// them with an errgroup.
package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gridflow/gridflow/pkg/adminserver"
	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/pkg/listener"
	"github.com/gridflow/gridflow/pkg/logging"
	"github.com/gridflow/gridflow/pkg/telemetry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
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

// Env is what every service starts with.
type Env struct {
	Log       *slog.Logger
	Telemetry *telemetry.Telemetry
}

// Start builds the logger and telemetry and logs the configuration.
func Start(ctx context.Context, service string, base config.Base, cfg any) (*Env, error) {
	log := logging.New(os.Stdout, service, base.LogLevel)
	tel, err := telemetry.Setup(ctx, telemetry.Config{Service: service, OTLPEndpoint: base.OTLPEndpoint})
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	log.InfoContext(ctx, "starting", config.Attrs(cfg)...)
	return &Env{Log: log, Telemetry: tel}, nil
}

// Admin listens on addr (setting names its variable) and serves the admin
// handler until ctx ends.
func (e *Env) Admin(ctx context.Context, addr, setting string, checks map[string]adminserver.Check) (func() error, error) {
	lis, err := listener.Listen(addr, setting)
	if err != nil {
		return nil, err
	}
	h := adminserver.New(e.Telemetry.Metrics, checks)
	return func() error { return adminserver.Serve(ctx, lis, h) }, nil
}

// ServeGRPC serves srv on lis until ctx ends, then stops gracefully, forcing
// the stop after timeout so a hung stream cannot hold the process.
func ServeGRPC(ctx context.Context, srv *grpc.Server, lis net.Listener, timeout time.Duration) error {
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

// OnHangup calls reload on every SIGHUP until ctx ends (reference data and
// models reload without a restart).
func OnHangup(ctx context.Context, reload func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				reload()
			}
		}
	}()
}

// HealthOnly serves just the gRPC health service and the admin port: the
// stand-in for a service whose issue has not landed yet, so the stack's
// shape (ports, health, metrics) is real from the start.
func HealthOnly(ctx context.Context, env *Env, grpcAddr, grpcSetting, adminAddr, adminSetting string, timeout time.Duration) error {
	lis, err := listener.Listen(grpcAddr, grpcSetting)
	if err != nil {
		return err
	}
	admin, err := env.Admin(ctx, adminAddr, adminSetting, nil)
	if err != nil {
		lis.Close()
		return err
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	errc := make(chan error, 2)
	go func() { errc <- admin() }()
	go func() { errc <- ServeGRPC(ctx, srv, lis, timeout) }()
	env.Log.InfoContext(ctx, "serving health only", "grpc", grpcAddr, "admin", adminAddr)
	return errors.Join(<-errc, <-errc)
}

// Reloadable is what a SIGHUP reloads: reference.Live, which holds the
// reference set or a service's bundle built on it.
type Reloadable interface {
	// Name says what it holds, for the log ("reference data").
	Name() string
	// Attrs describe what is in force, for the log (a digest, a version).
	Attrs() []any
	// Refresh loads again; on error what is in force stays.
	Refresh(ctx context.Context) error
}

// ReloadOnHangup logs what r holds and reloads it on every SIGHUP, logging
// the outcome.
func ReloadOnHangup(ctx context.Context, log *slog.Logger, r Reloadable) {
	log.InfoContext(ctx, r.Name()+" loaded", r.Attrs()...)
	OnHangup(ctx, func() {
		if err := r.Refresh(ctx); err != nil {
			log.ErrorContext(ctx, r.Name()+" reload failed; keeping what was loaded", "err", err)
			return
		}
		log.InfoContext(ctx, r.Name()+" reloaded", r.Attrs()...)
	})
}
