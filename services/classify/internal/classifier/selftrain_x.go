package classifier

// THROWAWAY (issue 15 round 8 screening): self-training inside each outer fold.

import (
	"context"
	"os"
	"slices"
	"sort"
	"strconv"
)

// SelfTexts are unlabelled texts (overlap with labelled data removed by the caller).
var SelfTexts []string

func envF(k string, d float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(k), 64); err == nil {
		return v
	}
	return d
}

// selfExtend fits on train, pseudo-labels SelfTexts, and returns an extended dataset
// and index list (train + chosen pseudo rows).
func (d *dataset) selfExtend(ctx context.Context, train []int, o Options, ft *fitted) (*dataset, []int) {
	w := envF("GF_SELF_W", 0.5)
	margin := envF("GF_SELF_MARGIN", 0.5)
	capFrac := envF("GF_SELF_CAP", 0.5)
	minTop := envF("GF_SELF_TOP", 0)
	var z tokenizer
	type cand struct {
		doc   []uint64
		label int
		m     float64
	}
	var cands []cand
	sc := ft.vec.newScratch()
	out := make([]float64, len(d.labels))
	for _, t := range SelfTexts {
		keys := z.appendKeys(nil, t, o.Features)
		slices.Sort(keys)
		linearScores(ft.vec, ft.w, ft.bias, keys, sc, out)
		b := argmax(out)
		second := -1e9
		for l, v := range out {
			if l != b && v > second {
				second = v
			}
		}
		if out[b]-second >= margin && out[b] >= minTop {
			cands = append(cands, cand{keys, b, out[b] - second})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].m > cands[j].m })
	count := make([]int, len(d.labels))
	for _, i := range train {
		count[d.y[i]]++
	}
	taken := make([]int, len(d.labels))
	ext := &dataset{labels: d.labels, y: slices.Clone(d.y), docs: slices.Clone(d.docs), weight: slices.Clone(d.weight), parents: d.parents}
	idx := slices.Clone(train)
	for _, c := range cands {
		if capFrac > 0 && float64(taken[c.label]+1) > capFrac*float64(count[c.label]) {
			continue
		}
		taken[c.label]++
		ext.y = append(ext.y, c.label)
		ext.docs = append(ext.docs, c.doc)
		ext.weight = append(ext.weight, w)
		idx = append(idx, len(ext.y)-1)
	}
	return ext, idx
}
