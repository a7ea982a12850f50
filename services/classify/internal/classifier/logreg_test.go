package classifier

import (
	"context"
	"math"
	"testing"
)

// issue 15, round 4: the multinomial logistic regression reaches its
// optimum (the gradient of the objective vanishes there), separates what is
// separable, and mixed into the SVMs it trains deterministically and still
// answers the tiny fixture.
func TestSoftmaxOptimum(t *testing.T) {
	t.Parallel()
	rows := []sparseRow{
		{idx: []int32{0, 1}, val: []float32{0.8, 0.6}},
		{idx: []int32{0}, val: []float32{1}},
		{idx: []int32{1, 2}, val: []float32{0.6, 0.8}},
		{idx: []int32{2}, val: []float32{1}},
		{idx: []int32{1, 3}, val: []float32{0.6, 0.8}, weight: 2},
		{idx: []int32{3}, val: []float32{1}},
	}
	y := []int{0, 0, 1, 1, 2, 2}
	const L, dim, c = 3, 4, 5.0
	classW := []float64{1, 2, 0.5}
	w, b, err := trainSoftmax(context.Background(), rows, y, L, dim, softmaxParams{c: c, classW: classW, maxIter: 500, eps: 1e-9})
	if err != nil {
		t.Fatal(err)
	}
	// The gradient, by hand: W + C Σ s_i x_i (p_i − e_y), bias without the W term.
	g := make([]float64, dim*L)
	gb := make([]float64, L)
	copy(g, w)
	for i, r := range rows {
		z := make([]float64, L)
		copy(z, b)
		for j, f := range r.idx {
			for l := range L {
				z[l] += float64(r.val[j]) * w[int(f)*L+l]
			}
		}
		var sum float64
		for l := range z {
			z[l] = math.Exp(z[l])
			sum += z[l]
		}
		s := c * classW[y[i]]
		if r.weight > 0 {
			s *= r.weight
		}
		for l := range L {
			d := z[l] / sum
			if l == y[i] {
				d--
			}
			gb[l] += s * d
			for j, f := range r.idx {
				g[int(f)*L+l] += s * d * float64(r.val[j])
			}
		}
		if pred := argmax(z); pred != y[i] {
			t.Errorf("row %d: predicted %d, want %d", i, pred, y[i])
		}
	}
	for i, v := range append(g, gb...) {
		if math.Abs(v) > 1e-5 {
			t.Errorf("gradient[%d] = %g at the solution, want ≈ 0", i, v)
		}
	}
}

func TestLogRegMix(t *testing.T) {
	t.Parallel()
	o := tinyOptions()
	o.SVM.LogRegMix = 0.3
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
		t.Errorf("versions %s and %s: training with the logistic regression must be deterministic", a.Version(), b.Version())
	}
	if a.Version() == trainTiny(t).Version() {
		t.Error("the logistic regression changed nothing")
	}
	if got := a.Info().SVM.LogRegMix; got != 0.3 {
		t.Errorf("Info().SVM.LogRegMix = %v, want 0.3", got)
	}
	for text, want := range map[string]string{"楼下一直停水，没有自来水用": "water", "晚上广场舞噪音太大，严重扰民": "noise", "门口路面破损有个大坑洼": "road"} {
		if got := a.Predict(text, 1); got[0].Label != want {
			t.Errorf("Predict(%q) = %+v, want %s", text, got, want)
		}
	}
}
