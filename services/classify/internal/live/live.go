// Package live holds what classify reads and may swap at run time without a
// restart: the reference data (catalogue and areas), the keyword rules and
// the model. Reload loads all three again and swaps them in together only
// when every one loads and agrees with the new catalogue; otherwise what is
// in force stays.
//
// With a model registry (Gate.Registry), a model other than the registry's
// live one goes live only through the gate (gate.go): measured on the fixed
// held-out slice of the city's labelled cases against the live model, it
// must be at least as good within the margin. A refusal is recorded with its
// figures; ReloadModel answers it as an error, while a SIGHUP (or a start)
// still swaps in the new reference data and rules, with the live model.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classifier"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/itemmodel"
	"github.com/gridflow/gridflow/services/classify/internal/model"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// Sources say where each part comes from; "" means the shipped default.
type Sources struct {
	ReferenceDir string
	KeywordsFile string
	ModelFile    string
	// ItemModelFile is an item model trained with `classify train-items`
	// (issue 15); "" offers none (the registry's live one, if any, is
	// served; without one keyword rules name items).
	ItemModelFile string
}

// Bundle is one consistent set.
type Bundle struct {
	Ref   *reference.Set
	Rules *rules.Set
	Model *model.Model
	// Figures and Against are the gate's measurements when this bundle's
	// model was judged on loading it (nil otherwise).
	Figures, Against *classify.ModelFigures
	// Items is the item model inside each class (issue 15; nil: keyword
	// rules name items), ItemSource where it came from, ItemFigures and
	// ItemAgainst the gate's item figures as for the model.
	Items                    *itemmodel.Set
	ItemSource               string
	ItemFigures, ItemAgainst *classify.ModelFigures
}

// Live is classify's view of the one reload holder (reference.Live): the
// accessors the service reads and ReloadModel's reload.
type Live struct {
	holder *reference.Live[Bundle]
	src    Sources
	gate   Gate
	log    *slog.Logger
}

// Load loads the set for the first time, without a registry: the
// configured model is served as it is (offline tools and tests).
func Load(ctx context.Context, src Sources, log *slog.Logger) (*Live, error) {
	return LoadGated(ctx, src, Gate{}, log)
}

// LoadGated loads the set for the first time; a model other than the
// registry's live one goes through the gate.
func LoadGated(ctx context.Context, src Sources, g Gate, log *slog.Logger) (*Live, error) {
	if g.Now == nil {
		g.Now = time.Now
	}
	l := &Live{src: src, gate: g, log: log}
	h, err := reference.NewLive(withMode(ctx, modeStart, "start"), "model, keyword rules and reference data",
		l.load,
		func(b *Bundle) []any {
			d := Describe(b)
			return []any{"model_version", d.ModelVersion, "model_source", d.Source, "labels", d.Labels,
				"item_model_version", d.ItemModelVersion, "item_model_source", b.ItemSource,
				"keyword_rules", d.KeywordRules, "reference_digest", d.ReferenceDigest}
		})
	if err != nil {
		return nil, err
	}
	l.holder = h
	return l, nil
}

// Holder is the holder itself, for the process to reload on SIGHUP: a
// reload without a mode of its own is a SIGHUP's, which a gate refusal
// never fails.
func (l *Live) Holder() *reference.Live[Bundle] { return l.holder }

func (l *Live) load(ctx context.Context) (*Bundle, error) {
	ref, err := reference.LoadFrom(l.src.ReferenceDir)
	if err != nil {
		return nil, fmt.Errorf("reference data: %w", err)
	}
	rs, err := rules.Load(l.src.KeywordsFile, ref)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Ref: ref, Rules: rs}
	mode, actor := modeOf(ctx)
	if err := l.loadModel(ctx, b, mode, actor); err != nil {
		return nil, err
	}
	if err := l.loadItems(ctx, b, mode, actor); err != nil {
		return nil, err
	}
	return b, nil
}

// loadModel decides the bundle's class model.
func (l *Live) loadModel(ctx context.Context, b *Bundle, mode mode, actor string) error {
	ref := b.Ref
	var err error
	if l.gate.Registry != nil && mode == modeFollow {
		b.Model, err = l.registryModel(ctx, ref)
		return err
	}
	if keepModel(ctx) && l.holder != nil {
		// An item model proposed alone is judged under the class model in
		// force, which stays.
		cur := l.holder.Current()
		b.Model, err = model.Wrap(cur.Model.Classifier(), cur.Model.Source(), ref)
		b.Figures, b.Against = cur.Figures, cur.Against
		return err
	}
	raw, source, err := candidateOf(ctx)
	if raw == nil {
		raw, source, err = readModel(ctx, l.src.ModelFile)
	}
	var cand *model.Model
	if err == nil {
		cand, err = model.Wrap(raw, source, ref)
	}
	if err != nil {
		if l.gate.Registry != nil && mode == modeSignal && l.holder != nil {
			// A model file that does not load is no reason to keep old
			// reference data: a SIGHUP serves the live model on the new set.
			l.log.ErrorContext(ctx, "configured model not loaded; serving the registry's live model", "err", err)
			b.Model, err = l.registryModel(ctx, ref)
			return err
		}
		return err
	}
	if l.gate.Registry == nil {
		b.Model = cand
		return nil
	}
	d, err := l.gate.judge(ctx, raw, cand, ref, actor)
	if err != nil {
		if mode == modeSignal && l.holder != nil {
			// The registry cannot be read: a SIGHUP still brings the new
			// reference data, with the model in force mapped onto it.
			l.log.ErrorContext(ctx, "model registry unreadable; keeping the model in force", "err", err)
			b.Model, err = model.Wrap(l.holder.Current().Model.Classifier(), l.holder.Current().Model.Source(), ref)
			return err
		}
		return err
	}
	b.Model, b.Figures, b.Against = d.serve, d.figures, d.against
	if d.refused != nil {
		l.log.WarnContext(ctx, "model refused by the gate; the live model stays", "err", d.refused,
			"model_version", cand.Version(), "live_version", d.serve.Version())
		if mode == modeRequest {
			return d.refused
		}
	}
	return nil
}

// readModel reads the model at path, or trains the default catalogue
// model when path is "".
func readModel(ctx context.Context, path string) (*classifier.Model, string, error) {
	if path == "" {
		m, err := model.TrainDefault(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("model %s: %w", model.SourceDefault, err)
		}
		return m, model.SourceDefault, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("model: %w", err)
	}
	defer f.Close()
	m, err := classifier.Load(f)
	if err != nil {
		return nil, "", fmt.Errorf("model %s: %w", path, err)
	}
	return m, path, nil
}

// registryModel loads the registry's live model.
func (l *Live) registryModel(ctx context.Context, ref *reference.Set) (*model.Model, error) {
	rec, payload, err := l.gate.Registry.LiveModel(ctx)
	if err != nil {
		return nil, fmt.Errorf("live model from the registry: %w", err)
	}
	return decodeLive(rec, payload, ref)
}

// Reload loads everything again and swaps it in (ReloadModel), logging the
// outcome. A new model goes through the gate; its refusal is an error and
// nothing changes.
func (l *Live) Reload(ctx context.Context) (classify.ReloadResult, error) {
	return l.reload(withMode(ctx, modeRequest, actorOf(ctx)))
}

// Propose offers a model trained in process (a retraining) to the gate, as
// ReloadModel offers the configured file: it goes live only if the gate lets
// it, and a refusal is an error that changes nothing. The reference data and
// rules reload with it.
func (l *Live) Propose(ctx context.Context, m *classifier.Model, origin string) (classify.ReloadResult, error) {
	return l.reload(withCandidate(withMode(ctx, modeRequest, actorOf(ctx)), m, origin))
}

type candidateKey struct{}

type keepModelKey struct{}

func withKeepModel(ctx context.Context) context.Context {
	return context.WithValue(ctx, keepModelKey{}, true)
}

func keepModel(ctx context.Context) bool { v, _ := ctx.Value(keepModelKey{}).(bool); return v }

type candidate struct {
	m      *classifier.Model
	origin string
}

func withCandidate(ctx context.Context, m *classifier.Model, origin string) context.Context {
	return context.WithValue(ctx, candidateKey{}, candidate{m, origin})
}

func candidateOf(ctx context.Context) (*classifier.Model, string, error) {
	if c, ok := ctx.Value(candidateKey{}).(candidate); ok {
		return c.m, c.origin, nil
	}
	return nil, "", nil
}

// Follow keeps this replica on the registry's live model: every interval it
// reads the live version and, when another replica made a new model live,
// loads it (with the reference data and rules on disk) without judging it
// again. It returns when ctx ends.
func (l *Live) Follow(ctx context.Context, every time.Duration) error {
	if l.gate.Registry == nil || every <= 0 {
		return nil
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		v, err := l.gate.Registry.LiveVersion(ctx)
		if err != nil {
			l.log.WarnContext(ctx, "model registry unreadable", "err", err)
			continue
		}
		iv, err := l.gate.Registry.LiveItemVersion(ctx)
		if err != nil {
			l.log.WarnContext(ctx, "model registry unreadable", "err", err)
			continue
		}
		cur := l.Current()
		if (v == "" || v == cur.Model.Version()) && (iv == "" || iv == versionOf(cur.Items)) {
			continue
		}
		if _, err := l.reload(withMode(ctx, modeFollow, "registry")); err != nil && ctx.Err() == nil {
			l.log.ErrorContext(ctx, "could not follow the registry's live model", "err", err, "live_version", v)
		}
	}
}

func (l *Live) reload(ctx context.Context) (classify.ReloadResult, error) {
	prev, b, err := l.holder.Reload(ctx)
	if err != nil {
		l.log.ErrorContext(ctx, "reload failed; keeping what is loaded", "err", err, "model_version", prev.Model.Version())
		return classify.ReloadResult{PreviousModelVersion: prev.Model.Version(), PreviousItemModelVersion: versionOf(prev.Items)}, err
	}
	res := Describe(b)
	res.PreviousModelVersion, res.PreviousItemModelVersion = prev.Model.Version(), versionOf(prev.Items)
	l.log.InfoContext(ctx, "reloaded", "model_version", res.ModelVersion, "previous_model_version", res.PreviousModelVersion,
		"item_model_version", res.ItemModelVersion, "previous_item_model_version", res.PreviousItemModelVersion,
		"model_source", res.Source, "reference_digest", res.ReferenceDigest, "keyword_rules", res.KeywordRules)
	return res, nil
}

// Describe summarises a bundle.
func Describe(b *Bundle) classify.ReloadResult {
	return classify.ReloadResult{ModelVersion: b.Model.Version(), Source: b.Model.Source(), Labels: b.Model.Labels(),
		ReferenceDigest: b.Ref.Digest(), KeywordRules: b.Rules.Len(), Figures: b.Figures, Against: b.Against,
		ItemModelVersion: versionOf(b.Items), ItemFigures: b.ItemFigures, ItemAgainst: b.ItemAgainst}
}

// Current returns the bundle in force.
func (l *Live) Current() *Bundle { return l.holder.Current() }

// Reference returns the reference set in force.
func (l *Live) Reference() *reference.Set { return l.holder.Current().Ref }

// Rules returns the keyword rules in force.
func (l *Live) Rules() *rules.Set { return l.holder.Current().Rules }

// Model returns the model in force.
func (l *Live) Model() classify.Model { return l.holder.Current().Model }

// Deps wires the live set into the service's dependencies.
func (l *Live) Deps() classify.Deps {
	return classify.Deps{Reference: l.Reference, Rules: l.Rules, Model: l.Model, Reload: l.Reload, Models: l.gate.Registry,
		Items: l.Items}
}

// errRefused wraps every gate refusal.
var errRefused = classify.ErrRefused

// IsRefused says whether err is a gate refusal.
func IsRefused(err error) bool { return errors.Is(err, errRefused) }

// Digest names the bundle in force for the reload record: the reference
// data's digest, then the keyword rules and the model served on it (a model
// change alone is recorded in the registry as well).
func (l *Live) Digest() string {
	b := l.holder.Current()
	return fmt.Sprintf("%s rules=%s/%d model=%s items=%s", b.Ref.Digest(), b.Rules.Source(), b.Rules.Len(), b.Model.Version(), versionOf(b.Items))
}
