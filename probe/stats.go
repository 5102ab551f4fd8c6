package probe

import (
	"math"
	"sort"
)

// This file holds the textbook tests the channels use. Each cites its source;
// the unit tests check them against published values.

// normalSF returns P(Z > z) for a standard normal Z. erfc keeps precision in
// the far tail, where 1-Φ(z) would round to zero.
func normalSF(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// normalUpper returns the z with P(Z > z) = p, the upper p-quantile.
func normalUpper(p float64) float64 { return math.Sqrt2 * math.Erfcinv(2*p) }

// mannWhitney is the result of a two-sided Mann-Whitney U test.
type mannWhitney struct {
	U   float64 // U of the first sample: pairs (x, y) with x > y, ties counting ½
	Z   float64 // continuity-corrected normal score, signed like U - n1·n2/2
	P   float64 // two-sided p-value
	AUC float64 // U/(n1·n2): P(X > Y) + ½P(X = Y)
}

// mannWhitneyU tests whether values of x tend to be larger or smaller than
// values of y (Mann & Whitney 1947), with the normal approximation, midranks
// for ties, the tie-corrected variance
//
//	σ² = n1·n2/12 · ((N+1) − Σ(t³−t)/(N(N−1)))
//
// and a continuity correction of ½ (Lehmann, Nonparametrics, 1975, §1.4).
// This is what R's wilcox.test(x, y, exact=FALSE, correct=TRUE) computes.
func mannWhitneyU(x, y []float64) mannWhitney {
	n1, n2 := float64(len(x)), float64(len(y))
	if len(x) == 0 || len(y) == 0 {
		return mannWhitney{P: 1, AUC: 0.5}
	}
	type value struct {
		v     float64
		first bool
	}
	all := make([]value, 0, len(x)+len(y))
	for _, v := range x {
		all = append(all, value{v, true})
	}
	for _, v := range y {
		all = append(all, value{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	var rankSum, ties float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		mid := float64(i+j+1) / 2 // ranks i+1..j, averaged
		for k := i; k < j; k++ {
			if all[k].first {
				rankSum += mid
			}
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	n := n1 + n2
	u := rankSum - n1*(n1+1)/2
	mean := n1 * n2 / 2
	variance := n1 * n2 / 12 * ((n + 1) - ties/(n*(n-1)))
	r := mannWhitney{U: u, AUC: u / (n1 * n2), P: 1}
	if variance <= 0 {
		return r
	}
	d := u - mean
	correction := 0.5 // R's sign(d)·½
	switch {
	case d < 0:
		correction = -0.5
	case d == 0:
		correction = 0
	}
	r.Z = (d - correction) / math.Sqrt(variance)
	r.P = math.Min(1, 2*normalSF(math.Abs(r.Z)))
	return r
}

// ksTwoSample returns the two-sample Kolmogorov-Smirnov statistic
// D = sup |F_x − F_y| and its asymptotic p-value with Stephens' small-sample
// correction, λ = (√Ne + 0.12 + 0.11/√Ne)·D, Ne = n1·n2/(n1+n2) (Press et al.,
// Numerical Recipes, 3rd ed., §14.3.3). With ties the test is conservative.
func ksTwoSample(x, y []float64) (d, p float64) {
	if len(x) == 0 || len(y) == 0 {
		return 0, 1
	}
	xs, ys := sortedCopy(x), sortedCopy(y)
	n1, n2 := float64(len(xs)), float64(len(ys))
	i, j := 0, 0
	for i < len(xs) && j < len(ys) {
		v := math.Min(xs[i], ys[j])
		for i < len(xs) && xs[i] == v {
			i++
		}
		for j < len(ys) && ys[j] == v {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/n1-float64(j)/n2))
	}
	ne := math.Sqrt(n1 * n2 / (n1 + n2))
	return d, kolmogorovQ((ne + 0.12 + 0.11/ne) * d)
}

// kolmogorovQ is the Kolmogorov distribution's survival function
// Q(λ) = 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²λ²), summed as Numerical Recipes'
// probks does; where the series does not converge (small λ) it is 1.
func kolmogorovQ(lambda float64) float64 {
	a2 := -2 * lambda * lambda
	sign, sum, prev := 2.0, 0.0, 0.0
	for k := 1; k <= 100; k++ {
		term := sign * math.Exp(a2*float64(k*k))
		sum += term
		if math.Abs(term) <= 0.001*prev || math.Abs(term) <= 1e-8*sum {
			return math.Max(0, math.Min(1, sum))
		}
		sign = -sign
		prev = math.Abs(term)
	}
	return 1
}

// logFactorials returns log(i!) for i = 0..n.
func logFactorials(n int) []float64 {
	lf := make([]float64, n+1)
	for i := 2; i <= n; i++ {
		lf[i] = lf[i-1] + math.Log(float64(i))
	}
	return lf
}

// hypergeometric is the number of marked items in a draw of Draw items,
// without replacement, from Total items of which Marked are marked: the null
// distribution of one cell of a 2×2 table with fixed margins.
type hypergeometric struct {
	Total, Marked, Draw int
	lf                  []float64 // log factorials up to Total
}

func newHypergeometric(total, marked, draw int, lf []float64) hypergeometric {
	if len(lf) <= total {
		lf = logFactorials(total)
	}
	return hypergeometric{total, marked, draw, lf}
}

func (h hypergeometric) support() (lo, hi int) {
	return max(0, h.Draw+h.Marked-h.Total), min(h.Draw, h.Marked)
}

func (h hypergeometric) logChoose(n, k int) float64 { return h.lf[n] - h.lf[k] - h.lf[n-k] }

func (h hypergeometric) logPMF(a int) float64 {
	return h.logChoose(h.Marked, a) + h.logChoose(h.Total-h.Marked, h.Draw-a) - h.logChoose(h.Total, h.Draw)
}

// twoSided is Fisher's exact test p-value for observing a: the probability of
// every outcome no more likely than a, with R's relative tolerance of 1e-7 so
// that equally likely outcomes count (Agresti, Categorical Data Analysis, §3.5).
func (h hypergeometric) twoSided(a int) float64 {
	lo, hi := h.support()
	limit := h.logPMF(a) + math.Log1p(1e-7)
	var p float64
	for k := lo; k <= hi; k++ {
		if lp := h.logPMF(k); lp <= limit {
			p += math.Exp(lp)
		}
	}
	return math.Min(1, p)
}

// atLeast is the one-sided p-value P(X ≥ a).
func (h hypergeometric) atLeast(a int) float64 {
	_, hi := h.support()
	var p float64
	for k := max(a, 0); k <= hi; k++ {
		p += math.Exp(h.logPMF(k))
	}
	return math.Min(1, p)
}

// minTwoSided is the smallest two-sided p-value any outcome could reach with
// these margins: Tarone's bound, used to leave untestable rows out of the
// Bonferroni count (Tarone, Biometrics 46(2), 1990).
func (h hypergeometric) minTwoSided() float64 {
	lo, hi := h.support()
	return math.Min(h.twoSided(lo), h.twoSided(hi))
}

// fisher2x2 is Fisher's exact two-sided test on the table [[a, b], [c, d]].
func fisher2x2(a, b, c, d int, lf []float64) float64 {
	return newHypergeometric(a+b+c+d, a+c, a+b, lf).twoSided(a)
}

// taroneCount returns how many of the tests with these minimal p-values must
// be counted for a Bonferroni bound at level alpha: the smallest k such that
// at most k tests can reach alpha/k (Tarone 1990). It is at least 1.
func taroneCount(minP []float64, alpha float64) int {
	for k := 1; k <= len(minP); k++ {
		m := 0
		for _, p := range minP {
			if p <= alpha/float64(k) {
				m++
			}
		}
		if m <= k {
			return k
		}
	}
	return max(1, len(minP))
}

func sortedCopy(x []float64) []float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	return s
}

// quantile returns the q-quantile of sorted values by linear interpolation
// (Hyndman & Fan type 7, R's default).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	h := q * float64(len(sorted)-1)
	i := int(h)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}
