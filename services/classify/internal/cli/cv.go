package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/gridflow/gridflow/services/classify/internal/classifier"
)

// modelFlags are the training choices `classify cv` measures; their
// defaults are DefaultOptions', which `classify train --data` uses.
type modelFlags struct {
	ngram    *int
	c        *float64
	balanced *bool
	nb       *float64
	// issue 15, measured
	trigrams *bool
	opening  *int
	// issue 15, round 3
	words      *int
	wordMinDF  *int
	wordSCP    *float64
	wordWeight *float64
	nbMix      *float64
	balPow     *float64
	// issue 15, round 4
	lrMix *float64
	lrC   *float64
	// issue 15, round 9
	knn, knnPower, knnMaxDF *float64
	knnK, knnMax            *int
}

func addModelFlags(fs *flag.FlagSet) *modelFlags {
	d := classifier.DefaultOptions()
	return &modelFlags{
		ngram:    fs.Int("ngram", d.Features.NGramMax, "longest character n-gram: 1 or 2"),
		c:        fs.Float64("C", d.SVM.C, "SVM penalty"),
		balanced: fs.Bool("balanced", d.SVM.Balanced, "weigh each class's positives by n/(L·n_class)"),
		nb:       fs.Float64("nb", d.SVM.NBAlpha, "naive-Bayes feature scaling (NBSVM) with this smoothing; 0 off"),
		trigrams: fs.Bool("trigrams", d.Features.Trigrams, "also Han trigrams (pairs of overlapping character-bigram words)"),
		opening:  fs.Int("opening", d.Features.Opening, "also the unigrams and bigrams of the first N tokens (the title) as features of their own; 0 off"),
		// issue 15, round 3
		words:      fs.Int("words", d.Features.Words, "also Han runs of 3..N characters kept as words by the training data (3 or 4; 0 off)"),
		wordMinDF:  fs.Int("word-min-df", d.Features.WordMinDF, "documents a word must appear in (0: the characters' min df)"),
		wordSCP:    fs.Float64("word-scp", d.Features.WordSCP, "least symmetric conditional probability df(w)²/(df(prefix)·df(suffix)) of a word; 0 no test"),
		wordWeight: fs.Float64("word-weight", d.Features.WordWeight, "normalise the words apart, scaled by this; 0 together with the characters"),
		nbMix:      fs.Float64("nb-mix", d.SVM.NBMix, "also train a plain SVM and average it in with this weight (with --nb); 0 off"),
		balPow:     fs.Float64("balance-power", d.SVM.BalancePower, "raise the balanced class weights to this power (0: 1)"),
		// issue 15, round 4
		lrMix: fs.Float64("lr-mix", d.SVM.LogRegMix, "also fit a multinomial logistic regression and average it in with this weight; 0 off"),
		lrC:   fs.Float64("lr-C", d.SVM.LogRegC, "the logistic regression's penalty (0: 100)"),
		// issue 15, round 9
		knn:      fs.Float64("knn", d.KNN.Weight, "add the vote of the nearest training messages with this weight; 0 off"),
		knnK:     fs.Int("knn-k", d.KNN.K, "training messages that vote"),
		knnPower: fs.Float64("knn-power", d.KNN.Power, "a vote weighs the similarity to this power"),
		knnMaxDF: fs.Float64("knn-max-df", d.KNN.MaxDF, "the similarity reads the features of at most this fraction of the training messages (0: all)"),
		knnMax:   fs.Int("knn-max", d.KNN.MaxExemplars, "training messages kept to vote, a seeded sample of a longer history (0: "+strconv.Itoa(classifier.DefaultMaxExemplars)+")"),
	}
}

func (f *modelFlags) apply(o *classifier.Options) {
	o.Features.NGramMax = *f.ngram
	o.SVM.C, o.SVM.Balanced, o.SVM.NBAlpha = *f.c, *f.balanced, *f.nb
	o.Features.Trigrams, o.Features.Opening = *f.trigrams, *f.opening
	o.Features.Words, o.Features.WordMinDF, o.Features.WordSCP, o.Features.WordWeight = *f.words, *f.wordMinDF, *f.wordSCP, *f.wordWeight
	o.SVM.NBMix, o.SVM.BalancePower = *f.nbMix, *f.balPow
	o.SVM.LogRegMix, o.SVM.LogRegC = *f.lrMix, *f.lrC
	o.KNN = classifier.KNNParams{Weight: *f.knn, K: *f.knnK, Power: *f.knnPower, MaxDF: *f.knnMaxDF, MaxExemplars: *f.knnMax}
}

// CV implements
//
//	classify cv --data FILE.jsonl [--folds 5] [--seed 1] [--seeds 1] [--ngram N] [--C C] [--balanced] …
//
// It cross-validates a training configuration on the data, printing per
// fold "fold=<k> macro_f1=… accuracy=… served_macro_f1=… served_accuracy=…
// n=<test rows>" and as its last line "macro_f1=<mean> sd=<sd> folds=<k>
// pooled_macro_f1=… served_macro_f1=<mean> served_sd=<sd>", which scripts may
// parse. macro_f1 takes the label of the highest raw score (Train's CV
// estimate); served_macro_f1 the label of the highest calibrated confidence,
// what the model answers, with the calibration fitted inside the fold. The defaults are DefaultOptions'. The same seed
// gives the same folds and figures. With --seeds N > 1 it does so for the
// fold seeds seed…seed+N−1, prefixing each of their lines "seed=<s> ", and
// ends with "seeds=<a>-<b> macro_f1=<mean of the seeds' means>
// seed_sd=<sd> min=… max=… served_macro_f1=<mean> served_seed_sd=<sd>"
// (issue 15: configurations are chosen by that mean over seeds 1–5).
func CV(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify cv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "labelled data, JSONL lines {\"id\",\"label\",\"text\"} (required)")
	folds := fs.Int("folds", 5, "number of folds")
	seed := fs.Uint64("seed", 1, "seed for fold assignment and solver order")
	seeds := fs.Int("seeds", 1, "cross-validate over this many fold seeds from --seed on, then print their mean")
	mf := addModelFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		fs.Usage()
		return errors.New("cv: --data is required")
	}
	examples, err := readExamples(*data)
	if err != nil {
		return fmt.Errorf("cv: %w", err)
	}
	o := classifier.DefaultOptions()
	o.CVFolds, o.Seed = *folds, *seed
	mf.apply(&o)
	fmt.Fprintf(stdout, "options: %s\n", o.Describe())
	if *seeds < 1 {
		return fmt.Errorf("cv: --seeds %d: want at least 1", *seeds)
	}
	var raw, served []float64
	for s := range uint64(*seeds) {
		o.Seed = *seed + s
		r, err := classifier.CrossValidate(ctx, examples, o, func(s string) { fmt.Fprintln(stderr, s) })
		if err != nil {
			return fmt.Errorf("cv: %w", err)
		}
		prefix := ""
		if *seeds > 1 {
			prefix = fmt.Sprintf("seed=%d ", o.Seed)
		}
		for i, f := range r.Folds {
			fmt.Fprintf(stdout, "%sfold=%d macro_f1=%.4f accuracy=%.4f served_macro_f1=%.4f served_accuracy=%.4f n=%d\n",
				prefix, i+1, f.MacroF1, f.Accuracy, f.ServedMacroF1, f.ServedAccuracy, f.Test)
		}
		mean, sd := r.MeanSD()
		smean, ssd := r.ServedMeanSD()
		fmt.Fprintf(stdout, "%smacro_f1=%.4f sd=%.4f folds=%d pooled_macro_f1=%.4f served_macro_f1=%.4f served_sd=%.4f\n",
			prefix, mean, sd, len(r.Folds), r.Pooled.MacroF1, smean, ssd)
		raw, served = append(raw, mean), append(served, smean)
	}
	if *seeds > 1 {
		mean, sd := meanSD(raw)
		smean, ssd := meanSD(served)
		fmt.Fprintf(stdout, "seeds=%d-%d macro_f1=%.4f seed_sd=%.4f min=%.4f max=%.4f served_macro_f1=%.4f served_seed_sd=%.4f\n",
			*seed, *seed+uint64(*seeds)-1, mean, sd, slices.Min(raw), slices.Max(raw), smean, ssd)
	}
	return nil
}

// meanSD is the mean and the sample standard deviation of xs.
func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x / float64(len(xs))
	}
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}
