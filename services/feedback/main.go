// Command feedback is gridflow's feedback service: it owns the case
// lifecycle. It stores every case, incident and task event it consumes
// (durable consumer feedback-events) as each case's timeline, derives the
// authoritative case state from them, composes the reply when the lead's
// completion resolves a case, records callbacks and re-checks, reopens and
// closes cases (publishing case.resolved, .replied, .callback_recorded,
// .rechecked, .reopened, .closed and .withdrawn through the outbox), runs
// callback retries and the no-callback close on durable timers, and serves
// the case, timeline, reply and metrics API. `feedback rebuild` drops the
// views and rebuilds them from the stored events.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
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
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/feedback/internal/events"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/gridflow/gridflow/services/feedback/internal/grpcapi"
	"github.com/gridflow/gridflow/services/feedback/internal/postgres"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// Config is the feedback service's configuration.
type Config struct {
	config.Base
	GRPCAddr  string `env:"FEEDBACK_GRPC_ADDR, default=127.0.0.1:7104"`
	AdminAddr string `env:"FEEDBACK_ADMIN_ADDR, default=127.0.0.1:7204"`
	// CallbackWindow: working days after the reply to reach the citizen;
	// then the case closes as uncalled.
	CallbackWindow int `env:"FEEDBACK_CALLBACK_WINDOW_DAYS, default=3"`
	// CallbackRetry: when an unreached callback is due again.
	CallbackRetry time.Duration `env:"FEEDBACK_CALLBACK_RETRY, default=2h"`
	// WatchPoll: how often a WatchCaseUpdates stream looks for new events
	// when no NOTIFY woke it (the listening connection is being re-made).
	WatchPoll           time.Duration `env:"FEEDBACK_WATCH_POLL, default=5s"`
	ConsumerConcurrency int           `env:"FEEDBACK_CONSUMER_CONCURRENCY, default=1"`
	RelayBatch          int           `env:"FEEDBACK_RELAY_BATCH, default=256"`
}

// Validate checks the settings the tags cannot.
func (c *Config) Validate() error {
	var errs []error
	if c.CallbackWindow < 1 || c.CallbackWindow > 60 {
		errs = append(errs, fmt.Errorf("FEEDBACK_CALLBACK_WINDOW_DAYS %d: want 1–60", c.CallbackWindow))
	}
	if c.CallbackRetry <= 0 || c.WatchPoll <= 0 {
		errs = append(errs, errors.New("FEEDBACK_CALLBACK_RETRY and FEEDBACK_WATCH_POLL must be positive"))
	}
	if c.ConsumerConcurrency < 1 || c.RelayBatch < 1 {
		errs = append(errs, errors.New("FEEDBACK_CONSUMER_CONCURRENCY and FEEDBACK_RELAY_BATCH must be positive"))
	}
	return errors.Join(errs...)
}

const usage = `usage:
  feedback            serve
  feedback rebuild    drop the views and rebuild them from the stored events`

func main() {
	process.Main(func(ctx context.Context) error {
		if len(os.Args) < 2 {
			return serve(ctx, false)
		}
		switch os.Args[1] {
		case "rebuild":
			return serve(ctx, true)
		case "help", "-h", "--help":
			fmt.Println(usage)
			return nil
		default:
			return fmt.Errorf("unknown command %q\n%s", os.Args[1], usage)
		}
	})
}

func serve(ctx context.Context, rebuild bool) error {
	cfg, err := config.Load[Config](ctx)
	if err != nil {
		return err
	}
	env, err := process.Start(ctx, "feedback", cfg.Base, cfg)
	if err != nil {
		return err
	}
	log := env.Log
	defer env.Telemetry.Shutdown(context.WithoutCancel(ctx)) //nolint:errcheck // best effort at exit

	ref, err := reference.Open(cfg.ReferenceDir)
	if err != nil {
		return err
	}
	process.ReloadOnHangup(ctx, log, ref)

	pool, err := pgdb.OpenMigrated(ctx, cfg.DatabaseURL, postgres.Schema, cfg.DatabaseMaxConns, postgres.Migrations...)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := postgres.New(pool, nil)
	domainCfg := feedback.Config{CallbackWindow: cfg.CallbackWindow, CallbackRetry: cfg.CallbackRetry}
	calendar := func() feedback.Calendar { return ref.Current().Calendar() }
	if rebuild {
		n, err := feedback.New(domainCfg, store, store, calendar, time.Now).Rebuild(ctx)
		if err == nil {
			log.InfoContext(ctx, "views rebuilt from the stored events", "cases", n)
		}
		return err
	}

	if missing, err := store.FiguresMissing(ctx); err != nil {
		return err
	} else if missing {
		log.WarnContext(ctx, "cases are stored without their figure rows (migration 0003): metrics stay empty until `feedback rebuild`")
	}

	pub, err := auth.LoadPublicKey(cfg.AuthPublicKeyFile)
	if err != nil {
		return fmt.Errorf("auth public key (GRIDFLOW_AUTH_PUBLIC_KEY_FILE): %w", err)
	}
	nc, js, err := natsjs.Connect(ctx, cfg.NATSURL, "feedback", log)
	if err != nil {
		return err
	}
	defer nc.Close()

	relay := outbox.NewRelay(pool, js, log, outbox.RelayOptions{BatchSize: cfg.RelayBatch})
	store = postgres.New(pool, relay.Notify)
	svc := feedback.New(domainCfg, store, store, calendar, time.Now)

	runner, err := consumer.New(js, pool, consumer.Config{Name: events.ConsumerName, Subjects: events.Subjects,
		Concurrency: cfg.ConsumerConcurrency}, events.Handler(svc, store.Bind), log)
	if err != nil {
		return err
	}
	timers := timer.NewWorker(pool, map[string]timer.Handler{
		postgres.TimerCallbackWindow: func(ctx context.Context, tx pgx.Tx, t timer.Timer) error {
			return svc.CallbackWindowPassed(ctx, store.Bind(tx), t.Key)
		},
		postgres.TimerCallbackRetry: func(ctx context.Context, tx pgx.Tx, t timer.Timer) error {
			return svc.CallbackRetryDue(ctx, store.Bind(tx), t.Key)
		},
	}, timer.Options{}, log)

	srv := grpcserver.New(grpcserver.Options{Logger: log, Verifier: auth.NewVerifier(pub)})
	bell := grpcapi.NewBell()
	go pgdb.Listen(ctx, pool, postgres.EventsChannelSQL, log, bell.Ring)
	feedbackv1.RegisterFeedbackServiceServer(srv, grpcapi.New(svc, bell, cfg.WatchPoll))
	lis, err := listener.Listen(cfg.GRPCAddr, "FEEDBACK_GRPC_ADDR")
	if err != nil {
		return err
	}
	admin, err := env.Admin(ctx, cfg.AdminAddr, "FEEDBACK_ADMIN_ADDR", map[string]adminserver.Check{
		"postgres": func(ctx context.Context) error { return pool.Ping(ctx) },
	})
	if err != nil {
		return err
	}

	// The relay outlives everything that writes events: once the server,
	// the consumer and the timers have stopped, it drains the outbox. The
	// relay and the consumer need the streams; feedback serves its API while
	// NATS is down and starts publishing and consuming once they exist.
	publishing := relay.Start(ctx, func(ctx context.Context) error {
		return natsjs.EnsureStreamsRetry(ctx, js, natsjs.StreamOptions{Replicas: cfg.StreamReplicas}, log)
	})
	g, gctx := errgroup.WithContext(ctx)
	g.Go(admin)
	g.Go(func() error { return process.ServeGRPC(gctx, srv.Server, lis, cfg.ShutdownTimeout) })
	g.Go(func() error { return timers.Run(gctx) })
	g.Go(func() error { return publishing.OnceReady(gctx, runner.Run) })
	log.InfoContext(ctx, "serving", "grpc", cfg.GRPCAddr, "admin", cfg.AdminAddr)
	err = g.Wait()
	return errors.Join(err, publishing.Stop(cfg.ShutdownTimeout))
}
