// Command intake is gridflow's intake service: it takes in work orders,
// patrol reports and 一指通办 issues, resolves where they are, stores each
// exactly once and publishes case.received through the outbox.
package main

import (
	"context"
	"errors"
	"runtime/debug"
	"time"

	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/process"
	"github.com/gridflow/gridflow/pkg/ratelimit"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/reloadlog"
	"github.com/gridflow/gridflow/services/intake/internal/events"
	"github.com/gridflow/gridflow/services/intake/internal/grpcapi"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"github.com/gridflow/gridflow/services/intake/internal/places"
	"github.com/gridflow/gridflow/services/intake/internal/postgres"

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
	// RateLimits bound each caller's calls, per principal and sized by role
	// (pkg/ratelimit): they stop a client gone wrong, not honest work. The
	// hotline is one principal for a whole city's call centre: a storm day
	// brings tens of orders a second and a gateway replaying its backlog
	// after an outage thousands, so its bucket sits above intake's own
	// capacity (bench-intake: ~9,600 orders/s from 64 callers in flight)
	// and only a runaway gateway meets it. A patrol worker or a secretary
	// files a report every few minutes; the burst of 30 lets an app flush a
	// day's offline queue on reconnecting, and 2/s stops a retry loop. Other
	// roles (dispatchers, departments, admin) read: 20/s, burst 100.
	RateLimits ratelimit.Limits `env:"INTAKE_RATE_LIMITS, default=hotline=20000/s:20000,patrol=2/s:30,secretary=2/s:30,*=20/s:100"`
	// ContactRetention is how long intake keeps a caller's clear contact
	// after the case ends (feedback closes it, the hotline withdraws it, or
	// it was answered on the call); then the stored contact is replaced by
	// its masked form. 15 days: a closed case can still come back — a
	// merged case's bad callback reopens its primary, within feedback's
	// callback window of 3 working days (FEEDBACK_CALLBACK_WINDOW_DAYS),
	// which the 9-day Spring Festival holiday stretches to 12 calendar
	// days — and the hotline's callback must reach the citizen; 15 days
	// covers that with a margin and no more. A reopened case is not ended.
	ContactRetention time.Duration `env:"INTAKE_CONTACT_RETENTION, default=360h"`
	// ContactSweep is how often the retention sweep runs.
	ContactSweep time.Duration `env:"INTAKE_CONTACT_SWEEP_INTERVAL, default=1h"`
}

// Validate checks the settings the tags cannot.
func (c *Config) Validate() error {
	if c.ContactRetention <= 0 || c.ContactSweep <= 0 {
		return errors.New("INTAKE_CONTACT_RETENTION and INTAKE_CONTACT_SWEEP_INTERVAL must be positive")
	}
	return nil
}

func main() { process.Main(run) }

func run(ctx context.Context) error {
	cfg, err := config.Load[Config](ctx)
	if err != nil {
		return err
	}
	p, err := process.Start(ctx, "intake", cfg.Base, cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	if cfg.GOGC == "" {
		debug.SetGCPercent(cfg.GCPercent)
	}

	ref, err := reference.Open(cfg.ReferenceDir)
	if err != nil {
		return err
	}

	pool, err := p.Postgres(postgres.Schema, append(postgres.Migrations, postgres.ClosureMigrations)...)
	if err != nil {
		return err
	}
	// Every load of the reference data is recorded: the set this process
	// starts with, and each reload on SIGHUP.
	reloads, hup, err := reloadlog.Start(ctx, pool, "intake", ref, func() string { return ref.Current().Digest() }, p.Log)
	if err != nil {
		return err
	}
	p.ReloadOnHangup(hup)
	js, err := p.JetStream()
	if err != nil {
		return err
	}

	// Committed events leave through the relay's fast path; the poller only
	// picks up rows older than the grace period (after a crash or an outage).
	relay := p.Relay(pool, js, outbox.RelayOptions{BatchSize: cfg.RelayBatch, Grace: 2 * time.Second,
		Rebuild: postgres.Rebuild})
	store := postgres.New(pool, relay)
	// The committers outlive the gRPC server: once intake stops taking
	// orders, what is in flight commits and the relay drains it. Intake
	// takes orders while NATS is down; the outbox holds them.
	store.RunGroupCommit(p.Publishing(), cfg.CommitWorkers, cfg.CommitBatch)
	pl := places.New(ref.Current)
	svc := intake.New(store, pl, pl, time.Now)

	// Issue 17: both consumers take what arrived for a worker in one transaction
	// (a savepoint per event): three task events an order were three
	// commits, each a WAL flush.
	closures, err := consumer.NewBatch(js, pool, consumer.Config{Name: events.ConsumerClosures, Subjects: events.ClosureSubjects},
		consumer.Savepointed(events.Closures(postgres.SetClosed)), p.Log)
	if err != nil {
		return err
	}
	p.Consume(closures) // feedback's closures
	// The tasks' states are read in memory and written in one statement
	// per batch, no savepoint per event (issue 17: 13 % of intake's CPU
	// under make bench's load was this consumer's per-event round trips).
	tasks, err := consumer.NewBatch(js, pool, consumer.Config{Name: events.ConsumerTasks, Subjects: events.TaskSubjects},
		events.TasksBatch(postgres.SetTasks), p.Log)
	if err != nil {
		return err
	}
	p.Consume(tasks) // dispatch's tasks: who holds an open one (ReadContact)
	p.Go(func(ctx context.Context) error {
		return store.RetainContacts(ctx, cfg.ContactRetention, cfg.ContactSweep, time.Now, p.Log)
	})

	srv, err := p.GRPC(cfg.GRPCAddr, "INTAKE_GRPC_ADDR", process.RateLimit(cfg.RateLimits))
	if err != nil {
		return err
	}
	intakev1.RegisterIntakeServiceServer(srv, grpcapi.New(svc).ListsReloadsFrom(reloads))
	// Open311 (issue 19): the public's requests, from the console's door.
	intakev1.RegisterPublicIntakeServiceServer(srv, grpcapi.NewPublic(svc))
	if err := p.Admin(cfg.AdminAddr, "INTAKE_ADMIN_ADDR"); err != nil {
		return err
	}
	return p.Wait()
}
