package classifier

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gridflow/gridflow/pkg/reference"
)

// catalogueClasses builds FirstLevelClass's data from the shipped catalogue,
// as a service would: every class and item code → its first-level hotline
// class name.
func catalogueClasses(t testing.TB) (map[string]string, *reference.Set) {
	t.Helper()
	set, err := reference.LoadDefault()
	if err != nil {
		t.Fatalf("load the shipped reference set: %v", err)
	}
	classes := map[string]string{}
	for _, tree := range []reference.Tree{reference.TreeUrban, reference.TreeHotline} {
		for _, it := range set.Items(tree) {
			if fl, ok := set.FirstLevel(it.Code); ok {
				classes[it.Code] = fl.Name
			}
		}
	}
	return classes, set
}

func TestFirstLevelClass(t *testing.T) {
	t.Parallel()
	classes := map[string]string{
		"H01000": "城乡建设", "H04000": "环境保护", "06": "城乡建设",
		"06020": "环境保护", // an urban item overriding its class
	}
	tests := []struct {
		code   string
		want   string
		wantOK bool
	}{
		{"H01012", "城乡建设", true},
		{"H01000", "城乡建设", true},
		{"H04003", "环境保护", true},
		{"06010", "城乡建设", true},
		{"06020", "环境保护", true},
		{"H09001", "", false},
		{"07001", "", false},
		{"城乡建设", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := FirstLevelClass(tt.code, classes)
		if diff := cmp.Diff(struct {
			Name string
			OK   bool
		}{tt.want, tt.wantOK}, struct {
			Name string
			OK   bool
		}{got, ok}); diff != "" {
			t.Errorf("FirstLevelClass(%q) mismatch (-want +got):\n%s", tt.code, diff)
		}
	}
}

// TestDefaultCorpus checks the corpus against the shipped catalogue: every
// label is a catalogue item, and every item has several examples.
func TestDefaultCorpus(t *testing.T) {
	t.Parallel()
	ex, err := DefaultCorpus()
	if err != nil {
		t.Fatal(err)
	}
	classes, set := catalogueClasses(t)
	perLabel := map[string]int{}
	for _, e := range ex {
		perLabel[e.Label]++
		it, ok := set.Item(e.Label)
		if !ok || it.Class {
			t.Errorf("%s: label %q is not a catalogue item", e.ID, e.Label)
		}
		if _, ok := FirstLevelClass(e.Label, classes); !ok {
			t.Errorf("%s: label %q has no first-level hotline class", e.ID, e.Label)
		}
	}
	for _, tree := range []reference.Tree{reference.TreeUrban, reference.TreeHotline} {
		for _, it := range set.Items(tree) {
			if !it.Class && perLabel[it.Code] < 3 {
				t.Errorf("catalogue item %s %s has %d corpus examples, want several", it.Code, it.Name, perLabel[it.Code])
			}
		}
	}
}

// TestDefaultModelFirstLevelOnDev trains the default catalogue model on the
// built-in corpus, maps its item predictions to first-level hotline classes
// and logs the accuracy on the shared dev messages (labelled with 7 of the 15
// classes). It is a measurement, not a gate: the corpus is short, generic
// text, the dev messages long and regional.
func TestDefaultModelFirstLevelOnDev(t *testing.T) {
	t.Parallel()
	dev := sharedExamples(t, "dev.jsonl")
	ex, err := DefaultCorpus()
	if err != nil {
		t.Fatal(err)
	}
	classes, _ := catalogueClasses(t)
	m, err := Train(t.Context(), ex, DefaultCorpusOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	toClass := func(label string) string {
		if name, ok := FirstLevelClass(label, classes); ok {
			return name
		}
		return label // dev's gold labels are class names already
	}
	r := EvaluateModel(m, dev, toClass)
	// The same with item confidences summed per class (GroupBy), and with
	// the ranking restricted to the 7 classes the dev labels use.
	devClasses := map[string]bool{}
	for _, e := range dev {
		devClasses[e.Label] = true
	}
	var gold, grouped, restricted []string
	for _, e := range dev {
		g := GroupBy(m.Predict(e.Text, 0), toClass)
		gold, grouped = append(gold, e.Label), append(grouped, g[0].Label)
		for _, p := range g {
			if devClasses[p.Label] {
				restricted = append(restricted, p.Label)
				break
			}
		}
	}
	rg := Evaluate(gold, grouped, nil)
	rr := Evaluate(gold, restricted, nil)
	t.Logf("first-level on dev, classes by summed confidence: accuracy=%.4f; restricted to the 7 dev classes: accuracy=%.4f macro_f1=%.4f", rg.Accuracy, rr.Accuracy, rr.MacroF1)
	info := m.Info()
	t.Logf("default model %s: %d labels, %d features, item-level cv accuracy=%.4f macro_f1=%.4f", m.Version(), len(info.Labels), info.Dim, info.CV.Accuracy, info.CV.MacroF1)
	t.Logf("first-level on dev: accuracy=%.4f macro_f1=%.4f n=%d", r.Accuracy, r.MacroF1, r.N)
	for _, s := range r.PerLabel {
		t.Logf("  %-10s P=%.3f R=%.3f F1=%.3f support=%d predicted=%d", s.Label, s.Precision, s.Recall, s.F1, s.Support, s.Predicted)
	}
}
