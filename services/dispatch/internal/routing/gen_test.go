package routing

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/reference"
)

// genRules writes a rules.yaml of n rules for the default set's areas,
// catalogue and departments: item rules narrowed by a grid or a unique
// keyword (so none shadows another), co-only watchers without items, and the
// two fallbacks. Every lead holds the powers its items need, so the set
// validates. With keywordOnly, every rule but the fallbacks matches by
// keyword alone and adds a co-handler: the worst case for the matcher, since
// the item index cannot rule any of them out.
func genRules(tb testing.TB, set *reference.Set, n int, keywordOnly bool, seed uint64) string {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var streetUnits []reference.Department
	var districtUnits []reference.Department
	for _, d := range set.Departments() {
		switch {
		case d.Area == "310106022":
			streetUnits = append(streetUnits, d)
		case d.Level == reference.LevelDistrict:
			districtUnits = append(districtUnits, d)
		}
	}
	leadFor := func(power string) (string, bool) {
		var cands []string
		for _, d := range streetUnits {
			if power == "" || d.Holds(power) {
				cands = append(cands, `"{street}-`+d.Unit+`"`)
			}
		}
		for _, d := range districtUnits {
			if power == "" || d.Holds(power) {
				cands = append(cands, d.Code)
			}
		}
		if len(cands) == 0 {
			return "", false
		}
		return cands[rng.IntN(len(cands))], true
	}
	var items []reference.Item
	for _, t := range []reference.Tree{reference.TreeUrban, reference.TreeHotline} {
		for _, it := range set.Items(t) {
			if !it.Class {
				items = append(items, it)
			}
		}
	}
	grids := set.Areas(reference.LevelGrid)
	sources := []string{"hotline", "patrol", "secretary"}
	var b strings.Builder
	b.WriteString("rules:\n")
	usedPair := map[string]bool{}
	for i := 0; i < n-2; i++ {
		if keywordOnly {
			// A rule without items can take any item, so it may not lead
			// (no unit holds every power): keyword-only rules watch.
			co, _ := leadFor("")
			fmt.Fprintf(&b, "  - {name: r%03d, match: {keywords: [规则%03d号, 事项%03d号, 关键%03d号]}, co: [%s], continue: true}\n", i, i, i, i, co)
			continue
		}
		switch {
		case i%5 == 4:
			// A watcher: co-handles cases of a grid from one source.
			fmt.Fprintf(&b, "  - {name: r%03d, match: {areas: [\"%s\"], sources: [%s]}, co: [310106-cyzx], continue: true}\n",
				i, grids[rng.IntN(len(grids))].Code, sources[rng.IntN(len(sources))])
		case i%2 == 0:
			// An item in one grid, sometimes at night or on rest days.
			var it reference.Item
			var grid string
			for {
				it, grid = items[rng.IntN(len(items))], grids[rng.IntN(len(grids))].Code
				if !usedPair[it.Code+grid] {
					usedPair[it.Code+grid] = true
					break
				}
			}
			lead, ok := leadFor(it.Power)
			if !ok {
				i--
				continue
			}
			extra := ""
			switch rng.IntN(4) {
			case 0:
				extra = `, hours: "22:00-06:00"`
			case 1:
				extra = ", day: rest"
			}
			fmt.Fprintf(&b, "  - {name: r%03d, match: {items: [\"%s\"], areas: [\"%s\"]%s}, lead: %s}\n", i, it.Code, grid, extra, lead)
		default:
			// A few items and a keyword only this rule uses.
			var codes []string
			power := ""
			for len(codes) < 1+rng.IntN(3) {
				it := items[rng.IntN(len(items))]
				if (power == "" || it.Power == "" || it.Power == power) && !slices.Contains(codes, `"`+it.Code+`"`) {
					codes = append(codes, `"`+it.Code+`"`)
					if it.Power != "" {
						power = it.Power
					}
				}
			}
			lead, ok := leadFor(power)
			if !ok {
				i--
				continue
			}
			fmt.Fprintf(&b, "  - {name: r%03d, match: {items: [%s], keywords: [词%03d号]}, lead: %s}\n", i, strings.Join(codes, ", "), i, lead)
		}
	}
	b.WriteString("  - {name: street-desk, lead: \"{street}-cyzx\"}\n  - {name: district-desk, lead: \"{district}-cyzx\"}\n")
	return b.String()
}

// genCases draws cases over the set's catalogue and areas; some texts carry
// keywords the generated rules use.
func genCases(set *reference.Set, n int, seed uint64) []Case {
	rng := rand.New(rand.NewPCG(seed, 2))
	var codes []string
	for _, t := range []reference.Tree{reference.TreeUrban, reference.TreeHotline} {
		for _, it := range set.Items(t) {
			codes = append(codes, it.Code)
		}
	}
	grids := set.Areas(reference.LevelGrid)
	filler := []string{"小区门口", "早上七点", "有人", "占用人行道", "堆放杂物", "夜里很吵", "多次反映", "无人处理", "希望尽快解决", "楼下饭店", "电动车", "飞线充电", "垃圾"}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai)
	cases := make([]Case, n)
	for i := range cases {
		var text strings.Builder
		for range 8 {
			text.WriteString(filler[rng.IntN(len(filler))])
		}
		if rng.IntN(4) == 0 {
			fmt.Fprintf(&text, "词%03d号", rng.IntN(500))
		}
		c := Case{
			Item:       codes[rng.IntN(len(codes))],
			Grid:       grids[rng.IntN(len(grids))].Code,
			Source:     []reference.Source{reference.FromHotline, reference.FromPatrol, reference.FromSecretary}[rng.IntN(3)],
			AppealType: []reference.AppealType{"", reference.Complaint, reference.Help, reference.Consultation}[rng.IntN(4)],
			Received:   start.Add(time.Duration(rng.Int64N(int64(360 * 24 * time.Hour)))),
			Text:       text.String(),
		}
		switch rng.IntN(10) {
		case 0:
			c.Grid, c.Street = "", reference.Unknown
		case 1:
			c.Item = ""
		}
		cases[i] = c
	}
	return cases
}

func TestGeneratedRulesValidate(t *testing.T) {
	t.Parallel()
	base := defaults(t)
	for _, kw := range []bool{false, true} {
		set := withRules(t, genRules(t, base, 500, kw, 7))
		if n := len(set.Rules()); n != 500 {
			t.Errorf("keywordOnly=%v: %d rules", kw, n)
		}
	}
}

func benchmarkDecide(b *testing.B, set *reference.Set) {
	cases := genCases(set, 1024, 9)
	r := New(set)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := r.Decide(cases[i%len(cases)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// BenchmarkDecide500: a 责任清单 of 500 rules. Run with -cpu=1 for the
// one-core figure.
func BenchmarkDecide500(b *testing.B) {
	base := defaults(b)
	benchmarkDecide(b, withRules(b, genRules(b, base, 500, false, 7)))
}

// BenchmarkDecide500Keywords: 498 keyword-only rules, none ruled out by the
// item index: every decision runs strings.Contains for ~1500 keywords. It
// bounds what a multi-pattern automaton could save.
func BenchmarkDecide500Keywords(b *testing.B) {
	base := defaults(b)
	benchmarkDecide(b, withRules(b, genRules(b, base, 500, true, 7)))
}

// BenchmarkDecideDefaults: the shipped demo rules.
func BenchmarkDecideDefaults(b *testing.B) {
	benchmarkDecide(b, defaults(b))
}
