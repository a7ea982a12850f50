package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var approx = cmpopts.EquateApprox(0, 1e-9)

func TestRates(t *testing.T) {
	t.Parallel()
	cb := func(contacted, solved bool, s Satisfaction) Callback {
		return Callback{Reached: true, ContactedByUnit: contacted, Solved: solved, Satisfaction: s}
	}
	tests := []struct {
		name string
		in   []Callback
		want ThreeRates
	}{
		{"none", nil, ThreeRates{}},
		{
			// 4 valid: contacted 3, solved 2, satisfied 1 + basic 2×0.9 = 2.8.
			// 响应 0.75, 解决 0.5, 满意 0.7; composite 100×(0.075+0.25+0.28) = 60.5.
			name: "hand computed",
			in: []Callback{
				cb(true, true, Satisfied), cb(true, true, Basic), cb(true, false, Basic), cb(false, false, Unsatisfied),
				{Reached: false}, // retried, not counted
				{Reached: true, Excluded: true, Solved: true}, // 不合理诉求, left out
			},
			want: ThreeRates{Valid: 4, Excluded: 1, Unreached: 1, Response: 0.75, Resolution: 0.5, Satisfied: 0.7, Composite: 60.5},
		},
		{
			name: "all good",
			in:   []Callback{cb(true, true, Satisfied), cb(true, true, Satisfied)},
			want: ThreeRates{Valid: 2, Response: 1, Resolution: 1, Satisfied: 1, Composite: 100},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, Rates(tt.in), approx); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAssess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   TaskCounts
		want Score
	}{
		{
			// 处置 18/20 = 0.9 → 27; 按期 16/20 = 0.8 → 16; 返工 2/10 = 0.2 → 16;
			// 超期待处置 1/20 = 0.05 → 19; 延期 4/20 = 0.2 → 8. Total 86 → B.
			name: "hand computed",
			in:   TaskCounts{ToHandle: 20, Handled: 18, HandledOnTime: 16, Closed: 10, Reworked: 2, OverdueOpen: 1, Extended: 4},
			want: Score{Disposal: 0.9, OnTime: 0.8, Rework: 0.2, OverdueOpen: 0.05, Extension: 0.2, Points: 86, Grade: "B"},
		},
		{
			name: "perfect",
			in:   TaskCounts{ToHandle: 5, Handled: 5, HandledOnTime: 5, Closed: 5},
			want: Score{Disposal: 1, OnTime: 1, Points: 100, Grade: "A"},
		},
		{
			name: "nothing to act on",
			in:   TaskCounts{},
			want: Score{NothingToAct: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, Assess(tt.in), approx); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGrade(t *testing.T) {
	t.Parallel()
	for points, want := range map[float64]string{100: "A", 90: "A", 89.99: "B", 75: "B", 60: "C", 59.9: "D", 40: "D", 39.99: "E", 0: "E"} {
		if got := Grade(points); got != want {
			t.Errorf("Grade(%v) = %s, want %s", points, got, want)
		}
	}
}

func TestPareto(t *testing.T) {
	t.Parallel()
	// Total 100: 噪声 50 (0.5), 垃圾 30 (0.8), 占道 10 (0.9), 油烟 10 (1.0).
	// Vital few: the categories up to and including the one reaching 80 %.
	got := Pareto(map[string]int{"垃圾": 30, "噪声": 50, "油烟": 10, "占道": 10, "空": 0})
	want := []ParetoRow{
		{Category: "噪声", Count: 50, Share: 0.5, Cumulative: 0.5, VitalFew: true},
		{Category: "垃圾", Count: 30, Share: 0.3, Cumulative: 0.8, VitalFew: true},
		{Category: "占道", Count: 10, Share: 0.1, Cumulative: 0.9},
		{Category: "油烟", Count: 10, Share: 0.1, Cumulative: 1},
	}
	if diff := cmp.Diff(want, got, approx); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestHotspots(t *testing.T) {
	t.Parallel()
	current := map[string]int{"共和新路1234弄": 9, "临汾路375号": 4, "普善路": 2}
	baseline := []map[string]int{
		{"共和新路1234弄": 1, "临汾路375号": 4}, {"共和新路1234弄": 0, "临汾路375号": 5},
		{"共和新路1234弄": 2, "临汾路375号": 3}, {"共和新路1234弄": 1, "临汾路375号": 4},
	}
	// 共和新路: mean 1, score (9−1)/√2 ≈ 5.657; 临汾路: mean 4, score 0; 普善路 below minCount.
	got := Hotspots(current, baseline, 3, 2)
	want := []Hotspot{{Key: "共和新路1234弄", Current: 9, Baseline: 1, Score: 8 / math.Sqrt2}}
	if diff := cmp.Diff(want, got, approx); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestSummarise(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 1; i <= 10; i++ {
		ds = append(ds, time.Duration(i)*time.Hour)
	}
	// Average 5.5 h; nearest-rank p90 of 10 values is the 9th: 9 h.
	want := Durations{N: 10, Avg: 5*time.Hour + 30*time.Minute, P90: 9 * time.Hour}
	if diff := cmp.Diff(want, Summarise(ds)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if got := Summarise(nil); got != (Durations{}) {
		t.Errorf("Summarise(nil) = %v", got)
	}
}

// A city's year has far more than the ~9,700 completions of 11 days (the
// real median) whose nanoseconds overflow an int64 sum.
func TestSummariseDoesNotOverflow(t *testing.T) {
	t.Parallel()
	ds := make([]time.Duration, 20000)
	for i := range ds {
		ds[i] = 11 * 24 * time.Hour
	}
	ds[0] = 12 * 24 * time.Hour
	// Mean 11 days + 1 day/20000 = 11 d + 4.32 s.
	want := Durations{N: 20000, Avg: 11*24*time.Hour + 4320*time.Millisecond, P90: 11 * 24 * time.Hour}
	if diff := cmp.Diff(want, Summarise(ds)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestRatesOf(t *testing.T) {
	t.Parallel()
	// The hand-computed example of TestRates, as counts.
	got := RatesOf(CallbackCounts{Valid: 4, Excluded: 1, Unreached: 1, Contacted: 3, Solved: 2, Satisfied: 1, Basic: 2})
	want := ThreeRates{Valid: 4, Excluded: 1, Unreached: 1, Response: 0.75, Resolution: 0.5, Satisfied: 0.7, Composite: 60.5}
	if diff := cmp.Diff(want, got, approx); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}
