package classifier

import (
	"context"
	"math"
	"testing"
)

// issue 15, LSA: the randomized truncated SVD finds the singular values of a
// matrix whose answer is known, and the LSA model folded into the sparse
// weights scores a training row exactly as the SVMs on its LSA coordinates do.
func TestTruncatedSVDKnown(t *testing.T) {
	t.Parallel()
	// Rows 0–2 are orthogonal with norms 3, 2, 1; row 3 repeats row 0's
	// direction. The Gram block of rows 0 and 3 is [[9, 1.5], [1.5, 0.25]],
	// eigenvalues 9.25 and 0; rows 1 and 2 add 4 and 1: singular values
	// √9.25, 2, 1 (the rows are float32, hence the tolerance).
	rows := []sparseRow{
		{idx: []int32{0}, val: []float32{3}},
		{idx: []int32{1, 2}, val: []float32{1.2, 1.6}},
		{idx: []int32{3}, val: []float32{1}},
		{idx: []int32{0}, val: []float32{0.5}},
	}
	b, err := truncatedSVD(rows, 4, 3, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{math.Sqrt(9.25), 2, 1}
	for i, s := range b.sigma {
		if math.Abs(s-want[i]) > 1e-6 {
			t.Errorf("sigma[%d] = %v, want %v", i, s, want[i])
		}
	}
	// U Σ² Uᵀ is the Gram matrix (rank 3).
	g := gram(rows, 4)
	for i := range 4 {
		for j := range 4 {
			var s float64
			for c := range 3 {
				s += b.u.At(i, c) * b.u.At(j, c) * b.sigma[c] * b.sigma[c]
			}
			if math.Abs(s-g.At(i, j)) > 1e-9 {
				t.Errorf("reconstructed G[%d][%d] = %v, want %v", i, j, s, g.At(i, j))
			}
		}
	}
}

func TestMixLSAFolds(t *testing.T) {
	t.Parallel()
	rows := []sparseRow{
		{idx: []int32{0, 1}, val: []float32{0.8, 0.6}},
		{idx: []int32{0}, val: []float32{1}},
		{idx: []int32{1, 2}, val: []float32{0.6, 0.8}},
		{idx: []int32{2}, val: []float32{1}},
		{idx: []int32{3, 4}, val: []float32{0.6, 0.8}},
		{idx: []int32{4}, val: []float32{1}},
	}
	y := []int{0, 0, 1, 1, 2, 2}
	const L, dim = 3, 5
	o := tinyOptions()
	o.SVM.NBAlpha, o.SVM.LSAMix, o.SVM.LSADim = 0, 1, 5
	o, err := o.normalised()
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float32, dim*L)
	bias := make([]float32, L)
	if err := mixLSA(context.Background(), rows, y, L, dim, o, w, bias); err != nil {
		t.Fatal(err)
	}
	// At full rank the LSA coordinates are a rotation of the rows, so the
	// folded model is a linear SVM on the rows themselves: it separates them.
	for i, r := range rows {
		s := make([]float64, L)
		for l := range L {
			s[l] = float64(bias[l])
			for j, f := range r.idx {
				s[l] += float64(w[int(f)*L+l]) * float64(r.val[j])
			}
		}
		if got := argmax(s); got != y[i] {
			t.Errorf("row %d: folded LSA model predicts %d (scores %v), want %d", i, got, s, y[i])
		}
	}
	// …and equals the plain SVM trained on the rows (same solver, same
	// seed): the rotation leaves the dual problem unchanged.
	p := o.ovr()
	p.nbAlpha, p.nbMix = 0, 0
	pw, pb, err := trainOVR(context.Background(), rows, y, L, dim, p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range w {
		if math.Abs(float64(w[i]-pw[i])) > 1e-3 {
			t.Errorf("w[%d] = %v, the plain SVM's %v", i, w[i], pw[i])
		}
	}
	for l := range bias {
		if math.Abs(float64(bias[l]-pb[l])) > 1e-3 {
			t.Errorf("bias[%d] = %v, the plain SVM's %v", l, bias[l], pb[l])
		}
	}
}

func TestLSAMixTrains(t *testing.T) {
	t.Parallel()
	o := tinyOptions()
	o.SVM.LSAMix, o.SVM.LSADim = 0.3, 4
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
		t.Errorf("versions %s and %s: training with LSA must be deterministic", a.Version(), b.Version())
	}
	if a.Version() == trainTiny(t).Version() {
		t.Error("LSA changed nothing")
	}
	for text, want := range map[string]string{"楼下一直停水，没有自来水用": "water", "晚上广场舞噪音太大，严重扰民": "noise", "门口路面破损有个大坑洼": "road"} {
		if got := a.Predict(text, 1); got[0].Label != want {
			t.Errorf("Predict(%q) = %+v, want %s", text, got, want)
		}
	}
	o.SVM.LSADim = 0
	if _, err := Train(context.Background(), tinyExamples(), o, nil); err == nil {
		t.Error("an lsa mix without components trained")
	}
}
