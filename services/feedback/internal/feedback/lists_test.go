package feedback

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reference"
)

func TestParseLevel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"无", 0, true}, {"低", 1, true}, {" 中 ", 2, true}, {"高", 3, true}, {"0", 0, true}, {"3", 3, true},
		{"4", 0, false}, {"很高", 0, false}, {"", 0, false}, {"-1", 0, false},
	} {
		got, ok := ParseLevel(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseLevel(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPlaceKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ key, lane, name string }{
		{"静安区|长乐路||340|", "静安区|长乐路|||", "长乐路340号"},
		{"静安区|长乐路|5|12|", "静安区|长乐路|5||", "长乐路5弄12号"},
		{"静安区|共和新路/延长路|||", "静安区|共和新路/延长路|||", "共和新路/延长路"},
		{"静安区|长乐路||340|兰州拉面", "静安区|长乐路|||", "长乐路340号 (兰州拉面)"},
		{"310106022001001", "310106022001001", "310106022001001"},
	} {
		if got := LaneKey(tc.key); got != tc.lane {
			t.Errorf("LaneKey(%q) = %q, want %q", tc.key, got, tc.lane)
		}
		if got := PlaceName(tc.key); got != tc.name {
			t.Errorf("PlaceName(%q) = %q, want %q", tc.key, got, tc.name)
		}
	}
}

func TestSurveyAddCounts(t *testing.T) {
	t.Parallel()
	l := NewLists(nil, refOf(t), nil)
	sc := policy.Scope{Kind: policy.Community, Code: "310106022001"}
	s, err := l.StartSurvey(sc, "secretary:310106022001", "s1", "t")
	if err != nil {
		t.Fatal(err)
	}
	err = l.Add(sc, s, []SurveyAnswer{
		{Line: 2, Household: "a", Community: "310106022001", Category: "SC01", Level: "高"},
		{Line: 3, Household: "a", Community: "310106022001", Category: "垃圾分类指导", Level: "1"},
		{Line: 4, Household: "b", Community: "310106022001", Category: "SC01", Level: "无"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][NeedLevels]int{}
	for cat, ls := range s.Counts["310106022001"] {
		got[cat] = *ls
	}
	want := map[string][NeedLevels]int{"SC01": {1, 0, 0, 1}, "SC02": {0, 1, 0, 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts mismatch (-want +got):\n%s", diff)
	}
	if s.Households["310106022001"] != 2 || s.Answers != 3 {
		t.Errorf("households %v, answers %d", s.Households, s.Answers)
	}
	h := s.Hash()
	other, _ := l.StartSurvey(sc, "admin", "s1", "t")
	_ = l.Add(sc, other, []SurveyAnswer{{Line: 2, Household: "a", Community: "310106022001", Category: "SC01", Level: "3"},
		{Line: 3, Household: "a", Community: "310106022001", Category: "SC02", Level: "低"},
		{Line: 4, Household: "b", Community: "310106022001", Category: "SC01", Level: "0"}})
	if other.Hash() != h {
		t.Error("the same answers written otherwise (codes for names, digits for words) hash apart")
	}
	if err := l.Add(sc, s, []SurveyAnswer{{Line: 5, Household: "c", Community: "310106022002", Category: "SC01", Level: "高"}}); err == nil {
		t.Error("a secretary counted another community's answer")
	}
}

func refOf(t *testing.T) func() *reference.Set {
	t.Helper()
	s, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	return func() *reference.Set { return s }
}
