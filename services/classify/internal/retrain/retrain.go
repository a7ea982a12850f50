// Package retrain trains a new model from the city's labelled history and
// the dispatchers' corrections, each weighed, and offers it to the
// promotion gate (live.Propose): on a schedule, by a durable timer that one
// replica fires for all, or on demand (RetrainModel). The model goes live
// only if the gate lets it; every outcome is in the model registry.
//
// Corrections are a biased sample (what the model got wrong and someone
// fixed), so they are added to the history rather than replacing it, and
// the gate measures on the history's held-out slice, never on corrections.
package retrain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/classify/internal/classifier"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/cli"
	"github.com/gridflow/gridflow/services/classify/internal/itemmodel"
	"github.com/gridflow/gridflow/services/classify/internal/live"
	"github.com/gridflow/gridflow/services/classify/internal/model"
	"github.com/jackc/pgx/v5"
)

// TimerKind is the scheduled retraining's timer; TimerKey its only key.
const (
	TimerKind = "classify.retrain"
	TimerKey  = "corrections"
)

// Origin is what the registry records as a retrained model's origin.
const Origin = "retrained"

// Config says what a retraining mixes, and how often it runs.
type Config struct {
	// HistoryFile is the city's labelled cases (CLASSIFY_HISTORY_FILE);
	// required, as without its held-out slice no model can go live.
	HistoryFile string
	// Weights of the history, the corrections and the built-in corpus (0:
	// not used).
	HistoryWeight, CorrectionsWeight, BuiltinWeight float64
	// Every is the schedule; 0 retrains on demand only.
	Every time.Duration
	// issue 15, the item model: with ItemLabelsFile (hand-read item labels)
	// and ItemTextsFile (their messages), a retraining also builds an item
	// model under the class model then served — from the built-in corpus,
	// weak labels on the history, the corrections and every label outside
	// ItemHoldoutSlice (the gate's) — and offers it to the gate.
	ItemLabelsFile, ItemTextsFile, ItemHoldoutSlice string
	// ItemHistoryLabelsFile (issue 15) holds hand-read item labels of
	// history messages (testdata/train_items.tsv for the demo city): the
	// item model learns from them and chooses its thresholds on their and
	// ItemLabelsFile's (outside the gate's slice) out-of-fold predictions
	// together. Empty: on ItemLabelsFile's alone.
	ItemHistoryLabelsFile string
	// Decision is the service's decision config the item model is
	// calibrated under.
	Decision classify.Config
}

// Store is where the corrections are.
type Store interface {
	ListCorrections(ctx context.Context, f classify.CorrectionFilter) ([]classify.Correction, string, error)
}

// Live is the gate's door and the catalogue in force.
type Live interface {
	Propose(ctx context.Context, m *classifier.Model, origin string) (classify.ReloadResult, error)
	ProposeItems(ctx context.Context, s *itemmodel.Set, origin string) (classify.ReloadResult, error)
	Reference() *reference.Set
	Current() *live.Bundle
}

// Retrainer retrains.
type Retrainer struct {
	cfg   Config
	store Store
	live  Live
	log   *slog.Logger
	now   func() time.Time
}

// New returns a retrainer; now may be nil.
func New(cfg Config, store Store, lv Live, log *slog.Logger, now func() time.Time) *Retrainer {
	if now == nil {
		now = time.Now
	}
	return &Retrainer{cfg: cfg, store: store, live: lv, log: log, now: now}
}

// ErrNothingNew: there are no corrections to learn from.
var ErrNothingNew = errors.New("no dispatcher corrections yet: nothing new to learn from")

// Retrain trains on the history and every correction and proposes the model
// to the gate. The result is the gate's: promoted, or refused (an error the
// live package's IsRefused recognises) with its figures in the registry.
func (r *Retrainer) Retrain(ctx context.Context) (classify.ReloadResult, error) {
	if r.cfg.HistoryFile == "" {
		return classify.ReloadResult{}, fault.New(fault.FailedPrecondition,
			"retraining needs the city's labelled history (CLASSIFY_HISTORY_FILE): without its held-out slice no model can go live")
	}
	hist, err := readHistory(r.cfg.HistoryFile)
	if err != nil {
		return classify.ReloadResult{}, err
	}
	corr, err := r.corrections(ctx)
	if err != nil {
		return classify.ReloadResult{}, err
	}
	if len(corr) == 0 {
		return classify.ReloadResult{}, fault.New(fault.FailedPrecondition, "%v", ErrNothingNew)
	}
	parts := []classifier.Part{
		{Kind: "history", Name: r.cfg.HistoryFile, Weight: r.cfg.HistoryWeight, Examples: hist, DropHoldout: true},
		{Kind: "corrections", Name: "classify.corrections", Weight: r.cfg.CorrectionsWeight, Examples: corr},
	}
	if r.cfg.BuiltinWeight > 0 {
		b, err := classifier.DefaultCorpus()
		if err != nil {
			return classify.ReloadResult{}, err
		}
		parts = append(parts, classifier.Part{Kind: "builtin", Name: "builtin", Weight: r.cfg.BuiltinWeight, Examples: b})
	}
	// The city's history is labelled with first-level classes; corrections
	// carry items. One model needs one level: the history's.
	ex, sources, err := classifier.Mix(parts, model.FirstLevelLabels(r.live.Reference()))
	if err != nil {
		return classify.ReloadResult{}, fmt.Errorf("retrain: %w", err)
	}
	opts := classifier.DefaultOptions()
	opts.Sources, opts.Now = sources, r.now
	start := time.Now()
	m, err := classifier.Train(ctx, ex, opts, nil)
	if err != nil {
		return classify.ReloadResult{}, fmt.Errorf("retrain: %w", err)
	}
	r.log.InfoContext(ctx, "retrained", "model_version", m.Version(), "examples", len(ex), "corrections", len(corr),
		"took", time.Since(start).Round(time.Millisecond))
	res, err := r.live.Propose(ctx, m, Origin)
	if r.cfg.ItemLabelsFile == "" {
		return res, err
	}
	// The item model is calibrated under the class model served now: the
	// new one if the gate let it, else the live one.
	ires, ierr := r.retrainItems(ctx, hist, corr)
	if ierr != nil && !live.IsRefused(ierr) && err == nil {
		return res, ierr
	}
	if err == nil {
		res.ItemModelVersion, res.PreviousItemModelVersion = ires.ItemModelVersion, ires.PreviousItemModelVersion
		res.ItemFigures, res.ItemAgainst = ires.ItemFigures, ires.ItemAgainst
	}
	return res, errors.Join(err, ierr)
}

// retrainItems builds an item model and offers it to the gate.
func (r *Retrainer) retrainItems(ctx context.Context, hist, corr []classifier.Example) (classify.ReloadResult, error) {
	cur := r.live.Current()
	labels, err := cli.ReadItemLabels(r.cfg.ItemLabelsFile, cur.Ref)
	if err != nil {
		return classify.ReloadResult{}, fmt.Errorf("retrain items: %w", err)
	}
	texts, err := cli.ReadTexts(r.cfg.ItemTextsFile)
	if err != nil {
		return classify.ReloadResult{}, fmt.Errorf("retrain items: %w", err)
	}
	var historyLabels map[string]string
	if r.cfg.ItemHistoryLabelsFile != "" {
		hl, err := cli.ReadItemLabels(r.cfg.ItemHistoryLabelsFile, cur.Ref)
		if err != nil {
			return classify.ReloadResult{}, fmt.Errorf("retrain items: %w", err)
		}
		historyLabels = cli.Codes(hl, "")
	}
	var extra []itemmodel.Labelled
	for _, c := range corr {
		if it, ok := model.Resolve(cur.Ref, c.Label); ok {
			extra = append(extra, itemmodel.Labelled{ID: "correction:" + c.ID, Text: c.Text, Code: it.Code, Weight: r.cfg.CorrectionsWeight})
		}
	}
	start := time.Now()
	s, err := cli.BuildItems(ctx, cli.ItemTraining{Ref: cur.Ref, Rules: cur.Rules, Model: cur.Model, Config: r.cfg.Decision,
		History: hist, Texts: texts, Labels: cli.CodesExcept(labels, r.cfg.ItemHoldoutSlice), Extra: extra,
		HistoryLabels: historyLabels})
	if err != nil {
		return classify.ReloadResult{}, fmt.Errorf("retrain items: %w", err)
	}
	r.log.InfoContext(ctx, "retrained the item model", "item_model_version", s.Version(), "corrections", len(extra),
		"took", time.Since(start).Round(time.Millisecond))
	return r.live.ProposeItems(ctx, s, Origin)
}

// corrections reads every correction, its text's phone numbers masked: a
// model (and the registry that stores it) keeps no citizen's number.
func (r *Retrainer) corrections(ctx context.Context) ([]classifier.Example, error) {
	var out []classifier.Example
	f := classify.CorrectionFilter{PageSize: 1000}
	for {
		cs, next, err := r.store.ListCorrections(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("retrain: corrections: %w", err)
		}
		for _, c := range cs {
			if c.ItemCode == "" || c.Text == "" {
				continue
			}
			out = append(out, classifier.Example{ID: c.CaseNumber, Label: c.ItemCode, Text: redact.Phones(c.Text)})
		}
		if next == "" {
			return out, nil
		}
		f.PageToken = next
	}
}

func readHistory(path string) ([]classifier.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("retrain: history: %w", err)
	}
	defer f.Close()
	ex, err := classifier.ReadJSONL(f)
	if err != nil {
		return nil, fmt.Errorf("retrain: history %s: %w", path, err)
	}
	return ex, nil
}

// Handler fires the scheduled retraining and schedules the next one in the
// same transaction, so exactly one replica retrains per period and a restart
// loses no schedule. A retraining that fails or is refused is logged, not
// retried: the next period brings more corrections.
func (r *Retrainer) Handler() timer.Handler {
	return func(ctx context.Context, tx pgx.Tx, t timer.Timer) error {
		res, err := r.Retrain(live.WithActor(ctx, "schedule"))
		switch {
		case err != nil:
			r.log.WarnContext(ctx, "scheduled retraining changed nothing", "err", err)
		default:
			r.log.InfoContext(ctx, "scheduled retraining made a new model live", "model_version", res.ModelVersion,
				"previous_model_version", res.PreviousModelVersion)
		}
		if r.cfg.Every <= 0 {
			return nil
		}
		return timer.Schedule(ctx, tx, TimerKind, TimerKey, r.now().Add(r.cfg.Every), nil)
	}
}

// Beginner starts transactions (a pgxpool.Pool).
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Schedule makes sure the retraining timer is pending when a schedule is
// set, and is cancelled when it is not; a pending timer keeps its due time,
// so restarting replicas do not postpone it.
func (r *Retrainer) Schedule(ctx context.Context, db Beginner) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if r.cfg.Every <= 0 {
		if err := timer.Cancel(ctx, tx, TimerKind, TimerKey); err != nil {
			return err
		}
		return tx.Commit(ctx)
	}
	// Replicas starting at once serialise here rather than both scheduling.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('classify.retrain'))`); err != nil {
		return err
	}
	_, err = timer.Lookup(ctx, tx, TimerKind, TimerKey)
	switch {
	case err == nil:
		return tx.Commit(ctx)
	case !isNotFound(err):
		return err
	}
	if err := timer.Schedule(ctx, tx, TimerKind, TimerKey, r.now().Add(r.cfg.Every), nil); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func isNotFound(err error) bool { return errors.Is(err, pgdb.ErrNotFound) }
