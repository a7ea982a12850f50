package live

// Issue 15, the item model in the registry: the second level (the item
// inside a first-level class, package itemmodel) is a registered model of
// its own kind (classify.ModelKindItems) beside the class model, one live of
// each. A new item model — CLASSIFY_ITEM_MODEL_FILE at start, SIGHUP or
// ReloadModel, or one a retraining built — goes live only through the gate,
// judged on its own figures: the served decision (the class model being
// served, then the item model) on the held-out slice of the hand-read item
// labels, item_share and item_precision, each at least the live item
// model's minus the margin. The registry wins: the file is an offer, not an
// order, so every replica serves the same pair. Without a registry (offline
// tools, tests) the file is served as it is.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/cli"
	"github.com/gridflow/gridflow/services/classify/internal/itemmodel"
	"github.com/gridflow/gridflow/services/classify/internal/model"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// ItemHoldout is the fixed held-out slice the gate measures item models on:
// hand-read item labels (an item code, or the class code for class only)
// with their messages, left out of every item model's training.
type ItemHoldout struct {
	// Name says where the slice came from (the labels file and slice).
	Name   string
	Texts  []cli.LabelledText
	Labels map[string]string
	// Config is the service's decision config the figures are measured
	// under (thresholds, item window).
	Config classify.Config
}

// sha256 names the slice's content: ids, labels and texts.
func (h *ItemHoldout) sha256() string {
	s := sha256.New()
	for _, t := range h.Texts {
		fmt.Fprintf(s, "%s\x00%s\x00%s\x00%s\n", t.ID, t.Label, h.Labels[t.ID], t.Text)
	}
	return hex.EncodeToString(s.Sum(nil))
}

// LoadItemHoldout reads the slice named slice ("" for every label) of the
// item labels file, and its messages from textsPath (JSONL {"id","label",
// "text"}); a labelled id with no message is an error.
func LoadItemHoldout(labelsPath, textsPath, slice string, ref *reference.Set, cfg classify.Config) (*ItemHoldout, error) {
	labels, err := cli.ReadItemLabels(labelsPath, ref)
	if err != nil {
		return nil, err
	}
	codes := cli.Codes(labels, slice)
	if len(codes) == 0 {
		return nil, fmt.Errorf("%s: no item label in slice %q", labelsPath, slice)
	}
	texts, err := cli.ReadTexts(textsPath)
	if err != nil {
		return nil, err
	}
	h := &ItemHoldout{Name: labelsPath, Labels: codes, Config: cfg}
	if slice != "" {
		h.Name += "#" + slice
	}
	seen := map[string]bool{}
	for _, t := range texts {
		if _, ok := codes[t.ID]; ok && !seen[t.ID] {
			seen[t.ID] = true
			h.Texts = append(h.Texts, t)
		}
	}
	if len(seen) != len(codes) {
		var missing []string
		for id := range codes {
			if !seen[id] {
				missing = append(missing, id)
			}
		}
		slices.Sort(missing)
		return nil, fmt.Errorf("%s: %d labelled ids have no message in %s (first %s)", labelsPath, len(missing), textsPath, missing[0])
	}
	return h, nil
}

// itemFigures measures the served decision with class model m and item
// model s (nil: keyword rules name items) on the held-out item labels. nil
// without a slice.
func (g *Gate) itemFigures(m *model.Model, s *itemmodel.Set, ref *reference.Set, rs *rules.Set) *classify.ModelFigures {
	h := g.Items
	if h == nil || len(h.Texts) == 0 {
		return nil
	}
	svc := classify.New(h.Config, nil, classify.Deps{
		Reference: func() *reference.Set { return ref },
		Rules:     func() *rules.Set { return rs },
		Model:     func() classify.Model { return m },
		Items:     func() classify.ItemModel { return cli.ItemModel(s) },
	})
	r := cli.MeasureServed(svc, ref, h.Texts, h.Labels)
	return &classify.ModelFigures{Accuracy: r.ClassAccuracy(), N: r.N, Holdout: h.Name, HoldoutSHA256: h.sha256(),
		ItemShare: r.ItemShare(), ItemPrecision: r.ItemPrecision()}
}

// itemDecision is what the gate made of a candidate item model.
type itemDecision struct {
	serve            *itemmodel.Set
	origin           string
	figures, against *classify.ModelFigures
	refused          error
}

// judgeItems decides between the candidate item model and the registry's
// live one, under the class model m being served, records the decision and
// says which to serve.
func (g *Gate) judgeItems(ctx context.Context, cand *itemmodel.Set, origin string, m *model.Model, ref *reference.Set, rs *rules.Set, actor string) (itemDecision, error) {
	now := g.Now().UTC()
	liveRec, payload, err := g.Registry.LiveItemModel(ctx)
	if errors.Is(err, classify.ErrNotFound) {
		d := itemDecision{serve: cand, origin: origin, figures: g.itemFigures(m, cand, ref, rs)}
		rec := itemRecord(cand, origin, d.figures, nil, "", classify.ModelLive, "the city's first item model: nothing live to compare it with", actor, now)
		return d, g.promoteItems(ctx, rec, cand)
	}
	if err != nil {
		return itemDecision{}, err
	}
	if liveRec.Version == cand.Version() {
		return itemDecision{serve: cand, origin: liveRec.Origin, figures: liveRec.Figures, against: liveRec.Against}, nil
	}
	live, err := decodeItems(liveRec, payload)
	if err != nil {
		return itemDecision{}, err
	}
	keep := itemDecision{serve: live, origin: liveRec.Origin, figures: liveRec.Figures, against: liveRec.Against}
	switch st, err := g.Registry.ModelState(ctx, cand.Version()); {
	case err != nil:
		return itemDecision{}, err
	case st != "":
		keep.refused = fmt.Errorf("item model %s %w earlier (%s; see gridctl classify models); %s stays live", cand.Version(), errRefused, st, live.Version())
		return keep, nil
	}
	cf, lf := g.itemFigures(m, cand, ref, rs), g.itemFigures(m, live, ref, rs)
	reason := ""
	switch {
	case cf == nil:
		reason = "no held-out slice of hand-read item labels is configured (CLASSIFY_ITEM_LABELS_FILE, CLASSIFY_ITEM_TEXTS_FILE): a new item model cannot be measured"
	case cf.ItemShare < lf.ItemShare-g.Margin || cf.ItemPrecision < lf.ItemPrecision-g.Margin:
		reason = fmt.Sprintf("worse than the live item model %s on the held-out item labels (n=%d): item_share %.4f against %.4f, item_precision %.4f against %.4f, margin %.2f",
			live.Version(), cf.N, cf.ItemShare, lf.ItemShare, cf.ItemPrecision, lf.ItemPrecision, g.Margin)
	}
	if reason != "" {
		rec := itemRecord(cand, origin, cf, lf, live.Version(), classify.ModelRefused, reason, actor, now)
		if err := g.Registry.RecordModel(ctx, rec, nil); err != nil {
			return itemDecision{}, err
		}
		keep.figures, keep.against = lf, liveRec.Against
		keep.refused = fmt.Errorf("item model %s %w: %s; %s stays live", cand.Version(), errRefused, reason, live.Version())
		return keep, nil
	}
	rec := itemRecord(cand, origin, cf, lf, live.Version(), classify.ModelLive,
		fmt.Sprintf("at least as good as %s on the held-out item labels (n=%d) within %.2f: item_share %.4f against %.4f, item_precision %.4f against %.4f",
			live.Version(), cf.N, g.Margin, cf.ItemShare, lf.ItemShare, cf.ItemPrecision, lf.ItemPrecision), actor, now)
	return itemDecision{serve: cand, origin: origin, figures: cf, against: lf}, g.promoteItems(ctx, rec, cand)
}

func (g *Gate) promoteItems(ctx context.Context, rec *classify.ModelRecord, s *itemmodel.Set) error {
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		return err
	}
	rec.LiveBy, rec.LiveAt = rec.DecidedBy, rec.DecidedAt
	return g.Registry.RecordModel(ctx, rec, buf.Bytes())
}

func decodeItems(rec *classify.ModelRecord, payload []byte) (*itemmodel.Set, error) {
	s, err := itemmodel.Load(bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("live item model %s from the registry: %w", rec.Version, err)
	}
	return s, nil
}

func itemRecord(s *itemmodel.Set, origin string, figures, against *classify.ModelFigures, againstVersion, state, reason, actor string, now time.Time) *classify.ModelRecord {
	info := s.Info()
	return &classify.ModelRecord{Version: s.Version(), Kind: classify.ModelKindItems, Origin: origin, Labels: len(s.Classes()),
		TrainedAt: info.TrainedAt, Examples: info.Examples, DataSHA256: info.DataSHA256,
		Figures: figures, Against: against, AgainstVersion: againstVersion, State: state, Reason: reason, DecidedBy: actor, DecidedAt: now}
}

// readItems reads the item model at path.
func readItems(path string) (*itemmodel.Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("item model: %w", err)
	}
	defer f.Close()
	s, err := itemmodel.Load(f)
	if err != nil {
		return nil, fmt.Errorf("item model %s: %w", path, err)
	}
	return s, nil
}

// registryItems loads the registry's live item model; nil when there is
// none.
func (l *Live) registryItems(ctx context.Context) (*itemmodel.Set, string, error) {
	rec, payload, err := l.gate.Registry.LiveItemModel(ctx)
	if errors.Is(err, classify.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("live item model from the registry: %w", err)
	}
	s, err := decodeItems(rec, payload)
	return s, rec.Origin, err
}

// loadItems decides the bundle's item model, b.Model being decided: the
// registry's live one when following; else the candidate (a retraining's)
// or CLASSIFY_ITEM_MODEL_FILE through the gate; else the registry's live
// one; without a registry the file as it is.
func (l *Live) loadItems(ctx context.Context, b *Bundle, mode mode, actor string) error {
	reg := l.gate.Registry
	if reg != nil && mode == modeFollow {
		s, origin, err := l.registryItems(ctx)
		b.Items, b.ItemSource = s, origin
		return err
	}
	cand, origin := itemCandidateOf(ctx)
	var err error
	if raw, _, _ := candidateOf(ctx); raw != nil && l.holder != nil {
		// A class model proposed alone (a retraining) keeps the item model
		// in force; the file is not offered again.
		cur := l.holder.Current()
		b.Items, b.ItemSource, b.ItemFigures, b.ItemAgainst = cur.Items, cur.ItemSource, cur.ItemFigures, cur.ItemAgainst
		return nil
	}
	if cand == nil && l.src.ItemModelFile != "" {
		cand, err = readItems(l.src.ItemModelFile)
		origin = l.src.ItemModelFile
	}
	if err != nil {
		if reg != nil && mode == modeSignal && l.holder != nil {
			l.log.ErrorContext(ctx, "configured item model not loaded; serving the registry's live item model", "err", err)
			b.Items, b.ItemSource, err = l.registryItems(ctx)
			return err
		}
		return err
	}
	if reg == nil {
		b.Items, b.ItemSource = cand, origin
		return nil
	}
	if cand == nil {
		b.Items, b.ItemSource, err = l.registryItems(ctx)
		if err != nil && mode == modeSignal && l.holder != nil {
			l.log.ErrorContext(ctx, "model registry unreadable; keeping the item model in force", "err", err)
			cur := l.holder.Current()
			b.Items, b.ItemSource = cur.Items, cur.ItemSource
			return nil
		}
		return err
	}
	d, err := l.gate.judgeItems(ctx, cand, origin, b.Model, b.Ref, b.Rules, actor)
	if err != nil {
		if mode == modeSignal && l.holder != nil {
			l.log.ErrorContext(ctx, "model registry unreadable; keeping the item model in force", "err", err)
			cur := l.holder.Current()
			b.Items, b.ItemSource = cur.Items, cur.ItemSource
			return nil
		}
		return err
	}
	b.Items, b.ItemSource, b.ItemFigures, b.ItemAgainst = d.serve, d.origin, d.figures, d.against
	if d.refused != nil {
		l.log.WarnContext(ctx, "item model refused by the gate; the live item model stays", "err", d.refused,
			"item_model_version", cand.Version(), "live_item_model_version", versionOf(d.serve))
		if mode == modeRequest {
			return d.refused
		}
	}
	return nil
}

func versionOf(s *itemmodel.Set) string {
	if s == nil {
		return ""
	}
	return s.Version()
}

type itemCandidateKey struct{}

type itemCandidate struct {
	s      *itemmodel.Set
	origin string
}

func withItemCandidate(ctx context.Context, s *itemmodel.Set, origin string) context.Context {
	return context.WithValue(ctx, itemCandidateKey{}, itemCandidate{s, origin})
}

func itemCandidateOf(ctx context.Context) (*itemmodel.Set, string) {
	if c, ok := ctx.Value(itemCandidateKey{}).(itemCandidate); ok {
		return c.s, c.origin
	}
	return nil, ""
}

// ProposeItems offers an item model built in process (a retraining) to the
// gate, under the class model in force: it goes live only if the gate lets
// it, and a refusal is an error that changes nothing.
func (l *Live) ProposeItems(ctx context.Context, s *itemmodel.Set, origin string) (classify.ReloadResult, error) {
	return l.reload(withItemCandidate(withKeepModel(withMode(ctx, modeRequest, actorOf(ctx))), s, origin))
}

// Items returns the item model in force (nil: keyword rules name items).
func (l *Live) Items() classify.ItemModel {
	return cli.ItemModel(l.holder.Current().Items)
}

// ItemSet returns the item model in force as trained (nil when none).
func (l *Live) ItemSet() *itemmodel.Set { return l.holder.Current().Items }
