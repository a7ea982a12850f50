package rules_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

func load(t *testing.T) (*rules.Set, *reference.Set) {
	t.Helper()
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Load("", ref)
	if err != nil {
		t.Fatalf("shipped keywords.yaml: %v", err)
	}
	return rs, ref
}

func TestShippedRules(t *testing.T) {
	t.Parallel()
	rs, _ := load(t)
	tests := []struct {
		name string
		text string
		want rules.Result
	}{
		{"gas leak names the item and makes it an emergency", "楼道里闻到煤气味很重，怀疑燃气泄漏",
			rules.Result{Item: "H01008", ItemRule: "gas-leak", Urgency: reference.Emergency, Matched: []string{"gas-leak"}}},
		{"a drill is not a leak", "小区今天下午举行燃气泄漏应急演练，请居民配合", rules.Result{}},
		{"full-width and spaces are folded", "燃气 泄漏 ！", rules.Result{Item: "H01008", ItemRule: "gas-leak", Urgency: reference.Emergency, Matched: []string{"gas-leak"}}},
		{"fire lane", "消防通道被堵死了，车都停在里面", rules.Result{Item: "09013", ItemRule: "fire-lane", Urgency: reference.Emergency, Matched: []string{"fire-lane"}}},
		{"urgency only: the model still picks the item", "路口井盖缺失，晚上很危险",
			rules.Result{Urgency: reference.Urgent, Matched: []string{"open-manhole"}}},
		{"several rules: the first item, the highest urgency", "楼道里飞线充电，已经着火了",
			rules.Result{Item: "H13003", ItemRule: "fire-risk-charging", Urgency: reference.Emergency, Matched: []string{"fire-risk-charging", "danger-to-life"}}},
		{"announced outage is not urgent", "咨询明天计划停电到几点", rules.Result{}},
		{"nothing", "邻居家装修声音太大", rules.Result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, rs.Match(tt.text), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Match(%q) mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestRulesLabels(t *testing.T) {
	t.Parallel()
	_, ref := load(t)
	rs, err := rules.Parse([]byte(`
rules:
  - {name: a, keywords: [群租], labels: [重复投诉, 群租]}
  - {name: b, keywords: [ＡＢＣ], labels: [群租, abc], urgency: urgent}
`), "test", ref)
	if err != nil {
		t.Fatal(err)
	}
	got := rs.Match("abc 群租")
	want := rules.Result{Urgency: reference.Urgent, Labels: []string{"重复投诉", "群租", "abc"}, Matched: []string{"a", "b"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	_, ref := load(t)
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown item", `rules: [{name: a, keywords: [x], item: "99999"}]`, `item "99999" is not in the catalogue`},
		{"no keywords", `rules: [{name: a, urgency: urgent}]`, "no keywords"},
		{"sets nothing", `rules: [{name: a, keywords: [x]}]`, "sets nothing"},
		{"bad urgency", `rules: [{name: a, keywords: [x], urgency: asap}]`, `urgency "asap"`},
		{"duplicate name", `rules: [{name: a, keywords: [x], urgency: urgent}, {name: a, keywords: [y], urgency: urgent}]`, "name used twice"},
		{"bad name", `rules: [{name: A B, keywords: [x], urgency: urgent}]`, "slug"},
		{"unknown field", `rules: [{name: a, keyword: [x], urgency: urgent}]`, "field keyword not found"},
		{"blank keyword", `rules: [{name: a, keywords: [" "], urgency: urgent}]`, "empty keyword"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := rules.Parse([]byte(tt.yaml), "test.yaml", ref)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestMax(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ a, b, want reference.Urgency }{
		{"", "", ""}, {"", reference.Normal, reference.Normal}, {reference.Urgent, reference.Normal, reference.Urgent},
		{reference.Urgent, reference.Emergency, reference.Emergency}, {reference.Emergency, "", reference.Emergency},
	} {
		if got := rules.Max(tt.a, tt.b); got != tt.want {
			t.Errorf("Max(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}
