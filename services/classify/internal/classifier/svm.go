package classifier

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
)

// sparseRow is one L2-normalised document vector.
type sparseRow struct {
	idx []int32
	val []float32
	// weight scales the row's penalty C (an example's Weight); 0 means 1.
	weight float64
}

// svmParams are the solver settings for one binary problem.
type svmParams struct {
	cPos, cNeg float64 // penalty for positive / negative examples
	eps        float64 // stop when the projected-gradient spread is below eps
	maxIter    int
}

// trainBinary solves the L2-regularised squared-hinge-loss SVM
//
//	min_w ½‖w‖² + Σ_i C_i max(0, 1 − y_i w·x̃_i)²,  x̃_i = (x_i, 1)
//
// in the dual by coordinate descent with shrinking (Hsieh et al. 2008, the
// LIBLINEAR -s 1 solver). The bias is the weight of a constant feature 1, so
// it is regularised like any other weight, as in LIBLINEAR with -B 1.
// pos[i] says whether row i is a positive example. It returns w (len dim)
// and the bias.
func trainBinary(ctx context.Context, rows []sparseRow, pos []bool, dim int, p svmParams, rng *rand.Rand) ([]float64, float64, error) {
	n := len(rows)
	w := make([]float64, dim)
	var b float64
	alpha := make([]float64, n)
	qd := make([]float64, n)
	y := make([]float64, n)
	diag := make([]float64, n)
	for i, r := range rows {
		y[i] = -1
		c := p.cNeg
		if pos[i] {
			y[i], c = 1, p.cPos
		}
		if r.weight > 0 {
			c *= r.weight
		}
		diag[i] = 0.5 / c
		qd[i] = diag[i] + 1 // the bias feature
		for _, v := range r.val {
			qd[i] += float64(v) * float64(v)
		}
	}
	index := make([]int, n)
	for i := range index {
		index[i] = i
	}
	active := n
	// Only the lower bound shrinks (see below), so only the largest projected
	// gradient of the last pass is kept; LIBLINEAR's PGmin_old has no use here.
	pgMaxOld := math.Inf(1)
	for iter := 0; iter < p.maxIter; iter++ {
		if iter%16 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
		}
		pgMax, pgMin := math.Inf(-1), math.Inf(1)
		rng.Shuffle(active, func(i, j int) { index[i], index[j] = index[j], index[i] })
		for s := 0; s < active; s++ {
			i := index[s]
			r := rows[i]
			dot := b
			for j, f := range r.idx {
				dot += w[f] * float64(r.val[j])
			}
			g := y[i]*dot - 1 + alpha[i]*diag[i]
			var pg float64
			if alpha[i] == 0 {
				// The upper bound is infinite for the squared hinge loss,
				// so only the lower bound can be active.
				if g > pgMaxOld {
					active--
					index[s], index[active] = index[active], index[s]
					s--
					continue
				}
				if g < 0 {
					pg = g
				}
			} else {
				pg = g
			}
			pgMax = max(pgMax, pg)
			pgMin = min(pgMin, pg)
			if math.Abs(pg) > 1e-12 {
				old := alpha[i]
				alpha[i] = max(alpha[i]-g/qd[i], 0)
				d := (alpha[i] - old) * y[i]
				for j, f := range r.idx {
					w[f] += d * float64(r.val[j])
				}
				b += d
			}
		}
		if pgMax-pgMin <= p.eps {
			if active == n {
				break
			}
			// Converged on the shrunk set: check once more on everything.
			active = n
			pgMaxOld = math.Inf(1)
			continue
		}
		pgMaxOld = pgMax
		if pgMaxOld <= 0 {
			pgMaxOld = math.Inf(1)
		}
	}
	return w, b, nil
}

// ovrParams are the settings of a one-vs-rest training run.
type ovrParams struct {
	c        float64
	balanced bool // weigh each class's positives by n / (L·n_class)
	eps      float64
	maxIter  int
	seed     uint64
	workers  int
	nbAlpha  float64
	nbMix    float64
	balPow   float64
}

// nbRatios returns the naive-Bayes log-count ratio of every feature for
// the positives pos against the rest: log((α+Σ_pos x)/‖·‖₁) −
// log((α+Σ_neg x)/‖·‖₁).
func nbRatios(rows []sparseRow, pos []bool, dim int, alpha float64) []float64 {
	p := make([]float64, dim)
	q := make([]float64, dim)
	for i := range p {
		p[i], q[i] = alpha, alpha
	}
	for i, r := range rows {
		t := q
		if pos[i] {
			t = p
		}
		for j, f := range r.idx {
			t[f] += float64(r.val[j])
		}
	}
	var sp, sq float64
	for i := range p {
		sp += p[i]
		sq += q[i]
	}
	out := make([]float64, dim)
	for i := range out {
		out[i] = math.Log(p[i]/sp) - math.Log(q[i]/sq)
	}
	return out
}

// scaleRows returns rows with every feature f multiplied by r[f].
func scaleRows(rows []sparseRow, r []float64) []sparseRow {
	out := make([]sparseRow, len(rows))
	for i, row := range rows {
		val := make([]float32, len(row.val))
		for j, f := range row.idx {
			val[j] = row.val[j] * float32(r[f])
		}
		out[i] = sparseRow{idx: row.idx, val: val, weight: row.weight}
	}
	return out
}

// trainOVR trains one binary SVM per label (y[i] is the label index of row
// i) and returns the weights feature-major (w[f*L+l]), so that scoring a
// document reads one contiguous run of L weights per feature.
func trainOVR(ctx context.Context, rows []sparseRow, y []int, numLabels, dim int, p ovrParams) ([]float32, []float32, error) {
	counts := make([]int, numLabels)
	for _, l := range y {
		counts[l]++
	}
	w := make([]float32, dim*numLabels)
	bias := make([]float32, numLabels)
	workers := max(1, min(p.workers, numLabels))
	jobs := make(chan int)
	errs := make([]error, numLabels)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			pos := make([]bool, len(rows))
			for l := range jobs {
				for i, yl := range y {
					pos[i] = yl == l
				}
				cPos := p.c
				if p.balanced && counts[l] > 0 {
					cPos = p.c * float64(len(y)) / float64(numLabels*counts[l])
					if p.balPow > 0 && p.balPow != 1 {
						cPos = p.c * math.Pow(float64(len(y))/float64(numLabels*counts[l]), p.balPow)
					}
				}
				// One generator per label keeps results independent of
				// the number of workers.
				rng := rand.New(rand.NewPCG(p.seed, uint64(l)))
				lrows := rows
				var ratio []float64
				if p.nbAlpha > 0 {
					ratio = nbRatios(rows, pos, dim, p.nbAlpha)
					lrows = scaleRows(rows, ratio)
				}
				wl, bl, err := trainBinary(ctx, lrows, pos, dim, svmParams{cPos: cPos, cNeg: p.c, eps: p.eps, maxIter: p.maxIter}, rng)
				if err != nil {
					errs[l] = err
					continue
				}
				for f := range ratio {
					wl[f] *= ratio[f] // w·(r⊙x) = (w⊙r)·x
				}
				if ratio != nil && p.nbMix > 0 {
					rng := rand.New(rand.NewPCG(p.seed, uint64(l)))
					wp, bp, err := trainBinary(ctx, rows, pos, dim, svmParams{cPos: cPos, cNeg: p.c, eps: p.eps, maxIter: p.maxIter}, rng)
					if err != nil {
						errs[l] = err
						continue
					}
					for f := range wl {
						wl[f] = (1-p.nbMix)*wl[f] + p.nbMix*wp[f]
					}
					bl = (1-p.nbMix)*bl + p.nbMix*bp
				}
				// Each worker writes a disjoint set of columns.
				for f, x := range wl {
					w[f*numLabels+l] = float32(x)
				}
				bias[l] = float32(bl)
			}
		})
	}
	for l := range numLabels {
		jobs <- l
	}
	close(jobs)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	return w, bias, nil
}
