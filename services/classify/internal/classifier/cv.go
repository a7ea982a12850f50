package classifier

import (
	"context"
	"fmt"
	"math"
)

// FoldScore is one fold's quality: the model trained on the other folds,
// evaluated on this one.
type FoldScore struct {
	Train, Test int
	Accuracy    float64
	MacroF1     float64
}

// CVResult is a k-fold cross-validation: each fold's figures, and the
// pooled out-of-fold estimate Train records in a model.
type CVResult struct {
	Folds  []FoldScore
	Pooled CVEstimate
}

// MeanSD returns the mean and the sample standard deviation of the folds'
// macro-F1.
func (r CVResult) MeanSD() (mean, sd float64) {
	n := float64(len(r.Folds))
	if n == 0 {
		return 0, 0
	}
	for _, f := range r.Folds {
		mean += f.MacroF1
	}
	mean /= n
	if n < 2 {
		return mean, 0
	}
	for _, f := range r.Folds {
		sd += (f.MacroF1 - mean) * (f.MacroF1 - mean)
	}
	return mean, math.Sqrt(sd / (n - 1))
}

// CrossValidate measures a training configuration by stratified k-fold
// cross-validation (o.CVFolds folds, assigned by o.Seed: the same seed gives
// the same folds and the same figures) without training a final model.
// Only training data belongs here: the dev set is for the final figure.
func CrossValidate(ctx context.Context, examples []Example, o Options, progress func(string)) (CVResult, error) {
	if progress == nil {
		progress = func(string) {}
	}
	o, err := o.normalised()
	if err != nil {
		return CVResult{}, fmt.Errorf("cross-validate: %w", err)
	}
	d, err := newDataset(examples, o.Features)
	if err != nil {
		return CVResult{}, fmt.Errorf("cross-validate: %w", err)
	}
	oof, folds, err := d.crossValidate(ctx, o, progress)
	if err != nil {
		return CVResult{}, fmt.Errorf("cross-validate: %w", err)
	}
	res := CVResult{Folds: make([]FoldScore, o.CVFolds), Pooled: d.estimate(oof, o.CVFolds)}
	for f := range o.CVFolds {
		var gold, pred []string
		for i, fi := range folds {
			if fi == f {
				gold = append(gold, d.labels[d.y[i]])
				pred = append(pred, d.labels[argmax(oof[i])])
			}
		}
		r := Evaluate(gold, pred, d.labels)
		res.Folds[f] = FoldScore{Train: len(d.y) - len(gold), Test: len(gold), Accuracy: r.Accuracy, MacroF1: r.MacroF1}
	}
	return res, nil
}
