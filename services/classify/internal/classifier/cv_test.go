package classifier

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCrossValidateIsDeterministicAndMatchesTrain(t *testing.T) {
	t.Parallel()
	ex, o := tinyExamples(), tinyOptions()
	a, err := CrossValidate(t.Context(), ex, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := CrossValidate(t.Context(), ex, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two runs with seed %d differ (-first +second):\n%s", o.Seed, diff)
	}
	if len(a.Folds) != 3 {
		t.Fatalf("%d folds, want 3", len(a.Folds))
	}
	held := 0
	for i, f := range a.Folds {
		held += f.Test
		if f.Train+f.Test != len(ex) || f.Test != 8 {
			t.Errorf("fold %d: %d train + %d test, want 16 + 8 (stratified 3 folds of 24)", i+1, f.Train, f.Test)
		}
	}
	if held != len(ex) {
		t.Errorf("folds hold out %d examples, want every one of %d once", held, len(ex))
	}
	// The tiny subjects never share a word: every decision is right, by raw
	// score and as served (calibrated within the fold).
	for i, f := range a.Folds {
		if f.MacroF1 != 1 || f.ServedMacroF1 != 1 || f.ServedAccuracy != 1 {
			t.Errorf("fold %d: %+v, want every figure 1 on separable data", i+1, f)
		}
	}
	m, err := Train(t.Context(), ex, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m.Info().CV, a.Pooled); diff != "" {
		t.Errorf("pooled estimate differs from the one Train records (-train +cv):\n%s", diff)
	}
}

func TestMeanSD(t *testing.T) {
	t.Parallel()
	r := CVResult{Folds: []FoldScore{{MacroF1: 0.8}, {MacroF1: 0.9}, {MacroF1: 1.0}}}
	mean, sd := r.MeanSD()
	if math.Abs(mean-0.9) > 1e-12 || math.Abs(sd-0.1) > 1e-12 {
		t.Errorf("MeanSD = %v, %v; want 0.9, 0.1 (sample sd)", mean, sd)
	}
	r = CVResult{Folds: []FoldScore{{ServedMacroF1: 0.5}, {ServedMacroF1: 0.7}}}
	if mean, sd := r.ServedMeanSD(); math.Abs(mean-0.6) > 1e-12 || math.Abs(sd-math.Sqrt(0.02)) > 1e-12 {
		t.Errorf("ServedMeanSD = %v, %v; want 0.6, %v", mean, sd, math.Sqrt(0.02))
	}
	if mean, sd := (CVResult{}).MeanSD(); mean != 0 || sd != 0 {
		t.Errorf("MeanSD of no folds = %v, %v; want 0, 0", mean, sd)
	}
}

// TestCrossValidateServedMatchesANestedRun: the served figure is the
// calibrated decision with sigmoids fitted by an inner cross-validation of
// the fold's training part only (never on the test fold's own scores); a
// nested run written out by hand must agree with it. Two examples that mix
// subjects keep the calibration from being trivially perfect.
func TestCrossValidateServedMatchesANestedRun(t *testing.T) {
	t.Parallel()
	ex, o := tinyExamples(), tinyOptions()
	ex = append(ex, Example{ID: "x1", Label: "road", Text: "停水路面破损"}, Example{ID: "x2", Label: "water", Text: "噪音停水"})
	r, err := CrossValidate(t.Context(), ex, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDataset(ex, o.Features)
	if err != nil {
		t.Fatal(err)
	}
	oof, folds, err := d.crossValidate(t.Context(), o, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	for f := range o.CVFolds {
		var train []int
		for i, fi := range folds {
			if fi != f {
				train = append(train, i)
			}
		}
		a, b, err := d.subset(train).platt(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		var gold, served []string
		conf := make([]float64, len(d.labels))
		for i, fi := range folds {
			if fi == f {
				calibrate(oof[i], a, b, conf)
				gold, served = append(gold, d.labels[d.y[i]]), append(served, d.labels[argmax(conf)])
			}
		}
		if want := Evaluate(gold, served, d.labels).MacroF1; r.Folds[f].ServedMacroF1 != want {
			t.Errorf("fold %d: served macro-F1 %v, nested run %v", f+1, r.Folds[f].ServedMacroF1, want)
		}
	}
}
