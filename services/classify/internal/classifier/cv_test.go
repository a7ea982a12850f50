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
	if mean, sd := (CVResult{}).MeanSD(); mean != 0 || sd != 0 {
		t.Errorf("MeanSD of no folds = %v, %v; want 0, 0", mean, sd)
	}
}

func TestClassWeight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, labels, nClass int
		power, want       float64
	}{
		{100, 2, 25, 0, 2},     // a class of half the average size: n/(L·n_c) = 2
		{100, 2, 25, 1, 2},     // power 1 is the plain balanced weight
		{100, 2, 25, 2, 4},     // squared
		{100, 2, 100, 2, 0.25}, // a class of twice the average size weighs less
		{70, 7, 10, 2, 1},      // an average class weighs 1 whatever the power
	}
	for _, tt := range tests {
		if got := classWeight(tt.n, tt.labels, tt.nClass, tt.power); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("classWeight(%d, %d, %d, %v) = %v, want %v", tt.n, tt.labels, tt.nClass, tt.power, got, tt.want)
		}
	}
}

// TestClassWeightPowerFavoursTheSmallClass: with one water example among
// twelve noise examples, every text below is ambiguous between the two; the
// squared weight makes the model lean to the small class where plain
// balancing does not.
func TestClassWeightPowerFavoursTheSmallClass(t *testing.T) {
	t.Parallel()
	ex := []Example{{ID: "w", Label: "water", Text: "停水了"}}
	for i := range 12 {
		ex = append(ex, Example{ID: string(rune('a' + i)), Label: "noise", Text: []string{"噪音扰民", "深夜噪音", "楼上噪音了"}[i%3]})
	}
	o := tinyOptions()
	o.CVFolds = 2
	score := func(power float64) float64 {
		o.SVM.ClassWeightPower = power
		m, err := Train(t.Context(), ex, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Predict("停电了噪音", 0) {
			if p.Label == "water" {
				return p.Score
			}
		}
		t.Fatal("no water label")
		return 0
	}
	if plain, squared := score(1), score(2); !(squared > plain) {
		t.Errorf("water's score on an ambiguous text: %v with power 2, %v with power 1; want it higher when squared", squared, plain)
	}
}

func TestTrainRefusesANegativeClassWeightPower(t *testing.T) {
	t.Parallel()
	o := tinyOptions()
	o.SVM.ClassWeightPower = -1
	if _, err := Train(t.Context(), tinyExamples(), o, nil); err == nil {
		t.Error("Train accepted class weight power -1")
	}
}
