package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classifier"
	"github.com/gridflow/gridflow/services/classify/internal/model"
)

// Source kinds `classify train --source` reads.
const (
	KindHistory     = "history"
	KindCorrections = "corrections"
	KindBuiltin     = "builtin"
)

// sourceSpec is one --source: KIND[:WEIGHT][=FILE].
type sourceSpec struct {
	kind, path string
	weight     float64
}

type sourceFlags []sourceSpec

func (f *sourceFlags) String() string { return fmt.Sprint(*f) }

// Set parses KIND[:WEIGHT][=FILE].
func (f *sourceFlags) Set(v string) error {
	s, err := parseSource(v)
	if err != nil {
		return err
	}
	*f = append(*f, s)
	return nil
}

func parseSource(v string) (sourceSpec, error) {
	head, path, hasPath := strings.Cut(v, "=")
	kind, w, hasWeight := strings.Cut(head, ":")
	s := sourceSpec{kind: kind, path: path, weight: 1}
	if hasWeight {
		x, err := strconv.ParseFloat(w, 64)
		if err != nil || !(x > 0) || math.IsInf(x, 0) {
			return s, fmt.Errorf("source %q: weight %q: want a positive number", v, w)
		}
		s.weight = x
	}
	switch kind {
	case KindHistory, KindCorrections:
		if !hasPath || path == "" {
			return s, fmt.Errorf("source %q: %s needs a file: %s[:WEIGHT]=FILE", v, kind, kind)
		}
	case KindBuiltin:
		if hasPath {
			return s, fmt.Errorf("source %q: builtin reads no file", v)
		}
	default:
		return s, fmt.Errorf("source %q: kind %q: want history, corrections or builtin", v, kind)
	}
	return s, nil
}

// mixSources reads every source and mixes them (classifier.Mix).
func mixSources(specs []sourceSpec, mapLabel func(string) (string, error), dropHoldout bool) ([]classifier.Example, []classifier.Source, error) {
	parts := make([]classifier.Part, 0, len(specs))
	for _, sp := range specs {
		var (
			ex  []classifier.Example
			err error
		)
		name := sp.path
		if sp.kind == KindBuiltin {
			name = KindBuiltin
			ex, err = classifier.DefaultCorpus()
		} else {
			ex, err = readExamples(sp.path)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("source %s: %w", sp.kind, err)
		}
		parts = append(parts, classifier.Part{Kind: sp.kind, Name: name, Weight: sp.weight, Examples: ex,
			DropHoldout: sp.kind == KindHistory && dropHoldout})
	}
	return classifier.Mix(parts, mapLabel)
}

// firstLevelMapper maps a label (a catalogue code, or a class name or
// synonym) to the name of its first-level hotline class.
func firstLevelMapper(refDir string) (func(string) (string, error), error) {
	ref, err := reference.LoadFrom(refDir)
	if err != nil {
		return nil, fmt.Errorf("reference data: %w", err)
	}
	return model.FirstLevelLabels(ref), nil
}

// Holdout reads a city's labelled history and returns its fixed held-out
// slice, what the promotion gate measures models on.
func Holdout(path string) ([]classifier.Example, error) {
	ex, err := readExamples(path)
	if err != nil {
		return nil, err
	}
	_, held := classifier.SplitHoldout(ex)
	if len(held) == 0 {
		return nil, fmt.Errorf("%s: no case falls in the held-out slice (%d cases)", path, len(ex))
	}
	return held, nil
}
