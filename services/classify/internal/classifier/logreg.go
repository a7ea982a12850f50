package classifier

import (
	"context"
	"math"
)

// issue 15, round 4 — a model of another family beside the SVMs.

// mixLogReg fits the multinomial logistic regression of p.LogRegMix on rows
// and averages it into the one-vs-rest weights w (feature-major) and bias:
// (1−m)·w + m·w_LR. Class weights are the balanced ones of the SVMs,
// (n/(L·n_class))^BalancePower, when p.Balanced.
func mixLogReg(ctx context.Context, rows []sparseRow, y []int, numLabels, dim int, p SVMParams, w, bias []float32) error {
	c := p.LogRegC
	if c == 0 {
		c = 100
	}
	var classW []float64
	if p.Balanced {
		counts := make([]int, numLabels)
		for _, l := range y {
			counts[l]++
		}
		pow := p.BalancePower
		if pow == 0 {
			pow = 1
		}
		classW = make([]float64, numLabels)
		for l, n := range counts {
			classW[l] = 1
			if n > 0 {
				classW[l] = math.Pow(float64(len(y))/float64(numLabels*n), pow)
			}
		}
	}
	wl, bl, err := trainSoftmax(ctx, rows, y, numLabels, dim, softmaxParams{c: c, classW: classW, maxIter: 200, eps: 1e-4})
	if err != nil {
		return err
	}
	m := p.LogRegMix
	for i, x := range wl {
		w[i] = float32((1-m)*float64(w[i]) + m*x)
	}
	for l, x := range bl {
		bias[l] = float32((1-m)*float64(bias[l]) + m*x)
	}
	return nil
}

// softmaxParams are the settings of a multinomial logistic regression.
type softmaxParams struct {
	c       float64   // penalty of the log loss against ½‖W‖²
	classW  []float64 // per-label weight of an example's loss (balanced weights); nil: 1
	maxIter int       // L-BFGS iterations
	eps     float64   // stop when ‖g‖ ≤ eps·‖g₀‖
}

// trainSoftmax fits the L2-regularised multinomial logistic regression
//
//	min_W,b ½‖W‖² + C Σ_i s_i·(log Σ_l exp(z_il) − z_i,y_i),  z_i = Wᵀx_i + b
//
// (the bias is not regularised) by L-BFGS with a backtracking Armijo line
// search. s_i is the row's weight times its label's class weight. It returns
// the weights feature-major (w[f*L+l]) and the biases, the layout of
// trainOVR, so the two average into one linear model.
func trainSoftmax(ctx context.Context, rows []sparseRow, y []int, numLabels, dim int, p softmaxParams) ([]float64, []float64, error) {
	nw := dim * numLabels
	n := nw + numLabels
	s := make([]float64, len(rows))
	for i, r := range rows {
		s[i] = p.c
		if r.weight > 0 {
			s[i] *= r.weight
		}
		if p.classW != nil {
			s[i] *= p.classW[y[i]]
		}
	}
	z := make([]float64, numLabels)
	// eval returns f(θ) and writes ∇f(θ) into g.
	eval := func(theta, g []float64) float64 {
		var f float64
		for j := range nw {
			g[j] = theta[j]
			f += 0.5 * theta[j] * theta[j]
		}
		for l := range numLabels {
			g[nw+l] = 0
		}
		b := theta[nw:]
		for i, r := range rows {
			copy(z, b)
			for j, ft := range r.idx {
				x := float64(r.val[j])
				row := theta[int(ft)*numLabels : int(ft)*numLabels+numLabels]
				for l, w := range row {
					z[l] += x * w
				}
			}
			m := math.Inf(-1)
			for _, v := range z {
				m = max(m, v)
			}
			var sum float64
			for l, v := range z {
				z[l] = math.Exp(v - m)
				sum += z[l]
			}
			f += s[i] * (m + math.Log(sum) - (m + math.Log(z[y[i]])))
			for l := range z {
				z[l] /= sum // p_il
			}
			z[y[i]]--
			for l := range z {
				z[l] *= s[i]
				g[nw+l] += z[l]
			}
			for j, ft := range r.idx {
				x := float64(r.val[j])
				row := g[int(ft)*numLabels : int(ft)*numLabels+numLabels]
				for l := range row {
					row[l] += x * z[l]
				}
			}
		}
		return f
	}
	theta := make([]float64, n)
	g := make([]float64, n)
	f := eval(theta, g)
	g0 := math.Sqrt(dot(g, g))
	const hist = 8
	var sHist, yHist [][]float64
	var rho []float64
	d := make([]float64, n)
	next := make([]float64, n)
	gNext := make([]float64, n)
	alpha := make([]float64, hist)
	for iter := 0; iter < p.maxIter; iter++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if math.Sqrt(dot(g, g)) <= p.eps*g0 {
			break
		}
		// Two-loop recursion: d = −H·g.
		for j := range d {
			d[j] = -g[j]
		}
		for k := len(sHist) - 1; k >= 0; k-- {
			alpha[k] = rho[k] * dot(sHist[k], d)
			axpy(-alpha[k], yHist[k], d)
		}
		if k := len(sHist) - 1; k >= 0 {
			gamma := dot(sHist[k], yHist[k]) / dot(yHist[k], yHist[k])
			for j := range d {
				d[j] *= gamma
			}
		} else {
			inv := 1 / math.Sqrt(dot(g, g))
			for j := range d {
				d[j] *= inv
			}
		}
		for k := range sHist {
			beta := rho[k] * dot(yHist[k], d)
			axpy(alpha[k]-beta, sHist[k], d)
		}
		gd := dot(g, d)
		if gd >= 0 { // not a descent direction: restart from the gradient
			sHist, yHist, rho = nil, nil, nil
			for j := range d {
				d[j] = -g[j]
			}
			gd = dot(g, d)
		}
		step := 1.0
		var fNext float64
		for ; step > 1e-10; step /= 2 {
			for j := range next {
				next[j] = theta[j] + step*d[j]
			}
			fNext = eval(next, gNext)
			if fNext <= f+1e-4*step*gd {
				break
			}
		}
		if step <= 1e-10 {
			break
		}
		sk := make([]float64, n)
		yk := make([]float64, n)
		for j := range sk {
			sk[j] = next[j] - theta[j]
			yk[j] = gNext[j] - g[j]
		}
		if sy := dot(sk, yk); sy > 1e-12 {
			if len(sHist) == hist {
				sHist, yHist, rho = sHist[1:], yHist[1:], rho[1:]
			}
			sHist, yHist, rho = append(sHist, sk), append(yHist, yk), append(rho, 1/sy)
		}
		theta, next = next, theta
		g, gNext = gNext, g
		f = fNext
	}
	return theta[:nw:nw], theta[nw:], nil
}

func dot(a, b []float64) float64 {
	var s float64
	for i, x := range a {
		s += x * b[i]
	}
	return s
}

// axpy sets y += a·x.
func axpy(a float64, x, y []float64) {
	for i, v := range x {
		y[i] += a * v
	}
}
