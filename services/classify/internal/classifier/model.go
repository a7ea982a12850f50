package classifier

import (
	"cmp"
	"encoding/hex"
	"slices"
	"sync"
	"time"
)

// Prediction is one ranked label. Confidence is a calibrated probability in
// [0,1]; the confidences of all labels of one text sum to 1. Score is the raw
// SVM decision value (positive: the label's classifier says yes).
type Prediction struct {
	Label      string
	Confidence float64
	Score      float64
}

// SVMParams are the learner's hyper-parameters.
type SVMParams struct {
	// C is the penalty of the squared hinge loss; larger fits the training
	// data harder.
	C float64
	// Balanced weighs each class's positives by n/(L·n_class), which helps
	// macro-F1 when classes are uneven.
	Balanced bool
	// Epsilon is the dual solver's stopping tolerance; MaxIter bounds its
	// passes over the data.
	Epsilon float64
	MaxIter int
	// NBAlpha, when positive, scales each label's features by their
	// naive-Bayes log-count ratio (Wang & Manning 2012, "NBSVM"), with
	// NBAlpha as the smoothing; the ratios are folded into the weights, so
	// prediction costs the same. 0: plain features.
	NBAlpha float64
	// issue 15, round 3: NBMix, when positive, also trains a plain SVM (no
	// naive-Bayes scaling) on the same features and averages the two
	// linear models, (1−NBMix)·NBSVM + NBMix·SVM, an ensemble that costs
	// nothing at prediction. 0: the NBSVM alone.
	NBMix float64
	// BalancePower, when positive, raises the balanced class weight to this
	// power, (n/(L·n_class))^BalancePower: above 1 favours small classes
	// more. 0 means 1.
	BalancePower float64
	// issue 15, round 4: LogRegMix, when positive, also fits a multinomial
	// logistic regression (L2, penalty LogRegC, 0 meaning 100; balanced
	// class weights as above) on the same features and averages it in,
	// (1−LogRegMix)·SVMs + LogRegMix·LR: another family in the ensemble,
	// still one linear model, so prediction costs the same. 0: off.
	LogRegMix float64
	LogRegC   float64
}

// CVEstimate is the k-fold cross-validated quality of a training
// configuration, measured on out-of-fold predictions of the training data.
type CVEstimate struct {
	Folds    int
	Accuracy float64
	MacroF1  float64
}

// Info describes a model: everything needed to tell how it was made.
type Info struct {
	FormatVersion int
	Labels        []string
	Features      FeatureConfig
	SVM           SVMParams
	KNN           KNNParams // zero: no vote
	Exemplars     int       // training messages kept to vote
	Dim           int       // feature dimension (vocabulary size or hash buckets)
	TrainedAt     time.Time
	DataSHA256    string // hex; see DataSHA256
	Examples      int
	CV            CVEstimate
	Sources       []Source // empty for a model trained from one file
}

// Model is a trained classifier. It is immutable and safe for concurrent use.
type Model struct {
	info    Info
	vec     *vectorizer
	w       []float32 // Dim × L, feature-major
	bias    []float32
	knn     *knnIndex // nil unless the nearest exemplars vote
	plattA  []float64
	plattB  []float64
	file    *modelFile // shares its slices with the fields above; Save encodes it
	version string
	pool    sync.Pool // *predictScratch
}

// maxPooledKeys bounds the key buffer kept for reuse: ~30 pages of text.
const maxPooledKeys = 1 << 16

// predictScratch is the per-call working memory of Predict.
type predictScratch struct {
	tok    tokenizer
	keys   []uint64
	vec    *vecScratch
	scores []float64
	conf   []float64
	knn    *knnScratch // nil without a vote
}

// Info returns a copy of the model's description.
func (m *Model) Info() Info {
	info := m.info
	info.Labels = slices.Clone(info.Labels)
	info.Sources = slices.Clone(info.Sources)
	return info
}

// Labels returns the model's labels in index order (sorted).
func (m *Model) Labels() []string { return slices.Clone(m.info.Labels) }

// Version identifies the model's content: the first 12 hex digits of the
// SHA-256 of its encoded form. Equal versions mean equal models.
func (m *Model) Version() string { return m.version }

func (m *Model) getScratch() *predictScratch {
	if sc, ok := m.pool.Get().(*predictScratch); ok {
		return sc
	}
	l := len(m.info.Labels)
	sc := &predictScratch{vec: m.vec.newScratch(), scores: make([]float64, l), conf: make([]float64, l)}
	if m.knn != nil {
		sc.knn = m.knn.newScratch(l)
	}
	return sc
}

// scoreKeys computes the raw decision values of a document's feature keys
// into out (len L).
func (m *Model) scoreKeys(keys []uint64, sc *predictScratch, out []float64) {
	scores(m.vec, m.w, m.bias, m.knn, keys, sc.vec, sc.knn, out)
}

// scores is the shared scoring kernel of prediction and of cross-validation
// during training: the linear model's decision values, plus the nearest
// exemplars' vote when knn is not nil (ks its scratch).
func scores(vec *vectorizer, w, bias []float32, knn *knnIndex, keys []uint64, vs *vecScratch, ks *knnScratch, out []float64) {
	linearScores(vec, w, bias, keys, vs, out)
	if knn != nil {
		knn.add(vs.idx, vs.val, ks, out)
	}
}

// linearScores is the linear model's part of scores; it leaves the
// document's vector in vs.
func linearScores(vec *vectorizer, w, bias []float32, keys []uint64, vs *vecScratch, out []float64) {
	numLabels := len(bias)
	for l, b := range bias {
		out[l] = float64(b)
	}
	vec.vectorize(keys, vs)
	for j, f := range vs.idx {
		x := vs.val[j]
		row := w[int(f)*numLabels : int(f)*numLabels+numLabels]
		for l, wl := range row {
			out[l] += float64(x * wl)
		}
	}
}

// Predict returns the k most likely labels of text, best first (ranked by
// confidence, ties by score, then label). k ≤ 0 or k > L returns all labels.
func (m *Model) Predict(text string, k int) []Prediction {
	sc := m.getScratch()
	defer func() {
		// A huge text would otherwise pin its key buffer in the pool.
		if cap(sc.keys) <= maxPooledKeys {
			m.pool.Put(sc)
		}
	}()
	sc.keys = sc.tok.appendKeys(sc.keys[:0], text, m.info.Features)
	m.scoreKeys(sc.keys, sc, sc.scores)
	calibrate(sc.scores, m.plattA, m.plattB, sc.conf)
	numLabels := len(m.info.Labels)
	if k <= 0 || k > numLabels {
		k = numLabels
	}
	out := make([]Prediction, 0, k)
	// Insertion into a sorted top-k: k is small in practice and L is at
	// most a few hundred, so this beats sorting all L.
	for l, lab := range m.info.Labels {
		p := Prediction{Label: lab, Confidence: sc.conf[l], Score: sc.scores[l]}
		if len(out) == k && rankOrder(p, out[k-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(out, p, rankOrder)
		if len(out) < k {
			out = append(out, Prediction{})
		}
		copy(out[i+1:], out[i:len(out)-1])
		out[i] = p
	}
	return out
}

// rankOrder orders predictions best first: by confidence, then score, then
// label, so that rankings are total and reproducible.
func rankOrder(a, b Prediction) int {
	if c := cmp.Compare(b.Confidence, a.Confidence); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Score, a.Score); c != 0 {
		return c
	}
	return cmp.Compare(a.Label, b.Label)
}

func versionOf(sum [32]byte) string { return hex.EncodeToString(sum[:6]) }
