package live_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridflow/gridflow/services/classify/internal/classifier"
	"github.com/gridflow/gridflow/services/classify/internal/live"
	"github.com/gridflow/gridflow/services/classify/internal/model"
)

// writeModel trains a small model with the given labels and writes it.
func writeModel(t *testing.T, path string, labels ...string) string {
	t.Helper()
	words := map[string][]string{
		"06020":  {"噪声", "吵闹", "噪音", "半夜唱歌", "喇叭"},
		"06010":  {"垃圾", "乱倒垃圾", "垃圾成堆", "臭", "垃圾没人清"},
		"城乡建设":   {"违建", "物业", "群租", "装修", "电梯"},
		"NOT-IN": {"火星", "月亮", "太阳", "银河", "彗星"},
	}
	var ex []classifier.Example
	for _, l := range labels {
		for i, w := range words[l] {
			ex = append(ex, classifier.Example{ID: fmt.Sprintf("%s-%d", l, i), Label: l, Text: "小区里" + w + "，请处理" + w})
		}
	}
	o := classifier.DefaultOptions()
	o.Features.MinDF, o.CVFolds = 1, 2
	m, err := classifier.Train(context.Background(), ex, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := m.Save(f); err != nil {
		t.Fatal(err)
	}
	return m.Version()
}

func TestReloadSwapsOnlyWhatLoads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "city.model")
	v1 := writeModel(t, path, "06020", "06010")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	lv, err := live.Load(context.Background(), live.Sources{ModelFile: path}, log)
	if err != nil {
		t.Fatal(err)
	}
	if got := lv.Model().Version(); got != v1 {
		t.Fatalf("version %s, want %s", got, v1)
	}
	if p := lv.Model().Predict("楼下噪音吵闹"); p[0].Code != "06020" {
		t.Errorf("prediction %+v", p[0])
	}

	// A first-level model: labels are class names, mapped to class codes.
	v2 := writeModel(t, path, "06020", "城乡建设")
	res, err := lv.Reload(context.Background())
	if err != nil || res.ModelVersion != v2 || res.PreviousModelVersion != v1 || lv.Model().Version() != v2 {
		t.Fatalf("reload = %+v, %v", res, err)
	}
	if p := lv.Model().Predict("楼上违建"); p[0].Code != "H01000" || p[0].Label != "城乡建设" {
		t.Errorf("first-level prediction %+v", p[0])
	}

	// A model with a label the catalogue does not know is refused; the
	// loaded one stays.
	writeModel(t, path, "06020", "NOT-IN")
	if _, err := lv.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "NOT-IN") {
		t.Fatalf("reload of a model with an unknown label: %v", err)
	}
	if lv.Model().Version() != v2 {
		t.Errorf("model in force %s, want %s kept", lv.Model().Version(), v2)
	}
	// So is a file that is not a model.
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := lv.Reload(context.Background()); err == nil || lv.Model().Version() != v2 {
		t.Fatalf("reload of garbage: %v, model %s", err, lv.Model().Version())
	}
}

func TestBadKeywordsFileKeepsTheLoadedSet(t *testing.T) {
	dir := t.TempDir()
	kw := filepath.Join(dir, "keywords.yaml")
	if err := os.WriteFile(kw, []byte("rules: [{name: a, keywords: [漏水], urgency: urgent}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lv, err := live.Load(context.Background(), live.Sources{KeywordsFile: kw}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if lv.Rules().Len() != 1 || lv.Model().(*model.Model).Source() != model.SourceDefault {
		t.Fatalf("rules %d, model %s", lv.Rules().Len(), lv.Model().(*model.Model).Source())
	}
	if err := os.WriteFile(kw, []byte("rules: [{name: a, keywords: [漏水], item: \"00000\"}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := lv.Reload(context.Background()); err == nil {
		t.Fatal("reload accepted an unknown item")
	}
	if lv.Rules().Len() != 1 || lv.Rules().Match("厨房漏水").Urgency != "urgent" {
		t.Error("the loaded rules were replaced")
	}
}

func TestDefaultModelIsReproducible(t *testing.T) {
	a, err := model.TrainDefault(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := model.TrainDefault(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if a.Version() != b.Version() {
		t.Errorf("default model versions %s and %s: every replica must run the same version", a.Version(), b.Version())
	}
}
