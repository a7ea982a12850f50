package classifier

import (
	"slices"
)

// LabelScore is one label's row of an evaluation report.
type LabelScore struct {
	Label     string
	Precision float64 // 0 when the label was never predicted
	Recall    float64 // 0 when the label never occurs in gold
	F1        float64
	Support   int // gold count
	Predicted int // predicted count
}

// Report is the outcome of comparing predictions with gold labels.
// Confusion[i][j] counts examples of gold Labels[i] predicted as Labels[j].
type Report struct {
	N         int
	Accuracy  float64
	MacroF1   float64 // unweighted mean of per-label F1 over Labels
	Labels    []string
	PerLabel  []LabelScore
	Confusion [][]int
}

// Evaluate compares pred with gold (equal length; it panics otherwise, as
// that is a programming error). The label set is every label that occurs in
// gold or pred, ordered as in order first, then the rest sorted; labels of
// order that occur in neither are left out, so a model's unused labels do
// not drag macro-F1 down (the scikit-learn convention).
func Evaluate(gold, pred []string, order []string) Report {
	if len(gold) != len(pred) {
		panic("classifier.Evaluate: gold and pred differ in length")
	}
	seen := make(map[string]bool)
	for i := range gold {
		seen[gold[i]], seen[pred[i]] = true, true
	}
	var labels []string
	for _, l := range order {
		if seen[l] {
			labels = append(labels, l)
			delete(seen, l)
		}
	}
	rest := make([]string, 0, len(seen))
	for l := range seen {
		rest = append(rest, l)
	}
	slices.Sort(rest)
	labels = append(labels, rest...)
	index := make(map[string]int, len(labels))
	for i, l := range labels {
		index[l] = i
	}
	r := Report{N: len(gold), Labels: labels, Confusion: make([][]int, len(labels)), PerLabel: make([]LabelScore, len(labels))}
	for i := range r.Confusion {
		r.Confusion[i] = make([]int, len(labels))
	}
	correct := 0
	for i := range gold {
		g, p := index[gold[i]], index[pred[i]]
		r.Confusion[g][p]++
		if g == p {
			correct++
		}
	}
	if r.N > 0 {
		r.Accuracy = float64(correct) / float64(r.N)
	}
	for i, l := range labels {
		s := LabelScore{Label: l}
		for j := range labels {
			s.Support += r.Confusion[i][j]
			s.Predicted += r.Confusion[j][i]
		}
		tp := float64(r.Confusion[i][i])
		if s.Predicted > 0 {
			s.Precision = tp / float64(s.Predicted)
		}
		if s.Support > 0 {
			s.Recall = tp / float64(s.Support)
		}
		if s.Precision+s.Recall > 0 {
			s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
		}
		r.PerLabel[i] = s
		r.MacroF1 += s.F1
	}
	if len(labels) > 0 {
		r.MacroF1 /= float64(len(labels))
	}
	return r
}

// EvaluateModel predicts the top label of every example and evaluates it.
// mapLabel, if not nil, maps both gold and predicted labels first (e.g. an
// item code to its first-level class).
func EvaluateModel(m *Model, examples []Example, mapLabel func(string) string) Report {
	gold := make([]string, len(examples))
	pred := make([]string, len(examples))
	for i, e := range examples {
		gold[i] = e.Label
		pred[i] = m.Predict(e.Text, 1)[0].Label
		if mapLabel != nil {
			gold[i], pred[i] = mapLabel(gold[i]), mapLabel(pred[i])
		}
	}
	return Evaluate(gold, pred, m.Labels())
}
