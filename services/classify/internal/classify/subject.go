package classify

import (
	"slices"

	"github.com/gridflow/gridflow/pkg/reference"
)

// subjects maps item codes to their subject for one reference set.
type subjects struct {
	ref *reference.Set
	of  map[string]string
}

// Subject is what two reports must share to be one problem: the catalogue
// item — where items share a name or a synonym (噪声扰民 is both 06020 and
// H04001; 私搭乱建 is 06001 and a synonym of H01001 违章搭建), they are one
// subject, named by the smallest code. A grid worker files the urban code
// and a caller's case gets the hotline one, yet it is one noodle stall's
// noise. A city links two items by giving them a common synonym.
func (s *Service) Subject(code string) string {
	ref := s.deps.Reference()
	sub := s.subjects.Load()
	if sub == nil || sub.ref != ref {
		sub = &subjects{ref: ref, of: subjectsOf(ref)}
		s.subjects.Store(sub)
	}
	if v, ok := sub.of[code]; ok {
		return v
	}
	return code
}

// subjectsOf groups the items (not classes, not catch-alls) of both trees
// that share a name or synonym.
func subjectsOf(ref *reference.Set) map[string]string {
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if p, ok := parent[x]; ok && p != x {
			r := find(p)
			parent[x] = r
			return r
		}
		return x
	}
	union := func(a, b string) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		if rb < ra {
			ra, rb = rb, ra
		}
		parent[rb] = ra
	}
	byWord := map[string]string{} // name or synonym → first item code
	for _, tree := range []reference.Tree{reference.TreeUrban, reference.TreeHotline} {
		for _, it := range ref.Items(tree) {
			if it.Class || it.CatchAll {
				continue
			}
			parent[it.Code] = it.Code
			for _, w := range append([]string{it.Name}, it.Synonyms...) {
				if other, ok := byWord[w]; ok {
					union(other, it.Code)
				} else {
					byWord[w] = it.Code
				}
			}
		}
	}
	out := make(map[string]string, len(parent))
	codes := make([]string, 0, len(parent))
	for c := range parent {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		out[c] = find(c)
	}
	return out
}
