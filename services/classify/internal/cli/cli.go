// Package cli implements the classify subcommands "train" and "eval". Each
// is a function of its arguments and output streams, so main only picks the
// subcommand and tests run them in process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gridflow/gridflow/services/classify/internal/classifier"
)

// Train implements
//
//	classify train --data FILE.jsonl --out MODEL [--cv 5] [--search] [--seed 1]
//	classify train --default --out MODEL
//	classify train --source KIND[:WEIGHT][=FILE] … --out MODEL [--label first-level] [--keep-holdout]
//
// With --data or --source it takes `classify cv`'s model options too (--C,
// --nb, --nb-mix, --balance-power, --words …; defaults DefaultOptions'), so
// a configuration cv measured can be trained as it was measured.
// --default trains the default catalogue model (item-code labels) on the
// built-in corpus with its own options. --source mixes several sources, each
// with a weight (default 1) that scales its examples' penalty: history=FILE
// (the city's labelled cases; the held-out slice the promotion gate measures
// on is left out unless --keep-holdout), corrections=FILE (what `gridctl
// export corrections` writes) and builtin (the built-in corpus). --label
// first-level maps every label to its first-level hotline class name through
// the catalogue (--reference-dir, else the shipped set), which mixing the
// built-in corpus (item codes) with a city's history (class names) needs. Progress goes to stderr; the cross-validated estimate and the model's
// identity go to stdout. The model file is written atomically: an existing
// file at --out is replaced only by a complete model.
func Train(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "training data, JSONL lines {\"id\",\"label\",\"text\"} (required)")
	out := fs.String("out", "", "where to write the model (required)")
	folds := fs.Int("cv", 5, "folds of the cross-validation used for the estimate and the calibration")
	search := fs.Bool("search", false, "choose hyper-parameters by cross-validation over the default grid first (slow)")
	seed := fs.Uint64("seed", 1, "seed for fold assignment and solver order")
	builtin := fs.Bool("default", false, "train the default catalogue model on the built-in corpus instead of --data")
	var sources sourceFlags
	fs.Var(&sources, "source", "a training source KIND[:WEIGHT][=FILE]: history=FILE, corrections=FILE or builtin; repeatable")
	label := fs.String("label", "as-is", "labels: as-is, or first-level (map every label to its first-level hotline class name)")
	keepHoldout := fs.Bool("keep-holdout", false, "train on the history's held-out slice too (the gate then measures the model on cases it has seen)")
	refDir := fs.String("reference-dir", "", "reference data directory for --label first-level (default: the shipped set)")
	// issue 15, round 3: the options `classify cv` measures, for --data and --source
	mf := addModelFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	modes := 0
	for _, set := range []bool{*data != "", *builtin, len(sources) > 0} {
		if set {
			modes++
		}
	}
	if modes != 1 || *out == "" {
		fs.Usage()
		return errors.New("train: --out and exactly one of --data and --default are required, or --source (repeatable) instead of both")
	}
	if *label != "as-is" && *label != "first-level" {
		return fmt.Errorf("train: --label %q: want as-is or first-level", *label)
	}
	opts := classifier.DefaultOptions()
	var (
		examples []classifier.Example
		err      error
	)
	switch {
	case *builtin:
		opts = classifier.DefaultCorpusOptions()
		examples, err = classifier.DefaultCorpus()
	case *data != "":
		examples, err = readExamples(*data)
	default:
		var mapLabel func(string) (string, error)
		if *label == "first-level" {
			if mapLabel, err = firstLevelMapper(*refDir); err != nil {
				return fmt.Errorf("train: %w", err)
			}
		}
		examples, opts.Sources, err = mixSources(sources, mapLabel, !*keepHoldout)
		for _, s := range opts.Sources {
			fmt.Fprintf(stderr, "source %s %s: weight %g, %d examples (%d held out)\n", s.Kind, s.Name, s.Weight, s.Examples, s.HeldOut)
		}
	}
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	progress := func(s string) { fmt.Fprintln(stderr, s) }
	if !*builtin {
		mf.apply(&opts)
	}
	opts.CVFolds, opts.Seed = *folds, *seed
	if *search {
		start := time.Now()
		best, results, err := classifier.Search(ctx, examples, opts, classifier.DefaultGrid(), progress)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		fmt.Fprintf(stdout, "search: %d candidates in %s; best by cv macro-F1:\n", len(results), time.Since(start).Round(time.Second))
		for _, r := range results[:min(5, len(results))] {
			fmt.Fprintf(stdout, "  cv_macro_f1=%.4f cv_accuracy=%.4f  %s\n", r.CV.MacroF1, r.CV.Accuracy, r.Options.Describe())
		}
		opts = best
	}
	start := time.Now()
	m, err := classifier.Train(ctx, examples, opts, progress)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	took := time.Since(start)
	size, err := writeModel(*out, m)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	info := m.Info()
	fmt.Fprintf(stdout, "model %s written to %s (%d bytes) in %s\n", m.Version(), *out, size, took.Round(time.Millisecond))
	fmt.Fprintf(stdout, "labels=%d features=%d examples=%d data_sha256=%s\n", len(info.Labels), info.Dim, info.Examples, info.DataSHA256)
	fmt.Fprintf(stdout, "options: %s\n", opts.Describe())
	for _, s := range info.Sources {
		fmt.Fprintf(stdout, "source %s %s weight=%g examples=%d held_out=%d data_sha256=%s\n", s.Kind, s.Name, s.Weight, s.Examples, s.HeldOut, s.DataSHA256)
	}
	fmt.Fprintf(stdout, "cv_folds=%d cv_accuracy=%.4f cv_macro_f1=%.4f\n", info.CV.Folds, info.CV.Accuracy, info.CV.MacroF1)
	return nil
}

// Eval implements
//
//	classify eval --model MODEL --data FILE.jsonl
//
// It prints per-label precision, recall and F1, the confusion matrix, and
// as its last line exactly "accuracy=<0.xxxx> macro_f1=<0.xxxx> n=<rows>",
// which scripts may parse.
func Eval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelPath := fs.String("model", "", "model file written by classify train (required)")
	data := fs.String("data", "", "labelled data, JSONL lines {\"id\",\"label\",\"text\"} (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *modelPath == "" || *data == "" {
		fs.Usage()
		return errors.New("eval: --model and --data are required")
	}
	m, err := readModel(*modelPath)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	examples, err := readExamples(*data)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if len(examples) == 0 {
		return fmt.Errorf("eval: %s holds no examples", *data)
	}
	known := m.Labels()
	var unknown []string
	for _, e := range examples {
		if _, ok := slices.BinarySearch(known, e.Label); !ok && !slices.Contains(unknown, e.Label) {
			unknown = append(unknown, e.Label)
		}
	}
	if len(unknown) > 0 {
		fmt.Fprintf(stderr, "warning: labels the model cannot predict: %s\n", strings.Join(unknown, ", "))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	info := m.Info()
	r := classifier.EvaluateModel(m, examples, nil)
	fmt.Fprintf(stdout, "model %s: %d labels, trained %s on %d examples, cv macro_f1=%.4f\n",
		m.Version(), len(info.Labels), info.TrainedAt.Format(time.DateOnly), info.Examples, info.CV.MacroF1)
	writeReport(stdout, r)
	return nil
}

// parse parses args and refuses positional arguments, which would otherwise
// be silently ignored (a typo such as "-data x y").
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

func writeReport(w io.Writer, r classifier.Report) {
	// The label comes last: tabwriter counts runes, and Han characters are
	// two columns wide on a terminal, so an inner label column would skew.
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "#\tprecision\trecall\tf1\tsupport\tpredicted\t  label")
	for i, s := range r.PerLabel {
		fmt.Fprintf(tw, "%d\t%.4f\t%.4f\t%.4f\t%d\t%d\t  %s\n", i+1, s.Precision, s.Recall, s.F1, s.Support, s.Predicted, s.Label)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nconfusion matrix (rows: gold #, columns: predicted #):")
	tw = tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for j := range r.Labels {
		fmt.Fprintf(tw, "%d\t", j+1)
	}
	fmt.Fprintln(tw)
	for i, row := range r.Confusion {
		fmt.Fprintf(tw, "%d\t", i+1)
		for _, c := range row {
			fmt.Fprintf(tw, "%d\t", c)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(w, "\naccuracy=%.4f macro_f1=%.4f n=%d\n", r.Accuracy, r.MacroF1, r.N)
}

func readExamples(path string) ([]classifier.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ex, err := classifier.ReadJSONL(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ex, nil
}

func readModel(path string) (*classifier.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := classifier.Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// writeModel writes m to a temporary file beside path and renames it into
// place, so that readers never see a half-written model.
func writeModel(path string, m *classifier.Model) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, err
	}
	// Removing fails harmlessly once the file has been renamed into place.
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600; a model is not a secret.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := m.Save(tmp); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return 0, err
	}
	st, err := tmp.Stat()
	if err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, err
	}
	return st.Size(), nil
}
