package rules_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
)

// Issue 17: the one-pass matcher decides as searching the text once per
// keyword did — the same rules match, and a within_class hint starts at its
// earliest keyword — on texts made of the shipped rules' own words
// (overlapping, repeated, full-width, with unless words) and filler.
func TestMatchAgreesWithPlainSearch(t *testing.T) {
	rs, _ := load(t)
	var words []string
	for _, r := range rs.Rules() {
		words = append(words, r.Keywords...)
		words = append(words, r.Unless...)
	}
	filler := []string{"，", "我家楼下", " ", "ＡＢＣ", "abc", "12号", "\n", "已经三天了", "路口"}
	rng := rand.New(rand.NewPCG(17, 17))
	for n := range 3000 {
		var b strings.Builder
		for range 1 + rng.IntN(8) {
			if rng.IntN(2) == 0 {
				b.WriteString(words[rng.IntN(len(words))])
			} else {
				b.WriteString(filler[rng.IntN(len(filler))])
			}
		}
		text := b.String()
		got, want := rs.Match(text), plainMatch(rs, text)
		if !slices.Equal(got.Matched, want.Matched) || !slices.Equal(got.Hints, want.Hints) ||
			got.Item != want.Item || got.Urgency != want.Urgency || !slices.Equal(got.Labels, want.Labels) {
			t.Fatalf("text %d %q:\n got %+v\nwant %+v", n, text, got, want)
		}
	}
}

// plainMatch is Match as it was: every rule's words searched for in turn.
func plainMatch(rs *rules.Set, text string) rules.Result {
	var res rules.Result
	t := rules.Fold(text)
	first := func(ws []string) int {
		best := -1
		for _, w := range ws {
			if i := strings.Index(t, rules.Fold(w)); i >= 0 && (best < 0 || i < best) {
				best = i
			}
		}
		if best < 0 {
			return -1
		}
		return utf8.RuneCountInString(t[:best])
	}
	for _, r := range rs.Rules() {
		if first(r.Keywords) < 0 || first(r.Unless) >= 0 {
			continue
		}
		res.Matched = append(res.Matched, r.Name)
		switch {
		case r.Item == "":
		case r.WithinClass:
			at := first(r.Keywords)
			if i := slices.IndexFunc(res.Hints, func(h rules.Hint) bool { return h.Item == r.Item }); i < 0 {
				res.Hints = append(res.Hints, rules.Hint{Item: r.Item, Rule: r.Name, At: at})
			} else if at < res.Hints[i].At {
				res.Hints[i].At = at
			}
		case res.Item == "":
			res.Item, res.ItemRule = r.Item, r.Name
		}
		res.Urgency = rules.Max(res.Urgency, r.Urgency)
		for _, l := range r.Labels {
			if !slices.Contains(res.Labels, l) {
				res.Labels = append(res.Labels, l)
			}
		}
	}
	return res
}

func BenchmarkMatch(b *testing.B) {
	ref, err := reference.LoadDefault()
	if err != nil {
		b.Fatal(err)
	}
	rs, err := rules.Load("", ref)
	if err != nil {
		b.Fatal(err)
	}
	text := "小区门口的饭店每天晚上油烟很大，排风扇噪声扰民，已经投诉过好几次了，希望有关部门尽快处理，谢谢。地址在共和新路1234号。"
	for b.Loop() {
		rs.Match(text)
	}
}
