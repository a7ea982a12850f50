package classifier

import (
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/go-ego/gse"
)

// Issue 15, round 7: the words of a real dictionary segmenter beside the
// character n-grams (FeatureConfig.Seg). gse (github.com/go-ego/gse, pure
// Go, Apache-2.0) embeds its own dictionary.
const (
	// SegGSE cuts each text with gse's shortest-path segmentation.
	SegGSE = 1
	// SegFMM matches gse's dictionary words (Han, 2..maxSegWord
	// characters) by forward maximum matching over our own Han tokens.
	SegFMM = 2
	// SegDAG cuts each text with gse's DAG segmentation (jieba's, no HMM).
	SegDAG = 3
	// SegHMM cuts with gse's DAG and its HMM for words outside the
	// dictionary (jieba's default).
	SegHMM = 4
	// SegSearch is gse's search-engine cut: the shortest path's words and
	// the dictionary words inside the long ones.
	SegSearch = 5
	// SegVocab runs gse at training only (cross-validation only): the
	// words of its cut seen in at least MinDF of a fit's documents are that
	// fit's dictionary, matched by forward maximum matching in the fit's
	// documents and in those it scores, as a model would at prediction
	// without gse.
	SegVocab = 6
)

const (
	kindSeg     uint64 = 9  // a segmenter's word of 2+ Han characters, hashed
	kindSegPair uint64 = 10 // two adjacent words of a segmenter, hashed
	maxSegWord         = 4
)

var (
	gseOnce sync.Once
	gseSeg  gse.Segmenter
	gseDict keyTable // SegFMM's dictionary: segWordKey of every Han word of 2..maxSegWord characters
)

func loadGSE() {
	gseOnce.Do(func() {
		var err error
		gseSeg, err = gse.NewEmbed("zh_s")
		if err != nil {
			panic(err)
		}
		var keys []uint64
		for i := range gseSeg.Dict.Tokens {
			w := gseSeg.Dict.Tokens[i].Text()
			n := utf8.RuneCountInString(w)
			if n < 2 || n > maxSegWord {
				continue
			}
			h, ok := hanHash(w)
			if ok {
				keys = append(keys, segKey(h))
			}
		}
		gseDict = newKeyTable(keys)
	})
}

// hanHash is the FNV-1a hash of w's runes, and false unless every rune of w
// is Han.
func hanHash(w string) (uint64, bool) {
	h := uint64(fnvOffset)
	for _, r := range w {
		if !isHan(r) {
			return 0, false
		}
		h = (h ^ uint64(r)) * fnvPrime
	}
	return h, true
}

func segKey(h uint64) uint64 { return kindSeg<<kindShift | mix64(h)&lowMask }

func segPairKey(a, b uint64) uint64 {
	return kindSegPair<<kindShift | mix64(a*fnvPrime^b^0x5bd1e995)&lowMask
}

// segWords is the sequence of a text's words: for each word its hash and
// length in runes, a hash of 0 separating runs (punctuation, letters,
// digits).
type segWord struct {
	h uint64
	n int
}

// appendSegKeys appends the keys of the segmenter's words of 2+ Han
// characters and, with bigrams, of adjacent word pairs (not two single
// characters: those are character bigrams already). z holds text's run.
// SegVocab appends nothing here: its dictionary is a fit's (segVocabKeys).
func (z *tokenizer) appendSegKeys(dst []uint64, text string, cfg FeatureConfig) []uint64 {
	if cfg.Seg == SegVocab {
		return dst
	}
	loadGSE()
	return appendWordKeys(dst, z.segWords(text, cfg.Seg, &gseDict), cfg.SegBigrams)
}

func appendWordKeys(dst []uint64, words []segWord, bigrams bool) []uint64 {
	for i, w := range words {
		if w.h == 0 {
			continue
		}
		if w.n >= 2 {
			dst = append(dst, segKey(w.h))
		}
		if bigrams && i > 0 {
			p := words[i-1]
			if p.h != 0 && (p.n >= 2 || w.n >= 2) {
				dst = append(dst, segPairKey(p.h, w.h))
			}
		}
	}
	return dst
}

// segCandidates is the set of keys of gse's words of 2+ Han characters in
// text (SegVocab's candidates), sorted.
func segCandidates(text string) []uint64 {
	loadGSE()
	var out []uint64
	for _, w := range gseSeg.Cut(text) {
		if h, ok := hanHash(w); ok && utf8.RuneCountInString(w) >= 2 && utf8.RuneCountInString(w) <= maxSegWord {
			out = append(out, segKey(h))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// segVocab is a fit's SegVocab dictionary: the candidates of at least
// minDF of docs.
func segVocab(cands [][]uint64, idx []int, minDF int) *keyTable {
	df := make(map[uint64]int)
	for _, i := range idx {
		for _, k := range cands[i] {
			df[k]++
		}
	}
	var keys []uint64
	for k, c := range df {
		if c >= minDF {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	t := newKeyTable(keys)
	return &t
}

// segVocabKeys appends to keys (a copy) the keys of text's words by forward
// maximum matching on dict, sorted.
func segVocabKeys(keys []uint64, text string, dict *keyTable, bigrams bool) []uint64 {
	var z tokenizer
	z.run(text)
	out := appendWordKeys(slices.Clone(keys), z.segWords(text, SegFMM, dict), bigrams)
	slices.Sort(out)
	return out
}

func (z *tokenizer) segWords(text string, mode int, dict *keyTable) []segWord {
	out := z.sw[:0]
	defer func() { z.sw = out[:0] }()
	switch mode {
	case SegGSE, SegDAG, SegHMM, SegSearch:
		var cut []string
		switch mode {
		case SegGSE:
			cut = gseSeg.Cut(text)
		case SegDAG:
			cut = gseSeg.Cut(text, false)
		case SegHMM:
			cut = gseSeg.Cut(text, true)
		case SegSearch:
			cut = gseSeg.CutSearch(text)
		}
		for _, w := range cut {
			h, ok := hanHash(w)
			if !ok || w == "" {
				if len(out) > 0 && out[len(out)-1].h != 0 {
					out = append(out, segWord{})
				}
				continue
			}
			out = append(out, segWord{h: h, n: utf8.RuneCountInString(w)})
		}
	case SegFMM:
		toks := z.toks
		for i := 0; i < len(toks); {
			if !toks[i].han {
				if len(out) > 0 && out[len(out)-1].h != 0 {
					out = append(out, segWord{})
				}
				i++
				continue
			}
			if i > 0 && toks[i-1].seg != toks[i].seg && len(out) > 0 && out[len(out)-1].h != 0 {
				out = append(out, segWord{})
			}
			var hs [maxSegWord + 1]uint64
			h := uint64(fnvOffset)
			n := 0
			for j := i; j < len(toks) && j-i < maxSegWord && toks[j].han && toks[j].seg == toks[i].seg; j++ {
				h = (h ^ toks[j].key&lowMask) * fnvPrime
				n++
				hs[n] = h
			}
			best := 1
			for l := n; l >= 2; l-- {
				if dict.get(segKey(hs[l])) >= 0 {
					best = l
					break
				}
			}
			out = append(out, segWord{h: hs[best], n: best})
			i += best
		}
	}
	return out
}
