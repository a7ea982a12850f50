package routing

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gridflow/gridflow/pkg/reference"
)

// powerless compiles a set's rules and then gives the named rules new leads,
// bypassing the loader, which refuses a lead without the power its items
// need: the run-time check must hold on its own.
func powerless(tb testing.TB, set *reference.Set, leads map[string]string) *Router {
	tb.Helper()
	r := New(set)
	for name, lead := range leads {
		t, err := reference.ParseTarget(lead)
		if err != nil {
			tb.Fatal(err)
		}
		found := false
		for i := range r.rules {
			if r.rules[i].Name == name {
				r.rules[i].Lead, found = t, true
			}
		}
		if !found {
			tb.Fatalf("no rule %s", name)
		}
	}
	return r
}

// TestDecidePassesOverALeadWithoutThePower: a rule whose lead, as resolved
// for the case, lacks the item's power is passed over with a note in the
// path, and the next rule or the desk takes the case; co-handlers need no
// power.
func TestDecidePassesOverALeadWithoutThePower(t *testing.T) {
	t.Parallel()
	set := defaults(t)
	r := powerless(t, set, map[string]string{"noise": "{street}-cgzd", "education": "310106-zjw"})
	night := powerless(t, set, map[string]string{"night-noise": "{street}-fgb"})
	tests := []struct {
		name string
		r    *Router
		c    Case
		want summary
		note string // in the first step's Why
	}{
		{"the desk takes what the rule's lead cannot", r,
			Case{Item: "06020", Street: zj, Received: at(mon)},
			summary{Lead: zj + "-cyzx by street-desk", Fired: []string{"(noise)", "street-desk"}},
			"item 06020; passed over: lead 310106022-cgzd lacks power public_security (公安) needed by 06020 噪声扰民"},
		{"the next rule takes it", night,
			Case{Item: "06020", Street: lf, Received: at(nite)},
			summary{Lead: lf + "-pcs by noise", Fired: []string{"(night-noise)", "noise"}},
			"passed over: lead 310106021-fgb lacks power public_security (公安) needed by 06020 噪声扰民"},
		{"a fixed lead without the power", r,
			Case{Item: "H14001", Street: lf, Received: at(mon)},
			summary{Lead: lf + "-cyzx by street-desk", Fired: []string{"(education)", "street-desk"}},
			"passed over: lead 310106-zjw lacks power education (教育) needed by H14001 学校收费"},
		{"street unknown: the district desk", r,
			Case{Item: "H14001", District: "310106", Street: reference.Unknown, Received: at(mon)},
			summary{Lead: "310106-cyzx by district-desk", Fired: []string{"(education)", "(street-desk)", "district-desk"}},
			"passed over: lead 310106-zjw lacks power education"},
		{"a whistled co-handler needs no power of the item", r,
			Case{Item: "H14001", Street: lf, Received: at(mon), Named: []string{"310106-zjw"}},
			summary{Lead: lf + "-cyzx by street-desk", Co: []string{"310106-zjw by whistle"},
				Fired: []string{"(education)", "street-desk", "whistle"}},
			"passed over: lead 310106-zjw lacks power education"},
		{"a rule's co-handler needs none either", r,
			Case{Item: "09013", Street: zj, Received: at(mon)},
			summary{Lead: zj + "-pcs by fire-lane", Co: []string{zj + "-cyzx by emergency-street-desk", zj + "-cgzd by fire-lane"},
				Fired: []string{"emergency-street-desk", "fire-lane"}},
			"urgency emergency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := tt.r.Decide(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summarise(d)); diff != "" {
				t.Errorf("decision mismatch (-want +got):\n%s\npath: %+v", diff, d.Path)
			}
			if !strings.Contains(d.Path[0].Why, tt.note) {
				t.Errorf("first step %q, want it to say %q", d.Path[0].Why, tt.note)
			}
			if err := set.CanLead(d.Lead.Department, tt.c.Item); err != nil && !strings.HasSuffix(d.Lead.Rule, "desk") {
				t.Errorf("lead %s: %v", d.Lead.Department, err)
			}
		})
	}
}

// TestDecideLeadsHoldThePower: over generated cases, every lead the shipped
// and a generated 责任清单 choose holds the item's power, or is a desk taking
// the case as the fallback.
func TestDecideLeadsHoldThePower(t *testing.T) {
	t.Parallel()
	base := defaults(t)
	for _, set := range []*reference.Set{base, withRules(t, genRules(t, base, 500, false, 7))} {
		r := New(set)
		for _, c := range genCases(set, 2000, 11) {
			d, err := r.Decide(c)
			if err != nil {
				t.Fatal(err)
			}
			dept, _ := set.Department(d.Lead.Department)
			if err := set.CanLead(d.Lead.Department, c.Item); err != nil && !dept.Desk {
				t.Fatalf("case %+v: %v (rule %s)", c, err, d.Lead.Rule)
			}
		}
	}
}
