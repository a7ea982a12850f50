package classifier

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// issue 15, LSA: a second one-vs-rest SVM on the latent semantic (truncated
// SVD) coordinates of the TF-IDF rows, averaged into the character model.
//
// With X the fit's n×dim TF-IDF matrix and X ≈ U_k Σ_k V_kᵀ its rank-k
// truncated SVD, a document x has the LSA coordinates z = V_kᵀx (a training
// row's are its row of U_k Σ_k). A linear score on them, a·z + b, is the
// linear score (V_k a)·x + b on the sparse features, so the averaged model is
// still one linear model over the same vocabulary: prediction costs and
// weighs exactly what it did. The SVD is computed from the n×n Gram matrix
// XXᵀ = U Σ² Uᵀ by a randomized range finder with power iterations (Halko,
// Martinsson and Tropp 2011) and an exact eigendecomposition of its small
// projection, both with gonum's dense linear algebra.

// lsaBasis is the top-k left singular vectors of the rows (n×k) and their
// singular values, largest first.
type lsaBasis struct {
	u     *mat.Dense
	sigma []float64
}

// gram returns XXᵀ of the sparse rows (every row's idx strictly increasing).
func gram(rows []sparseRow, dim int) *mat.SymDense {
	n := len(rows)
	g := mat.NewSymDense(n, nil)
	dense := make([]float64, dim)
	for i, ri := range rows {
		for j, f := range ri.idx {
			dense[f] = float64(ri.val[j])
		}
		for k := i; k < n; k++ {
			var s float64
			rk := rows[k]
			for j, f := range rk.idx {
				s += dense[f] * float64(rk.val[j])
			}
			g.SetSym(i, k, s)
		}
		for _, f := range ri.idx {
			dense[f] = 0
		}
	}
	return g
}

// truncatedSVD returns the rank-k basis of the rows by a randomized range
// finder on their Gram matrix: k+oversample Gaussian probes, power
// iterations, then the eigendecomposition of the (k+oversample)² projection.
func truncatedSVD(rows []sparseRow, dim, k, power int, seed uint64) (*lsaBasis, error) {
	n := len(rows)
	k = min(k, n)
	l := min(n, k+20)
	g := gram(rows, dim)
	rng := rand.New(rand.NewPCG(seed, 0x6c7361)) // "lsa"
	omega := mat.NewDense(n, l, nil)
	for i := range n {
		for j := range l {
			omega.Set(i, j, rng.NormFloat64())
		}
	}
	var y mat.Dense
	y.Mul(g, omega)
	q := orthonormal(&y)
	for range power {
		y.Reset()
		y.Mul(g, q)
		q = orthonormal(&y)
	}
	// B = QᵀGQ (l×l, symmetric): its eigenvectors W give G's U ≈ QW.
	var gq, b mat.Dense
	gq.Mul(g, q)
	b.Mul(q.T(), &gq)
	bs := mat.NewSymDense(l, nil)
	for i := range l {
		for j := i; j < l; j++ {
			bs.SetSym(i, j, (b.At(i, j)+b.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(bs, true) {
		return nil, fmt.Errorf("lsa: eigendecomposition did not converge")
	}
	vals := eig.Values(nil) // ascending
	var w mat.Dense
	eig.VectorsTo(&w)
	var qw mat.Dense
	qw.Mul(q, &w)
	u := mat.NewDense(n, k, nil)
	sigma := make([]float64, k)
	for c := range k {
		src := l - 1 - c // largest first
		sigma[c] = math.Sqrt(max(vals[src], 0))
		for i := range n {
			u.Set(i, c, qw.At(i, src))
		}
	}
	return &lsaBasis{u: u, sigma: sigma}, nil
}

// orthonormal returns an orthonormal basis of y's columns (thin QR's Q).
func orthonormal(y *mat.Dense) *mat.Dense {
	var qr mat.QR
	qr.Factorize(y)
	r, c := y.Dims()
	var q mat.Dense
	qr.QTo(&q)
	return mat.DenseCopyOf(q.Slice(0, r, 0, c))
}

// mixLSA trains one-vs-rest SVMs (no naive-Bayes scaling) on the rows' rank-k
// LSA coordinates and averages them into the feature-major weights w (dim×L)
// and bias: w ← (1−mix)·w + mix·V_k a, b ← (1−mix)·b + mix·b_lsa.
func mixLSA(ctx context.Context, rows []sparseRow, y []int, numLabels, dim int, o Options, w, bias []float32) error {
	k := o.SVM.LSADim
	basis, err := truncatedSVD(rows, dim, k, 2, o.Seed)
	if err != nil {
		return err
	}
	k = len(basis.sigma)
	keep := 0 // components with a usable singular value
	for keep < k && basis.sigma[keep] > 1e-9*max(basis.sigma[0], 1e-300) {
		keep++
	}
	idx := make([]int32, keep)
	for c := range idx {
		idx[c] = int32(c)
	}
	zrows := make([]sparseRow, len(rows))
	for i, r := range rows {
		val := make([]float32, keep)
		for c := range keep {
			val[c] = float32(basis.u.At(i, c) * basis.sigma[c]) // row i of U_k Σ_k = V_kᵀx_i
		}
		zrows[i] = sparseRow{idx: idx, val: val, weight: r.weight}
	}
	p := o.ovr()
	p.nbAlpha, p.nbMix = 0, 0
	if o.SVM.LSAC > 0 {
		p.c = o.SVM.LSAC
	}
	a, ab, err := trainOVR(ctx, zrows, y, numLabels, keep, p)
	if err != nil {
		return err
	}
	// V_k a_l = Xᵀ U_k Σ_k⁻¹ a_l: coefficients per training row, then a sum
	// of the rows.
	mix := o.SVM.LSAMix
	coef := make([]float64, numLabels)
	fold := make([]float64, dim*numLabels)
	for i, r := range rows {
		for l := range numLabels {
			var s float64
			for c := range keep {
				s += basis.u.At(i, c) / basis.sigma[c] * float64(a[c*numLabels+l])
			}
			coef[l] = s
		}
		for j, f := range r.idx {
			v := float64(r.val[j])
			for l := range numLabels {
				fold[int(f)*numLabels+l] += coef[l] * v
			}
		}
	}
	for f := range w {
		w[f] = float32((1-mix)*float64(w[f]) + mix*fold[f])
	}
	for l := range bias {
		bias[l] = float32((1-mix)*float64(bias[l]) + mix*float64(ab[l]))
	}
	return nil
}
