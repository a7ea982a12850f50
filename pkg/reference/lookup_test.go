package reference

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func defaults(tb testing.TB) *Set {
	tb.Helper()
	s, err := LoadDefault()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestArea(t *testing.T) {
	t.Parallel()
	s := defaults(t)
	got, ok := s.Area("310106022003002")
	want := Area{Code: "310106022003002", Name: "中华新村东网格", Level: LevelGrid, Parent: "310106022003",
		District: "310106", Street: "310106022", Community: "310106022003"}
	if !ok {
		t.Fatal("grid not found")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Area mismatch (-want +got):\n%s", diff)
	}
	st, _ := s.Area("310106021")
	if st.Level != LevelStreet || st.Parent != "310106" || st.Name != "临汾路街道" || st.Community != "" {
		t.Errorf("street = %+v", st)
	}
	for _, code := range []string{"0", "", "310106099", "31010602200"} {
		if _, ok := s.Area(code); ok {
			t.Errorf("Area(%q) found", code)
		}
	}
	if n := len(s.Areas(LevelGrid)); n != 12 {
		t.Errorf("%d grids", n)
	}
}

func TestGridAt(t *testing.T) {
	t.Parallel()
	s := defaults(t)
	tests := []struct {
		name     string
		lat, lng float64
		want     string
	}{
		{"芷江西路 south-west", 31.2530, 121.4500, "310106022001001"},
		{"芷江西路 south-east", 31.2530, 121.4600, "310106022001002"},
		{"中华新村 east", 31.2620, 121.4620, "310106022003002"},
		{"临汾路 north-west", 31.3070, 121.4490, "310106021003001"},
		{"between the streets", 31.2800, 121.4550, ""},
		{"the Bund", 31.2400, 121.4900, ""},
	}
	for _, tt := range tests {
		g, ok := s.GridAt(tt.lat, tt.lng)
		if ok != (tt.want != "") || g.Code != tt.want {
			t.Errorf("%s: GridAt = %q, %v; want %q", tt.name, g.Code, ok, tt.want)
		}
	}
	// A point on the edge shared by two grids lands in exactly one.
	g, ok := s.GridAt(31.2540, 121.4560)
	if !ok || (g.Code != "310106022001001" && g.Code != "310106022001002") {
		t.Errorf("shared edge: %q, %v", g.Code, ok)
	}
	if g, ok := s.Grid("310106022001001"); !ok || len(g.Polygon) != 4 {
		t.Errorf("Grid = %+v, %v", g, ok)
	}
}

func TestLookupAddress(t *testing.T) {
	t.Parallel()
	s := defaults(t)
	z, l := "310106022", "310106021"
	tests := []struct {
		name         string
		road         string
		lane, number int
		want         AddressMatch
		ok           bool
	}{
		{"odd side", "共和新路", 0, 1101, AddressMatch{District: "310106", Street: z, Community: z + "001", Grid: z + "001001"}, true},
		{"even side", "共和新路", 0, 1100, AddressMatch{District: "310106", Street: z, Community: z + "001", Grid: z + "001002"}, true},
		{"further north", "共和新路", 0, 1455, AddressMatch{District: "310106", Street: z, Community: z + "003", Grid: z + "003001"}, true},
		{"临汾路 section", "共和新路", 0, 3210, AddressMatch{District: "310106", Street: l, Community: l + "002", Grid: l + "002002"}, true},
		{"a lane with its own entry", "共和新路", 1450, 12, AddressMatch{District: "310106", Street: z, Community: z + "003", Grid: z + "003002"}, true},
		{"a lane split by numbers", "芷江西路", 61, 45, AddressMatch{District: "310106", Street: z, Community: z + "002", Grid: z + "002002"}, true},
		{"a lane placed by the road frontage", "共和新路", 1221, 5, AddressMatch{District: "310106", Street: z, Community: z + "002", Grid: z + "002001", Frontage: true}, true},
		{"community-only entry", "汾西路", 0, 88, AddressMatch{District: "310106", Street: l, Community: l + "001"}, true},
		{"whole-lane entry without a number", "临汾路", 375, 0, AddressMatch{District: "310106", Street: l, Community: l + "002", Grid: l + "002002"}, true},
		{"unknown number on a ranged road", "共和新路", 0, 0, AddressMatch{}, false},
		{"number past the ranges", "共和新路", 0, 9999, AddressMatch{}, false},
		{"unknown road", "南京西路", 0, 1, AddressMatch{}, false},
		{"road without suffix is not canonical", "共和新", 0, 1101, AddressMatch{}, false},
	}
	for _, tt := range tests {
		got, ok := s.LookupAddress(tt.road, tt.lane, tt.number)
		if ok != tt.ok {
			t.Errorf("%s: ok = %v", tt.name, ok)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: LookupAddress mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	if m, ok := s.LookupPlace("中华新村"); !ok || m.Grid != z+"003002" {
		t.Errorf("LookupPlace = %+v, %v", m, ok)
	}
	if _, ok := s.LookupPlace("东方明珠"); ok {
		t.Error("LookupPlace found a place not listed")
	}
}

func TestCatalogue(t *testing.T) {
	t.Parallel()
	s := defaults(t)
	it, ok := s.Item("06001")
	if !ok || it.Name != "私搭乱建" || it.Parent != "06" || it.Power != "city_management.illegal_structures" ||
		!it.ReviewRequired || it.DuplicateWindow != 30*24*time.Hour || it.Urgency != Normal || it.HotlineClass != "H01000" {
		t.Errorf("Item(06001) = %+v", it)
	}
	if it, _ := s.Item("06010"); it.DuplicateWindow != 24*time.Hour || it.ReviewRequired || it.SLA != "garbage" {
		t.Errorf("Item(06010) = %+v", it)
	}
	if it, _ := s.Item("H04001"); it.DuplicateWindow != DefaultDuplicateWindow {
		t.Errorf("default window = %v", it.DuplicateWindow)
	}
	if cl, ok := s.Item("H01000"); !ok || !cl.Class || cl.Name != "城乡建设" {
		t.Errorf("Item(H01000) = %+v", cl)
	}
	for code, want := range map[string]string{
		"H01099": "", // not defined
		"H13004": "H13000",
		"H13000": "H13000",
		"06001":  "H01000", // the class's hotline_class
		"06020":  "H04000", // the item's own override
		"09013":  "H13000",
		"02":     "H06000",
		"10999":  "H01000",
	} {
		got, ok := s.FirstLevel(code)
		if ok != (want != "") || got.Code != want {
			t.Errorf("FirstLevel(%s) = %q, %v; want %q", code, got.Code, ok, want)
		}
	}
	var codes []string
	for _, it := range s.ItemsByName("噪声扰民") {
		codes = append(codes, it.Code)
	}
	if diff := cmp.Diff([]string{"06020", "H04001"}, codes); diff != "" {
		t.Errorf("ItemsByName mismatch (-want +got):\n%s", diff)
	}
	if it, ok := s.ItemByName("违建"); !ok || it.Code != "06001" {
		t.Errorf("ItemByName(违建) by synonym = %q, %v", it.Code, ok)
	}
	if it := s.CatchAll(TreeHotline); it.Code != "H02999" || !it.CatchAll {
		t.Errorf("CatchAll(hotline) = %+v", it)
	}
	if it := s.CatchAll(TreeUrban); it.Code != "10999" {
		t.Errorf("CatchAll(urban) = %+v", it)
	}
	if n := len(s.ClassItems("H15000")); n != 7 {
		t.Errorf("ClassItems(H15000) = %d", n)
	}
	var classes []string
	for _, it := range s.Items(TreeHotline) {
		if it.Class {
			classes = append(classes, it.Name)
		}
	}
	want := []string{"城乡建设", "党务政务", "国土资源", "环境保护", "纪检监察", "交通运输", "经济管理", "科技与信息产业",
		"民政", "农村农业", "商贸旅游", "卫生计生", "政法", "教育文体", "劳动和社会保障"}
	if diff := cmp.Diff(want, classes); diff != "" {
		t.Errorf("hotline first level mismatch (-want +got):\n%s", diff)
	}
	for _, c := range []struct {
		code        string
		tree        Tree
		class, okay bool
	}{{"06", TreeUrban, true, true}, {"06001", TreeUrban, false, true}, {"H01000", TreeHotline, true, true},
		{"H01012", TreeHotline, false, true}, {"00", 0, false, false}, {"06000", 0, false, false}, {"H0100", 0, false, false}} {
		tree, class, ok := TreeOf(c.code)
		if tree != c.tree || class != c.class || ok != c.okay {
			t.Errorf("TreeOf(%s) = %v %v %v", c.code, tree, class, ok)
		}
	}
}

func TestDepartments(t *testing.T) {
	t.Parallel()
	s := defaults(t)
	d, ok := s.Department("310106022-cgzd")
	if !ok || d.Level != LevelStreet || d.Area != "310106022" || d.Unit != "cgzd" || d.Parent != "310106-cgj" || d.Duty != DutyAllHours {
		t.Errorf("Department = %+v", d)
	}
	if !d.Holds("city_management.street_order") || !d.Holds("city_management") || d.Holds("market_regulation") || d.Holds("city") {
		t.Errorf("Holds: %v", d.Powers)
	}
	if !d.Covers("310106022001001") || d.Covers("310106021001001") {
		t.Error("Covers")
	}
	if d, _ := s.Department("310106022-fgb"); d.Duty != DutyWorkingHours {
		t.Errorf("default duty = %q", d.Duty)
	}
	for area, want := range map[string]string{"310106": "310106-cyzx", "310106021": "310106021-cyzx"} {
		if d, ok := s.Desk(area); !ok || d.Code != want {
			t.Errorf("Desk(%s) = %q", area, d.Code)
		}
	}
	if _, ok := s.Desk("310106022001"); ok {
		t.Error("a community has no desk")
	}
}

func TestRulesParsed(t *testing.T) {
	t.Parallel()
	s := defaults(t)
	rules := s.Rules()
	var night Rule
	for _, r := range rules {
		if r.Name == "night-noise" {
			night = r
		}
	}
	if night.Match.Hours == nil || !night.Match.Hours.Contains(23*time.Hour) || !night.Match.Hours.Contains(5*time.Hour) ||
		night.Match.Hours.Contains(12*time.Hour) || night.Lead.String() != "{street}-pcs" || night.SLA != "night_response" {
		t.Errorf("night-noise = %+v", night)
	}
	if code, ok := night.Lead.Resolve("310106", "310106021"); !ok || code != "310106021-pcs" {
		t.Errorf("Resolve = %q, %v", code, ok)
	}
	if _, ok := night.Lead.Resolve("310106", Unknown); ok {
		t.Error("a {street} target resolved without a street")
	}
	last := rules[len(rules)-1]
	if last.Name != "district-desk" || !last.Match.IsEmpty() {
		t.Errorf("last rule = %+v", last)
	}
	for _, c := range []struct {
		m, code string
		want    bool
	}{{"06", "06001", true}, {"06", "06", true}, {"06", "07001", false}, {"H01000", "H01012", true},
		{"H01000", "06001", false}, {"06001", "06001", true}, {"06001", "06002", false}} {
		if got := ItemCovers(c.m, c.code); got != c.want {
			t.Errorf("ItemCovers(%s, %s) = %v", c.m, c.code, got)
		}
	}
	for _, bad := range []string{"", "cgzd", "{street}", "{street}-CG", "{grid}-x", "310106022cgzd"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) accepted", bad)
		}
	}
}
