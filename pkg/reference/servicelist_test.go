package reference

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestServiceListOfTheDefaults(t *testing.T) {
	s, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.ServiceCategories()); n != 14 {
		t.Errorf("%d service categories, want the survey's 14", n)
	}
	for _, name := range []string{"居民体质监测", "垃圾分类指导", "精神慰藉与心理疏导", "公共设施完善"} {
		found := false
		for _, c := range s.ServiceCategories() {
			found = found || c.Name == name
		}
		if !found {
			t.Errorf("DOMAIN.md's category %s is missing", name)
		}
	}
	for _, tc := range []struct{ item, want string }{
		{"06040", "SC02"}, {"H09001", "SC05"}, {"H13001", "SC11"}, {"H02999", ""},
	} {
		if got, _ := s.CategoryOfItem(tc.item); got != tc.want {
			t.Errorf("CategoryOfItem(%s) = %q, want %q", tc.item, got, tc.want)
		}
	}
	ids := func(vs []Service) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.ID)
		}
		return out
	}
	// A street's service serves its communities; a community's service
	// counts for its street; another street's does not.
	if diff := cmp.Diff([]string{"svc-zj-sorting"}, ids(s.ServicesFor("SC02", "310106022001"))); diff != "" {
		t.Errorf("ServicesFor(SC02, 洪南山宅) mismatch (-want +got):\n%s", diff)
	}
	if got := ids(s.ServicesFor("SC02", "310106022003")); len(got) != 0 {
		t.Errorf("ServicesFor(SC02, 中华新村) = %v, want none", got)
	}
	if diff := cmp.Diff([]string{"svc-lf-safety"}, ids(s.ServicesFor("SC14", "310106022"))); diff != "" {
		t.Errorf("ServicesFor(SC14, 芷江西路街道) mismatch (-want +got):\n%s", diff)
	}
	if got := ids(s.ServicesFor("SC03", "310106022001")); len(got) != 0 {
		t.Errorf("ServicesFor(SC03, 洪南山宅) = %v, want none (the demo's unanswered need)", got)
	}
}

func TestServiceListRefused(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, f := range Files {
		data, err := fs.ReadFile(DefaultFS(), f)
		if err != nil {
			t.Fatal(err)
		}
		fsys[f] = &fstest.MapFile{Data: data}
	}
	fsys[FileServiceCategories] = &fstest.MapFile{Data: []byte(`categories:
  - {code: SC01, name: 甲, items: ["06040"]}
  - {code: SC01, name: 乙}
  - {code: X3, name: 甲, items: ["99999", "06040"]}
  - {code: SC04, name: ""}
`)}
	fsys[FileServices] = &fstest.MapFile{Data: []byte(`services:
  - id: svc-a
    organisation: 某中心
    name: 某服务
    categories: [SC01, SC99, SC01]
    areas: ["310106022", "310106099", "310106", "310106022"]
  - id: svc-a
    organisation: ""
    name: ""
    categories: []
    areas: []
`)}
	_, err := Load(fsys)
	if err == nil {
		t.Fatal("a bad service list loaded")
	}
	for _, want := range []string{
		"servicecategories.yaml:3: category SC01: duplicate code",
		"code must be SC and two digits", `duplicate name "甲"`, `unknown catalogue code "99999"`,
		"catalogue code 06040 already maps to SC01", "no name",
		`unknown category "SC99"`, "category SC01 listed twice", `unknown area "310106099"`,
		"area 310106 is a district", "area 310106022 listed twice",
		"services.yaml:7: service svc-a: duplicate id", "no organisation", "answers no category", "serves no area",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
