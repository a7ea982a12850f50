package reference

import (
	"errors"
	"strings"
	"testing"
)

// TestLeadPowers: a rule that can lead an item without its power is refused
// however it matches (items, keywords or labels alone, continuing), and the
// rules that cannot — fallbacks, co-handler-only rules, rules whose items
// are all claimed earlier for every case they can fire for — load.
func TestLeadPowers(t *testing.T) {
	t.Parallel()
	early := func(s string) edit {
		return edit{FileRules, "  # Emergencies and safety.\n", s + "\n  # Emergencies and safety.\n"}
	}
	// After illegal-structures ({street}-cgzd takes 06001 whenever the
	// street is known).
	late := func(s string) edit { return edit{FileRules, "  # 市场监管.\n", s + "\n  # 市场监管.\n"} }
	tests := []struct {
		name  string
		edit  edit
		entry string
		cause string // "" : the set loads
	}{
		{"keyword-only lead without the power", early("  - {name: kw-fire, match: {keywords: [着火]}, lead: 310106-xfzd}"),
			"rule kw-fire", "lead 310106-xfzd lacks power city_management.illegal_structures needed by 06001 私搭乱建"},
		{"keyword-only rule is told to list its items", early("  - {name: kw-fire, match: {keywords: [着火]}, lead: 310106-xfzd}"),
			"rule kw-fire", "list the items it may lead under match.items"},
		{"label-only lead without the power", early("  - {name: by-label, match: {labels: [教育]}, lead: 310106-jyj}"),
			"rule by-label", "lead 310106-jyj lacks power public_security needed by"},
		{"source-only lead without the power", early("  - {name: patrol-cgzd, match: {sources: [patrol]}, lead: \"{street}-cgzd\"}"),
			"rule patrol-cgzd", "lead 310106022-cgzd lacks power education needed by H14001 学校收费"},
		{"continuing rule leads when it comes first", early("  - {name: x, match: {items: [H14001]}, lead: 310106-zjw, continue: true}"),
			"rule x", "lead 310106-zjw lacks power education needed by H14001 学校收费"},
		{"keywords beside items are checked on the items", early("  - {name: x, match: {items: [H14001], keywords: [收费]}, lead: 310106-zjw}"),
			"rule x", "lead 310106-zjw lacks power education needed by H14001 学校收费"},
		{"a desk is no fallback when the rule matches something", early("  - {name: x, match: {areas: [\"310106021\"]}, lead: 310106021-cyzx}"),
			"rule x", "lead 310106021-cyzx lacks power"},
		{"a fixed lead reaches what a {street} rule leaves when the street is unknown", late("  - {name: x, match: {items: [\"06001\"]}, lead: 310106-zjw}"),
			"rule x", "lead 310106-zjw lacks power city_management.illegal_structures needed by 06001 私搭乱建"},

		{"keywords beside items, lead holds the power", early("  - {name: x, match: {items: [H13003], keywords: [燃气]}, lead: 310106-xfzd}"), "", ""},
		{"keyword-only co-handler needs no power", early("  - {name: x, match: {keywords: [学校]}, co: [310106-jyj], continue: true}"), "", ""},
		{"a fixed lead holding the power takes what a {street} rule leaves", late("  - {name: x, match: {items: [\"06001\"]}, lead: 310106-cgj}"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadEdited(t, tt.edit)
			if tt.cause == "" {
				if err != nil {
					t.Fatalf("want the set to load, got:\n%v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("loaded without problems")
			}
			for _, p := range problems(t, err) {
				if p.File == FileRules && p.Entry == tt.entry && strings.Contains(p.Reason, tt.cause) {
					return
				}
			}
			t.Errorf("no problem for %q with %q; got:\n%v", tt.entry, tt.cause, err)
		})
	}
}

func TestCanLead(t *testing.T) {
	t.Parallel()
	s, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dept, item string
		want       string // "" : may lead
	}{
		{"310106022-pcs", "06020", ""},
		{"310106022-cgzd", "06022", ""}, // city_management covers city_management.street_order
		{"310106-jyj", "06020", "310106-jyj lacks power public_security (公安) needed by 06020 噪声扰民"},
		{"310106022-cyzx", "06020", "310106022-cyzx lacks power public_security (公安) needed by 06020 噪声扰民"},
		{"310106022-cyzx", "10999", ""}, // the catch-all needs no power
		{"310106-jyj", "", ""},          // unclassified
	}
	for _, tt := range tests {
		err := s.CanLead(tt.dept, tt.item)
		got := ""
		if err != nil {
			got = err.Error()
			var mp *MissingPowerError
			if !errors.As(err, &mp) {
				t.Errorf("CanLead(%s, %s) = %v, not a *MissingPowerError", tt.dept, tt.item, err)
			}
		}
		if got != tt.want {
			t.Errorf("CanLead(%s, %s) = %q, want %q", tt.dept, tt.item, got, tt.want)
		}
	}
	if err := s.CanLead("310106-none", "06020"); err == nil {
		t.Error("CanLead of an unknown department: no error")
	}
}

func TestShippedFallbacks(t *testing.T) {
	t.Parallel()
	s, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	var fallbacks []string
	for _, r := range s.Rules() {
		if s.IsFallback(r) {
			fallbacks = append(fallbacks, r.Name)
		}
	}
	if got := strings.Join(fallbacks, " "); got != "street-desk district-desk" {
		t.Errorf("fallbacks = %q, want the two desks", got)
	}
}
