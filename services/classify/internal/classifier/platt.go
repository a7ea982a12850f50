package classifier

import "math"

// minSlope keeps every Platt sigmoid strictly increasing in the score: a fit
// with A ≥ 0 only happens when the scores carry no signal for the label, and
// a flat-but-increasing curve is the honest answer then.
const minSlope = -1e-6

// fitPlatt fits P(positive | f) = 1 / (1 + exp(A·f + B)) to decision values
// f by maximum likelihood with Platt's smoothed targets, using the Newton
// method with backtracking of Lin, Lin and Weng (2007), "A note on Platt's
// probabilistic outputs for support vector machines". A < 0 on return.
func fitPlatt(dec []float64, pos []bool) (a, b float64) {
	var nPos, nNeg float64
	for _, p := range pos {
		if p {
			nPos++
		} else {
			nNeg++
		}
	}
	hi := (nPos + 1) / (nPos + 2)
	lo := 1 / (nNeg + 2)
	t := make([]float64, len(dec))
	for i, p := range pos {
		t[i] = lo
		if p {
			t[i] = hi
		}
	}
	const (
		maxIter = 100
		minStep = 1e-10
		sigma   = 1e-12
		eps     = 1e-5
	)
	a, b = 0, math.Log((nNeg+1)/(nPos+1))
	loss := func(a, b float64) float64 {
		var f float64
		for i, d := range dec {
			z := d*a + b
			if z >= 0 {
				f += t[i]*z + math.Log1p(math.Exp(-z))
			} else {
				f += (t[i]-1)*z + math.Log1p(math.Exp(z))
			}
		}
		return f
	}
	fval := loss(a, b)
	for range maxIter {
		h11, h22, h21, g1, g2 := sigma, sigma, 0.0, 0.0, 0.0
		for i, d := range dec {
			z := d*a + b
			var p, q float64
			if z >= 0 {
				e := math.Exp(-z)
				p, q = e/(1+e), 1/(1+e)
			} else {
				e := math.Exp(z)
				p, q = 1/(1+e), e/(1+e)
			}
			d2 := p * q
			h11 += d * d * d2
			h22 += d2
			h21 += d * d2
			d1 := t[i] - p
			g1 += d * d1
			g2 += d1
		}
		if math.Abs(g1) < eps && math.Abs(g2) < eps {
			break
		}
		det := h11*h22 - h21*h21
		da := -(h22*g1 - h21*g2) / det
		db := -(-h21*g1 + h11*g2) / det
		gd := g1*da + g2*db
		step := 1.0
		for ; step >= minStep; step /= 2 {
			na, nb := a+step*da, b+step*db
			if nf := loss(na, nb); nf < fval+1e-4*step*gd {
				a, b, fval = na, nb, nf
				break
			}
		}
		if step < minStep {
			break
		}
	}
	return min(a, minSlope), b
}

// logSigmoidNeg returns ln(1 / (1 + e^z)) = −softplus(z) without overflow.
func logSigmoidNeg(z float64) float64 {
	if z > 0 {
		return -z - math.Log1p(math.Exp(-z))
	}
	return -math.Log1p(math.Exp(z))
}

// calibrate turns raw scores into confidences: per-label Platt
// probabilities, normalised to sum to 1 across labels. It works in log space
// so that very negative scores cannot make every probability underflow to 0.
// Each confidence lies in [0,1] and increases with its own score while the
// others are fixed (every A is negative).
func calibrate(scores, a, b, out []float64) {
	m := math.Inf(-1)
	for l, s := range scores {
		out[l] = logSigmoidNeg(a[l]*s + b[l])
		m = max(m, out[l])
	}
	var sum float64
	for l := range out {
		out[l] = math.Exp(out[l] - m)
		sum += out[l]
	}
	for l := range out {
		out[l] /= sum
	}
}
