// Package model puts the text classifier behind the domain's Model: it
// loads a model file (one a city trained on its history with `classify
// train`) or trains the default catalogue model from the built-in corpus, and
// maps the model's labels to catalogue codes — item and class codes as they
// are, first-level class names (城乡建设 …, what a model trained on the shared
// messages predicts) through the catalogue's names. A model with a label the
// catalogue does not know is refused, so it can never file a case under
// nothing.
package model

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classifier"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
)

// SourceDefault names the default catalogue model.
const SourceDefault = "default"

// Model is a classifier whose labels are mapped to catalogue codes.
type Model struct {
	m      *classifier.Model
	codes  []string // label → code, in m.Labels() order
	byLbl  map[string]int
	names  []string
	source string
}

var _ classify.LabelledModel = (*Model)(nil)

// trainedAt stamps the default model: its version then depends only on the
// corpus and the options, so every replica and every restart runs the same
// version.
var trainedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Load reads the model at path, or trains the default catalogue model when
// path is "", and maps its labels with ref.
func Load(ctx context.Context, path string, ref *reference.Set) (*Model, error) {
	var (
		m   *classifier.Model
		err error
	)
	source := path
	if path == "" {
		source = SourceDefault
		m, err = TrainDefault(ctx)
	} else {
		var f *os.File
		if f, err = os.Open(path); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		defer f.Close()
		m, err = classifier.Load(f)
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", source, err)
	}
	return Wrap(m, source, ref)
}

// TrainDefault trains the default catalogue model reproducibly.
func TrainDefault(ctx context.Context) (*classifier.Model, error) {
	ex, err := classifier.DefaultCorpus()
	if err != nil {
		return nil, err
	}
	opts := classifier.DefaultCorpusOptions()
	opts.Now = func() time.Time { return trainedAt }
	return classifier.Train(ctx, ex, opts, nil)
}

// Wrap maps a trained model's labels with ref.
func Wrap(m *classifier.Model, source string, ref *reference.Set) (*Model, error) {
	labels := m.Labels()
	out := &Model{m: m, codes: make([]string, len(labels)), names: make([]string, len(labels)),
		byLbl: make(map[string]int, len(labels)), source: source}
	var unknown []string
	for i, l := range labels {
		it, ok := Resolve(ref, l)
		if !ok {
			unknown = append(unknown, l)
			continue
		}
		out.codes[i], out.names[i], out.byLbl[l] = it.Code, it.Name, i
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("model %s: labels not in the catalogue (neither a code nor a name): %s",
			source, strings.Join(unknown, ", "))
	}
	return out, nil
}

// Resolve maps a model label to a catalogue entry: a code, else an exact
// name or synonym.
func Resolve(ref *reference.Set, label string) (reference.Item, bool) {
	if it, ok := ref.Item(label); ok {
		return it, true
	}
	return ref.ItemByName(label)
}

// FirstLevelLabels maps a label (a catalogue code, or a class name or
// synonym) to the name of the first-level hotline class it counts under in
// ref: how sources labelled at different levels are mixed for a
// first-level model.
func FirstLevelLabels(ref *reference.Set) func(string) (string, error) {
	return func(label string) (string, error) {
		it, ok := Resolve(ref, label)
		if !ok {
			return "", fmt.Errorf("label %q is neither a catalogue code nor a name", label)
		}
		fl, ok := ref.FirstLevel(it.Code)
		if !ok {
			return "", fmt.Errorf("label %q (%s) counts under no first-level hotline class", label, it.Code)
		}
		return fl.Name, nil
	}
}

// Version identifies the model.
func (m *Model) Version() string { return m.m.Version() }

// Source is the model's file, or "default".
func (m *Model) Source() string { return m.source }

// Codes lists the catalogue code of every label, in the model's label
// order (classify.LabelledModel).
func (m *Model) Codes() []string { return slices.Clone(m.codes) }

// Labels is the number of labels.
func (m *Model) Labels() int { return len(m.codes) }

// Classifier returns the underlying classifier.
func (m *Model) Classifier() *classifier.Model { return m.m }

// Predict ranks every label for text, best first.
func (m *Model) Predict(text string) []classify.Choice {
	preds := m.m.Predict(text, 0)
	out := make([]classify.Choice, 0, len(preds))
	for _, p := range preds {
		i, ok := m.byLbl[p.Label]
		if !ok {
			continue
		}
		out = append(out, classify.Choice{Code: m.codes[i], Name: m.names[i], Label: p.Label, Confidence: p.Confidence})
	}
	return out
}
