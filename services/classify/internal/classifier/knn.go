package classifier

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// KNNParams: issue 15, round 9 — the nearest training messages vote beside
// the linear model. Hotline messages repeat: the same complaint about the
// same estate, school or bus line comes back in other words, and a message
// close to one the city has labelled is best filed as that one was. The
// linear model spreads such a message over all its n-grams; the vote reads
// it whole.
type KNNParams struct {
	// Weight, when positive, adds Weight·(2·v_l/Σv − 1) to label l's raw
	// score, where v_l sums, over the K training messages most similar to
	// the text, similarity^Power of those labelled l. 0: off.
	Weight float64
	K      int
	Power  float64
	// MaxDF: the similarity (the cosine of the TF-IDF vectors) reads only
	// the features seen in at most this fraction of the training messages;
	// the common characters say little about which message a text is close
	// to, and skipping them makes the vote cheap. 0 means 1 (every feature).
	MaxDF float64
	// MaxExemplars bounds the training messages kept to vote: a longer
	// history keeps a seeded sample of this many, so that prediction stays
	// within its budget however long a city's history grows. 0 means
	// DefaultMaxExemplars.
	MaxExemplars int
}

// DefaultMaxExemplars is KNNParams.MaxExemplars' default: a little over the
// shared training set (1,842 messages), where prediction keeps its budget of
// 20k texts/s; on a history with a much larger vocabulary it reads about
// 24 µs more per text (README, round 9).
const DefaultMaxExemplars = 2000

func (p KNNParams) normalised() (KNNParams, error) {
	if p.Weight == 0 {
		return KNNParams{}, nil
	}
	switch {
	case !(p.Weight > 0) || math.IsInf(p.Weight, 0):
		return p, fmt.Errorf("knn weight %v: must be 0 (off) or a positive number", p.Weight)
	case p.K < 1:
		return p, fmt.Errorf("knn k %d: must be at least 1", p.K)
	case !(p.Power > 0) || p.Power > 16:
		return p, fmt.Errorf("knn power %v: must be in (0,16]", p.Power)
	case !(p.MaxDF >= 0) || p.MaxDF > 1:
		return p, fmt.Errorf("knn max df %v: must be in [0,1]", p.MaxDF)
	case p.MaxExemplars < 0 || p.MaxExemplars > math.MaxUint16+1:
		return p, fmt.Errorf("knn max exemplars %d: must be 0 (%d) or in 1..65536", p.MaxExemplars, DefaultMaxExemplars)
	}
	if p.MaxDF == 0 {
		p.MaxDF = 1
	}
	if p.MaxExemplars == 0 {
		p.MaxExemplars = DefaultMaxExemplars
	}
	return p, nil
}

// knnIndex holds the exemplars' features the similarity reads, feature-major
// (a posting list per feature), so that a text touches only the exemplars it
// shares a feature with.
type knnIndex struct {
	p     KNNParams
	off   []int32  // dim+1: feature f's postings are doc[off[f]:off[f+1]]
	doc   []uint16 // exemplar of each posting
	val   []uint16 // the exemplar's TF-IDF value of the feature, in 1/valScale
	label []int32  // per exemplar
}

// buildKNN indexes rows (the fit's L2-normalised TF-IDF vectors, labels y)
// as exemplars: at most p.MaxExemplars of them, a sample drawn with seed.
func buildKNN(rows []sparseRow, y []int, dim int, p KNNParams, seed uint64) *knnIndex {
	keep := make([]int, len(rows))
	for i := range keep {
		keep[i] = i
	}
	if len(keep) > p.MaxExemplars {
		rng := rand.New(rand.NewPCG(seed, 0x6b6e6e)) // "knn"
		rng.Shuffle(len(keep), func(i, j int) { keep[i], keep[j] = keep[j], keep[i] })
		keep = keep[:p.MaxExemplars]
		slices.Sort(keep)
	}
	df := make([]int32, dim+1)
	for _, i := range keep {
		for _, f := range rows[i].idx {
			df[f]++
		}
	}
	maxDF := int32(p.MaxDF * float64(len(keep)))
	for f, c := range df {
		if c > maxDF {
			df[f] = 0 // not read by the similarity: no postings
		}
	}
	k := &knnIndex{p: p, off: make([]int32, dim+1), label: make([]int32, len(keep))}
	var n int32
	for f := range dim {
		k.off[f] = n
		n += df[f]
	}
	k.off[dim] = n
	k.doc, k.val = make([]uint16, n), make([]uint16, n)
	next := slices.Clone(k.off[:dim])
	for e, i := range keep {
		k.label[e] = int32(y[i])
		for j, f := range rows[i].idx {
			if df[f] > 0 {
				k.doc[next[f]], k.val[next[f]] = uint16(e), quantize(rows[i].val[j])
				next[f]++
			}
		}
	}
	return k
}

// valScale is the fixed point of the exemplars' values: an L2-normalised
// TF-IDF value is in (0,1], kept to 1/65535 (an error of at most 7.6e-6),
// so that a posting takes 4 bytes and the index half the cache.
const valScale = math.MaxUint16

func quantize(v float32) uint16 {
	return uint16(math.Round(float64(min(max(v, 0), 1)) * valScale))
}

// check verifies a loaded index against the model's dimension and labels.
func (k *knnIndex) check(dim, numLabels int) error {
	if _, err := k.p.normalised(); err != nil {
		return err
	}
	if len(k.off) != dim+1 || k.off[0] != 0 || int(k.off[dim]) != len(k.doc) || len(k.doc) != len(k.val) {
		return errors.New("knn postings do not match the vocabulary")
	}
	for f := range dim {
		if k.off[f+1] < k.off[f] {
			return errors.New("knn posting offsets decrease")
		}
	}
	for _, d := range k.doc {
		if int(d) >= len(k.label) {
			return fmt.Errorf("knn posting names exemplar %d of %d", d, len(k.label))
		}
	}
	for _, l := range k.label {
		if l < 0 || int(l) >= numLabels {
			return fmt.Errorf("knn exemplar has label %d of %d", l, numLabels)
		}
	}
	return nil
}

// knnScratch is the per-call working memory of add.
type knnScratch struct {
	sim   []float32 // per exemplar; zero between calls
	votes []float64 // per label; zero between calls
	top   []knnHit
}

type knnHit struct {
	doc int32
	sim float32
}

func (k *knnIndex) newScratch(numLabels int) *knnScratch {
	return &knnScratch{sim: make([]float32, len(k.label)), votes: make([]float64, numLabels), top: make([]knnHit, 0, k.p.K)}
}

// add adds the vote of the exemplars nearest to the vector (idx, val) to
// out (len L).
func (k *knnIndex) add(idx []int32, val []float32, sc *knnScratch, out []float64) {
	sim := sc.sim
	for j, f := range idx {
		x := val[j]
		lo, hi := k.off[f], k.off[f+1]
		vals := k.val[lo:hi]
		for p, d := range k.doc[lo:hi] {
			sim[d] += x * float32(vals[p])
		}
	}
	// The K most similar, best first, ties to the earlier exemplar; an
	// exemplar sharing nothing (similarity 0) casts no vote. One compare per
	// exemplar against the K-th best so far: after the first few the branch
	// is almost never taken.
	top := sc.top[:0]
	var thr float32
	for d, s := range sim {
		if s <= thr {
			continue
		}
		i := len(top)
		if i < k.p.K {
			top = append(top, knnHit{})
		} else {
			i--
		}
		for ; i > 0 && top[i-1].sim < s; i-- {
			top[i] = top[i-1]
		}
		top[i] = knnHit{int32(d), s}
		if len(top) == k.p.K {
			thr = top[len(top)-1].sim
		}
	}
	clear(sim)
	sc.top = top
	var tot float64
	for _, h := range top {
		w := math.Pow(float64(h.sim)/valScale, k.p.Power)
		sc.votes[k.label[h.doc]] += w
		tot += w
	}
	if tot == 0 {
		return
	}
	for l := range out {
		out[l] += k.p.Weight * (2*sc.votes[l]/tot - 1)
		sc.votes[l] = 0
	}
}
