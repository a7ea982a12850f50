// Package live holds what classify reads and may swap at run time without a
// restart: the reference data (catalogue and areas), the keyword rules and
// the model. Reload loads all three again and swaps them in together only
// when every one loads and agrees with the new catalogue; otherwise what is
// in force stays.
package live

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/model"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// Sources say where each part comes from; "" means the shipped default.
type Sources struct {
	ReferenceDir string
	KeywordsFile string
	ModelFile    string
}

// Bundle is one consistent set.
type Bundle struct {
	Ref   *reference.Set
	Rules *rules.Set
	Model *model.Model
}

// Live is classify's view of the one reload holder (reference.Live): the
// accessors the service reads and ReloadModel's reload.
type Live struct {
	holder *reference.Live[Bundle]
	log    *slog.Logger
}

// Load loads the set for the first time.
func Load(ctx context.Context, src Sources, log *slog.Logger) (*Live, error) {
	h, err := reference.NewLive(ctx, "model, keyword rules and reference data",
		func(ctx context.Context) (*Bundle, error) { return load(ctx, src) },
		func(b *Bundle) []any {
			d := Describe(b)
			return []any{"model_version", d.ModelVersion, "model_source", d.Source, "labels", d.Labels,
				"keyword_rules", d.KeywordRules, "reference_digest", d.ReferenceDigest}
		})
	if err != nil {
		return nil, err
	}
	return &Live{holder: h, log: log}, nil
}

// Holder is the holder itself, for the process to reload on SIGHUP.
func (l *Live) Holder() *reference.Live[Bundle] { return l.holder }

func load(ctx context.Context, src Sources) (*Bundle, error) {
	ref, err := reference.LoadFrom(src.ReferenceDir)
	if err != nil {
		return nil, fmt.Errorf("reference data: %w", err)
	}
	rs, err := rules.Load(src.KeywordsFile, ref)
	if err != nil {
		return nil, err
	}
	m, err := model.Load(ctx, src.ModelFile, ref)
	if err != nil {
		return nil, err
	}
	return &Bundle{Ref: ref, Rules: rs, Model: m}, nil
}

// Reload loads everything again and swaps it in (ReloadModel), logging the
// outcome.
func (l *Live) Reload(ctx context.Context) (classify.ReloadResult, error) {
	prev, b, err := l.holder.Reload(ctx)
	if err != nil {
		l.log.ErrorContext(ctx, "reload failed; keeping what is loaded", "err", err, "model_version", prev.Model.Version())
		return classify.ReloadResult{PreviousModelVersion: prev.Model.Version()}, err
	}
	res := Describe(b)
	res.PreviousModelVersion = prev.Model.Version()
	l.log.InfoContext(ctx, "reloaded", "model_version", res.ModelVersion, "previous_model_version", res.PreviousModelVersion,
		"model_source", res.Source, "reference_digest", res.ReferenceDigest, "keyword_rules", res.KeywordRules)
	return res, nil
}

// Describe summarises a bundle.
func Describe(b *Bundle) classify.ReloadResult {
	return classify.ReloadResult{ModelVersion: b.Model.Version(), Source: b.Model.Source(), Labels: b.Model.Labels(),
		ReferenceDigest: b.Ref.Digest(), KeywordRules: b.Rules.Len()}
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
	return classify.Deps{Reference: l.Reference, Rules: l.Rules, Model: l.Model, Reload: l.Reload}
}
