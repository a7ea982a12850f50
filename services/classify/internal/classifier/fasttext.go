package classifier

import (
	"context"
	"math"
	"math/rand/v2"
)

// issue 15, fastText-style (measured by cross-validation only; not served):
// hashed n-gram embeddings averaged into a document vector, a softmax
// output, trained by SGD with a linearly decaying rate (Joulin et al. 2016),
// its scores averaged with the SVMs'. The n-grams are the fit's own feature
// keys (character unigrams and bigrams, and the opening's), each hashed into
// 2^FastTextBits buckets, weighted by count/length as fastText averages.
// Its logits are linear in the bucket counts, so a served version would be
// one table of L weights per bucket (E·O), read beside the SVM's weights.

// FastTextParams configure the fastText-style model; Mix 0 is off.
type FastTextParams struct {
	Mix    float64
	Dim    int
	Bits   int
	Epochs int
	LR     float64
}

// fastText is a trained model folded to logits per bucket.
type fastText struct {
	bits  int
	table []float32 // bucket-major: table[b*L+l] = (E[b]·O)_l
	L     int
}

func ftBucket(key uint64, bits int) int {
	return int((key * 0x9e3779b97f4a7c15) >> (64 - bits))
}

// ftBag is a document's buckets and their weights count/length.
func ftBag(keys []uint64, bits int) ([]int, []float32) {
	if len(keys) == 0 {
		return nil, nil
	}
	var idx []int
	var val []float32
	inv := float32(1) / float32(len(keys))
	for i := 0; i < len(keys); {
		j := i
		for j < len(keys) && keys[j] == keys[i] {
			j++
		}
		idx = append(idx, ftBucket(keys[i], bits))
		val = append(val, float32(j-i)*inv)
		i = j
	}
	return idx, val
}

// trainFastText fits the model on docs (sorted keys with repeats), labels y
// and per-example weights (scaled by balanced class weights when balanced).
func trainFastText(ctx context.Context, docs [][]uint64, y []int, weight []float64, numLabels int, balanced bool, p FastTextParams, seed uint64) (*fastText, error) {
	h, nb := p.Dim, 1<<p.Bits
	rng := rand.New(rand.NewPCG(seed, 0x6674)) // "ft"
	emb := make([]float32, nb*h)
	for i := range emb {
		emb[i] = float32((rng.Float64()*2 - 1) / float64(h))
	}
	out := make([]float32, h*numLabels) // h-major
	bags := make([][]int, len(docs))
	vals := make([][]float32, len(docs))
	for i, d := range docs {
		bags[i], vals[i] = ftBag(d, p.Bits)
	}
	cw := make([]float64, numLabels)
	counts := make([]int, numLabels)
	for _, l := range y {
		counts[l]++
	}
	for l := range cw {
		cw[l] = 1
		if balanced && counts[l] > 0 {
			cw[l] = float64(len(y)) / float64(numLabels*counts[l])
		}
	}
	order := make([]int, len(docs))
	for i := range order {
		order[i] = i
	}
	hid := make([]float32, h)
	gh := make([]float32, h)
	logit := make([]float64, numLabels)
	total := p.Epochs * len(docs)
	step := 0
	for range p.Epochs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			lr := float32(p.LR * (1 - float64(step)/float64(total)) * weight[i] * cw[y[i]])
			step++
			clear(hid)
			for j, b := range bags[i] {
				v := vals[i][j]
				e := emb[b*h : b*h+h]
				for k := range h {
					hid[k] += v * e[k]
				}
			}
			mx := math.Inf(-1)
			for l := range numLabels {
				var s float64
				for k := range h {
					s += float64(hid[k] * out[k*numLabels+l])
				}
				logit[l] = s
				mx = max(mx, s)
			}
			var z float64
			for l := range logit {
				logit[l] = math.Exp(logit[l] - mx)
				z += logit[l]
			}
			clear(gh)
			for l := range numLabels {
				g := float32(logit[l] / z)
				if l == y[i] {
					g--
				}
				g *= lr
				for k := range h {
					gh[k] += g * out[k*numLabels+l]
					out[k*numLabels+l] -= g * hid[k]
				}
			}
			for j, b := range bags[i] {
				v := vals[i][j]
				e := emb[b*h : b*h+h]
				for k := range h {
					e[k] -= v * gh[k]
				}
			}
		}
	}
	ft := &fastText{bits: p.Bits, L: numLabels, table: make([]float32, nb*numLabels)}
	for b := range nb {
		e := emb[b*h : b*h+h]
		for l := range numLabels {
			var s float32
			for k := range h {
				s += e[k] * out[k*numLabels+l]
			}
			ft.table[b*numLabels+l] = s
		}
	}
	return ft, nil
}

// scores writes the document's logits, centred, into out.
func (ft *fastText) scores(keys []uint64, out []float64) {
	clear(out)
	idx, val := ftBag(keys, ft.bits)
	for j, b := range idx {
		row := ft.table[b*ft.L : b*ft.L+ft.L]
		for l, w := range row {
			out[l] += float64(val[j] * w)
		}
	}
	var mean float64
	for _, v := range out {
		mean += v / float64(len(out))
	}
	for l := range out {
		out[l] -= mean
	}
}
