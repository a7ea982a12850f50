package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/model"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// ServedReport is what `classify served` measures: the decision the service
// serves (keyword rules, the model, the thresholds), on labelled messages.
type ServedReport struct {
	N int
	// Review: messages that would wait for a dispatcher.
	Review int
	// Filed: messages filed under an item or a class; ClassRight of them
	// under the right first-level class.
	Filed, ClassRight int
	// Items: messages filed under an item (not a class, not the catch-all).
	Items int
	// Labelled: messages with an item label; LabelledItem of them labelled
	// with an item (not class only); ItemFiled: labelled messages filed
	// under an item; ItemRight: of those, the labelled item.
	Labelled, LabelledItem, ItemFiled, ItemRight int
	// ItemWrongClass: labelled messages filed under an item of a class
	// other than their gold one (wrong whatever the item).
	ItemWrongClass int
	// PerRule: for each way an item was filed on a labelled message (the
	// keyword rule, or "model"), how often it was filed and right.
	PerRule map[string][2]int
}

// ReviewShare is the share of messages sent to review.
func (r ServedReport) ReviewShare() float64 { return ratio(r.Review, r.N) }

// ClassAccuracy is the share of filed messages filed under their gold
// first-level class (a message in review is not filed, and counted by
// ReviewShare instead).
func (r ServedReport) ClassAccuracy() float64 { return ratio(r.ClassRight, r.Filed) }

// ItemShare is the share of all messages filed under an item.
func (r ServedReport) ItemShare() float64 { return ratio(r.Items, r.N) }

// ItemPrecision is, of the labelled messages filed under an item, the share
// filed under the labelled one; an item filed on a message labelled class
// only counts as wrong.
func (r ServedReport) ItemPrecision() float64 { return ratio(r.ItemRight, r.ItemFiled) }

// ItemRecall is, of the messages labelled with an item, the share filed
// under it.
func (r ServedReport) ItemRecall() float64 { return ratio(r.ItemRight, r.LabelledItem) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// MeasureServed decides every message with svc and compares the decisions
// with the gold first-level class (a class name or code in each example's
// label) and, where items holds the message's id, its item label (an item
// code, or a class code for class only).
func MeasureServed(svc *classify.Service, ref *reference.Set, texts []LabelledText, items map[string]string) ServedReport {
	r := ServedReport{PerRule: map[string][2]int{}}
	for _, m := range texts {
		r.N++
		p := svc.Preview(classify.Case{ID: m.ID, Source: reference.FromHotline, Content: m.Text})
		if !p.Found {
			r.Review++
			continue
		}
		r.Filed++
		classRight := false
		if fl, ok := ref.FirstLevel(p.Item.Code); ok && (fl.Name == m.Label || fl.Code == m.Label) {
			r.ClassRight++
			classRight = true
		}
		isItem := !p.Item.Class && !p.Item.CatchAll
		if isItem {
			r.Items++
		}
		want, labelled := items[m.ID]
		if !labelled {
			continue
		}
		if isItem {
			r.ItemFiled++
			if !classRight {
				r.ItemWrongClass++
			}
			key := string(p.Method)
			switch {
			case strings.Contains(p.Reason, "named by a keyword rule"):
				key = "item model, an item a rule names"
			case strings.Contains(p.Reason, "; item model "):
				key = "item model alone"
			case strings.Contains(p.Reason, "keyword rule "):
				i := strings.Index(p.Reason, "keyword rule ")
				key = strings.Fields(p.Reason[i+len("keyword rule "):])[0]
			}
			c := r.PerRule[key]
			c[0]++
			if p.Item.Code == want {
				r.ItemRight++
				c[1]++
			}
			r.PerRule[key] = c
		}
	}
	for _, m := range texts {
		if want, ok := items[m.ID]; ok {
			r.Labelled++
			if it, known := ref.Item(want); known && !it.Class {
				r.LabelledItem++
			}
		}
	}
	return r
}

// Add sums two reports of disjoint messages.
func (r ServedReport) Add(o ServedReport) ServedReport {
	r.N += o.N
	r.Review += o.Review
	r.Filed += o.Filed
	r.ClassRight += o.ClassRight
	r.Items += o.Items
	r.Labelled += o.Labelled
	r.LabelledItem += o.LabelledItem
	r.ItemFiled += o.ItemFiled
	r.ItemRight += o.ItemRight
	r.ItemWrongClass += o.ItemWrongClass
	per := map[string][2]int{}
	for _, m := range []map[string][2]int{r.PerRule, o.PerRule} {
		for k, c := range m {
			p := per[k]
			per[k] = [2]int{p[0] + c[0], p[1] + c[1]}
		}
	}
	r.PerRule = per
	return r
}

// LabelledText is one labelled message: its id, gold first-level class and
// text.
type LabelledText struct{ ID, Label, Text string }

// ReadTexts reads labelled messages, JSONL {"id","label","text"}.
func ReadTexts(path string) ([]LabelledText, error) {
	examples, err := readExamples(path)
	if err != nil {
		return nil, err
	}
	out := make([]LabelledText, len(examples))
	for i, e := range examples {
		out[i] = LabelledText{ID: e.ID, Label: e.Label, Text: e.Text}
	}
	return out, nil
}

// Served implements
//
//	classify served --model MODEL --data FILE.jsonl [--items FILE.tsv] [--keywords FILE] [--reference-dir DIR]
//
// It runs the service's automatic decision (keyword rules, the model, the
// thresholds, the service's defaults unless given) on every message, as a hotline work order, and prints
// per keyword rule how often an item it filed on a labelled message was
// right, then as its last line "review_share=… class_accuracy=…
// item_share=… item_precision=… n=…": the share sent to review, the share
// of filed messages under their gold first-level class, the share filed
// under an item, and of the messages in --items filed under an item, the
// share under the labelled one (a class-only label makes any item wrong).
// --model "" serves the default catalogue model.
func Served(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify served", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelPath := fs.String("model", "", "model file (default: the default catalogue model)")
	data := fs.String("data", "", "labelled messages, JSONL lines {\"id\",\"label\",\"text\"} with first-level labels (required)")
	itemsPath := fs.String("items", "", "item labels: lines \"<id>\\t<code>\" (# comments)")
	keywords := fs.String("keywords", "", "keyword rules file (default: the shipped rules)")
	refDir := fs.String("reference-dir", "", "reference data directory (default: the shipped set)")
	cfg := classify.DefaultConfig()
	fs.Float64Var(&cfg.ReviewThreshold, "review-threshold", cfg.ReviewThreshold, "CLASSIFY_REVIEW_THRESHOLD")
	fs.Float64Var(&cfg.ClassThreshold, "class-threshold", cfg.ClassThreshold, "CLASSIFY_CLASS_THRESHOLD")
	fs.Float64Var(&cfg.ItemThreshold, "item-threshold", cfg.ItemThreshold, "CLASSIFY_ITEM_THRESHOLD")
	fs.Float64Var(&cfg.ScopeThreshold, "scope-threshold", cfg.ScopeThreshold, "CLASSIFY_SCOPE_THRESHOLD")
	fs.IntVar(&cfg.ItemWindow, "item-window", cfg.ItemWindow, "CLASSIFY_ITEM_WINDOW")
	itemModelPath := fs.String("item-model", "", "item model file (CLASSIFY_ITEM_MODEL_FILE; default: none, keyword rules name items)")
	crossFit := fs.Bool("cross-fit-items", false, "measure the item model cross-fitted over the --items labels: each fold's messages decided by an item model trained and calibrated without them")
	history := fs.String("history", "", "with --cross-fit-items: the city's history, JSONL (weak item labels)")
	// issue 15: the thresholds chosen on hand-read labels of the history, not on --items
	historyItems := fs.String("history-items", "", "with --cross-fit-items: hand-read item labels of --history messages (testdata/train_items.tsv), learnt from; each fold's thresholds are chosen on their and the other folds' out-of-fold predictions together")
	itf := addItemFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		fs.Usage()
		return errors.New("served: --data is required")
	}
	ref, err := reference.LoadFrom(*refDir)
	if err != nil {
		return fmt.Errorf("served: reference data: %w", err)
	}
	rs, err := rules.Load(*keywords, ref)
	if err != nil {
		return fmt.Errorf("served: %w", err)
	}
	m, err := model.Load(ctx, *modelPath, ref)
	if err != nil {
		return fmt.Errorf("served: %w", err)
	}
	examples, err := readExamples(*data)
	if err != nil {
		return fmt.Errorf("served: %w", err)
	}
	texts := make([]LabelledText, len(examples))
	for i, e := range examples {
		texts[i] = LabelledText{ID: e.ID, Label: e.Label, Text: e.Text}
	}
	labels := map[string]ItemLabel{}
	if *itemsPath != "" {
		if labels, err = ReadItemLabels(*itemsPath, ref); err != nil {
			return fmt.Errorf("served: %w", err)
		}
	}
	items := Codes(labels, "")
	env := &itemEnv{ref: ref, rules: rs, model: m, texts: texts, labels: labels}
	var im classify.ItemModel
	if *itemModelPath != "" {
		s, err := readItemModel(*itemModelPath)
		if err != nil {
			return fmt.Errorf("served: %w", err)
		}
		im = ItemModel(s)
		fmt.Fprintf(stdout, "item model %s from %s: figures on labels it was trained on are not honest; use --cross-fit-items\n", s.Version(), *itemModelPath)
	}
	measure := func(items map[string]string) ServedReport {
		return MeasureServed(env.service(cfg, im), ref, texts, items)
	}
	if *crossFit {
		if *itemModelPath != "" || *itemsPath == "" {
			return errors.New("served: --cross-fit-items needs --items and no --item-model")
		}
		if *history != "" {
			if env.history, err = readExamples(*history); err != nil {
				return fmt.Errorf("served: %w", err)
			}
		}
		if *historyItems != "" && *history == "" {
			return errors.New("served: --history-items needs --history")
		}
		if err := env.readHistoryLabels(*historyItems); err != nil {
			return fmt.Errorf("served: %w", err)
		}
		if measure, err = crossFitItems(ctx, env, cfg, items, itf, stdout, stderr); err != nil {
			return fmt.Errorf("served: %w", err)
		}
	}
	r := measure(items)
	fmt.Fprintf(stdout, "served decision: model %s, %d keyword rules, %d messages, %d with item labels\n", m.Version(), rs.Len(), r.N, r.Labelled)
	keys := make([]string, 0, len(r.PerRule))
	for k := range r.PerRule {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "filed\tright\tprecision\t  item filed by")
	for _, k := range keys {
		c := r.PerRule[k]
		fmt.Fprintf(tw, "%d\t%d\t%.2f\t  %s\n", c[0], c[1], ratio(c[1], c[0]), k)
	}
	tw.Flush()
	var names []string
	for _, l := range labels {
		if l.Slice != "" && !slices.Contains(names, l.Slice) {
			names = append(names, l.Slice)
		}
	}
	slices.Sort(names)
	for _, sl := range names {
		sr := measure(Codes(labels, sl))
		fmt.Fprintf(stdout, "slice=%s labelled=%d labelled_with_item=%d item_filed=%d item_right=%d item_precision=%.4f item_recall=%.4f\n",
			sl, sr.Labelled, sr.LabelledItem, sr.ItemFiled, sr.ItemRight, sr.ItemPrecision(), sr.ItemRecall())
	}
	fmt.Fprintf(stdout, "labelled=%d labelled_with_item=%d item_filed=%d item_right=%d item_wrong_class=%d item_recall=%.4f\n",
		r.Labelled, r.LabelledItem, r.ItemFiled, r.ItemRight, r.ItemWrongClass, r.ItemRecall())
	fmt.Fprintf(stdout, "review_share=%.4f class_accuracy=%.4f item_share=%.4f item_precision=%.4f n=%d\n",
		r.ReviewShare(), r.ClassAccuracy(), r.ItemShare(), r.ItemPrecision(), r.N)
	return nil
}

// ItemLabel is one message's item label: an item code, or a class code for
// class only, and the slice of the label file it belongs to ("" when the
// file names none).
type ItemLabel struct{ Code, Slice string }

// ReadItemLabels reads an item label file: lines "<id>\t<code>[\t<slice>]",
// blank lines and "#" comments ignored; every code must be an active
// catalogue item or class of ref (a retired code is refused: label with the
// successor).
func ReadItemLabels(path string, ref *reference.Set) (map[string]ItemLabel, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]ItemLabel{}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		fields := strings.Split(s, "\t")
		if len(fields) < 2 || len(fields) > 3 || fields[0] == "" || fields[1] == "" {
			return nil, fmt.Errorf("%s:%d: want \"<id>\\t<code>[\\t<slice>]\"", path, line)
		}
		id, code := fields[0], fields[1]
		if it, known := ref.Item(code); !known || it.Code != code {
			return nil, fmt.Errorf("%s:%d: %q is not an active catalogue code", path, line, code)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("%s:%d: id %s labelled twice", path, line, id)
		}
		l := ItemLabel{Code: code}
		if len(fields) == 3 {
			l.Slice = fields[2]
		}
		out[id] = l
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Codes maps the labels of one slice ("" for all) to their codes.
func Codes(labels map[string]ItemLabel, slice string) map[string]string {
	out := map[string]string{}
	for id, l := range labels {
		if slice == "" || l.Slice == slice {
			out[id] = l.Code
		}
	}
	return out
}
