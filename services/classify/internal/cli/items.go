package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classifier"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/itemmodel"
	"github.com/gridflow/gridflow/services/classify/internal/model"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// itemSources are the weights of what the item model learns from besides
// the hand-read labels (weight 1).
type itemSources struct {
	builtin, weak, weakClassOnly, hand float64
}

func defaultItemSources() itemSources {
	return itemSources{builtin: 1, weak: 1, weakClassOnly: 1, hand: 3}
}

// itemFlags are the item model's training choices, for measuring variants.
type itemFlags struct {
	o itemmodel.Options
	w itemSources
}

func addItemFlags(fs *flag.FlagSet) *itemFlags {
	f := &itemFlags{o: itemmodel.DefaultOptions(), w: defaultItemSources()}
	fs.Float64Var(&f.o.Target, "item-target", f.o.Target, "item model: the precision its thresholds are chosen for on the --items labels (without --history-items)")
	fs.Float64Var(&f.o.CalibTarget, "item-calib-target", f.o.CalibTarget, "item model: the precision its thresholds are chosen for on the --history-items and --items labels together (with --history-items)")
	fs.IntVar(&f.o.Window, "item-read", f.o.Window, "item model: opening characters it reads (0 all)")
	fs.Float64Var(&f.o.Classifier.SVM.C, "item-C", f.o.Classifier.SVM.C, "item model: SVM penalty")
	fs.IntVar(&f.o.Classifier.Features.MinDF, "item-mindf", f.o.Classifier.Features.MinDF, "item model: min document frequency")
	fs.BoolVar(&f.o.HintFeatures, "item-hint-features", f.o.HintFeatures, "item model: read the items keyword rules name as features")
	fs.Float64Var(&f.w.builtin, "item-w-builtin", f.w.builtin, "item model: weight of the built-in corpus (0 leaves it out)")
	fs.Float64Var(&f.w.weak, "item-w-weak", f.w.weak, "item model: weight of keyword-rule items on the history")
	fs.Float64Var(&f.w.weakClassOnly, "item-w-weak-class", f.w.weakClassOnly, "item model: weight of history messages no rule names an item of (class only)")
	fs.Float64Var(&f.w.hand, "item-w-hand", f.w.hand, "item model: weight of the hand-read labels")
	return f
}

// itemClassOf maps a code to its first-level hotline class code.
func itemClassOf(ref *reference.Set) func(string) (string, bool) {
	return func(code string) (string, bool) {
		fl, ok := ref.FirstLevel(code)
		if !ok || fl.Tree != reference.TreeHotline {
			return "", false
		}
		return fl.Code, true
	}
}

// itemBase is the item model's training data other than hand-read labels:
// the built-in corpus's hotline items, and weak labels on the city's history
// (each message's gold class, the item a within_class keyword rule names
// there within the item window, or the class for class only). History
// messages in read (they have a hand-read label, learnt from instead) get
// no weak label.
func itemBase(ref *reference.Set, rs *rules.Set, history []classifier.Example, read map[string]string, window int, w itemSources) ([]itemmodel.Labelled, error) {
	var out []itemmodel.Labelled
	if w.builtin > 0 {
		corpus, err := classifier.DefaultCorpus()
		if err != nil {
			return nil, err
		}
		for _, e := range corpus {
			it, ok := model.Resolve(ref, e.Label)
			if !ok || it.Tree != reference.TreeHotline || it.Class || it.CatchAll {
				continue
			}
			fl, _ := ref.FirstLevel(it.Code)
			out = append(out, itemmodel.Labelled{ID: "builtin:" + e.ID, Text: e.Text, Code: it.Code, Weight: w.builtin,
				Hints: classify.HintsIn(rs.Match(e.Text), fl.Code, ref, window)})
		}
	}
	for _, e := range history {
		if _, ok := read[e.ID]; ok {
			continue
		}
		cl, ok := model.Resolve(ref, e.Label)
		if !ok {
			return nil, fmt.Errorf("history %s: label %q is not in the catalogue", e.ID, e.Label)
		}
		fl, ok := ref.FirstLevel(cl.Code)
		if !ok {
			return nil, fmt.Errorf("history %s: label %q counts under no first-level class", e.ID, e.Label)
		}
		hints := classify.HintsIn(rs.Match(e.Text), fl.Code, ref, window)
		if len(hints) > 0 {
			if w.weak > 0 {
				out = append(out, itemmodel.Labelled{ID: "weak:" + e.ID, Text: e.Text, Code: hints[0], Weight: w.weak, Hints: hints})
			}
		} else if w.weakClassOnly > 0 {
			out = append(out, itemmodel.Labelled{ID: "weak:" + e.ID, Text: e.Text, Code: fl.Code, Weight: w.weakClassOnly})
		}
	}
	return out, nil
}

// itemTuned pairs each hand-read label with what the served decision under
// cfg does before the item step: the class it files the message under when
// the item step applies (the model's class, sure enough), and the item a
// keyword rule names there.
func (e *itemEnv) itemTuned(cfg classify.Config, texts []LabelledText, labels map[string]string, w float64) []itemmodel.Tuned {
	off := cfg
	off.ItemThreshold = 2 // the item step off: Preview answers the class
	svc := e.service(off, nil)
	return e.tunedWith(cfg, texts, labels, w, func(string) *classify.Service { return svc })
}

// tunedWith is itemTuned with the message id's served decision svcOf(id)
// (its item step off).
func (e *itemEnv) tunedWith(cfg classify.Config, texts []LabelledText, labels map[string]string, w float64, svcOf func(id string) *classify.Service) []itemmodel.Tuned {
	var out []itemmodel.Tuned
	for _, m := range texts {
		code, ok := labels[m.ID]
		if !ok {
			continue
		}
		rr := e.rules.Match(m.Text)
		t := itemmodel.Tuned{Labelled: itemmodel.Labelled{ID: m.ID, Text: m.Text, Code: code, Weight: w}}
		if fl, ok := e.ref.FirstLevel(code); ok {
			t.Labelled.Hints = classify.HintsIn(rr, fl.Code, e.ref, cfg.ItemWindow)
		}
		p := svcOf(m.ID).Preview(classify.Case{ID: m.ID, Source: reference.FromHotline, Content: m.Text})
		if p.Found && (p.Method == classify.MethodModel || p.Method == classify.MethodModelClass) &&
			p.Item.Class && cfg.ItemThreshold <= 1 && p.Confidence >= cfg.ItemThreshold {
			t.Class, t.ClassConf = p.Item.Code, p.Confidence
			t.Hints = classify.HintsIn(rr, t.Class, e.ref, cfg.ItemWindow)
		}
		out = append(out, t)
	}
	return out
}

// historyFolds is how many class models historyTuned cross-fits.
const historyFolds = 5

// historyTuned is itemTuned for hand-read labels of history messages (issue
// 15: the item thresholds are chosen on them with the other folds' labels,
// never on the fold a figure is measured on). The served class model was trained on the history, so its
// class for a history message is in-sample — right far more often, and
// surer, than for a new message — and thresholds chosen on it would be too
// lax: each message is decided instead by a class model trained like the
// served one (its features and SVM options) on the history without the
// message's fold (historyFolds by a hash of the id).
func (e *itemEnv) historyTuned(ctx context.Context, cfg classify.Config, labels map[string]string, w float64) ([]itemmodel.Tuned, error) {
	if len(labels) == 0 {
		return nil, nil
	}
	byID := map[string]classifier.Example{}
	for _, h := range e.history {
		byID[h.ID] = h
	}
	var texts []LabelledText
	for id := range labels {
		h, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("history item label %s: no such message in the history", id)
		}
		texts = append(texts, LabelledText{ID: h.ID, Label: h.Label, Text: h.Text})
	}
	slices.SortFunc(texts, func(a, b LabelledText) int { return cmp.Compare(a.ID, b.ID) })
	info := e.model.Classifier().Info()
	opts := classifier.DefaultOptions()
	opts.Features, opts.SVM = info.Features, info.SVM
	if info.CV.Folds >= 2 {
		opts.CVFolds = info.CV.Folds
	}
	opts.Now = func() time.Time { return info.TrainedAt }
	off := cfg
	off.ItemThreshold = 2
	svcs := make([]*classify.Service, historyFolds)
	for k := range historyFolds {
		var train []classifier.Example
		for _, h := range e.history {
			if itemmodel.Fold(h.ID, "history-class", historyFolds) != k {
				train = append(train, h)
			}
		}
		cm, err := classifier.Train(ctx, train, opts, nil)
		if err != nil {
			return nil, fmt.Errorf("history class model %d: %w", k+1, err)
		}
		m, err := model.Wrap(cm, fmt.Sprintf("history fold %d", k+1), e.ref)
		if err != nil {
			return nil, err
		}
		svcs[k] = e.serviceWith(off, m, nil)
	}
	return e.tunedWith(cfg, texts, labels, w, func(id string) *classify.Service {
		return svcs[itemmodel.Fold(id, "history-class", historyFolds)]
	}), nil
}

// itemModelAdapter serves an itemmodel.Set as classify's ItemModel.
type itemModelAdapter struct{ s *itemmodel.Set }

func (a itemModelAdapter) Version() string { return a.s.Version() }

func (a itemModelAdapter) Item(class, text string, classConf float64, hints []string) classify.ItemChoice {
	c := a.s.Item(class, text, classConf, hints)
	return classify.ItemChoice{Code: c.Code, Probability: c.Probability, Covered: c.Covered, Agreed: c.Agreed}
}

// ItemModel serves s as classify's item model (nil for nil).
func ItemModel(s *itemmodel.Set) classify.ItemModel {
	if s == nil {
		return nil
	}
	return itemModelAdapter{s}
}

// TrainItems implements
//
//	classify train-items --history train.jsonl --data dev.jsonl --items dev_items.tsv --out ITEMS [--model M]
//
// It trains the item model served (CLASSIFY_ITEM_MODEL_FILE) on the
// built-in corpus, weak labels on the history and every hand-read label,
// with thresholds chosen on out-of-fold predictions of the hand-read labels
// under the served first-level decision (--model, the city's model). The
// figures it prints are estimates on labels it trains on; `classify served
// --cross-fit-items` gives the honest ones.
func TrainItems(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify train-items", flag.ContinueOnError)
	fs.SetOutput(stderr)
	history := fs.String("history", "", "the city's labelled history, JSONL with first-level labels (weak item labels)")
	data := fs.String("data", "", "messages with hand-read item labels, JSONL {\"id\",\"label\",\"text\"} (required)")
	itemsPath := fs.String("items", "", "hand-read item labels: lines \"<id>\\t<code>[\\t<slice>]\" (required)")
	modelPath := fs.String("model", "", "the first-level model served (default: the default catalogue model)")
	out := fs.String("out", "", "where to write the item model (required)")
	refDir := fs.String("reference-dir", "", "reference data directory (default: the shipped set)")
	keywords := fs.String("keywords", "", "keyword rules file (default: the shipped rules)")
	// issue 15, the item model in the registry: the gate's held-out slice
	// stays out of the model it measures.
	leaveOut := fs.String("leave-out", "", "a slice of --items not to train on (the gate's held-out slice, CLASSIFY_ITEM_HOLDOUT_SLICE)")
	// issue 15, thresholds chosen off the measured labels: hand-read labels
	// of --history messages to calibrate on.
	historyItems := fs.String("history-items", "", "hand-read item labels of --history messages (testdata/train_items.tsv): learnt from, and the thresholds chosen on their and the --items labels' out-of-fold predictions together")
	f := addItemFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || *itemsPath == "" || *out == "" {
		fs.Usage()
		return errors.New("train-items: --data, --items and --out are required")
	}
	if *historyItems != "" && *history == "" {
		return errors.New("train-items: --history-items needs --history")
	}
	env, err := loadItemEnv(ctx, *refDir, *keywords, *modelPath, *history, *data, *itemsPath)
	if err != nil {
		return fmt.Errorf("train-items: %w", err)
	}
	if err := env.readHistoryLabels(*historyItems); err != nil {
		return fmt.Errorf("train-items: %w", err)
	}
	cfg := classify.DefaultConfig()
	read := Codes(env.historyLabels, "")
	base, err := itemBase(env.ref, env.rules, env.history, read, cfg.ItemWindow, f.w)
	if err != nil {
		return fmt.Errorf("train-items: %w", err)
	}
	tuned := env.itemTuned(cfg, env.texts, CodesExcept(env.labels, *leaveOut), f.w.hand)
	if *leaveOut != "" && len(tuned) == len(env.labels) {
		return fmt.Errorf("train-items: --leave-out %q: no label of --items is in that slice", *leaveOut)
	}
	calib, err := env.historyTuned(ctx, cfg, read, f.w.hand)
	if err != nil {
		return fmt.Errorf("train-items: %w", err)
	}
	s, est, err := buildItems(ctx, base, tuned, calib, itemClassOf(env.ref), f.o)
	if err != nil {
		return fmt.Errorf("train-items: %w", err)
	}
	if err := writeItemModel(*out, s); err != nil {
		return fmt.Errorf("train-items: %w", err)
	}
	fmt.Fprintf(stdout, "item model %s written to %s: %d classes, %d base examples, %d hand-read labels, %d hand-read history labels, thresholds %s\n",
		s.Version(), *out, len(s.Classes()), len(base), len(tuned), len(calib), s.Thresholds())
	on := "the --items labels"
	if len(calib) > 0 {
		on = "the --history-items and --items labels together"
	}
	fmt.Fprintf(stdout, "out-of-fold estimate the thresholds were chosen on (%s; not an honest figure): precision %.4f, %d of %d filed\n",
		on, est.Precision(), est.Filed, est.N)
	return nil
}

func writeItemModel(path string, s *itemmodel.Set) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".items-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := s.Save(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// buildItems builds the set served from base and the hand-read labels:
// with calib (labels of history messages) the thresholds are chosen on the
// out-of-fold predictions of calib and tuned together, at o.CalibTarget
// (issue 15: every label, as each cross-fitted fold is calibrated on every
// label but its own); without, on tuned's at o.Target.
func buildItems(ctx context.Context, base []itemmodel.Labelled, tuned, calib []itemmodel.Tuned, classOf func(string) (string, bool), o itemmodel.Options) (*itemmodel.Set, itemmodel.Outcome, error) {
	if len(calib) == 0 {
		return itemmodel.Build(ctx, base, tuned, classOf, o)
	}
	return itemmodel.BuildOn(ctx, base, nil, itemmodel.Calibrated(calib, tuned), classOf, o)
}

// itemEnv is what item training and measuring read.
type itemEnv struct {
	ref     *reference.Set
	rules   *rules.Set
	model   *model.Model
	history []classifier.Example
	texts   []LabelledText
	labels  map[string]ItemLabel
	// historyLabels are hand-read item labels of history messages.
	historyLabels map[string]ItemLabel
}

// readHistoryLabels reads the hand-read item labels of history messages at
// path ("" for none): every id a message of the history, every code inside
// that message's gold class.
func (e *itemEnv) readHistoryLabels(path string) error {
	e.historyLabels = map[string]ItemLabel{}
	if path == "" {
		return nil
	}
	labels, err := ReadItemLabels(path, e.ref)
	if err != nil {
		return err
	}
	if err := CheckHistoryLabels(e.ref, e.history, Codes(labels, "")); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	e.historyLabels = labels
	return nil
}

// CheckHistoryLabels checks hand-read item labels (id → code) of history
// messages: every id a message of history, every code inside that
// message's gold class.
func CheckHistoryLabels(ref *reference.Set, history []classifier.Example, labels map[string]string) error {
	gold := map[string]string{}
	for _, h := range history {
		gold[h.ID] = h.Label
	}
	for _, id := range slices.Sorted(maps.Keys(labels)) {
		code := labels[id]
		g, ok := gold[id]
		if !ok {
			return fmt.Errorf("id %s is not a message of the history", id)
		}
		gc, ok := model.Resolve(ref, g)
		if !ok {
			return fmt.Errorf("id %s: history label %q is not in the catalogue", id, g)
		}
		gfl, ok1 := ref.FirstLevel(gc.Code)
		lfl, ok2 := ref.FirstLevel(code)
		if !ok1 || !ok2 || gfl.Code != lfl.Code {
			return fmt.Errorf("id %s: %s is not inside the message's class %s", id, code, g)
		}
	}
	return nil
}

func loadItemEnv(ctx context.Context, refDir, keywords, modelPath, history, data, itemsPath string) (*itemEnv, error) {
	var env itemEnv
	var err error
	if env.ref, err = reference.LoadFrom(refDir); err != nil {
		return nil, fmt.Errorf("reference data: %w", err)
	}
	if env.rules, err = rules.Load(keywords, env.ref); err != nil {
		return nil, err
	}
	if env.model, err = model.Load(ctx, modelPath, env.ref); err != nil {
		return nil, err
	}
	if history != "" {
		if env.history, err = readExamples(history); err != nil {
			return nil, err
		}
	}
	examples, err := readExamples(data)
	if err != nil {
		return nil, err
	}
	for _, e := range examples {
		env.texts = append(env.texts, LabelledText{ID: e.ID, Label: e.Label, Text: e.Text})
	}
	env.labels = map[string]ItemLabel{}
	if itemsPath != "" {
		if env.labels, err = ReadItemLabels(itemsPath, env.ref); err != nil {
			return nil, err
		}
	}
	return &env, nil
}

// service is the served decision with cfg and the item model im (nil: the
// keyword rules name items).
func (e *itemEnv) service(cfg classify.Config, im classify.ItemModel) *classify.Service {
	return e.serviceWith(cfg, e.model, im)
}

// serviceWith is service with the class model m.
func (e *itemEnv) serviceWith(cfg classify.Config, m *model.Model, im classify.ItemModel) *classify.Service {
	return classify.New(cfg, nil, classify.Deps{
		Reference: func() *reference.Set { return e.ref },
		Rules:     func() *rules.Set { return e.rules },
		Model:     func() classify.Model { return m },
		Items:     func() classify.ItemModel { return im },
	})
}

func readItemModel(path string) (*itemmodel.Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return itemmodel.Load(f)
}

// crossFitItems returns a measure of the served decision in which every
// message is decided by the item model of its fold: trained (built-in
// corpus, weak labels on the history, the history's and the other folds'
// hand-read labels) and calibrated (on the other folds' labels, and the
// history's when there are any) without it.
func crossFitItems(ctx context.Context, env *itemEnv, cfg classify.Config, items map[string]string, f *itemFlags, stdout, stderr io.Writer) (func(map[string]string) ServedReport, error) {
	o := f.o
	read := Codes(env.historyLabels, "")
	base, err := itemBase(env.ref, env.rules, env.history, read, cfg.ItemWindow, f.w)
	if err != nil {
		return nil, err
	}
	tuned := env.itemTuned(cfg, env.texts, items, f.w.hand)
	calib, err := env.historyTuned(ctx, cfg, read, f.w.hand)
	if err != nil {
		return nil, err
	}
	sets, _, err := itemmodel.CrossFit(ctx, base, tuned, calib, itemClassOf(env.ref), o, func(s string) { fmt.Fprintln(stderr, s) })
	if err != nil {
		return nil, err
	}
	chosen := fmt.Sprintf("target precision %.3f, thresholds chosen inside the training folds", o.Target)
	if len(calib) > 0 {
		chosen = fmt.Sprintf("target precision %.3f, thresholds chosen on the out-of-fold predictions of %d hand-read history labels and the other folds' labels, never its own fold's", o.CalibTarget, len(calib))
	}
	fmt.Fprintf(stdout, "item figures CROSS-FITTED over %d folds of the %d hand-read labels: each message decided by an item model trained (%d base examples: built-in corpus, weak labels on %d history messages, %d hand-read history labels; the other folds' labels) and calibrated (%s) without it\n",
		o.Folds, len(tuned), len(base), len(env.history), len(calib), chosen)
	byFold := make([][]LabelledText, o.Folds)
	for _, t := range env.texts {
		k := itemmodel.Fold(t.ID, "cross-fit", o.Folds)
		byFold[k] = append(byFold[k], t)
	}
	svcs := make([]*classify.Service, o.Folds)
	for k, s := range sets {
		svcs[k] = env.service(cfg, ItemModel(s))
		fmt.Fprintf(stdout, "fold %d: item model %s, %d classes, thresholds %s, %d messages\n", k+1, s.Version(), len(s.Classes()), s.Thresholds(), len(byFold[k]))
	}
	return func(items map[string]string) ServedReport {
		r := ServedReport{PerRule: map[string][2]int{}}
		for k := range svcs {
			r = r.Add(MeasureServed(svcs[k], env.ref, byFold[k], items))
		}
		return r
	}, nil
}

// LoadItemModel reads an item model file (CLASSIFY_ITEM_MODEL_FILE) and
// serves it as classify's item model.
func LoadItemModel(path string) (classify.ItemModel, error) {
	s, err := readItemModel(path)
	if err != nil {
		return nil, fmt.Errorf("item model %s: %w", path, err)
	}
	return ItemModel(s), nil
}
