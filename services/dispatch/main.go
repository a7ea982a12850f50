// Command dispatch is gridflow's dispatch service: it routes classified
// cases to the units that must act, serves their tasks and the
// dispatchers' levers over gRPC, runs the clock that warns and escalates,
// and publishes every task and case decision through the outbox.
package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"time"

	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/notify"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/process"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/reloadlog"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/pkg/workcal"
	"github.com/gridflow/gridflow/services/dispatch/internal/clock"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/gridflow/gridflow/services/dispatch/internal/events"
	"github.com/gridflow/gridflow/services/dispatch/internal/feed"
	"github.com/gridflow/gridflow/services/dispatch/internal/grpcapi"
	"github.com/gridflow/gridflow/services/dispatch/internal/postgres"
	"github.com/gridflow/gridflow/services/dispatch/internal/webhooks"
	"github.com/gridflow/gridflow/services/dispatch/internal/worktasks"
	"github.com/jackc/pgx/v5"

	dispatchv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/dispatch/v1"
)

// Config is the dispatch service's configuration.
type Config struct {
	config.Base
	GRPCAddr  string `env:"DISPATCH_GRPC_ADDR, default=127.0.0.1:7103"`
	AdminAddr string `env:"DISPATCH_ADMIN_ADDR, default=127.0.0.1:7203"`
	// RelayBatch is how many outbox rows one relay transaction publishes.
	RelayBatch int `env:"DISPATCH_RELAY_BATCH, default=256"`
	// Lanes is which lanes this process runs (pkg/lane.Run, issue 17):
	// all; or routine in one process and emergency in another, so that an
	// emergency never waits for a CPU behind routine work.
	Lanes lane.Run `env:"DISPATCH_LANES, default=all"`
	// RejectWindow: how long after acknowledging a unit may still reject.
	RejectWindow string `env:"DISPATCH_REJECT_WINDOW, default=1 working_hours"`
	// MaxExtensions a task may request.
	MaxExtensions int `env:"DISPATCH_MAX_EXTENSIONS, default=1"`
	// AwaitFacts: how long a classification waits for its case.received.
	AwaitFacts time.Duration `env:"DISPATCH_AWAIT_FACTS, default=30s"`
	// ConsumerConcurrency: case events handled at once by one replica (and
	// worker-task events: dispatch-worktasks).
	ConsumerConcurrency int `env:"DISPATCH_CONSUMER_CONCURRENCY, default=4"`
	// TimerBatch and TimerConcurrency size the clock's timer worker.
	TimerBatch       int `env:"DISPATCH_TIMER_BATCH, default=100"`
	TimerConcurrency int `env:"DISPATCH_TIMER_CONCURRENCY, default=4"`
	// Webhooks (issue 19): a delivery's tries, the backoff between them
	// (equal jitter, pkg/notify) and how long one POST may take.
	WebhookAttempts    int           `env:"DISPATCH_WEBHOOK_ATTEMPTS, default=10"`
	WebhookBackoffBase time.Duration `env:"DISPATCH_WEBHOOK_BACKOFF_BASE, default=10s"`
	WebhookBackoffMax  time.Duration `env:"DISPATCH_WEBHOOK_BACKOFF_MAX, default=30m"`
	WebhookTimeout     time.Duration `env:"DISPATCH_WEBHOOK_TIMEOUT, default=10s"`
	// Grid workers' tasks (issue 20, work tasks): a re-check's limit on the
	// working-day clock, the secret signing the workers' notifications, and
	// for tests only the length of an inspection month (0: calendar months).
	RecheckLimit       string        `env:"DISPATCH_RECHECK_LIMIT, default=1 working_days"`
	WorkerNotifySecret string        `env:"DISPATCH_WORKER_NOTIFY_SECRET" secret:"true"`
	InspectionMonth    time.Duration `env:"DISPATCH_INSPECTION_MONTH, default=0s"`
	// TestClockFile, for end-to-end tests only: the service's clock runs
	// ahead of the wall clock by the duration in this file ("3h").
	TestClockFile string `env:"DISPATCH_TEST_CLOCK_FILE"`

	// Issue 17, dispatch's remaining cost: GCPercent is the garbage
	// collector's target (GOGC) when GOGC is not set, as intake's: dispatch
	// decodes and encodes a case's JSON on every write and has memory to
	// spare, and the default 100 spent 9 to 12 % of its CPU collecting under
	// make bench's load.
	GCPercent int `env:"DISPATCH_GC_PERCENT, default=400"`
	// GOGC is the runtime's own variable; when given it wins over GCPercent.
	GOGC string `env:"GOGC"`
}

// Validate implements config.Validator.
func (c *Config) Validate() error {
	if _, err := workcal.ParseDuration(c.RejectWindow); err != nil {
		return fmt.Errorf("DISPATCH_REJECT_WINDOW: %w", err)
	}
	// Grid workers' tasks (issue 20, work tasks).
	if d, err := workcal.ParseDuration(c.RecheckLimit); err != nil || d.IsZero() {
		return fmt.Errorf("DISPATCH_RECHECK_LIMIT: must be a working duration such as \"1 working_days\"")
	}
	if c.InspectionMonth < 0 {
		return errors.New("DISPATCH_INSPECTION_MONTH must not be negative")
	}
	if c.MaxExtensions < 0 {
		return errors.New("DISPATCH_MAX_EXTENSIONS must not be negative")
	}
	// Webhooks (issue 19).
	if c.WebhookAttempts < 1 || c.WebhookBackoffBase <= 0 || c.WebhookBackoffMax < c.WebhookBackoffBase || c.WebhookTimeout <= 0 {
		return errors.New("DISPATCH_WEBHOOK_ATTEMPTS must be at least 1, DISPATCH_WEBHOOK_BACKOFF_BASE and _TIMEOUT positive, _MAX not below _BASE")
	}
	return nil
}

func main() { process.Main(run) }

func run(ctx context.Context) error {
	cfg, err := config.Load[Config](ctx)
	if err != nil {
		return err
	}
	p, err := process.Start(ctx, "dispatch", cfg.Base, cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	// Issue 17, dispatch's remaining cost (see Config.GCPercent).
	if cfg.GOGC == "" {
		debug.SetGCPercent(cfg.GCPercent)
	}

	ref, err := reference.Open(cfg.ReferenceDir)
	if err != nil {
		return err
	}

	var clk clock.Clock = clock.System{}
	if cfg.TestClockFile != "" {
		if clk, err = clock.NewOffset(cfg.TestClockFile, 100*time.Millisecond); err != nil {
			return err
		}
		p.Log.WarnContext(ctx, "running on a TEST CLOCK: time is offset by the file's duration", "file", cfg.TestClockFile)
	}

	pool, err := p.Postgres(postgres.Schema, postgres.Migrations...)
	if err != nil {
		return err
	}
	// Every load of the reference data is recorded: the set this process
	// starts with, and each reload on SIGHUP.
	reloads, hup, err := reloadlog.Start(ctx, pool, "dispatch", ref, func() string { return ref.Current().Digest() }, p.Log)
	if err != nil {
		return err
	}
	p.ReloadOnHangup(hup)
	js, err := p.JetStream()
	if err != nil {
		return err
	}

	// The relay outlives the gRPC server, the consumer and the clock: what
	// they committed is published before the process exits.
	// Events leave from memory as their transaction commits (the consumer's
	// through pkg/process, the clock's and the API's through the relay's
	// scope); the poller only picks up rows older than the grace (issue 17).
	// A process of the emergency lane alone leaves the poller to the
	// routine lane's.
	relay := p.Relay(pool, js, outbox.RelayOptions{BatchSize: cfg.RelayBatch, Grace: 2 * time.Second, NoPoller: !cfg.Lanes.Routine})
	window, _ := workcal.ParseDuration(cfg.RejectWindow)
	policy := dispatch.Policy{RejectWindow: window, MaxExtensions: cfg.MaxExtensions, AwaitFacts: cfg.AwaitFacts}
	store := postgres.New(pool, relay.Notify).WithRelay(relay)
	svc := dispatch.New(store, events.Encode, feed.New(js), ref.Current, clk.Now, policy)
	svc.WithCoordination(store) // source place coordination (issue 20)
	svc.ListsReloadsFrom(reloads)
	handlers := events.NewHandlers(store, svc.Env)

	// Issue 17, emergencies first: the emergency lane's durable, one message
	// at a time with no batching wait; the task it dispatches is relayed as
	// the transaction commits (the department's page). Its runner holds
	// database connections of its own (pkg/consumer reserves them for an
	// emergency-lane durable), so routine batches, timers and API calls
	// holding the shared pool never keep an emergency waiting for one.
	if cfg.Lanes.Emergency {
		emergencies, err := consumer.New(js, pool, consumer.Config{Name: events.ConsumerEmergencies,
			Subjects: events.EmergencySubjects, BatchSize: 1, Committed: relay.Notify}, handlers.Handle, p.Log)
		if err != nil {
			return err
		}
		p.Consume(emergencies)
	}
	if !cfg.Lanes.Routine {
		// The emergency lane's own process: its consumer, the relay of
		// what it commits, health and metrics.
		if err := p.Admin(cfg.AdminAddr, "DISPATCH_ADMIN_ADDR"); err != nil {
			return err
		}
		return p.Wait()
	}
	// Issue 17, dispatch's stage: a fetch of routine case events is handled
	// as batches (one transaction each, a savepoint per event, the batch's
	// cases locked at once in id order and written at once), a case's
	// events in arrival order by one worker.
	cases, err := consumer.NewBatch(js, pool, consumer.Config{Name: events.ConsumerName, Subjects: events.ConsumerSubjects,
		Concurrency: cfg.ConsumerConcurrency, OrderKey: events.OrderKey}, handlers.HandleBatch(
		func(ctx context.Context, tx pgx.Tx, ids []string, create map[string]bool, now time.Time) (events.CaseSet, error) {
			return store.LockCases(ctx, tx, ids, create, now)
		}), p.Log)
	if err != nil {
		return err
	}
	p.Consume(cases)
	// Grid workers' tasks (issue 20, work tasks): their own durable, and
	// their timers beside the departments' in the one clock worker.
	recheckLimit, _ := workcal.ParseDuration(cfg.RecheckLimit)
	work := store.Work(events.EncodeWork, []byte(cfg.WorkerNotifySecret))
	workSvc := worktasks.New(work, ref.Current, clk.Now, worktasks.Config{RecheckLimit: recheckLimit, Month: cfg.InspectionMonth})
	// Issue 17, dispatch's stage: every case.received reaches this durable
	// (most need nothing), so what arrives for a worker is one transaction,
	// each event in a savepoint, its cases and places locked up front
	// (events.KeyedBatch);
	// as many workers as the cases' durable, a case's (or a place's)
	// events always to one of them (OrderKey = the lock key): one worker
	// fell behind at 50 orders/s.
	workConsumer, err := consumer.NewBatch(js, pool, consumer.Config{Name: events.ConsumerWorkTasks, Subjects: events.WorkTaskSubjects,
		Concurrency: cfg.ConsumerConcurrency, OrderKey: events.WorkKey, Skip: events.WorkSkip},
		events.KeyedBatch("gridflow-dispatch-worktasks", events.WorkKey, events.WorkHandler(workSvc, work.Bind)), p.Log)
	if err != nil {
		return err
	}
	p.Consume(workConsumer)
	// Source place coordination (issue 20): classify's links and leads.
	// Batched as the worker tasks' are (issue 17), locked by source place.
	coordination, err := consumer.NewBatch(js, pool, consumer.Config{Name: events.CoordinationConsumerName,
		Subjects: events.CoordinationSubjects}, events.KeyedBatch("gridflow-dispatch-coordination", events.CoordinationKey,
		events.CoordinationHandler(postgres.ApplyCoordination)), p.Log)
	if err != nil {
		return err
	}
	p.Consume(coordination)
	timers := clock.Handlers(store, svc.Env)
	maps.Copy(timers, events.WorkTimers(workSvc, work.Bind))

	clockWorker := timer.NewWorker(pool, timers, timer.Options{BatchSize: cfg.TimerBatch,
		Concurrency: cfg.TimerConcurrency, Clock: clk, Scope: relay.Scope}, p.Log)
	p.Go(clockWorker.Run)
	p.Go(func(ctx context.Context) error { store.BacklogGauges().Run(ctx, p.Log); return nil })
	p.Go(idempotency.Pruner{Pool: pool, Retention: cfg.RequestRetention, Log: p.Log}.Run)

	srv, err := p.GRPC(cfg.GRPCAddr, "DISPATCH_GRPC_ADDR")
	if err != nil {
		return err
	}
	// issue 20 (work tasks): a grid worker's ListTasks answers its worker tasks.
	workAPI := grpcapi.NewWorkerTasks(workSvc, clk.Now)
	dispatchv1.RegisterDispatchServiceServer(srv, grpcapi.New(svc).WithWorkerTasks(workAPI))
	// Source place coordination (issue 20).
	dispatchv1.RegisterCoordinationServiceServer(srv, grpcapi.NewCoordination(svc))

	// Webhooks (issue 19): registrations over gRPC, deliveries driven from
	// the table by one worker per replica.
	hooks := webhooks.New(store, events.TaskEventNames(), clk.Now)
	dispatchv1.RegisterWebhookServiceServer(srv, grpcapi.NewWebhooks(hooks))
	// Grid workers' tasks (issue 20, work tasks).
	dispatchv1.RegisterWorkerTaskServiceServer(srv, workAPI)
	hookWorker := &webhooks.Worker{Queue: store, Sender: notify.NewWebhook(cfg.WebhookTimeout, "gridflow-dispatch"),
		Backoff: notify.Backoff{Base: cfg.WebhookBackoffBase, Max: cfg.WebhookBackoffMax, Attempts: cfg.WebhookAttempts},
		Body:    events.WebhookBody, Lease: 2 * cfg.WebhookTimeout, Log: p.Log}
	p.Go(hookWorker.Run)
	p.Go(func(ctx context.Context) error { store.WebhookGauges().Run(ctx, p.Log); return nil })
	if err := p.Admin(cfg.AdminAddr, "DISPATCH_ADMIN_ADDR"); err != nil {
		return err
	}
	return p.Wait()
}
