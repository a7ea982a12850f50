package classifier

import (
	"context"
	"math"
	"testing"
)

// NBSVM: the log-count ratios favour the features of the positives; the
// model trained with them predicts the tiny fixture as the plain one does,
// the same whatever the number of workers, and differs from the plain one.
func TestNBScaling(t *testing.T) {
	t.Parallel()
	rows := []sparseRow{
		{idx: []int32{0, 1}, val: []float32{0.8, 0.6}},
		{idx: []int32{0}, val: []float32{1}},
		{idx: []int32{1, 2}, val: []float32{0.6, 0.8}},
	}
	r := nbRatios(rows, []bool{true, true, false}, 3, 0.1)
	if !(r[0] > 0 && r[2] < 0 && r[0] > r[1] && r[1] > r[2]) {
		t.Errorf("ratios %v: want feature 0 (positives only) > feature 1 (both) > feature 2 (negatives only), 0 on the sides", r)
	}
	if math.Abs(r[1]) > 1 {
		t.Errorf("ratios %v: a feature of both sides should weigh little", r)
	}

	o := tinyOptions()
	o.SVM.NBAlpha = 0.1
	a, err := Train(context.Background(), tinyExamples(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.Workers = 1
	b, err := Train(context.Background(), tinyExamples(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Version() != b.Version() {
		t.Errorf("versions %s and %s: NB training must be deterministic", a.Version(), b.Version())
	}
	if a.Version() == trainTiny(t).Version() {
		t.Error("NB scaling changed nothing")
	}
	for text, want := range map[string]string{"楼下一直停水，没有自来水用": "water", "晚上广场舞噪音太大，严重扰民": "noise", "门口路面破损有个大坑洼": "road"} {
		if got := a.Predict(text, 1); got[0].Label != want {
			t.Errorf("Predict(%q) = %+v, want %s", text, got, want)
		}
	}
}
