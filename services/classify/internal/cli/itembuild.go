package cli

import (
	"context"
	"fmt"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classifier"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/itemmodel"
	"github.com/gridflow/gridflow/services/classify/internal/model"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// ItemTraining is what an item model is built from in process (issue 15:
// a retraining builds one beside the class model), as `classify
// train-items` builds one from files.
type ItemTraining struct {
	Ref   *reference.Set
	Rules *rules.Set
	// Model is the class model served: the thresholds are chosen on what
	// the served decision does with it.
	Model *model.Model
	// Config is the service's decision config.
	Config classify.Config
	// History is the city's labelled cases (weak item labels).
	History []classifier.Example
	// Texts and Labels are the hand-read item labels (id → code) to train
	// and calibrate on; the gate's held-out slice must not be among them.
	Texts  []LabelledText
	Labels map[string]string
	// Extra are further item labels learnt from like the history's (the
	// dispatchers' corrections); those whose code counts under no hotline
	// class are left out.
	Extra []itemmodel.Labelled
	// HistoryLabels are hand-read item labels (id → code) of History
	// messages (issue 15): learnt from, and, when there are any, the
	// thresholds are chosen on their and Labels' out-of-fold predictions
	// together (at the options' CalibTarget).
	HistoryLabels map[string]string
}

// BuildItems builds an item model with the default options and weights.
func BuildItems(ctx context.Context, t ItemTraining) (*itemmodel.Set, error) {
	o, w := itemmodel.DefaultOptions(), defaultItemSources()
	if err := CheckHistoryLabels(t.Ref, t.History, t.HistoryLabels); err != nil {
		return nil, fmt.Errorf("build items: history item labels: %w", err)
	}
	base, err := itemBase(t.Ref, t.Rules, t.History, t.HistoryLabels, t.Config.ItemWindow, w)
	if err != nil {
		return nil, fmt.Errorf("build items: %w", err)
	}
	classOf := itemClassOf(t.Ref)
	for _, e := range t.Extra {
		if _, ok := classOf(e.Code); ok {
			base = append(base, e)
		}
	}
	env := &itemEnv{ref: t.Ref, rules: t.Rules, model: t.Model, history: t.History, texts: t.Texts}
	tuned := env.itemTuned(t.Config, t.Texts, t.Labels, w.hand)
	calib, err := env.historyTuned(ctx, t.Config, t.HistoryLabels, w.hand)
	if err != nil {
		return nil, fmt.Errorf("build items: %w", err)
	}
	s, _, err := buildItems(ctx, base, tuned, calib, classOf, o)
	if err != nil {
		return nil, fmt.Errorf("build items: %w", err)
	}
	return s, nil
}

// CodesExcept maps the labels of every slice but slice to their codes: the
// labels an item model may train on when slice is the gate's held-out one.
func CodesExcept(labels map[string]ItemLabel, slice string) map[string]string {
	out := map[string]string{}
	for id, l := range labels {
		if slice == "" || l.Slice != slice {
			out[id] = l.Code
		}
	}
	return out
}
