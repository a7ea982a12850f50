package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gridflow/gridflow/services/classify/internal/classifier"
)

// modelFlags are the training choices `classify cv` and `classify train
// --data` share, so that a configuration measured by cv is the one trained.
type modelFlags struct {
	ngram     *int
	c         *float64
	balanced  *bool
	power     *float64
	selfTrain *string
	exclude   stringList
	minScore  *float64
	weight    *float64
	perLabel  *float64
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func addModelFlags(fs *flag.FlagSet) *modelFlags {
	d := classifier.DefaultOptions()
	f := &modelFlags{
		ngram:     fs.Int("ngram", d.Features.NGramMax, "longest n-gram: 1, 2, or 3 (Han trigrams)"),
		c:         fs.Float64("C", d.SVM.C, "SVM penalty"),
		balanced:  fs.Bool("balanced", d.SVM.Balanced, "weigh each class's positives by n/(L·n_class)"),
		power:     fs.Float64("class-weight-power", d.SVM.ClassWeightPower, "raise the balanced class weights to this power (2: small classes weigh more)"),
		selfTrain: fs.String("self-train", "", "unlabelled messages, JSONL with \"text\" or \"title\" and \"detail\", to self-train on"),
		minScore:  fs.Float64("self-min-score", d.SelfTrain.MinScore, "self-training: least decision value of the pseudo-label (the others must be negative)"),
		weight:    fs.Float64("self-weight", d.SelfTrain.Weight, "self-training: weight of a pseudo-labelled example, in (0, 1]"),
		perLabel:  fs.Float64("self-per-label", d.SelfTrain.PerLabel, "self-training: cap each label's pseudo-labels at this many times its labelled examples (0: no cap)"),
	}
	fs.Var(&f.exclude, "exclude", "labelled JSONL whose texts are removed from --self-train's (the evaluation data); repeatable")
	return f
}

// apply sets o from the flags; labelled is the training data, whose texts
// are removed from the self-training texts too, so that cross-validation
// never pseudo-labels a held-out fold's own message.
func (f *modelFlags) apply(o *classifier.Options, labelled []classifier.Example, stderr io.Writer) error {
	o.Features.NGramMax = *f.ngram
	o.SVM.C, o.SVM.Balanced, o.SVM.ClassWeightPower = *f.c, *f.balanced, *f.power
	o.SelfTrain = classifier.SelfTrain{MinScore: *f.minScore, Weight: *f.weight, PerLabel: *f.perLabel}
	if *f.selfTrain == "" {
		if len(f.exclude) > 0 {
			return errors.New("--exclude needs --self-train")
		}
		return nil
	}
	texts, err := readTexts(*f.selfTrain)
	if err != nil {
		return err
	}
	sets := [][]classifier.Example{labelled}
	for _, path := range f.exclude {
		ex, err := readExamples(path)
		if err != nil {
			return err
		}
		sets = append(sets, ex)
	}
	kept, dropped := classifier.DropTexts(texts, sets...)
	fmt.Fprintf(stderr, "self-training on %d texts of %s (%d dropped: the same text as a training or --exclude example)\n", len(kept), *f.selfTrain, dropped)
	o.SelfTrain.Texts = kept
	return nil
}

// CV implements
//
//	classify cv --data FILE.jsonl [--folds 5] [--seed 1] [--ngram N] [--C C] [--balanced]
//	            [--self-train UNLABELLED.jsonl --exclude DEV.jsonl …]
//
// It cross-validates a training configuration on the data, printing
// "fold=<k> macro_f1=<0.xxxx> accuracy=<0.xxxx> n=<test rows>" per fold and
// as its last line "macro_f1=<mean> sd=<sd> folds=<k> pooled_macro_f1=<…>",
// which scripts may parse. The defaults are DefaultOptions'. The same seed
// gives the same folds and figures.
func CV(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify cv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "labelled data, JSONL lines {\"id\",\"label\",\"text\"} (required)")
	folds := fs.Int("folds", 5, "number of folds")
	seed := fs.Uint64("seed", 1, "seed for fold assignment and solver order")
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
	if err := mf.apply(&o, examples, stderr); err != nil {
		return fmt.Errorf("cv: %w", err)
	}
	fmt.Fprintf(stdout, "options: %s\n", o.Describe())
	r, err := classifier.CrossValidate(ctx, examples, o, func(s string) { fmt.Fprintln(stderr, s) })
	if err != nil {
		return fmt.Errorf("cv: %w", err)
	}
	for i, f := range r.Folds {
		fmt.Fprintf(stdout, "fold=%d macro_f1=%.4f accuracy=%.4f n=%d\n", i+1, f.MacroF1, f.Accuracy, f.Test)
	}
	mean, sd := r.MeanSD()
	fmt.Fprintf(stdout, "macro_f1=%.4f sd=%.4f folds=%d pooled_macro_f1=%.4f\n", mean, sd, len(r.Folds), r.Pooled.MacroF1)
	return nil
}

// readTexts reads the texts of a JSONL file of messages: "text" when a line
// has it, else "title" followed by "detail" (the shared unlabelled messages),
// as the labelled files' texts are made.
func readTexts(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var out []string
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var m struct {
			Text   *string `json:"text"`
			Title  string  `json:"title"`
			Detail string  `json:"detail"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, line, err)
		}
		t := m.Title + m.Detail
		if m.Text != nil {
			t = *m.Text
		}
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("%s: line %d: no \"text\", \"title\" or \"detail\"", path, line)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
