package reference

import (
	"slices"
	"strings"
	"testing"
)

// TestRetiredCodesResolve: every retired code of the shipped catalogue
// resolves to an active item of its tree, lookups by the old code answer the
// successor, and no retired code is active again.
func TestRetiredCodesResolve(t *testing.T) {
	t.Parallel()
	s, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"H01011": "H01002", "H03002": "H01021", "H05002": "H02002", "H07002": "H11001"}
	got := map[string]string{}
	for _, tree := range []Tree{TreeUrban, TreeHotline} {
		for _, r := range s.RetiredCodes(tree) {
			got[r.Code] = r.Successor
			it, ok := s.Item(r.Code)
			if !ok || it.Code != r.Successor || it.Class || it.Tree != tree {
				t.Errorf("Item(%s) = %s %v, want its successor %s, an item of the %s tree", r.Code, it.Code, ok, r.Successor, tree)
			}
			if succ, retired := s.Successor(r.Code); !retired || succ != r.Successor {
				t.Errorf("Successor(%s) = %q %v, want %s", r.Code, succ, retired, r.Successor)
			}
			if fl, ok := s.FirstLevel(r.Code); !ok || fl.Code != it.HotlineClass {
				t.Errorf("FirstLevel(%s) = %s %v, want the successor's class %s", r.Code, fl.Code, ok, it.HotlineClass)
			}
			if slices.ContainsFunc(s.Items(tree), func(i Item) bool { return i.Code == r.Code }) {
				t.Errorf("retired %s is listed among the active items", r.Code)
			}
			if strings.TrimSpace(r.Reason) == "" {
				t.Errorf("retired %s gives no reason", r.Code)
			}
		}
	}
	for code, succ := range want {
		if got[code] != succ {
			t.Errorf("retired %s → %q, want %s", code, got[code], succ)
		}
	}
	if _, retired := s.Successor("H01002"); retired {
		t.Error("an active code reports a successor")
	}
}

// TestRetiredValidation: a retired code must not be active, must name a
// successor that resolves to an item of its tree, and rules name the
// successor, not the retired code.
func TestRetiredValidation(t *testing.T) {
	t.Parallel()
	cat, rules := FileCatalogue, FileRules
	retire := func(s string) edit {
		return edit{cat, "  retired:\n", "  retired:\n    - " + s + "\n"}
	}
	tests := []struct {
		name        string
		edits       []edit
		file, entry string
		cause       string
	}{
		{"active code retired", []edit{retire("{code: H01002, name: 物业, successor: H01003, reason: x}")}, cat, "retired H01002", "still an active"},
		{"no successor", []edit{retire("{code: H01099, name: 旧, reason: x}")}, cat, "retired H01099", "no successor"},
		{"unknown successor", []edit{retire("{code: H01099, name: 旧, successor: H01098, reason: x}")}, cat, "retired H01099", "does not resolve"},
		{"loop", []edit{retire("{code: H01098, name: 旧甲, successor: H01099, reason: x}"), retire("{code: H01099, name: 旧乙, successor: H01098, reason: x}")}, cat, "retired H01099", "loop"},
		{"successor a class", []edit{retire("{code: H01099, name: 旧, successor: H01000, reason: x}")}, cat, "retired H01099", "not an item of the hotline tree"},
		{"successor in the other tree", []edit{retire("{code: H01099, name: 旧, successor: \"06001\", reason: x}")}, cat, "retired H01099", "not an item of the hotline tree"},
		{"rule names a retired code", []edit{{rules, "match: {items: [H01020]}", "match: {items: [H01020, H07002]}"}}, rules, "rule housing-fund", "retired: name its successor H11001"},
		{"exact marker on an item", []edit{{rules, `match: {items: ["=H04000"]}`, `match: {items: ["=H04001"]}`}}, rules, "rule class-environment", "is not a class"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadEdited(t, tt.edits...)
			if err == nil {
				t.Fatal("loaded without problems")
			}
			for _, p := range problems(t, err) {
				if p.File == tt.file && strings.Contains(p.Entry, tt.entry) && strings.Contains(p.Reason, tt.cause) {
					return
				}
			}
			t.Errorf("no problem in %s for %q with %q; got:\n%v", tt.file, tt.entry, tt.cause, err)
		})
	}
}

// TestEveryClassHasARoute: a case classified only to a first-level hotline
// class is claimed by a rule before the fallbacks (its triage route), and
// that rule matches the class alone or the whole class; the items keep
// their own rules.
func TestEveryClassHasARoute(t *testing.T) {
	t.Parallel()
	s, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	for _, cl := range s.Items(TreeHotline) {
		if !cl.Class {
			continue
		}
		var route *Rule
		for _, r := range s.Rules() {
			if !r.Lead.IsZero() && !r.Continue && r.Match.onlyItems() &&
				slices.ContainsFunc(r.Match.Items, func(m string) bool { return ItemCovers(m, cl.Code) }) {
				route = &r
				break
			}
		}
		switch {
		case route == nil:
			t.Errorf("class %s %s: no rule routes it", cl.Code, cl.Name)
		case s.IsFallback(*route):
			t.Errorf("class %s %s: only the fallback %s takes it", cl.Code, cl.Name, route.Name)
		case s.CanLead(route.Lead.Code, cl.Code) != nil && route.Lead.Scope == Fixed:
			t.Errorf("class %s: lead %s cannot lead it: %v", cl.Code, route.Lead, s.CanLead(route.Lead.Code, cl.Code))
		}
	}
	// The exact form takes the class, not its items.
	if !ItemCovers("=H04000", "H04000") || ItemCovers("=H04000", "H04006") || !ItemCovers("H04000", "H04006") {
		t.Error(`"=H04000" must cover the class H04000 alone`)
	}
	if matcherCovers("=H04000", "H04000") || !matcherCovers("H04000", "=H04000") || !matcherCovers("=H04000", "=H04000") {
		t.Error("matcherCovers: the class alone covers neither the whole class nor less than itself")
	}
}
