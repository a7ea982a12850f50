// Command intake is gridflow's intake service: it takes in work orders,
// patrol reports and 一指通办 issues, resolves where they are, stores each
// exactly once and publishes case.received through the outbox.
package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/gridflow/gridflow/pkg/adminserver"
	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/grpcserver"
	"github.com/gridflow/gridflow/pkg/listener"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/process"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/intake/internal/events"
	"github.com/gridflow/gridflow/services/intake/internal/grpcapi"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"github.com/gridflow/gridflow/services/intake/internal/places"
	"github.com/gridflow/gridflow/services/intake/internal/postgres"
	"golang.org/x/sync/errgroup"

	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// Config is the intake service's configuration.
type Config struct {
	config.Base
	GRPCAddr  string `env:"INTAKE_GRPC_ADDR, default=127.0.0.1:7101"`
	AdminAddr string `env:"INTAKE_ADMIN_ADDR, default=127.0.0.1:7201"`
	// GCPercent is the garbage collector's target (GOGC) when GOGC is not
	// set: intake allocates per request and has memory to spare, and the
	// default 100 spent an eighth of its CPU collecting under load.
	GCPercent int `env:"INTAKE_GC_PERCENT, default=400"`
	// RelayBatch is how many outbox rows one relay transaction publishes.
	RelayBatch int `env:"INTAKE_RELAY_BATCH, default=256"`
	// CommitWorkers transactions of at most CommitBatch submissions each are
	// in flight at once (group commit; see internal/postgres). Two keep one
	// transaction filling while the other commits; more made batches smaller
	// and had the backends contend for the same index pages (bench-intake:
	// 4 workers ~8,200 orders/s, 2 ~9,600, 1 about the same as 2 with a
	// longer tail).
	CommitWorkers int `env:"INTAKE_COMMIT_WORKERS, default=2"`
	CommitBatch   int `env:"INTAKE_COMMIT_BATCH, default=64"`
	// GOGC is the runtime's own variable; when given it wins over GCPercent.
	GOGC string `env:"GOGC"`
}

func main() { process.Main(run) }

func run(ctx context.Context) error {
	cfg, err := config.Load[Config](ctx)
	if err != nil {
		return err
	}
	env, err := process.Start(ctx, "intake", cfg.Base, cfg)
	if err != nil {
		return err
	}
	log := env.Log
	if cfg.GOGC == "" {
		debug.SetGCPercent(cfg.GCPercent)
	}
	defer env.Telemetry.Shutdown(context.WithoutCancel(ctx)) //nolint:errcheck // best effort at exit

	ref, err := reference.Open(cfg.ReferenceDir)
	if err != nil {
		return err
	}
	process.ReloadOnHangup(ctx, log, ref)
	pl := places.New(ref.Current)

	pub, err := auth.LoadPublicKey(cfg.AuthPublicKeyFile)
	if err != nil {
		return fmt.Errorf("auth public key (GRIDFLOW_AUTH_PUBLIC_KEY_FILE): %w", err)
	}

	pool, err := pgdb.OpenMigrated(ctx, cfg.DatabaseURL, postgres.Schema, cfg.DatabaseMaxConns, append(postgres.Migrations, postgres.ClosureMigrations)...)
	if err != nil {
		return err
	}
	defer pool.Close()

	nc, js, err := natsjs.Connect(ctx, cfg.NATSURL, "intake", log)
	if err != nil {
		return err
	}
	defer nc.Close()

	// Committed events leave through the relay's fast path; the poller only
	// picks up rows older than the grace period (after a crash or an outage).
	relay := outbox.NewRelay(pool, js, log, outbox.RelayOptions{BatchSize: cfg.RelayBatch, Grace: 2 * time.Second,
		Rebuild: postgres.Rebuild})
	store := postgres.New(pool, relay)
	svc := intake.New(store, pl, pl, time.Now)
	closures, err := consumer.New(js, pool, consumer.Config{Name: events.ConsumerClosures, Subjects: events.ClosureSubjects}, events.Closures(postgres.SetClosed), log)
	if err != nil {
		return err
	}

	srv := grpcserver.New(grpcserver.Options{Logger: log, Verifier: auth.NewVerifier(pub)})
	intakev1.RegisterIntakeServiceServer(srv, grpcapi.New(svc))
	lis, err := listener.Listen(cfg.GRPCAddr, "INTAKE_GRPC_ADDR")
	if err != nil {
		return err
	}
	admin, err := env.Admin(ctx, cfg.AdminAddr, "INTAKE_ADMIN_ADDR", map[string]adminserver.Check{
		"postgres": func(ctx context.Context) error { return pool.Ping(ctx) },
	})
	if err != nil {
		return err
	}

	// The committers and the relay outlive the gRPC server: once intake
	// stops taking orders, what is in flight commits and the relay drains it.
	// Intake takes orders while NATS is down; the outbox holds them.
	publishing := relay.Start(ctx, func(ctx context.Context) error {
		return natsjs.EnsureStreamsRetry(ctx, js, natsjs.StreamOptions{Replicas: cfg.StreamReplicas}, log)
	})
	store.RunGroupCommit(publishing.Context(), cfg.CommitWorkers, cfg.CommitBatch)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(admin)
	g.Go(func() error { return process.ServeGRPC(gctx, srv.Server, lis, cfg.ShutdownTimeout) })
	g.Go(func() error { return publishing.OnceReady(gctx, closures.Run) }) // feedback's closures
	log.InfoContext(ctx, "serving", "grpc", cfg.GRPCAddr, "admin", cfg.AdminAddr)
	err = g.Wait()
	return errors.Join(err, publishing.Stop(cfg.ShutdownTimeout))
}
