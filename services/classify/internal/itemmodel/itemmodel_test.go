package itemmodel

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/services/classify/internal/classifier"
)

// fixture: two classes; class A0 has items A1 (water) and A2 (gas) and
// class-only messages (noise about something else); class B0 has B1 and B2.
func fixture() []Labelled {
	var out []Labelled
	add := func(code string, n int, texts ...string) {
		for i := range n {
			t := texts[i%len(texts)]
			out = append(out, Labelled{ID: fmt.Sprintf("%s-%d", code, i), Code: code, Text: fmt.Sprintf("%s 第%d次反映", t, i)})
		}
	}
	add("A1", 12, "自来水停水三天没有水喝", "小区自来水水管破裂漏水", "自来水水质发黄有异味")
	add("A2", 12, "燃气管道漏气味道很大", "燃气公司收费太高燃气费", "燃气灶点不着燃气压力低")
	add("A0", 12, "物业公司服务很差态度恶劣", "小区物业乱收费不公示", "物业不作为门口乱停车")
	add("B1", 12, "学校补课收费违规补课", "老师周末组织学生补课")
	add("B2", 12, "社保卡办理手续麻烦", "社保卡丢失补办太慢")
	return out
}

func classOf(code string) (string, bool) {
	if code == "" {
		return "", false
	}
	return code[:1] + "0", true
}

func testOptions() Options {
	o := DefaultOptions()
	o.MinExamples = 5
	return o
}

func TestTrainKnownAnswers(t *testing.T) {
	t.Parallel()
	s, err := Train(context.Background(), fixture(), classOf, Thresholds{Agree: 0.3, Alone: 0.5, Class: 0.6}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A0", "B0"}, s.Classes()); diff != "" {
		t.Fatalf("classes mismatch (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		class, text string
		conf        float64
		hints       []string
		want        Choice
	}{
		{"A0", "我家自来水停水了", 0.9, nil, Choice{Code: "A1", Covered: true}},
		{"A0", "燃气漏气很危险", 0.9, []string{"A2"}, Choice{Code: "A2", Covered: true, Agreed: true}},
		{"A0", "物业公司乱收费", 0.9, nil, Choice{Covered: true}},           // class only: no item fits
		{"A0", "我家自来水停水了", 0.5, nil, Choice{Covered: true}},          // class not sure enough
		{"B0", "社保卡补办", 0.9, nil, Choice{Code: "B2", Covered: true}}, // the other class's own model
		{"C0", "社保卡补办", 0.9, nil, Choice{}},                          // no model for the class
	} {
		got := s.Item(tc.class, tc.text, tc.conf, tc.hints)
		got.Probability = 0
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Item(%s, %q) mismatch (-want +got):\n%s", tc.class, tc.text, diff)
		}
	}
}

func TestTrainDeterministicAndRoundTrip(t *testing.T) {
	t.Parallel()
	th := Thresholds{Agree: 0.3, Alone: 0.6, Class: 0.5}
	a, err := Train(context.Background(), fixture(), classOf, th, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(context.Background(), fixture(), classOf, th, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if a.Version() != b.Version() {
		t.Fatalf("two trainings on the same data: versions %s and %s", a.Version(), b.Version())
	}
	var buf bytes.Buffer
	if err := a.Save(&buf); err != nil {
		t.Fatal(err)
	}
	saved := bytes.Clone(buf.Bytes())
	c, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() != a.Version() || c.Thresholds() != th || c.Window() != a.Window() {
		t.Fatalf("loaded %s %v %d, saved %s %v %d", c.Version(), c.Thresholds(), c.Window(), a.Version(), th, a.Window())
	}
	if diff := cmp.Diff(a.Item("A0", "燃气费太高", 0.9, nil), c.Item("A0", "燃气费太高", 0.9, nil)); diff != "" {
		t.Errorf("loaded set decides otherwise (-saved +loaded):\n%s", diff)
	}
	saved[len(saved)-1] ^= 1
	if _, err := Load(bytes.NewReader(saved)); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("a corrupted file loaded: %v", err)
	}
	if _, err := Load(strings.NewReader("GFCLSMDL not an item model")); err == nil {
		t.Error("a file of another kind loaded")
	}
}

func pred(probs map[string]float64) []classifier.Prediction {
	var out []classifier.Prediction
	for l, p := range probs {
		out = append(out, classifier.Prediction{Label: l, Confidence: p})
	}
	// best first, as Predict answers
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].Confidence > out[i].Confidence || (out[j].Confidence == out[i].Confidence && out[j].Label < out[i].Label) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestChooseCalibrates: the thresholds are the ones that file the most
// items at the target precision, on each level (the class's confidence,
// an item a rule names, the model's own item).
func TestChooseCalibrates(t *testing.T) {
	t.Parallel()
	var recs []Record
	// Items a rule names: right when the model gives them ≥ 0.6, wrong below.
	for i := range 10 {
		p := 0.3 + 0.06*float64(i) // 0.30 … 0.84
		gold := "A1"
		if p < 0.6 {
			gold = "A0"
		}
		recs = append(recs, Record{Gold: gold, Class: "A0", ClassConf: 0.95, Hints: []string{"A1"}, Preds: pred(map[string]float64{"A1": p, "A0": 1 - p})})
	}
	// The model's own item without a rule: right only at ≥ 0.9.
	recs = append(recs,
		Record{Gold: "A2", Class: "A0", ClassConf: 0.95, Preds: pred(map[string]float64{"A2": 0.95, "A0": 0.05})},
		Record{Gold: "A0", Class: "A0", ClassConf: 0.95, Preds: pred(map[string]float64{"A2": 0.8, "A0": 0.2})},
	)
	// A sure item in a class the first-level model was unsure of: wrong.
	recs = append(recs, Record{Gold: "B0", Class: "A0", ClassConf: 0.65, Hints: []string{"A1"}, Preds: pred(map[string]float64{"A1": 0.9, "A0": 0.1})})

	th, out := Choose(recs, 1.0)
	if out.Precision() != 1 || out.Filed != 6 {
		t.Fatalf("Choose: %v files %d at precision %.2f; want 6 at 1.00", th, out.Filed, out.Precision())
	}
	if !(th.Agree > 0.54 && th.Agree <= 0.6) || !(th.Alone > 0.8 && th.Alone <= 0.95) || !(th.Class > 0.65 && th.Class <= 0.95) {
		t.Errorf("Choose = %v; want agree in (0.54,0.60], alone in (0.80,0.95], class in (0.65,0.95]", th)
	}
	// A lower target files more.
	if _, lo := Choose(recs, 0.7); lo.Filed <= out.Filed || lo.Precision() < 0.7 {
		t.Errorf("target 0.7: %d filed at %.2f; want more than %d at ≥ 0.7", lo.Filed, lo.Precision(), out.Filed)
	}
}

// TestCrossFitNeverSeesItsFold: the set of fold k never trained on a
// message of fold k: its examples' hash differs from one with them.
func TestCrossFitNeverSeesItsFold(t *testing.T) {
	t.Parallel()
	var tuned []Tuned
	for _, l := range fixture() {
		cl, _ := classOf(l.Code)
		tuned = append(tuned, Tuned{Labelled: l, Class: cl, ClassConf: 0.9})
	}
	o := testOptions()
	o.Folds = 3
	sets, folds, err := CrossFit(context.Background(), nil, tuned, nil, classOf, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 3 || len(folds) != len(tuned) {
		t.Fatalf("%d sets, %d folds", len(sets), len(folds))
	}
	for k, s := range sets {
		var without []Labelled
		for _, tu := range tuned {
			if folds[tu.ID] != k {
				without = append(without, tu.Labelled)
			}
		}
		want, err := Train(context.Background(), without, classOf, s.Thresholds(), o)
		if err != nil {
			t.Fatal(err)
		}
		if want.Version() != s.Version() {
			t.Errorf("fold %d: set %s is not the one trained without the fold (%s)", k, s.Version(), want.Version())
		}
	}
}

// calibFixture is a second hand-read set of the fixture's classes, the one
// thresholds are chosen on: its messages are decided in their gold class.
func calibFixture() []Tuned {
	var out []Tuned
	add := func(code string, texts ...string) {
		for i, t := range texts {
			cl, _ := classOf(code)
			out = append(out, Tuned{Labelled: Labelled{ID: fmt.Sprintf("c-%s-%d", code, i), Code: code, Text: t}, Class: cl, ClassConf: 0.9})
		}
	}
	add("A1", "家里自来水停水了", "自来水管漏水严重", "自来水发黄", "停水两天没人管", "水管破了自来水流一地")
	add("A2", "燃气漏气了", "燃气费太贵", "燃气压力不够", "燃气管道老化漏气", "燃气灶打不着火")
	add("A0", "物业不管事", "物业费乱收", "物业态度差", "小区乱停车物业不管", "物业不公示账目")
	add("B1", "学校违规补课", "周末补课收费", "暑假补课")
	add("B2", "社保卡补办慢", "社保卡办不了", "社保卡丢了")
	return out
}

// TestBuildOnChoosesOnCalibAlone: BuildOn's thresholds are the ones Choose
// picks on calib's out-of-fold records (each fold predicted by a set trained
// on base, fixed and calib's other folds), and the set is trained on all
// three: fixed is learnt from, never calibrated on.
func TestBuildOnChoosesOnCalibAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := testOptions()
	o.Folds = 3
	fixed := fixture()
	calib := calibFixture()
	s, est, err := BuildOn(ctx, nil, fixed, calib, classOf, o)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := OutOfFold(ctx, fixed, calib, classOf, "calibrate", o)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(calib) {
		t.Fatalf("%d out-of-fold records, want one per calib label (%d)", len(recs), len(calib))
	}
	th, want := Choose(recs, o.CalibTarget)
	if s.Thresholds() != th || est != want {
		t.Errorf("BuildOn chose %v (%+v); Choose on calib's records %v (%+v)", s.Thresholds(), est, th, want)
	}
	all := append(append([]Labelled(nil), fixed...), labelsOf(calib)...)
	ref, err := Train(ctx, all, classOf, th, o)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Version() != s.Version() {
		t.Errorf("BuildOn's set %s is not the one trained on fixed and calib (%s)", s.Version(), ref.Version())
	}
}

// TestCrossFitCalibratesOffTheMeasuredLabels: with calib, the set of fold k
// is trained without fold k, and its thresholds are chosen on calib and the
// other folds' records together (issue 15: every label but the measured
// fold's): changing what fold k's labels say, or what the served decision
// does with its messages, changes nothing of set k — neither its model nor
// its thresholds — while the other folds' labels do take part.
func TestCrossFitCalibratesOffTheMeasuredLabels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var tuned []Tuned
	for _, l := range fixture() {
		cl, _ := classOf(l.Code)
		tuned = append(tuned, Tuned{Labelled: l, Class: cl, ClassConf: 0.9})
	}
	o := testOptions()
	o.Folds = 3
	calib := calibFixture()
	var msgs []string
	sets, folds, err := CrossFit(ctx, nil, tuned, calib, classOf, o, func(s string) { msgs = append(msgs, s) })
	if err != nil {
		t.Fatal(err)
	}
	for k, s := range sets {
		var in []Tuned
		for _, tu := range tuned {
			if folds[tu.ID] != k {
				in = append(in, tu)
			}
		}
		want, _, err := BuildOn(ctx, nil, nil, Calibrated(calib, in), classOf, o)
		if err != nil {
			t.Fatal(err)
		}
		if want.Version() != s.Version() || want.Thresholds() != s.Thresholds() {
			t.Errorf("fold %d: set %s (%s) is not the one built and calibrated on calib and the other folds (%s, %s)",
				k, s.Version(), s.Thresholds(), want.Version(), want.Thresholds())
		}
		// The calibration records are the other folds' and calib's: one
		// per label, none of fold k's.
		recs, err := OutOfFold(ctx, nil, Calibrated(calib, in), classOf, "calibrate", o)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(calib)+len(in) {
			t.Errorf("fold %d: %d calibration records, want %d (calib %d + other folds %d)", k, len(recs), len(calib)+len(in), len(calib), len(in))
		}
		if !strings.Contains(msgs[k], fmt.Sprintf("%d of the measured set's labels and %d history labels", len(in), len(calib))) {
			t.Errorf("fold %d: progress %q", k, msgs[k])
		}
	}
	// Fold 0's labels all turned to class only, and its messages decided
	// under another class, unsure: set 0 is the same, model and thresholds.
	flipped := append([]Tuned(nil), tuned...)
	for i := range flipped {
		if folds[flipped[i].ID] == 0 {
			flipped[i].Code, _ = classOf(flipped[i].Code)
			flipped[i].Class, flipped[i].ClassConf = "B0", 0.31
		}
	}
	again, _, err := CrossFit(ctx, nil, flipped, calib, classOf, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Version() != sets[0].Version() || again[0].Thresholds() != sets[0].Thresholds() {
		t.Errorf("set 0 changed (%s %s → %s %s) with its own fold's labels", sets[0].Version(), sets[0].Thresholds(), again[0].Version(), again[0].Thresholds())
	}
	// The other folds' sets learnt fold 0's labels, so they changed.
	for k := 1; k < o.Folds; k++ {
		if again[k].Version() == sets[k].Version() {
			t.Errorf("set %d did not change with fold 0's labels, which it trains on", k)
		}
	}
}

// TestCalibratedIsNew: Calibrated copies calib and then tuned, changing
// neither.
func TestCalibratedIsNew(t *testing.T) {
	t.Parallel()
	calib := make([]Tuned, 2, 8)
	calib[0].ID, calib[1].ID = "c0", "c1"
	tuned := []Tuned{{Labelled: Labelled{ID: "t0"}}}
	got := Calibrated(calib, tuned)
	got[0].ID = "x"
	if calib[0].ID != "c0" || len(calib[:cap(calib)][2].ID) != 0 {
		t.Errorf("Calibrated changed calib: %+v", calib[:3])
	}
	ids := []string{got[1].ID, got[2].ID}
	if len(got) != 3 || !cmp.Equal(ids, []string{"c1", "t0"}) {
		t.Errorf("Calibrated = %+v", got)
	}
}
