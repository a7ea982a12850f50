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
	// Accuracy and MacroF1 take the label of the highest raw SVM score, as
	// Train's CV estimate does.
	Accuracy float64
	MacroF1  float64
	// ServedAccuracy and ServedMacroF1 take the label of the highest
	// calibrated confidence, as Predict does: the fold's scores go through
	// Platt sigmoids fitted by an inner cross-validation on the fold's own
	// training part, as Train fits them, so the test fold is never seen.
	ServedAccuracy float64
	ServedMacroF1  float64
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
	return meanSD(r.Folds, func(f FoldScore) float64 { return f.MacroF1 })
}

// ServedMeanSD is MeanSD of the served (calibrated) decision's macro-F1.
func (r CVResult) ServedMeanSD() (mean, sd float64) {
	return meanSD(r.Folds, func(f FoldScore) float64 { return f.ServedMacroF1 })
}

func meanSD(folds []FoldScore, x func(FoldScore) float64) (mean, sd float64) {
	n := float64(len(folds))
	if n == 0 {
		return 0, 0
	}
	for _, f := range folds {
		mean += x(f)
	}
	mean /= n
	if n < 2 {
		return mean, 0
	}
	for _, f := range folds {
		sd += (x(f) - mean) * (x(f) - mean)
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
	conf := make([]float64, len(d.labels))
	for f := range o.CVFolds {
		var train []int
		var gold, pred, served []string
		for i, fi := range folds {
			if fi != f {
				train = append(train, i)
			}
		}
		a, b, err := d.subset(train).platt(ctx, o)
		if err != nil {
			return CVResult{}, fmt.Errorf("cross-validate: fold %d: calibration: %w", f+1, err)
		}
		for i, fi := range folds {
			if fi == f {
				gold = append(gold, d.labels[d.y[i]])
				pred = append(pred, d.labels[argmax(oof[i])])
				calibrate(oof[i], a, b, conf)
				served = append(served, d.labels[argmax(conf)])
			}
		}
		r := Evaluate(gold, pred, d.labels)
		rs := Evaluate(gold, served, d.labels)
		res.Folds[f] = FoldScore{Train: len(train), Test: len(gold), Accuracy: r.Accuracy, MacroF1: r.MacroF1,
			ServedAccuracy: rs.Accuracy, ServedMacroF1: rs.MacroF1}
		progress(fmt.Sprintf("cv fold %d/%d calibrated by an inner %d-fold cross-validation", f+1, o.CVFolds, o.CVFolds))
	}
	return res, nil
}
