package classifier

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

func knnRows() ([]sparseRow, []int) {
	// Four exemplars over five features; feature 0 is in every one.
	rows := []sparseRow{
		{idx: []int32{0, 1}, val: []float32{0.6, 0.8}},
		{idx: []int32{0, 2}, val: []float32{0.6, 0.8}},
		{idx: []int32{0, 2, 3}, val: []float32{0.6, 0.6, 0.529}},
		{idx: []int32{0, 4}, val: []float32{0.6, 0.8}},
	}
	return rows, []int{0, 1, 1, 2}
}

// The nearest exemplars vote, by similarity to the power: a text close to
// one exemplar is pulled to its label, a text sharing only a common feature
// (dropped by MaxDF) gets no vote at all.
func TestKNNVotesForTheNearestExemplars(t *testing.T) {
	rows, y := knnRows()
	p, err := KNNParams{Weight: 1, K: 2, Power: 1, MaxDF: 0.5}.normalised()
	if err != nil {
		t.Fatal(err)
	}
	k := buildKNN(rows, y, 5, p, 1)
	if len(k.doc) != 5 { // feature 0 (df 4 > 2) is not indexed
		t.Fatalf("%d postings, want 5", len(k.doc))
	}
	sc := k.newScratch(3)

	out := make([]float64, 3)
	k.add([]int32{0, 2}, []float32{0.6, 0.8}, sc, out)
	// Exemplars 1 (0.64) and 2 (0.48), both label 1: label 1 gets +1, the
	// others −1.
	if want := []float64{-1, 1, -1}; !slices.Equal(out, want) {
		t.Fatalf("votes %v, want %v", out, want)
	}

	out = make([]float64, 3)
	k.add([]int32{0, 1, 4}, []float32{0.6, 0.6, 0.529}, sc, out)
	// Exemplars 0 (0.48, label 0) and 3 (0.4232, label 2): label 0 gets
	// 2·0.48/0.9032 − 1.
	if out[0] <= 0 || out[2] >= 0 || out[2] <= -1 || out[1] != -1 {
		t.Fatalf("votes %v: want label 0 ahead of label 2, label 1 at −1", out)
	}

	out = make([]float64, 3)
	k.add([]int32{0}, []float32{1}, sc, out)
	if !slices.Equal(out, []float64{0, 0, 0}) {
		t.Fatalf("a text sharing only a common feature got votes %v", out)
	}
	if slices.ContainsFunc(sc.sim, func(s float32) bool { return s != 0 }) || slices.ContainsFunc(sc.votes, func(v float64) bool { return v != 0 }) {
		t.Fatal("scratch not zeroed after a call")
	}
}

// A history longer than MaxExemplars keeps a seeded sample of that many.
func TestKNNKeepsASeededSample(t *testing.T) {
	var rows []sparseRow
	var y []int
	for i := range 100 {
		rows = append(rows, sparseRow{idx: []int32{int32(i % 10)}, val: []float32{1}})
		y = append(y, i%3)
	}
	p := KNNParams{Weight: 1, K: 3, Power: 1, MaxDF: 1, MaxExemplars: 30}
	a, b, c := buildKNN(rows, y, 10, p, 7), buildKNN(rows, y, 10, p, 7), buildKNN(rows, y, 10, p, 8)
	if len(a.label) != 30 || len(a.doc) != 30 {
		t.Fatalf("kept %d exemplars, %d postings; want 30", len(a.label), len(a.doc))
	}
	if !slices.Equal(a.doc, b.doc) || !slices.Equal(a.label, b.label) {
		t.Fatal("the same seed kept another sample")
	}
	if slices.Equal(a.label, c.label) && slices.Equal(a.doc, c.doc) && slices.Equal(a.off, c.off) {
		t.Fatal("another seed kept the same sample")
	}
}

func TestKNNParamsAreValidated(t *testing.T) {
	for _, p := range []KNNParams{
		{Weight: -1, K: 1, Power: 1},
		{Weight: 1, K: 0, Power: 1},
		{Weight: 1, K: 1, Power: 0},
		{Weight: 1, K: 1, Power: 1, MaxDF: 1.5},
		{Weight: 1, K: 1, Power: 1, MaxExemplars: -1},
	} {
		o := tinyOptions()
		o.KNN = p
		if _, err := Train(context.Background(), tinyExamples(), o, nil); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	got, err := KNNParams{Weight: 1, K: 1, Power: 1}.normalised()
	if err != nil || got.MaxDF != 1 || got.MaxExemplars != DefaultMaxExemplars {
		t.Fatalf("defaults: %+v, %v", got, err)
	}
}

// A model with the vote is a version 4 file: it round-trips with the same
// predictions, a version 3 header on it is refused as corrupt, and so is an
// index that names an exemplar or a label it does not have.
func TestKNNModelIsFormatVersion4(t *testing.T) {
	t.Parallel()
	o := tinyOptions()
	o.KNN = KNNParams{Weight: 0.3, K: 3, Power: 3, MaxDF: 0.5}
	m, err := Train(context.Background(), tinyExamples(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Info().Exemplars != len(tinyExamples()) || m.Info().KNN.MaxExemplars != DefaultMaxExemplars {
		t.Fatalf("info %+v", m.Info())
	}
	b, back := saveAtVersion(t, m, 4)
	if back.Version() != m.Version() || back.Info().FormatVersion != 4 {
		t.Fatalf("round trip: %+v", back.Info())
	}
	for _, text := range []string{"小区停水三天了", "深夜施工噪音扰民", "路面破损坑洼"} {
		if got, want := back.Predict(text, 0), m.Predict(text, 0); !slices.Equal(got, want) {
			t.Fatalf("%s: loaded model predicts %v, trained %v", text, got, want)
		}
	}
	old := slices.Clone(b)
	binary.BigEndian.PutUint32(old[len(modelMagic):], 3)
	if _, err := Load(bytes.NewReader(old)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("version 3 header on a knn model: %v, want ErrCorrupt", err)
	}

	f := *m.file
	f.KNNLabel = slices.Clone(f.KNNLabel)
	f.KNNLabel[0] = int32(len(f.Labels))
	if _, err := newModel(&f, nil); err == nil {
		t.Fatal("an exemplar with an unknown label was accepted")
	}
	f = *m.file
	f.KNNDoc = slices.Clone(f.KNNDoc)
	f.KNNDoc[0] = uint16(len(f.KNNLabel))
	if _, err := newModel(&f, nil); err == nil {
		t.Fatal("a posting naming an unknown exemplar was accepted")
	}
	f = *m.file
	f.KNN = KNNParams{}
	if _, err := newModel(&f, nil); err == nil {
		t.Fatal("postings without parameters were accepted")
	}
}
