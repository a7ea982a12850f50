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

	"github.com/gridflow/gridflow/pkg/config"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/process"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/reloadlog"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/feedback/internal/events"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/gridflow/gridflow/services/feedback/internal/grpcapi"
	"github.com/gridflow/gridflow/services/feedback/internal/postgres"
	"github.com/gridflow/gridflow/services/feedback/internal/warning"
	"github.com/jackc/pgx/v5"

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
	ConsumerConcurrency int           `env:"FEEDBACK_CONSUMER_CONCURRENCY, default=4"`
	RelayBatch          int           `env:"FEEDBACK_RELAY_BATCH, default=256"`
	// ConsumerBatch: messages per fetch of feedback-events, and the most
	// one worker's transaction takes (issue 17: at 64 the loop paid a
	// commit and its round trips for every few events and fell behind at
	// 90 orders/s).
	ConsumerBatch int `env:"FEEDBACK_CONSUMER_BATCH, default=256"`

	// Early warning (issue 20): the rules file (empty: the shipped
	// internal/warning/rules.yaml), reloaded on SIGHUP, and how often the
	// warnings are evaluated.
	WarningRules string        `env:"FEEDBACK_WARNING_RULES"`
	WarningEvery time.Duration `env:"FEEDBACK_WARNING_EVERY, default=5m"`
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
	// issue 17: a fetch larger than the server's MaxAckPending (1000) would wait for its own acks.
	if c.ConsumerBatch < 1 || c.ConsumerBatch > 1000 {
		errs = append(errs, fmt.Errorf("FEEDBACK_CONSUMER_BATCH %d: want 1–1000", c.ConsumerBatch))
	}
	// Early warning (issue 20).
	if c.WarningEvery < 100*time.Millisecond || c.WarningEvery > 24*time.Hour {
		errs = append(errs, fmt.Errorf("FEEDBACK_WARNING_EVERY %v: want 100ms–24h", c.WarningEvery))
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
	p, err := process.Start(ctx, "feedback", cfg.Base, cfg)
	if err != nil {
		return err
	}
	defer p.Close()

	ref, err := reference.Open(cfg.ReferenceDir)
	if err != nil {
		return err
	}

	pool, err := p.Postgres(postgres.Schema, postgres.Migrations...)
	if err != nil {
		return err
	}
	// Every load of the reference data is recorded: the set this process
	// starts with, and each reload on SIGHUP.
	reloads, hup, err := reloadlog.Start(ctx, pool, "feedback", ref, func() string { return ref.Current().Digest() }, p.Log)
	if err != nil {
		return err
	}
	p.ReloadOnHangup(hup)
	domainCfg := feedback.Config{CallbackWindow: cfg.CallbackWindow, CallbackRetry: cfg.CallbackRetry}
	calendar := func() feedback.Calendar { return ref.Current().Calendar() }
	if rebuild {
		store := postgres.New(pool, nil)
		n, err := feedback.New(domainCfg, store, store, calendar, time.Now).Rebuild(ctx)
		if err == nil {
			p.Log.InfoContext(ctx, "views rebuilt from the stored events", "cases", n)
		}
		return err
	}
	if missing, err := postgres.New(pool, nil).FiguresMissing(ctx); err != nil {
		return err
	} else if missing {
		p.Log.WarnContext(ctx, "cases are stored without their figure rows (migration 0003): metrics stay empty until `feedback rebuild`")
	}

	js, err := p.JetStream()
	if err != nil {
		return err
	}

	// Feedback serves its API while NATS is down; the relay publishes, and
	// the consumer starts, once the streams exist.
	// Events leave from memory as their transaction commits (the consumer's
	// through pkg/process, the timers' and the API's through the relay's
	// scope); the poller only picks up rows older than the grace (issue 17).
	relay := p.Relay(pool, js, outbox.RelayOptions{BatchSize: cfg.RelayBatch, Grace: 2 * time.Second})
	// Issue 17, feedback's stage: commits are announced to the log's
	// watchers after them (postgres.Announcer), not by a NOTIFY in each,
	// which serialised every commit behind the others'.
	announcer := postgres.NewAnnouncer(pool, p.Log)
	p.Go(announcer.Run)
	// issue 17: how often an out-of-order event made a batch read a case's
	// whole log again, logged each minute it changed.
	p.Go(func(ctx context.Context) error {
		var last int64
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for done := false; !done; {
			select {
			case <-ctx.Done():
				done = true
			case <-t.C:
			}
			if in, out, logs := feedback.Replays(); in+out != last {
				last = in + out
				p.Log.Info("feedback-events: events applied", "in_order", in, "out_of_order", out, "logs_replayed", logs)
			}
		}
		return nil
	})
	store := postgres.New(pool, relay.Notify).WithRelay(relay).WithAnnouncer(announcer)
	svc := feedback.New(domainCfg, store, store, calendar, time.Now)
	// issue 20 (work tasks): a re-check is the case grid's worker's (the
	// reporter's where the grid has none), as dispatch assigns it.
	svc.AssignRechecksBy(func(grid, reporter string) string { return ref.Current().RecheckAssignee(grid, reporter) })

	// Events are handled in batches (one transaction each, a savepoint per
	// event), a case's events in arrival order by one worker; several
	// workers at once, since watchers read the log only below the oldest
	// running transaction (postgres.LogAfter). Issue 17. Deduped: the log
	// is the record of handled events (its unique event_id, read under the
	// case's lock: feedback.Applier), so consumer_handled would repeat it.
	evs, err := consumer.NewBatch(js, pool, consumer.Config{Name: events.ConsumerName, Subjects: events.Subjects,
		Concurrency: cfg.ConsumerConcurrency, BatchSize: cfg.ConsumerBatch, OrderKey: events.OrderKey, Committed: announcer.Committed,
		Deduped: true},
		events.BatchHandler(svc, store.BindQuiet, postgres.LockCases), p.Log)
	if err != nil {
		return err
	}
	p.Consume(evs)
	timers := timer.NewWorker(pool, map[string]timer.Handler{
		postgres.TimerCallbackWindow: func(ctx context.Context, tx pgx.Tx, t timer.Timer) error {
			return svc.CallbackWindowPassed(ctx, store.Bind(tx), t.Key)
		},
		postgres.TimerCallbackRetry: func(ctx context.Context, tx pgx.Tx, t timer.Timer) error {
			return svc.CallbackRetryDue(ctx, store.Bind(tx), t.Key)
		},
	}, timer.Options{Scope: relay.Scope}, p.Log)
	p.Go(timers.Run)
	// Early warning (issue 20): the rules as data, checked now and on every
	// SIGHUP; one evaluator at a time across replicas (warning.Store's
	// advisory lock); warnings leave through the outbox.
	rules, err := warning.NewHolder(cfg.WarningRules)
	if err != nil {
		return err
	}
	p.ReloadOnHangup(rules)
	warnings := warning.NewService(store.Warnings(), rules.Current, time.Now)
	p.Go(func(ctx context.Context) error {
		warningLoop(ctx, warnings, cfg.WarningEvery, p.Log)
		return nil
	})

	p.Go(idempotency.Pruner{Pool: pool, Retention: cfg.RequestRetention, Log: p.Log}.Run)
	// WatchCaseUpdates streams wake on the NOTIFY of a stored event.
	bell := grpcapi.NewBell()
	p.Go(func(ctx context.Context) error {
		pgdb.Listen(ctx, pool, postgres.EventsChannelSQL, p.Log, bell.Ring)
		return nil
	})

	srv, err := p.GRPC(cfg.GRPCAddr, "FEEDBACK_GRPC_ADDR")
	if err != nil {
		return err
	}
	feedbackv1.RegisterFeedbackServiceServer(srv, grpcapi.New(svc, bell, cfg.WatchPoll).ListsReloadsFrom(reloads))
	// Open311 (issue 19): the public cases, for the console's door.
	feedbackv1.RegisterPublicCaseServiceServer(srv, grpcapi.NewPublic(svc))
	// Self-disposal (issue 20): the grid leader's list and check, and 自处率.
	feedbackv1.RegisterSelfDisposalServiceServer(srv, grpcapi.NewSelfDisposals(svc, feedback.NewSelfDisposals(store)))

	// The three lists and the month's figures (issue 20): the lists'
	// service, and the inspections dispatch records and misses, counted per
	// grid and month by their own durable consumer.
	feedbackv1.RegisterListsServiceServer(srv, grpcapi.NewLists(feedback.NewLists(store, ref.Current, time.Now)))
	inspections, err := consumer.New(js, pool, consumer.Config{Name: events.InspectionsConsumer, Subjects: events.InspectionSubjects},
		events.InspectionHandler(postgres.CountInspection, func() *time.Location { return ref.Current().Calendar().Location() }), p.Log)
	if err != nil {
		return err
	}
	p.Consume(inspections)

	// Early warning (issue 20).
	feedbackv1.RegisterWarningServiceServer(srv, grpcapi.NewWarnings(warnings))
	if err := p.Admin(cfg.AdminAddr, "FEEDBACK_ADMIN_ADDR"); err != nil {
		return err
	}
	return p.Wait()
}
