package routing

import (
	"slices"
	"strings"
	"testing"
)

func found(k *keywordSet, text string) []int {
	hits := make([]uint64, (k.n+63)/64)
	k.scan(text, hits)
	var ids []int
	for id := 0; id < k.n; id++ {
		if hits[id/64]&(1<<(id%64)) != 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

func TestKeywordSet(t *testing.T) {
	t.Parallel()
	words := []string{"电动车", "飞线", "飞线充电", "充电", "he", "she", "his", "hers", "车飞"}
	k := newKeywordSet(words)
	for text, want := range map[string][]int{
		"楼道里电动车飞线充电": {0, 1, 2, 3, 8},
		"ushers":     {4, 5, 7},
		"没有关键词":      nil,
		"":           nil,
		"充":          nil,
		"his电动":      {6},
	} {
		if got := found(k, text); !slices.Equal(got, want) {
			t.Errorf("scan(%q) = %v, want %v", text, got, want)
		}
	}
}

// FuzzKeywordSet: the automaton finds exactly the keywords strings.Contains
// finds.
func FuzzKeywordSet(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b, c, text string) {
		words := []string{a, b, c}
		for _, w := range words {
			if w == "" {
				return
			}
		}
		k := newKeywordSet(words)
		got := found(k, text)
		var want []int
		for i, w := range words {
			if strings.Contains(text, w) {
				want = append(want, i)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("keywords %q in %q: got %v, want %v", words, text, got, want)
		}
	})
}
