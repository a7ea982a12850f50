package classifier

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// Grid lists the values Search tries; every combination is one candidate.
// An empty field keeps the base option's value.
type Grid struct {
	C          []float64
	Balanced   []bool
	NGramMax   []int
	MinDF      []int
	TokenPairs []bool
	Sublinear  []bool
	HashBits   []int
}

// DefaultGrid is the grid DefaultOptions was chosen from.
func DefaultGrid() Grid {
	return Grid{
		C:          []float64{0.3, 1, 3, 10},
		Balanced:   []bool{false, true},
		NGramMax:   []int{1, 2},
		MinDF:      []int{1, 2, 3},
		TokenPairs: []bool{false, true},
		Sublinear:  []bool{true, false},
	}
}

// SearchResult is one candidate's cross-validated quality.
type SearchResult struct {
	Options Options
	CV      CVEstimate
}

func orBase[T any](vs []T, base T) []T {
	if len(vs) == 0 {
		return []T{base}
	}
	return vs
}

// Search picks hyper-parameters by k-fold cross-validated macro-F1 on
// examples (base.CVFolds folds, the same folds for every candidate). Ties go
// to the earlier candidate in grid order, so list simpler values first.
// It returns the best options and every candidate's result, best first.
// Only training data may be passed here: the dev set is for the final figure.
func Search(ctx context.Context, examples []Example, base Options, grid Grid, progress func(string)) (Options, []SearchResult, error) {
	if progress == nil {
		progress = func(string) {}
	}
	base, err := base.normalised()
	if err != nil {
		return base, nil, fmt.Errorf("search: %w", err)
	}
	var cands []Options
	for _, n := range orBase(grid.NGramMax, base.Features.NGramMax) {
		for _, tp := range orBase(grid.TokenPairs, base.Features.TokenPairs) {
			if n < 2 && tp {
				continue // pairs are bigrams: meaningless for unigrams
			}
			for _, hb := range orBase(grid.HashBits, base.Features.HashBits) {
				for _, df := range orBase(grid.MinDF, base.Features.MinDF) {
					for _, sl := range orBase(grid.Sublinear, base.Features.Sublinear) {
						for _, bal := range orBase(grid.Balanced, base.SVM.Balanced) {
							for _, c := range orBase(grid.C, base.SVM.C) {
								o := base
								o.Features = FeatureConfig{NGramMax: n, TokenPairs: tp, MinDF: df, Sublinear: sl, HashBits: hb}
								o.SVM.C, o.SVM.Balanced = c, bal
								cands = append(cands, o)
							}
						}
					}
				}
			}
		}
	}
	// Tokenising dominates feature extraction, and it depends only on the
	// n-gram settings: share datasets between candidates.
	type tokKey struct {
		n  int
		tp bool
	}
	datasets := make(map[tokKey]*dataset)
	results := make([]SearchResult, 0, len(cands))
	for i, o := range cands {
		if err := o.Features.validate(); err != nil {
			return base, nil, fmt.Errorf("search: candidate %d: %w", i+1, err)
		}
		k := tokKey{o.Features.NGramMax, o.Features.TokenPairs}
		d := datasets[k]
		if d == nil {
			if d, err = newDataset(examples, o.Features); err != nil {
				return base, nil, fmt.Errorf("search: %w", err)
			}
			datasets[k] = d
		}
		oof, _, err := d.crossValidate(ctx, o, func(string) {})
		if err != nil {
			return base, nil, fmt.Errorf("search: %w", err)
		}
		r := SearchResult{Options: o, CV: d.estimate(oof, o.CVFolds)}
		results = append(results, r)
		progress(fmt.Sprintf("search %d/%d: %s → macro_f1=%.4f accuracy=%.4f", i+1, len(cands), o.Describe(), r.CV.MacroF1, r.CV.Accuracy))
	}
	slices.SortStableFunc(results, func(a, b SearchResult) int { return cmp.Compare(b.CV.MacroF1, a.CV.MacroF1) })
	return results[0].Options, results, nil
}

// Describe renders the hyper-parameters of o on one line, for logs.
func (o Options) Describe() string {
	d := o.describe()
	if o.SVM.NBMix > 0 || o.SVM.BalancePower > 0 {
		d += fmt.Sprintf(" nb_mix=%g balance_power=%g", o.SVM.NBMix, o.SVM.BalancePower)
	}
	if o.SVM.LogRegMix > 0 {
		d += fmt.Sprintf(" lr_mix=%g lr_C=%g", o.SVM.LogRegMix, o.SVM.LogRegC)
	}
	if k := o.KNN; k.Weight > 0 {
		d += fmt.Sprintf(" knn=%g knn_k=%d knn_power=%g knn_max_df=%g knn_max=%d", k.Weight, k.K, k.Power, k.MaxDF, k.MaxExemplars)
	}
	return d
}

func (o Options) describe() string {
	if f := o.Features; f.Words > 0 {
		return fmt.Sprintf("ngram=1-%d words=3-%d word_min_df=%d word_scp=%g word_weight=%g trigrams=%t opening=%d pairs=%t min_df=%d sublinear=%t hash_bits=%d C=%g balanced=%t nb=%g",
			f.NGramMax, f.Words, f.WordMinDF, f.WordSCP, f.WordWeight, f.Trigrams, f.Opening, f.TokenPairs, f.MinDF, f.Sublinear, f.HashBits, o.SVM.C, o.SVM.Balanced, o.SVM.NBAlpha)
	}
	if o.Features.Trigrams || o.Features.Opening > 0 {
		return fmt.Sprintf("ngram=1-%d trigrams=%t opening=%d pairs=%t min_df=%d sublinear=%t hash_bits=%d C=%g balanced=%t nb=%g",
			o.Features.NGramMax, o.Features.Trigrams, o.Features.Opening, o.Features.TokenPairs, o.Features.MinDF, o.Features.Sublinear, o.Features.HashBits, o.SVM.C, o.SVM.Balanced, o.SVM.NBAlpha)
	}
	if o.SVM.NBAlpha > 0 {
		return fmt.Sprintf("ngram=1-%d pairs=%t min_df=%d sublinear=%t hash_bits=%d C=%g balanced=%t nb=%g",
			o.Features.NGramMax, o.Features.TokenPairs, o.Features.MinDF, o.Features.Sublinear, o.Features.HashBits, o.SVM.C, o.SVM.Balanced, o.SVM.NBAlpha)
	}
	return fmt.Sprintf("ngram=1-%d pairs=%t min_df=%d sublinear=%t hash_bits=%d C=%g balanced=%t",
		o.Features.NGramMax, o.Features.TokenPairs, o.Features.MinDF, o.Features.Sublinear, o.Features.HashBits, o.SVM.C, o.SVM.Balanced)
}
