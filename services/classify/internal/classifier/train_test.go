package classifier

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var fixedNow = func() time.Time { return time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC) }

// tinyExamples is a fixture with an obvious answer: each label has its own
// subject words, and all labels share the same filler.
func tinyExamples() []Example {
	subjects := map[string][]string{
		"water": {"停水", "自来水", "水压低", "水管爆裂", "供水"},
		"noise": {"噪音", "扰民", "深夜施工", "广场舞音响", "喇叭声"},
		"road":  {"路面破损", "坑洼", "井盖缺失", "人行道塌陷", "道路开裂"},
	}
	fillers := []string{"我们小区", "请尽快处理", "已经好几天了", "居民反映", "希望相关部门解决"}
	var out []Example
	for _, label := range []string{"water", "noise", "road"} {
		for i := range 8 {
			s := subjects[label]
			text := fmt.Sprintf("%s%s，%s%s。%s", fillers[i%5], s[i%5], s[(i+2)%5], fillers[(i+1)%5], fillers[(i+3)%5])
			out = append(out, Example{ID: fmt.Sprintf("%s-%d", label, i), Label: label, Text: text})
		}
	}
	return out
}

func tinyOptions() Options {
	o := DefaultOptions()
	o.Features.MinDF = 1
	o.CVFolds = 3
	o.Now = fixedNow
	// The plain model the tiny fixture's tests were written for; the
	// title features, NB scaling and the nearest messages' vote are tested
	// on their own.
	o.Features.Opening, o.SVM.NBAlpha = 0, 0
	o.SVM.NBMix, o.SVM.BalancePower = 0, 0
	o.KNN = KNNParams{}
	return o
}

func trainTiny(t *testing.T) *Model {
	t.Helper()
	m, err := Train(context.Background(), tinyExamples(), tinyOptions(), nil)
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	return m
}

func TestTrainTinyFixture(t *testing.T) {
	t.Parallel()
	m := trainTiny(t)
	if diff := cmp.Diff([]string{"noise", "road", "water"}, m.Labels()); diff != "" {
		t.Errorf("labels mismatch (-want +got):\n%s", diff)
	}
	tests := []struct {
		text string
		want string
	}{
		{"楼下一直停水，没有自来水用", "water"},
		{"晚上广场舞噪音太大，严重扰民", "noise"},
		{"门口路面破损有个大坑洼", "road"},
		{"ＷＡＴＥＲ停水！！！", "water"},
	}
	for _, tt := range tests {
		got := m.Predict(tt.text, 1)
		if len(got) != 1 || got[0].Label != tt.want {
			t.Errorf("Predict(%q) = %+v, want label %q", tt.text, got, tt.want)
		}
	}
	info := m.Info()
	if info.Examples != 24 || info.CV.Folds != 3 || !info.TrainedAt.Equal(fixedNow()) || info.Dim == 0 {
		t.Errorf("Info = %+v", info)
	}
	if info.CV.Accuracy < 0.9 {
		t.Errorf("CV accuracy on an obvious fixture = %.3f, want ≥ 0.9", info.CV.Accuracy)
	}
}

func TestTrainDeterministic(t *testing.T) {
	t.Parallel()
	a, b := trainTiny(t), trainTiny(t)
	if a.Version() != b.Version() || len(a.Version()) != 12 {
		t.Errorf("versions %q and %q: want equal 12-digit versions for equal inputs", a.Version(), b.Version())
	}
	o := tinyOptions()
	o.Workers = 1 // label parallelism must not change the result
	c, err := Train(context.Background(), tinyExamples(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() != a.Version() {
		t.Errorf("1 worker gives version %q, default gives %q", c.Version(), a.Version())
	}
}

func TestTrainHashed(t *testing.T) {
	t.Parallel()
	o := tinyOptions()
	o.Features.HashBits = 12
	m, err := Train(context.Background(), tinyExamples(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Predict("停水了，自来水没有", 1)[0].Label; got != "water" {
		t.Errorf("hashed model predicts %q, want water", got)
	}
}

func TestTrainErrors(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	oneLabel := []Example{{Label: "a", Text: "x"}, {Label: "a", Text: "y"}}
	twoRows := []Example{{Label: "a", Text: "x"}, {Label: "b", Text: "y"}}
	with := func(f func(*Options)) Options { o := tinyOptions(); f(&o); return o }
	tests := []struct {
		name     string
		ctx      context.Context
		examples []Example
		opts     Options
		wantIs   error
	}{
		{"one label", context.Background(), oneLabel, tinyOptions(), ErrTooFewExamples},
		{"no examples", context.Background(), nil, tinyOptions(), ErrTooFewExamples},
		{"more folds than rows", context.Background(), twoRows, tinyOptions(), ErrTooFewExamples},
		{"cancelled", cancelled, tinyExamples(), tinyOptions(), context.Canceled},
		{"one fold", context.Background(), tinyExamples(), with(func(o *Options) { o.CVFolds = 1 }), nil},
		{"zero C", context.Background(), tinyExamples(), with(func(o *Options) { o.SVM.C = 0 }), nil},
		{"trigrams", context.Background(), tinyExamples(), with(func(o *Options) { o.Features.NGramMax = 3 }), nil},
		{"zero min df", context.Background(), tinyExamples(), with(func(o *Options) { o.Features.MinDF = 0 }), nil},
		{"too many hash bits", context.Background(), tinyExamples(), with(func(o *Options) { o.Features.HashBits = 40 }), nil},
		// issue 15, round 3
		{"words of 5", context.Background(), tinyExamples(), with(func(o *Options) { o.Features.Words = 5 }), nil},
		{"hashed words", context.Background(), tinyExamples(), with(func(o *Options) { o.Features.Words, o.Features.HashBits = 3, 18 }), nil},
		{"word scp over 1", context.Background(), tinyExamples(), with(func(o *Options) { o.Features.Words, o.Features.WordSCP = 3, 1.5 }), nil},
		{"negative word weight", context.Background(), tinyExamples(), with(func(o *Options) { o.Features.Words, o.Features.WordWeight = 3, -1 }), nil},
		{"nb mix over 1", context.Background(), tinyExamples(), with(func(o *Options) { o.SVM.NBMix = 1.5 }), nil},
		{"negative balance power", context.Background(), tinyExamples(), with(func(o *Options) { o.SVM.BalancePower = -1 }), nil},
		// issue 15, round 4
		{"lr mix over 1", context.Background(), tinyExamples(), with(func(o *Options) { o.SVM.LogRegMix = 1.5 }), nil},
		{"negative lr C", context.Background(), tinyExamples(), with(func(o *Options) { o.SVM.LogRegMix, o.SVM.LogRegC = 0.1, -1 }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := Train(tt.ctx, tt.examples, tt.opts, nil)
			if err == nil {
				t.Fatalf("Train succeeded with version %s, want an error", m.Version())
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Train error = %v, want one wrapping %v", err, tt.wantIs)
			}
		})
	}
}

func TestPredictRanking(t *testing.T) {
	t.Parallel()
	m := trainTiny(t)
	for _, k := range []int{-1, 0, 1, 2, 3, 99} {
		for _, text := range []string{"", "停水", "噪音扰民，路面也破损了", "完全无关的文字 xyz 42"} {
			got := m.Predict(text, k)
			want := 3
			if k > 0 && k < 3 {
				want = k
			}
			if len(got) != want {
				t.Fatalf("Predict(%q, %d) returned %d predictions, want %d", text, k, len(got), want)
			}
			if !slices.IsSortedFunc(got, func(a, b Prediction) int { return -cmpFloat(a.Confidence, b.Confidence) }) {
				t.Errorf("Predict(%q, %d) not sorted by confidence: %+v", text, k, got)
			}
			var sum float64
			for _, p := range got {
				if !(p.Confidence >= 0 && p.Confidence <= 1) {
					t.Errorf("confidence %v outside [0,1]", p.Confidence)
				}
				sum += p.Confidence
			}
			if want == 3 && math.Abs(sum-1) > 1e-9 {
				t.Errorf("Predict(%q) confidences sum to %v, want 1", text, sum)
			}
			if all := m.Predict(text, 0); got[0] != all[0] {
				t.Errorf("top-%d head %+v differs from full ranking head %+v", k, got[0], all[0])
			}
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestFitPlatt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dec  []float64
		pos  []bool
		// wantSteep: the fit must be clearly increasing; otherwise only
		// the minSlope floor is required.
		wantSteep bool
	}{
		{"separable", []float64{-2, -1.5, -1, -0.5, 0.5, 1, 1.5, 2}, []bool{false, false, false, false, true, true, true, true}, true},
		{"noisy", []float64{-2, -1, -0.2, 0.1, 0.3, 1, 2, 3}, []bool{false, false, true, false, true, false, true, true}, true},
		{"no signal", []float64{0, 0, 0, 0}, []bool{true, false, true, false}, false},
		{"inverted signal", []float64{1, 2, -1, -2}, []bool{false, false, true, true}, false},
		{"no positives", []float64{-1, -2, -3}, []bool{false, false, false}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := fitPlatt(tt.dec, tt.pos)
			if !(a <= minSlope) || math.IsNaN(b) || math.IsInf(b, 0) {
				t.Fatalf("fitPlatt = (%v, %v), want A ≤ %v and finite B", a, b, minSlope)
			}
			if tt.wantSteep && a > -0.5 {
				t.Errorf("fitPlatt slope %v, want a clearly increasing fit", a)
			}
		})
	}
}

// TestCalibrationMonotone sweeps one label's score with the others fixed:
// its confidence must never decrease, and every confidence must stay in
// [0,1] and sum to 1, even at extreme scores.
func TestCalibrationMonotone(t *testing.T) {
	t.Parallel()
	m := trainTiny(t)
	numLabels := len(m.Labels())
	base := []float64{-0.7, 0.2, -1.3}
	sweep := []float64{math.Inf(-1), -1e300, -1e6, -50, -5, -1, -0.5, 0, 0.5, 1, 5, 50, 1e6, 1e300, math.Inf(1)}
	for l := range numLabels {
		prev := -1.0
		for _, s := range sweep {
			scores := slices.Clone(base)
			scores[l] = s
			conf := make([]float64, numLabels)
			calibrate(scores, m.plattA, m.plattB, conf)
			var sum float64
			for _, c := range conf {
				if !(c >= 0 && c <= 1) {
					t.Fatalf("label %d score %v: confidence %v outside [0,1] (%v)", l, s, c, conf)
				}
				sum += c
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Errorf("label %d score %v: confidences sum to %v", l, s, sum)
			}
			if conf[l] < prev {
				t.Errorf("label %d: confidence fell from %v to %v as the score rose to %v", l, prev, conf[l], s)
			}
			prev = conf[l]
		}
	}
}
