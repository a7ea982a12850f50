package classifier

import (
	"fmt"
	"math"
	"slices"
)

// FeatureConfig says how text becomes a feature vector. It is stored in the
// model file, so a loaded model featurises exactly as it was trained.
type FeatureConfig struct {
	// NGramMax is 1 for unigrams only, 2 for unigrams and bigrams.
	NGramMax int
	// TokenPairs also makes bigrams of adjacent tokens of which one is a
	// digit or letter run (e.g. "3 号"); Han–Han bigrams are always made.
	TokenPairs bool
	// MinDF drops features seen in fewer training documents.
	MinDF int
	// Sublinear weighs term frequency as 1+ln(tf) instead of tf, so that a
	// character repeated in a long message does not dominate it.
	Sublinear bool
	// HashBits, when non-zero, hashes features into 2^HashBits buckets
	// instead of keeping an exact vocabulary.
	HashBits int
	// issue 15, measured (services/classify/README.md): Trigrams adds Han
	// trigrams (pairs of overlapping character bigrams, a dictionary-free
	// "word" bigram); Opening, when positive, adds the unigrams and bigrams
	// of the first Opening tokens (a message's title) again as features of
	// their own. Zero values: a model file from before reads the same.
	Trigrams bool
	Opening  int
	// issue 15, round 3 — words beside the characters. Words, when 3 or 4,
	// also makes every run of 3..Words adjacent Han characters of one
	// segment a candidate "word"; training keeps as the dictionary only the
	// candidates seen in at least WordMinDF documents (0: MinDF) whose
	// symmetric conditional probability df(w)²/(df(prefix)·df(suffix)) is at
	// least WordSCP (0: no test), the frequent, cohesive character
	// sequences of the training data. The dictionary is the vocabulary, so
	// prediction reads exactly the words training kept. WordWeight, when
	// positive, L2-normalises the words as a block of their own scaled by
	// it, beside the (separately normalised) characters; 0 normalises both
	// together. Words need the exact vocabulary (HashBits 0). Zero values:
	// a model file from before reads the same.
	Words      int
	WordMinDF  int
	WordSCP    float64
	WordWeight float64
}

func (c FeatureConfig) validate() error {
	switch {
	case c.NGramMax < 1 || c.NGramMax > 2:
		return fmt.Errorf("n-gram max %d: must be 1 or 2", c.NGramMax)
	case c.Opening < 0:
		return fmt.Errorf("opening %d: must be 0 (off) or positive", c.Opening)
	case c.MinDF < 1:
		return fmt.Errorf("min df %d: must be at least 1", c.MinDF)
	case c.HashBits != 0 && (c.HashBits < 10 || c.HashBits > 26):
		return fmt.Errorf("hash bits %d: must be 0 (vocabulary) or 10..26", c.HashBits)
	case c.Words != 0 && (c.Words < 3 || c.Words > maxWord):
		return fmt.Errorf("words %d: must be 0 (off) or 3..%d", c.Words, maxWord)
	case c.Words != 0 && c.HashBits != 0:
		return fmt.Errorf("words %d: need the exact vocabulary (hash bits 0), not %d hash bits", c.Words, c.HashBits)
	case c.WordMinDF < 0:
		return fmt.Errorf("word min df %d: must be 0 (min df) or positive", c.WordMinDF)
	case !(c.WordSCP >= 0 && c.WordSCP <= 1):
		return fmt.Errorf("word scp %v: must be in [0,1]", c.WordSCP)
	case !(c.WordWeight >= 0) || math.IsInf(c.WordWeight, 0):
		return fmt.Errorf("word weight %v: must be 0 (one block) or positive", c.WordWeight)
	}
	return nil
}

// keyTable maps feature keys to dense indexes. It is an open-addressing
// table with linear probing at load factor ≤ 1/2: measured about twice as
// fast as a Go map[uint64]int32 for this lookup-heavy, build-once use.
// Key 0 marks an empty slot; real keys are never 0 because their kind bits
// are non-zero.
type keyTable struct {
	slots []keySlot
	shift uint
}

type keySlot struct {
	key uint64
	idx int32
}

func newKeyTable(keys []uint64) keyTable {
	bits := uint(4)
	for 1<<bits < 2*len(keys) {
		bits++
	}
	t := keyTable{slots: make([]keySlot, 1<<bits), shift: 64 - bits}
	mask := uint64(len(t.slots) - 1)
	for i, k := range keys {
		j := mix64(k) >> t.shift
		for t.slots[j].key != 0 {
			j = (j + 1) & mask
		}
		t.slots[j] = keySlot{key: k, idx: int32(i)}
	}
	return t
}

// get returns the index of k, or -1.
func (t *keyTable) get(k uint64) int32 {
	mask := uint64(len(t.slots) - 1)
	for j := mix64(k) >> t.shift; ; j = (j + 1) & mask {
		s := &t.slots[j]
		if s.key == k {
			return s.idx
		}
		if s.key == 0 {
			return -1
		}
	}
}

// vectorizer turns feature keys into an L2-normalised TF-IDF vector.
// Invariant: len(idf) == dim(); in vocabulary mode len(keys) == dim() too;
// an index whose idf is 0 (hash buckets below MinDF) is never emitted.
type vectorizer struct {
	cfg   FeatureConfig
	keys  []uint64 // vocabulary mode: index → key, sorted ascending
	table keyTable
	idf   []float32
	// wordFrom, when cfg.WordWeight > 0, is the first index of a word key:
	// word keys have the highest kind, so they sort last in keys.
	wordFrom int32
}

// setBlocks records where the word block starts in v's vocabulary.
func (v *vectorizer) setBlocks() {
	v.wordFrom = int32(len(v.keys))
	if v.cfg.WordWeight > 0 {
		i, _ := slices.BinarySearch(v.keys, kindGram<<kindShift)
		v.wordFrom = int32(i)
	}
}

func (v *vectorizer) dim() int { return len(v.idf) }

func (v *vectorizer) lookup(k uint64) int32 {
	if v.cfg.HashBits > 0 {
		i := int32(mix64(k) >> (64 - v.cfg.HashBits))
		if v.idf[i] == 0 {
			return -1
		}
		return i
	}
	return v.table.get(k)
}

// fitVectorizer learns the vocabulary and idf from docs (each a sorted key
// list with repeats). idf is the smoothed ln((1+n)/(1+df))+1, as in
// scikit-learn, so that a feature present in every document still counts.
// parents, for a word key, are the keys of its prefix and suffix one
// character shorter (WordSCP's test); nil when the test is off.
func fitVectorizer(docs [][]uint64, cfg FeatureConfig, parents map[uint64][2]uint64) *vectorizer {
	n := len(docs)
	v := &vectorizer{cfg: cfg}
	idf := func(df int32) float32 {
		return float32(math.Log(float64(1+n)/float64(1+df)) + 1)
	}
	if cfg.HashBits > 0 {
		size := 1 << cfg.HashBits
		df := make([]int32, size)
		seen := make([]int32, size) // doc number + 1 that last counted a bucket
		for d, keys := range docs {
			for _, k := range keys {
				b := mix64(k) >> (64 - cfg.HashBits)
				if seen[b] != int32(d+1) {
					seen[b] = int32(d + 1)
					df[b]++
				}
			}
		}
		v.idf = make([]float32, size)
		for b, c := range df {
			if c >= int32(cfg.MinDF) {
				v.idf[b] = idf(c)
			}
		}
		return v
	}
	df := make(map[uint64]int32)
	for _, keys := range docs {
		for i, k := range keys {
			if i == 0 || keys[i-1] != k {
				df[k]++
			}
		}
	}
	wordMin := int32(cfg.WordMinDF)
	if wordMin == 0 {
		wordMin = int32(cfg.MinDF)
	}
	for k, c := range df {
		if k>>kindShift == kindGram {
			if c < wordMin {
				continue
			}
			if cfg.WordSCP > 0 {
				p := parents[k]
				if float64(c)*float64(c) < cfg.WordSCP*float64(df[p[0]])*float64(df[p[1]]) {
					continue
				}
			}
			v.keys = append(v.keys, k)
			continue
		}
		if c >= int32(cfg.MinDF) {
			v.keys = append(v.keys, k)
		}
	}
	slices.Sort(v.keys) // deterministic indexes, hence deterministic model files
	v.setBlocks()
	v.idf = make([]float32, len(v.keys))
	for i, k := range v.keys {
		v.idf[i] = idf(df[k])
	}
	v.table = newKeyTable(v.keys)
	return v
}

// sublinearTF caches 1+ln(tf) for small tf.
var sublinearTF = func() (t [256]float32) {
	for i := 1; i < len(t); i++ {
		t[i] = float32(1 + math.Log(float64(i)))
	}
	return t
}()

// vecScratch is per-call scratch for vectorize; counts is all zeros between
// calls (vectorize resets exactly the entries it touched).
type vecScratch struct {
	counts []int32
	idx    []int32
	val    []float32
}

func (v *vectorizer) newScratch() *vecScratch {
	return &vecScratch{counts: make([]int32, v.dim())}
}

// tfWeight is the term-frequency weight of a count.
func (v *vectorizer) tfWeight(tf int32) float32 {
	switch {
	case !v.cfg.Sublinear:
		return float32(tf)
	case int(tf) < len(sublinearTF):
		return sublinearTF[tf]
	}
	return float32(1 + math.Log(float64(tf)))
}

// blockWeights appends the TF-IDF values of idx to val with the characters
// and the words L2-normalised apart, the words scaled by WordWeight, and
// resets counts.
func (v *vectorizer) blockWeights(idx, counts []int32, val []float32) []float32 {
	var norm [2]float64
	for _, i := range idx {
		x := v.tfWeight(counts[i]) * v.idf[i]
		counts[i] = 0
		val = append(val, x)
		b := 0
		if i >= v.wordFrom {
			b = 1
		}
		norm[b] += float64(x) * float64(x)
	}
	var inv [2]float32
	for b, n := range norm {
		if n > 0 {
			inv[b] = float32(1 / math.Sqrt(n))
		}
	}
	inv[1] *= float32(v.cfg.WordWeight)
	for j, i := range idx {
		b := 0
		if i >= v.wordFrom {
			b = 1
		}
		val[j] *= inv[b]
	}
	return val
}

// vectorize fills sc.idx and sc.val with the sparse TF-IDF vector of keys,
// L2-normalised (an empty vector stays empty). Training and prediction both
// go through here, so they cannot disagree on features.
func (v *vectorizer) vectorize(keys []uint64, sc *vecScratch) {
	idx := sc.idx[:0]
	for _, k := range keys {
		i := v.lookup(k)
		if i < 0 {
			continue
		}
		if sc.counts[i] == 0 {
			idx = append(idx, i)
		}
		sc.counts[i]++
	}
	val := sc.val[:0]
	if v.cfg.WordWeight > 0 {
		sc.idx, sc.val = idx, v.blockWeights(idx, sc.counts, val)
		return
	}
	var norm float64
	for _, i := range idx {
		tf := sc.counts[i]
		sc.counts[i] = 0
		var w float32
		switch {
		case !v.cfg.Sublinear:
			w = float32(tf)
		case int(tf) < len(sublinearTF):
			w = sublinearTF[tf]
		default:
			w = float32(1 + math.Log(float64(tf)))
		}
		x := w * v.idf[i]
		val = append(val, x)
		norm += float64(x) * float64(x)
	}
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for j := range val {
			val[j] *= inv
		}
	}
	sc.idx, sc.val = idx, val
}
