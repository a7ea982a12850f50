package live

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classifier"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/model"
)

// DefaultMargin is how much worse than the live model, on the held-out
// slice, a new model may score and still go live (accuracy and macro-F1,
// absolute). A hundredth is about two cases of the demo city's ~180 held-out
// cases: less than that is noise between two good models, more is a model
// that files real cases worse.
const DefaultMargin = 0.01

// Gate decides whether a model may replace the live one.
type Gate struct {
	// Registry records every decision and holds the live model; nil turns
	// the gate (and the registry) off.
	Registry classify.ModelRegistry
	// Holdout is the fixed held-out slice of the city's labelled cases
	// (classifier.SplitHoldout of its history), HoldoutName where it came
	// from. Without it no new model can be measured, so none goes live
	// except a city's first.
	Holdout     []classifier.Example
	HoldoutName string
	// Items is the held-out slice of hand-read item labels item models
	// are measured on (issue 15); nil: no new item model can be measured,
	// so only a city's first goes live.
	Items *ItemHoldout
	// Margin: see DefaultMargin; item models' item_share and
	// item_precision are held to it too.
	Margin float64
	Now    func() time.Time
}

type mode int

const (
	modeSignal  mode = iota // SIGHUP: a refusal keeps the live model, the rest reloads
	modeStart               // as a SIGHUP, at start
	modeRequest             // ReloadModel: a refusal is an error, nothing changes
	modeFollow              // load the registry's live model, judged already
)

type modeKey struct{}

type modeValue struct {
	m     mode
	actor string
}

func withMode(ctx context.Context, m mode, actor string) context.Context {
	return context.WithValue(ctx, modeKey{}, modeValue{m, actor})
}

func modeOf(ctx context.Context) (mode, string) {
	if v, ok := ctx.Value(modeKey{}).(modeValue); ok {
		return v.m, v.actor
	}
	return modeSignal, "SIGHUP"
}

// WithActor names who asks for a reload that is not a gRPC call (a
// scheduled retraining): the registry records it.
func WithActor(ctx context.Context, actor string) context.Context {
	return withMode(ctx, modeRequest, actor)
}

func actorOf(ctx context.Context) string {
	if p, ok := auth.FromContext(ctx); ok {
		return p.Actor()
	}
	if v, ok := ctx.Value(modeKey{}).(modeValue); ok && v.actor != "" {
		return v.actor
	}
	return "unknown"
}

// decision is what the gate made of a candidate.
type decision struct {
	serve            *model.Model
	figures, against *classify.ModelFigures
	refused          error // non-nil: the candidate was refused and serve is the live model
}

// judge decides between the candidate (raw, wrapped as cand) and the
// registry's live model, records the decision, and says which to serve.
func (g *Gate) judge(ctx context.Context, raw *classifier.Model, cand *model.Model, ref *reference.Set, actor string) (decision, error) {
	now := g.Now().UTC()
	liveRec, payload, err := g.Registry.LiveModel(ctx)
	if errors.Is(err, classify.ErrNotFound) {
		d := decision{serve: cand, figures: g.figures(cand, ref)}
		rec := record(raw, cand, d.figures, nil, "", classify.ModelLive, "the city's first model: nothing live to compare it with", actor, now)
		return d, g.promote(ctx, rec, raw)
	}
	if err != nil {
		return decision{}, err
	}
	if liveRec.Version == raw.Version() {
		return decision{serve: cand, figures: liveRec.Figures, against: liveRec.Against}, nil
	}
	live, err := decodeLive(liveRec, payload, ref)
	if err != nil {
		return decision{}, err
	}
	// A model the gate decided on before (refused, or live once and
	// replaced) is not judged again: a replica configured with an old file,
	// or a SIGHUP after a retraining, must not flip the city back to it.
	switch st, err := g.Registry.ModelState(ctx, raw.Version()); {
	case err != nil:
		return decision{}, err
	case st != "":
		return decision{serve: live, figures: liveRec.Figures, against: liveRec.Against,
			refused: fmt.Errorf("model %s %w earlier (%s; see gridctl classify models); %s stays live", raw.Version(), errRefused, st, live.Version())}, nil
	}
	cf, lf := g.figures(cand, ref), g.figures(live, ref)
	d := decision{serve: cand, figures: cf, against: lf}
	reason := ""
	switch {
	case cf == nil:
		reason = "no held-out slice of the city's labelled cases is configured (CLASSIFY_HISTORY_FILE): a new model cannot be measured"
	case cf.N == 0:
		reason = fmt.Sprintf("the held-out slice %s has no case whose label the catalogue knows: a new model cannot be measured", cf.Holdout)
	case cf.Accuracy < lf.Accuracy-g.Margin || cf.MacroF1 < lf.MacroF1-g.Margin:
		reason = fmt.Sprintf("worse than the live model %s on the held-out slice (n=%d): accuracy %.4f against %.4f, macro-F1 %.4f against %.4f, margin %.2f",
			live.Version(), cf.N, cf.Accuracy, lf.Accuracy, cf.MacroF1, lf.MacroF1, g.Margin)
	}
	if reason != "" {
		rec := record(raw, cand, cf, lf, live.Version(), classify.ModelRefused, reason, actor, now)
		if err := g.Registry.RecordModel(ctx, rec, nil); err != nil {
			return decision{}, err
		}
		d.serve, d.figures, d.against = live, lf, liveRec.Against
		d.refused = fmt.Errorf("model %s %w: %s; %s stays live", raw.Version(), errRefused, reason, live.Version())
		return d, nil
	}
	rec := record(raw, cand, cf, lf, live.Version(), classify.ModelLive,
		fmt.Sprintf("at least as good as %s on the held-out slice (n=%d) within %.2f: accuracy %.4f against %.4f, macro-F1 %.4f against %.4f",
			live.Version(), cf.N, g.Margin, cf.Accuracy, lf.Accuracy, cf.MacroF1, lf.MacroF1), actor, now)
	return d, g.promote(ctx, rec, raw)
}

func (g *Gate) promote(ctx context.Context, rec *classify.ModelRecord, raw *classifier.Model) error {
	var buf bytes.Buffer
	if err := raw.Save(&buf); err != nil {
		return err
	}
	rec.LiveBy, rec.LiveAt = rec.DecidedBy, rec.DecidedAt
	return g.Registry.RecordModel(ctx, rec, buf.Bytes())
}

// decodeLive loads the registry's live model and maps it onto ref.
func decodeLive(rec *classify.ModelRecord, payload []byte, ref *reference.Set) (*model.Model, error) {
	raw, err := classifier.Load(bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("live model %s from the registry: %w", rec.Version, err)
	}
	return model.Wrap(raw, rec.Origin, ref)
}

// figures measures m on the held-out slice at the first level: the class
// the top prediction counts under against the class of the case's label.
// nil without a held-out slice.
func (g *Gate) figures(m *model.Model, ref *reference.Set) *classify.ModelFigures {
	if len(g.Holdout) == 0 {
		return nil
	}
	sum := classifier.DataSHA256(g.Holdout)
	f := &classify.ModelFigures{Holdout: g.HoldoutName, HoldoutSHA256: hex.EncodeToString(sum[:])}
	var gold, pred []string
	for _, e := range g.Holdout {
		want, ok := firstLevel(ref, e.Label)
		if !ok {
			continue
		}
		got := ""
		if ch := m.Predict(e.Text); len(ch) > 0 {
			got, _ = firstLevel(ref, ch[0].Code)
		}
		gold, pred = append(gold, want), append(pred, got)
	}
	if len(gold) == 0 {
		return f
	}
	r := classifier.Evaluate(gold, pred, nil)
	f.Accuracy, f.MacroF1, f.N = r.Accuracy, r.MacroF1, r.N
	return f
}

// firstLevel names the first-level class a label (a code, name or synonym)
// counts under.
func firstLevel(ref *reference.Set, label string) (string, bool) {
	it, ok := model.Resolve(ref, label)
	if !ok {
		return "", false
	}
	fl, ok := ref.FirstLevel(it.Code)
	return fl.Name, ok
}

func record(raw *classifier.Model, cand *model.Model, figures, against *classify.ModelFigures, againstVersion, state, reason, actor string, now time.Time) *classify.ModelRecord {
	info := raw.Info()
	rec := &classify.ModelRecord{
		Version: raw.Version(), Origin: cand.Source(), Labels: len(info.Labels), TrainedAt: info.TrainedAt,
		Examples: info.Examples, DataSHA256: info.DataSHA256, CVAccuracy: info.CV.Accuracy, CVMacroF1: info.CV.MacroF1,
		Figures: figures, Against: against, AgainstVersion: againstVersion, State: state, Reason: reason,
		DecidedBy: actor, DecidedAt: now,
	}
	for _, s := range info.Sources {
		rec.Sources = append(rec.Sources, classify.ModelSource{Kind: s.Kind, Name: s.Name, Weight: s.Weight,
			Examples: s.Examples, HeldOut: s.HeldOut, DataSHA256: s.DataSHA256})
	}
	return rec
}
