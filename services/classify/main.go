// Command classify is gridflow's classify service: it gives every case a
// catalogue item (keyword rules, a patrol report's own code, the text model,
// else a dispatcher's review with a timed fallback), groups reports of one
// problem into incidents, and publishes case.classified, case.review_needed,
// incident.grouped and incident.linked through the outbox. `classify train`,
// `classify eval` and `classify group` work offline on files.
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
	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/process"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/reloadlog"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/cli"
	"github.com/gridflow/gridflow/services/classify/internal/events"
	"github.com/gridflow/gridflow/services/classify/internal/grpcapi"
	"github.com/gridflow/gridflow/services/classify/internal/live"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
	"github.com/gridflow/gridflow/services/classify/internal/retrain"
	"github.com/jackc/pgx/v5"

	classifyv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/classify/v1"
)

// Config is the classify service's configuration.
type Config struct {
	config.Base
	GRPCAddr  string `env:"CLASSIFY_GRPC_ADDR, default=127.0.0.1:7102"`
	AdminAddr string `env:"CLASSIFY_ADMIN_ADDR, default=127.0.0.1:7202"`
	// Lanes is which lanes this process runs (pkg/lane.Run, issue 17):
	// all; or routine in one process and emergency in another, so that an
	// emergency never waits for a CPU behind routine work.
	Lanes lane.Run `env:"CLASSIFY_LANES, default=all"`
	// ModelFile is a model trained with `classify train`; empty trains the
	// default catalogue model from the built-in corpus at start.
	ModelFile string `env:"CLASSIFY_MODEL_FILE"`
	// issue 15, the item model: ItemModelFile is an item model trained with
	// `classify train-items`, offered to the model registry's gate at start,
	// SIGHUP and ReloadModel as CLASSIFY_MODEL_FILE is: the registry's live
	// item model wins unless the file passes the gate. Empty: the live one
	// (none: within_class keyword rules name items).
	ItemModelFile string `env:"CLASSIFY_ITEM_MODEL_FILE"`
	// ItemLabelsFile holds hand-read item labels ("<id>\t<code>\t<slice>",
	// services/classify/testdata/dev_items.tsv for the demo city) and
	// ItemTextsFile their messages (JSONL, ../shared/data/messages/dev.jsonl):
	// the labels of ItemHoldoutSlice are the held-out slice the gate measures
	// item models on (item_share, item_precision); the others are what a
	// retraining's item model calibrates on. Empty: no new item model can
	// be measured, so only a city's first goes live.
	ItemLabelsFile   string `env:"CLASSIFY_ITEM_LABELS_FILE"`
	ItemTextsFile    string `env:"CLASSIFY_ITEM_TEXTS_FILE"`
	ItemHoldoutSlice string `env:"CLASSIFY_ITEM_HOLDOUT_SLICE, default=held-out"`
	// issue 15, item thresholds chosen off the gate's labels:
	// ItemHistoryLabelsFile holds hand-read item labels of CLASSIFY_HISTORY_FILE's
	// messages (services/classify/testdata/train_items.tsv for the demo city);
	// a retraining's item model learns from them and chooses its thresholds on
	// their and ItemLabelsFile's others' out-of-fold predictions together.
	// Empty: on ItemLabelsFile's others alone.
	ItemHistoryLabelsFile string `env:"CLASSIFY_ITEM_HISTORY_LABELS_FILE"`
	// HistoryFile is the city's labelled cases (JSONL {"id","label","text"},
	// e.g. ../shared/data/messages/train.jsonl for the demo city): its fixed
	// held-out slice (~10 % by a hash of the id) is what the promotion gate
	// measures a new model on. Empty: no new model can be measured, so only
	// a city's first model goes live.
	HistoryFile string `env:"CLASSIFY_HISTORY_FILE"`
	// GateMargin: a new model goes live when its held-out accuracy and
	// macro-F1 are each at least the live model's minus this.
	GateMargin float64 `env:"CLASSIFY_GATE_MARGIN, default=0.01"`
	// RegistryPoll: how often a replica checks the registry for a model
	// another replica made live (0: only at start, SIGHUP and ReloadModel).
	RegistryPoll time.Duration `env:"CLASSIFY_REGISTRY_POLL, default=30s"`
	// RetrainEvery schedules retraining from the corrections (a durable
	// timer one replica fires for all); 0 retrains only on demand
	// (RetrainModel, gridctl classify retrain). Either way the new model
	// goes live only through the gate.
	RetrainEvery time.Duration `env:"CLASSIFY_RETRAIN_EVERY, default=0"`
	// Weights a retraining gives the history, the corrections and the
	// built-in corpus (0: left out). Corrections weigh more: they are the
	// city's newest word on what its cases are.
	RetrainHistoryWeight     float64 `env:"CLASSIFY_RETRAIN_HISTORY_WEIGHT, default=1"`
	RetrainCorrectionsWeight float64 `env:"CLASSIFY_RETRAIN_CORRECTIONS_WEIGHT, default=2"`
	RetrainBuiltinWeight     float64 `env:"CLASSIFY_RETRAIN_BUILTIN_WEIGHT, default=0"`
	// KeywordsFile replaces the shipped keyword rules (internal/rules/keywords.yaml).
	KeywordsFile string `env:"CLASSIFY_KEYWORDS_FILE"`
	// ReviewThreshold: a model item below this confidence goes to review.
	ReviewThreshold float64 `env:"CLASSIFY_REVIEW_THRESHOLD, default=0.3"`
	// ClassThreshold: an unsure item is filed under its first-level class
	// when the class is this sure; above 1 disables the step.
	ClassThreshold float64 `env:"CLASSIFY_CLASS_THRESHOLD, default=0.6"`
	// ItemThreshold: a case whose first-level class the model gives at
	// least this confidence is filed under the item a within_class keyword
	// rule names in that class (above 1: never).
	ItemThreshold float64 `env:"CLASSIFY_ITEM_THRESHOLD, default=0.5"`
	// ItemWindow: only a within_class keyword among a message's first
	// this-many characters names its item (0: anywhere).
	ItemWindow int `env:"CLASSIFY_ITEM_WINDOW, default=150"`
	// ScopeThreshold: a case a within_class keyword places in a class the
	// model does not know goes to review unless the model's class is this
	// sure (above 1: always review).
	ScopeThreshold float64 `env:"CLASSIFY_SCOPE_THRESHOLD, default=0.9"`
	// ReviewTimeout: then an unreviewed case goes to the street desk's catch-all.
	ReviewTimeout time.Duration `env:"CLASSIFY_REVIEW_TIMEOUT, default=30m"`
	// IncidentThreshold: reports at which an incident's urgency rises a step.
	IncidentThreshold int `env:"CLASSIFY_INCIDENT_THRESHOLD, default=5"`
	// LinkWindow: incidents of other subjects at one place within it are linked (归因).
	LinkWindow time.Duration `env:"CLASSIFY_LINK_WINDOW, default=24h"`
	// CellMetres is the side of the cells coordinates are compared in.
	CellMetres float64 `env:"CLASSIFY_CELL_METRES, default=150"`
	// RepeatLabel is added to a primary case when its incident reaches the threshold.
	RepeatLabel string `env:"CLASSIFY_REPEAT_LABEL, default=重复投诉"`
	// ReviewChoices is how many model choices a reviewer is offered.
	ReviewChoices int `env:"CLASSIFY_REVIEW_CHOICES, default=5"`
	// ConsumerConcurrency: batches of case events handled at once per
	// replica; the place locks keep their grouping right (issue 17).
	ConsumerConcurrency int `env:"CLASSIFY_CONSUMER_CONCURRENCY, default=4"`
	// ConsumerBatch: the most cases one transaction classifies. Its place
	// locks are held to its commit, and an emergency at one of those places
	// waits for them: kept small (issue 17).
	ConsumerBatch int `env:"CLASSIFY_CONSUMER_BATCH, default=16"`
	RelayBatch    int `env:"CLASSIFY_RELAY_BATCH, default=256"`
}

// Validate checks the settings the tags cannot.
func (c *Config) Validate() error {
	var errs []error
	if !(c.ReviewThreshold >= 0 && c.ReviewThreshold <= 1) {
		errs = append(errs, fmt.Errorf("CLASSIFY_REVIEW_THRESHOLD %v: want 0–1", c.ReviewThreshold))
	}
	if !(c.ClassThreshold >= 0) {
		errs = append(errs, fmt.Errorf("CLASSIFY_CLASS_THRESHOLD %v: want 0–1, or above 1 to turn the step off", c.ClassThreshold))
	}
	if !(c.ItemThreshold >= 0) || !(c.ScopeThreshold >= 0) {
		errs = append(errs, fmt.Errorf("CLASSIFY_ITEM_THRESHOLD %v, CLASSIFY_SCOPE_THRESHOLD %v: want 0–1, or above 1", c.ItemThreshold, c.ScopeThreshold))
	}
	if c.ItemWindow < 0 {
		errs = append(errs, fmt.Errorf("CLASSIFY_ITEM_WINDOW %d: want 0 (anywhere) or a positive number of characters", c.ItemWindow))
	}
	if !(c.GateMargin >= 0 && c.GateMargin <= 1) {
		errs = append(errs, fmt.Errorf("CLASSIFY_GATE_MARGIN %v: want 0–1", c.GateMargin))
	}
	if c.RegistryPoll < 0 {
		errs = append(errs, fmt.Errorf("CLASSIFY_REGISTRY_POLL %v: want 0 (off) or a positive duration", c.RegistryPoll))
	}
	if c.RetrainEvery < 0 {
		errs = append(errs, fmt.Errorf("CLASSIFY_RETRAIN_EVERY %v: want 0 (on demand only) or a positive duration", c.RetrainEvery))
	}
	if (c.ItemLabelsFile == "") != (c.ItemTextsFile == "") {
		errs = append(errs, errors.New("CLASSIFY_ITEM_LABELS_FILE and CLASSIFY_ITEM_TEXTS_FILE go together: the labels and their messages"))
	}
	// issue 15: the history's item labels need the history, and only a
	// retraining with item labels builds an item model.
	if c.ItemHistoryLabelsFile != "" && (c.HistoryFile == "" || c.ItemLabelsFile == "") {
		errs = append(errs, errors.New("CLASSIFY_ITEM_HISTORY_LABELS_FILE needs CLASSIFY_HISTORY_FILE (its messages) and CLASSIFY_ITEM_LABELS_FILE"))
	}
	if c.RetrainEvery > 0 && c.HistoryFile == "" {
		errs = append(errs, errors.New("CLASSIFY_RETRAIN_EVERY needs CLASSIFY_HISTORY_FILE: without its held-out slice no retrained model can go live"))
	}
	if !(c.RetrainHistoryWeight > 0) || !(c.RetrainCorrectionsWeight > 0) || !(c.RetrainBuiltinWeight >= 0) {
		errs = append(errs, errors.New("CLASSIFY_RETRAIN_HISTORY_WEIGHT and CLASSIFY_RETRAIN_CORRECTIONS_WEIGHT must be positive, CLASSIFY_RETRAIN_BUILTIN_WEIGHT 0 or positive"))
	}
	if c.ReviewTimeout <= 0 {
		errs = append(errs, fmt.Errorf("CLASSIFY_REVIEW_TIMEOUT %v: want a positive duration", c.ReviewTimeout))
	}
	if c.IncidentThreshold < 2 {
		errs = append(errs, fmt.Errorf("CLASSIFY_INCIDENT_THRESHOLD %d: want at least 2", c.IncidentThreshold))
	}
	if c.LinkWindow < 0 {
		errs = append(errs, fmt.Errorf("CLASSIFY_LINK_WINDOW %v: want 0 (off) or a positive duration", c.LinkWindow))
	}
	if !(c.CellMetres >= 10 && c.CellMetres <= 5000) {
		errs = append(errs, fmt.Errorf("CLASSIFY_CELL_METRES %v: want 10–5000", c.CellMetres))
	}
	if c.ReviewChoices < 1 || c.ConsumerConcurrency < 1 || c.ConsumerBatch < 1 || c.RelayBatch < 1 {
		errs = append(errs, errors.New("CLASSIFY_REVIEW_CHOICES, CLASSIFY_CONSUMER_CONCURRENCY, CLASSIFY_CONSUMER_BATCH and CLASSIFY_RELAY_BATCH must be positive"))
	}
	return errors.Join(errs...)
}

func (c *Config) domain() classify.Config {
	return classify.Config{ReviewThreshold: c.ReviewThreshold, ClassThreshold: c.ClassThreshold,
		ItemThreshold: c.ItemThreshold, ItemWindow: c.ItemWindow, ScopeThreshold: c.ScopeThreshold,
		ReviewTimeout: c.ReviewTimeout, IncidentThreshold: c.IncidentThreshold, LinkWindow: c.LinkWindow,
		CellSize: c.CellMetres, RepeatLabel: c.RepeatLabel, Choices: c.ReviewChoices}
}

const usage = `usage:
  classify                                   serve
  classify train --data FILE.jsonl --out MODEL [--cv 5] [--search]
  classify train --default --out MODEL
  classify eval  --model MODEL --data FILE.jsonl
  classify cv    --data FILE.jsonl [--folds 5] [--seed 1] [--ngram N] [--C C]
  classify served --model MODEL --data FILE.jsonl [--items FILE.tsv]
  classify group --data MESSAGES.jsonl [--model MODEL] [--sample 10]
  classify train-items --history H.jsonl --data D.jsonl --items D.tsv --model MODEL --out ITEMS
  classify served … --cross-fit-items --history H.jsonl | --item-model ITEMS`

func main() {
	process.Main(func(ctx context.Context) error {
		if len(os.Args) < 2 {
			return serve(ctx)
		}
		switch os.Args[1] {
		case "train":
			return cli.Train(ctx, os.Args[2:], os.Stdout, os.Stderr)
		case "eval":
			return cli.Eval(ctx, os.Args[2:], os.Stdout, os.Stderr)
		case "cv":
			return cli.CV(ctx, os.Args[2:], os.Stdout, os.Stderr)
		case "served":
			return cli.Served(ctx, os.Args[2:], os.Stdout, os.Stderr)
		case "group":
			return cli.Group(ctx, os.Args[2:], os.Stdout, os.Stderr)
		// issue 15, the item model: train the item inside a class.
		case "train-items":
			return cli.TrainItems(ctx, os.Args[2:], os.Stdout, os.Stderr)
		case "help", "-h", "--help":
			fmt.Println(usage)
			return nil
		default:
			return fmt.Errorf("unknown command %q\n%s", os.Args[1], usage)
		}
	})
}

func serve(ctx context.Context) error {
	cfg, err := config.Load[Config](ctx)
	if err != nil {
		return err
	}
	p, err := process.Start(ctx, "classify", cfg.Base, cfg)
	if err != nil {
		return err
	}
	defer p.Close()

	pool, err := p.Postgres(postgres.Schema, postgres.Migrations...)
	if err != nil {
		return err
	}
	// The model registry decides which model this replica serves: the
	// configured one if it is live or passes the gate, else the live one.
	registry := postgres.New(pool, nil, time.Now)
	gate := live.Gate{Registry: registry, HoldoutName: cfg.HistoryFile, Margin: cfg.GateMargin}
	if cfg.HistoryFile != "" {
		if gate.Holdout, err = cli.Holdout(cfg.HistoryFile); err != nil {
			return fmt.Errorf("CLASSIFY_HISTORY_FILE: %w", err)
		}
	}
	// issue 15, the item model: its held-out slice of hand-read item labels.
	if cfg.ItemLabelsFile != "" {
		ref, err := reference.LoadFrom(cfg.ReferenceDir)
		if err != nil {
			return fmt.Errorf("reference data: %w", err)
		}
		if gate.Items, err = live.LoadItemHoldout(cfg.ItemLabelsFile, cfg.ItemTextsFile, cfg.ItemHoldoutSlice, ref, cfg.domain()); err != nil {
			return fmt.Errorf("CLASSIFY_ITEM_LABELS_FILE: %w", err)
		}
	}
	lv, err := live.LoadGated(ctx, live.Sources{ReferenceDir: cfg.ReferenceDir, KeywordsFile: cfg.KeywordsFile, ModelFile: cfg.ModelFile,
		ItemModelFile: cfg.ItemModelFile}, gate, p.Log)
	if err != nil {
		return err
	}
	// Every load of the reference data, keyword rules and model is recorded:
	// the set this process starts with, and each reload on SIGHUP.
	reloads, hup, err := reloadlog.Start(ctx, pool, "classify", lv.Holder(), lv.Digest, p.Log)
	if err != nil {
		return err
	}
	p.ReloadOnHangup(hup)
	p.Go(func(ctx context.Context) error { return lv.Follow(ctx, cfg.RegistryPoll) })
	js, err := p.JetStream()
	if err != nil {
		return err
	}

	// Classify serves its API while NATS is down; the relay publishes, and
	// the consumer starts, once the streams exist.
	// Events leave from memory as their transaction commits (the consumer's
	// through pkg/process, the timers' and the API's through the relay's
	// scope); the poller only picks up rows older than the grace (issue 17).
	// A process of the emergency lane alone leaves the poller to the
	// routine lane's.
	relay := p.Relay(pool, js, outbox.RelayOptions{BatchSize: cfg.RelayBatch, Grace: 2 * time.Second, NoPoller: !cfg.Lanes.Routine})
	store := postgres.New(pool, relay.Notify, time.Now).WithRelay(relay)
	retrainer := retrain.New(retrain.Config{HistoryFile: cfg.HistoryFile, HistoryWeight: cfg.RetrainHistoryWeight,
		CorrectionsWeight: cfg.RetrainCorrectionsWeight, BuiltinWeight: cfg.RetrainBuiltinWeight, Every: cfg.RetrainEvery,
		ItemLabelsFile: cfg.ItemLabelsFile, ItemTextsFile: cfg.ItemTextsFile, ItemHoldoutSlice: cfg.ItemHoldoutSlice, Decision: cfg.domain(),
		ItemHistoryLabelsFile: cfg.ItemHistoryLabelsFile}, // issue 15: item thresholds on the history's hand-read labels
		store, lv, p.Log, time.Now)
	if cfg.Lanes.Routine {
		if err := retrainer.Schedule(ctx, pool); err != nil {
			return fmt.Errorf("schedule retraining: %w", err)
		}
	}
	deps := lv.Deps()
	deps.Retrain = retrainer.Retrain
	svc := classify.New(cfg.domain(), store, deps)

	// Issue 17, emergencies first: the emergency lane's durable, one message
	// at a time with no batching wait, its events relayed as it commits. Its
	// runner holds database connections of its own (pkg/consumer reserves
	// them for an emergency-lane durable), so an emergency never waits for a
	// connection behind the routine batches, the API or the timers.
	if cfg.Lanes.Emergency {
		emergencies, err := consumer.New(js, pool, consumer.Config{Name: events.ConsumerEmergencies,
			Subjects: []string{events.SubjectsEmergencies}, BatchSize: 1, Committed: relay.Notify},
			events.Handler(svc, store.Bind), p.Log)
		if err != nil {
			return err
		}
		p.Consume(emergencies)
	}
	if !cfg.Lanes.Routine {
		// The emergency lane's own process: its consumer, the relay of
		// what it commits, the model it classifies with, health and
		// metrics.
		if err := p.Admin(cfg.AdminAddr, "CLASSIFY_ADMIN_ADDR"); err != nil {
			return err
		}
		return p.Wait()
	}
	// Cases are classified in batches: one transaction (one commit) each,
	// the batch's place locks taken first in one order, a savepoint per
	// case; cases of one place go to one worker (OrderKey), so that the
	// workers' batches seldom wait on each other's locks. Issue 17.
	cases, err := consumer.NewBatch(js, pool, consumer.Config{
		Name:        events.ConsumerCases,
		Subjects:    []string{events.SubjectsReceived, events.SubjectsAnswered},
		Concurrency: cfg.ConsumerConcurrency,
		BatchSize:   cfg.ConsumerBatch,
		OrderKey:    events.OrderKey(svc),
	}, events.BatchHandler(svc, store.Bind), p.Log)
	if err != nil {
		return err
	}
	p.Consume(cases)
	timers := timer.NewWorker(pool, map[string]timer.Handler{
		postgres.TimerReviewFallback: func(ctx context.Context, tx pgx.Tx, t timer.Timer) error {
			return svc.ReviewTimedOut(ctx, store.Bind(tx), t.Key)
		},
		retrain.TimerKind: retrainer.Handler(),
	}, timer.Options{Scope: relay.Scope}, p.Log)
	p.Go(timers.Run)
	p.Go(idempotency.Pruner{Pool: pool, Retention: cfg.RequestRetention, Log: p.Log}.Run)

	srv, err := p.GRPC(cfg.GRPCAddr, "CLASSIFY_GRPC_ADDR")
	if err != nil {
		return err
	}
	classifyv1.RegisterClassifyServiceServer(srv, grpcapi.New(svc, lv.Reference, time.Now).ListsReloadsFrom(reloads))
	// Issue 20, places (以房管人): the place registry and place history,
	// on classify's port beside ClassifyService.
	classifyv1.RegisterPlaceServiceServer(srv, grpcapi.NewPlaces(classify.NewPlaces(store, lv.Reference, time.Now)))
	// Source place coordination (issue 20).
	classifyv1.RegisterSourcePlaceServiceServer(srv, grpcapi.NewSourcePlaces(svc))
	if err := p.Admin(cfg.AdminAddr, "CLASSIFY_ADMIN_ADDR"); err != nil {
		return err
	}
	return p.Wait()
}
