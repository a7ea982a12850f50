package warning

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestShippedRules(t *testing.T) {
	t.Parallel()
	rs := DefaultRules()
	if rs.Places.MinCount != 4 || rs.Subjects.MinCount != 6 || rs.Places.Window != 168*time.Hour || rs.Places.BaselineWindows != 4 {
		t.Errorf("shipped rules: %+v", rs)
	}
	if got := rs.For(Subject, "01004").Name; got != "市容环境" {
		t.Errorf("01004's rule %s", got)
	}
	if got := rs.For(Subject, "H01012").Name; got != "subjects" {
		t.Errorf("H01012's rule %s", got)
	}
	if got := rs.For(Place, "01").Name; got != "places" {
		t.Errorf("a place's rule %s", got)
	}
}

func TestLongestPrefixWins(t *testing.T) {
	t.Parallel()
	rs, err := Parse("t", []byte(`
default: {min_count: 3, rise: 2, window: 24h, baseline_windows: 4, further_step: 1.5}
classes:
  - {name: class, items: ["01"], min_count: 5}
  - {name: item, items: ["01004"], rise: 3, window: 1h}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := rs.For(Subject, "01004")
	want := Rule{Name: "item", MinCount: 3, Rise: 3, Window: time.Hour, BaselineWindows: 4, FurtherStep: 1.5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Span{{24 * time.Hour, 4}, {time.Hour, 4}}, rs.Spans()); diff != "" {
		t.Errorf("spans mismatch (-want +got):\n%s", diff)
	}
	if rs.MinCount(Span{24 * time.Hour, 4}) != 3 || rs.MinCount(Span{time.Hour, 4}) != 3 {
		t.Errorf("min counts")
	}
}

func TestBadRulesSayWhere(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ doc, want string }{
		{``, "default: is required"},
		{"default: {min_count: 0, rise: 2, window: 1h, baseline_windows: 1, further_step: 2}", "t:1: default: min_count 0"},
		{"default: {min_count: 1, rise: 1, window: 1h, baseline_windows: 1, further_step: 2}", "rise 1: want a ratio above 1"},
		{"default: {min_count: 1, rise: 2, window: 1h, baseline_windows: 1, further_step: 1}", "further_step 1"},
		{"default: {min_count: 1, rise: 2, window: 1h, baseline_windows: 0, further_step: 2}", "baseline_windows 0"},
		{"default: {min_count: 1, rise: 2, window: 100ms, baseline_windows: 1, further_step: 2}", "window 100ms"},
		{"default: {min_count: 1, rise: 2, window: 1h, baseline_windows: 1, further_step: 2}\nplace: {}", "field place not found"},
		{"default: {min_count: 1, rise: 2, window: 1h, baseline_windows: 1, further_step: 2}\nclasses:\n  - {name: x, items: [A1]}", `t:3: classes[0] (x): item prefix "A1"`},
		{"default: {min_count: 1, rise: 2, window: 1h, baseline_windows: 1, further_step: 2}\nclasses:\n  - {name: x, items: [\"01\"]}\n  - {name: y, items: [\"01\"]}", `is x's already`},
	} {
		_, err := Parse("t", []byte(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.doc, err, tt.want)
		}
	}
}

func TestWindowStart(t *testing.T) {
	t.Parallel()
	sh := time.FixedZone("CST", 8*3600)
	for _, tt := range []struct {
		at   time.Time
		w    time.Duration
		want time.Time
	}{
		// Thursday 5 March 2026 10:20 in Shanghai: its week began Monday.
		{time.Date(2026, 3, 5, 10, 20, 0, 0, sh), 168 * time.Hour, time.Date(2026, 3, 2, 0, 0, 0, 0, sh)},
		{time.Date(2026, 3, 5, 0, 20, 0, 0, sh), 24 * time.Hour, time.Date(2026, 3, 5, 0, 0, 0, 0, sh)},
		{time.Date(2026, 3, 5, 10, 20, 0, 0, sh), time.Hour, time.Date(2026, 3, 5, 10, 0, 0, 0, sh)},
		// Before the anchor too.
		{time.Date(2023, 12, 31, 23, 0, 0, 0, sh), 24 * time.Hour, time.Date(2023, 12, 31, 0, 0, 0, 0, sh)},
	} {
		if got := WindowStart(tt.at, tt.w); !got.Equal(tt.want) {
			t.Errorf("WindowStart(%v, %v) = %v, want %v", tt.at, tt.w, got, tt.want)
		}
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	r := Rule{MinCount: 4, Rise: 2, Window: time.Hour, BaselineWindows: 2, FurtherStep: 1.5}
	place := func(cur, base int) Count { return Count{Kind: Place, Current: cur, Baseline: base} }
	for _, tt := range []struct {
		name string
		c    Count
		w    *Warning
		want Decision
	}{
		{"below min count", place(3, 0), nil, Keep},
		{"new key", place(4, 0), nil, Raise},
		{"rise below the rule", place(5, 6), nil, Keep}, // mean 3: rise 1.67
		{"rise at the rule", place(6, 6), nil, Raise},
		{"raised already", place(9, 0), &Warning{State: Raised}, Keep},
		{"acknowledged", place(90, 0), &Warning{State: Acknowledged}, Keep},
		{"dismissed, same level", place(5, 0), &Warning{State: Dismissed, DismissedRise: 4}, Keep},
		{"dismissed, a step up", place(6, 0), &Warning{State: Dismissed, DismissedRise: 4}, Return},
		{"subject at one place", Count{Kind: Subject, Current: 9, Places: 1}, nil, Keep},
		{"subject at two places", Count{Kind: Subject, Current: 9, Places: 2}, nil, Raise},
	} {
		if got, _ := Decide(r, tt.c, tt.w); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A reload (SIGHUP) that reads bad rules keeps the rules in force.
func TestHolderKeepsRulesOnABadReload(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "rules.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("default: {min_count: 3, rise: 2, window: 24h, baseline_windows: 4, further_step: 1.5}\n")
	h, err := NewHolder(file)
	if err != nil {
		t.Fatal(err)
	}
	write("default: {min_count: 0, rise: 2, window: 24h, baseline_windows: 4, further_step: 1.5}\n")
	if err := h.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), file+":1: default: min_count 0") {
		t.Fatalf("bad reload: %v", err)
	}
	if got := h.Current().Places.MinCount; got != 3 {
		t.Errorf("after a bad reload min_count %d, want 3", got)
	}
	write("default: {min_count: 7, rise: 2, window: 24h, baseline_windows: 4, further_step: 1.5}\n")
	if err := h.Refresh(context.Background()); err != nil || h.Current().Places.MinCount != 7 {
		t.Errorf("good reload: %v, min_count %d", err, h.Current().Places.MinCount)
	}
	if _, err := NewHolder(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing rules file started")
	}
}
