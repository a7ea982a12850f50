package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/classifier"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/model"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

const itemLabelsFile = "../../testdata/dev_items.tsv"

// sharedMessages finds ../shared/data/messages as the classifier's tests
// do: $GRIDFLOW_SHARED_DIR, else shared/ beside the working directory or a
// parent. Absent locally it skips loudly; under CI=true it fails.
func sharedMessages(t *testing.T) string {
	t.Helper()
	var tried []string
	if root := os.Getenv("GRIDFLOW_SHARED_DIR"); root != "" {
		tried = append(tried, filepath.Join(root, "data", "messages"))
	} else if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			tried = append(tried, filepath.Join(dir, "shared", "data", "messages"))
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	for _, d := range tried {
		if _, err := os.Stat(filepath.Join(d, "dev.jsonl")); err == nil {
			return d
		}
	}
	msg := "SHARED DATA NOT FOUND (set GRIDFLOW_SHARED_DIR to the shared/ directory); tried: " + strings.Join(tried, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestItemLabelsFile: the hand-read labels name active catalogue codes, at
// least 300 messages in each slice, every first-level class of dev, and
// only items of each message's gold class.
func TestItemLabelsFile(t *testing.T) {
	t.Parallel()
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	labels, err := ReadItemLabels(itemLabelsFile, ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, slice := range []string{"tuning", "tuning-2", "held-out"} {
		if n := len(Codes(labels, slice)); n < 300 {
			t.Errorf("slice %s: %d labels, want at least 300", slice, n)
		}
	}
	dev, err := readExamples(filepath.Join(sharedMessages(t), "dev.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	gold := map[string]string{}
	for _, e := range dev {
		gold[e.ID] = e.Label
	}
	classes := map[string]bool{}
	for id, l := range labels {
		g, ok := gold[id]
		if !ok {
			t.Errorf("%s is not a dev message", id)
			continue
		}
		fl, _ := ref.FirstLevel(l.Code)
		if fl.Name != g {
			t.Errorf("%s: labelled %s (%s), but its gold class is %s", id, l.Code, fl.Name, g)
		}
		classes[g] = true
	}
	for _, g := range gold {
		if !classes[g] {
			t.Errorf("class %s of dev has no labelled message", g)
		}
	}
}

// TestHistoryItemLabelsFile: testdata/train_items.tsv (issue 15, the
// labels the item thresholds are chosen on) names active catalogue codes
// for at least 300 messages of train.jsonl, items only inside each
// message's gold class, every class of train.jsonl with an item label.
func TestHistoryItemLabelsFile(t *testing.T) {
	t.Parallel()
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	labels, err := ReadItemLabels("../../testdata/train_items.tsv", ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) < 300 {
		t.Errorf("%d labels, want at least 300", len(labels))
	}
	env := &itemEnv{ref: ref}
	if env.history, err = readExamples(filepath.Join(sharedMessages(t), "train.jsonl")); err != nil {
		t.Fatal(err)
	}
	if err := env.readHistoryLabels("../../testdata/train_items.tsv"); err != nil {
		t.Fatal(err)
	}
	items := map[string]int{}
	for _, l := range labels {
		if fl, _ := ref.FirstLevel(l.Code); fl.Code != l.Code {
			items[fl.Name]++
		}
	}
	for _, e := range env.history {
		if items[e.Label] == 0 {
			t.Errorf("class %s of train.jsonl has no item label", e.Label)
		}
	}
}

func TestReadItemLabelsRefuses(t *testing.T) {
	t.Parallel()
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"unknown code":   "D1\tH01099\n",
		"retired code":   "D1\tH07002\n",
		"labelled twice": "D1\tH01002\nD1\tH01003\n",
		"no code":        "D1\n",
	} {
		path := filepath.Join(t.TempDir(), "labels.tsv")
		if err := os.WriteFile(path, []byte("# comment\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadItemLabels(path, ref); err == nil || !strings.Contains(err.Error(), "labels.tsv:") {
			t.Errorf("%s: %v, want an error naming the file and line", name, err)
		}
	}
}

// TestServedCalibration measures the served decision on dev with a model
// trained on train.jsonl, per level. The class: a confidence is not an
// overclaim (the filed cases of each confidence band are right at least
// about as often as the band's lower edge says) and little goes to review.
// The item: on the held-out slice of the hand-read labels (never seen while
// the keyword rules were written), a filed item is right at least 80 % of
// the time (measured: 0.82 — the target of 0.85 is not reached),
// and about half of all messages get one (measured: 0.54). Floors, not the figures: they
// fail a change that makes the decision worse.
func TestServedCalibration(t *testing.T) {
	t.Parallel()
	dir := sharedMessages(t)
	train, err := readExamples(filepath.Join(dir, "train.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	dev, err := readExamples(filepath.Join(dir, "dev.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Load("", ref)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := classifier.Train(t.Context(), train, classifier.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Wrap(cm, "train.jsonl", ref)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := ReadItemLabels(itemLabelsFile, ref)
	if err != nil {
		t.Fatal(err)
	}
	svc := classify.New(classify.DefaultConfig(), nil, classify.Deps{
		Reference: func() *reference.Set { return ref },
		Rules:     func() *rules.Set { return rs },
		Model:     func() classify.Model { return m },
	})

	// Class level, by confidence band.
	bands := []float64{0.3, 0.5, 0.7, 0.9}
	filed, right := make([]int, len(bands)), make([]int, len(bands))
	for _, e := range dev {
		p := svc.Preview(classify.Case{Source: reference.FromHotline, Content: e.Text})
		if !p.Found {
			continue
		}
		b := 0
		for i, lo := range bands {
			if p.Confidence >= lo {
				b = i
			}
		}
		filed[b]++
		if fl, ok := ref.FirstLevel(p.Item.Code); ok && fl.Name == e.Label {
			right[b]++
		}
	}
	for i, lo := range bands {
		if filed[i] == 0 {
			continue
		}
		acc := float64(right[i]) / float64(filed[i])
		t.Logf("class confidence ≥ %.1f: %d filed, accuracy %.3f", lo, filed[i], acc)
		if filed[i] >= 20 && acc < lo-0.05 {
			t.Errorf("class confidence ≥ %.1f: accuracy %.3f over %d cases overclaims", lo, acc, filed[i])
		}
	}

	texts := make([]LabelledText, len(dev))
	for i, e := range dev {
		texts[i] = LabelledText{ID: e.ID, Label: e.Label, Text: e.Text}
	}
	all := MeasureServed(svc, ref, texts, Codes(labels, ""))
	held := MeasureServed(svc, ref, texts, Codes(labels, "held-out"))
	t.Logf("review_share=%.4f class_accuracy=%.4f item_share=%.4f item_precision=%.4f (held-out %.4f over %d filed) n=%d",
		all.ReviewShare(), all.ClassAccuracy(), all.ItemShare(), all.ItemPrecision(), held.ItemPrecision(), held.ItemFiled, all.N)
	if all.ReviewShare() > 0.15 {
		t.Errorf("review_share %.4f, want at most 0.15", all.ReviewShare())
	}
	if all.ClassAccuracy() < 0.88 {
		t.Errorf("class_accuracy %.4f, want at least 0.88", all.ClassAccuracy())
	}
	if held.ItemFiled < 100 || held.ItemPrecision() < 0.80 {
		t.Errorf("held-out item precision %.4f over %d filed items, want at least 0.80 over 100", held.ItemPrecision(), held.ItemFiled)
	}
	if all.ItemShare() < 0.5 {
		t.Errorf("item_share %.4f, want at least 0.5", all.ItemShare())
	}
}
