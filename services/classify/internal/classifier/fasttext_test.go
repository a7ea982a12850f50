package classifier

import (
	"math"
	"testing"
)

// issue 15, fastText-style: the bag weighs each distinct key by count/length,
// the model separates the tiny fixture on its own, and mixed in by
// cross-validation it keeps every decision right; Train refuses it.
func TestFastTextBag(t *testing.T) {
	t.Parallel()
	idx, val := ftBag([]uint64{5, 5, 7, 9, 9, 9}, 10)
	if len(idx) != 3 || val[0] != float32(2)/6 || val[1] != float32(1)/6 || val[2] != float32(3)/6 {
		t.Errorf("bag = %v %v, want three buckets weighing 2/6, 1/6, 3/6", idx, val)
	}
	if idx[0] != ftBucket(5, 10) || idx[0] < 0 || idx[0] >= 1<<10 {
		t.Errorf("bucket of key 5 = %d, want ftBucket(5) in [0, 1024)", idx[0])
	}
}

func TestFastTextSeparates(t *testing.T) {
	t.Parallel()
	d, err := newDataset(tinyExamples(), tinyOptions().Features)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, len(d.y))
	for i := range w {
		w[i] = 1
	}
	p := FastTextParams{Mix: 1, Dim: 8, Bits: 12, Epochs: 30, LR: 0.5}
	ft, err := trainFastText(t.Context(), d.docs, d.y, w, len(d.labels), true, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := make([]float64, len(d.labels))
	for i, keys := range d.docs {
		ft.scores(keys, s)
		var sum float64
		for _, v := range s {
			sum += v
		}
		if math.Abs(sum) > 1e-6 {
			t.Errorf("row %d: scores %v sum to %v, want centred", i, s, sum)
		}
		if got := argmax(s); got != d.y[i] {
			t.Errorf("row %d: predicted %s, want %s", i, d.labels[got], d.labels[d.y[i]])
		}
	}
}

func TestFastTextMixCrossValidates(t *testing.T) {
	t.Parallel()
	o := tinyOptions()
	o.FastText = FastTextParams{Mix: 0.3, Dim: 8, Bits: 12, Epochs: 20, LR: 0.5}
	r, err := CrossValidate(t.Context(), tinyExamples(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range r.Folds {
		if f.MacroF1 != 1 || f.ServedMacroF1 != 1 {
			t.Errorf("fold %d: %+v, want every figure 1 on separable data", i+1, f)
		}
	}
	raw, err := CrossValidateRaw(t.Context(), tinyExamples(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range raw.Folds {
		if f.MacroF1 != r.Folds[i].MacroF1 || f.Accuracy != r.Folds[i].Accuracy || !math.IsNaN(f.ServedMacroF1) {
			t.Errorf("fold %d raw only: %+v, want the raw figures of %+v and served NaN", i+1, f, r.Folds[i])
		}
	}
	if _, err := Train(t.Context(), tinyExamples(), o, nil); err == nil {
		t.Error("Train accepted the fastText-style model, which a model file cannot hold")
	}
	o.FastText.Bits = 40
	if _, err := CrossValidate(t.Context(), tinyExamples(), o, nil); err == nil {
		t.Error("40 hash bits accepted")
	}
}
