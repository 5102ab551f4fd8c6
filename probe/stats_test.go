package probe

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// TestMannWhitney checks against R's wilcox.test(x, y, exact=FALSE,
// correct=TRUE): W and p-value.
func TestMannWhitney(t *testing.T) {
	tests := []struct {
		x, y  []float64
		u, p  float64
		label string
	}{
		// wilcox.test(c(1,2,3), c(4,5,6), exact=FALSE): W = 0, p-value = 0.08086
		{[]float64{1, 2, 3}, []float64{4, 5, 6}, 0, 0.08086, "separated"},
		// wilcox.test(c(1,2,2,3), c(2,3,4,5), exact=FALSE): W = 2.5, p-value = 0.1367 (ties)
		{[]float64{1, 2, 2, 3}, []float64{2, 3, 4, 5}, 2.5, 0.13666, "ties"},
		// identical samples: no evidence at all
		{[]float64{1, 2, 3}, []float64{1, 2, 3}, 4.5, 1, "identical"},
	}
	for _, tt := range tests {
		got := mannWhitneyU(tt.x, tt.y)
		if !near(got.U, tt.u, 1e-9) || !near(got.P, tt.p, 5e-5) {
			t.Errorf("mannWhitneyU(%s) = U %v p %.5f, want U %v p %.5f", tt.label, got.U, got.P, tt.u, tt.p)
		}
	}
}

// TestKolmogorov checks the Kolmogorov distribution at its textbook critical
// values (Q(1.2239)=0.10, Q(1.3581)=0.05, Q(1.6276)=0.01) and the two-sample
// statistic on samples worked by hand.
func TestKolmogorov(t *testing.T) {
	for _, tt := range []struct{ lambda, q float64 }{{1.2239, 0.10}, {1.3581, 0.05}, {1.6276, 0.01}, {0.1, 1}} {
		if got := kolmogorovQ(tt.lambda); !near(got, tt.q, 2e-4) {
			t.Errorf("kolmogorovQ(%v) = %.5f, want %.5f", tt.lambda, got, tt.q)
		}
	}
	for _, tt := range []struct {
		x, y []float64
		d    float64
	}{
		{[]float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 1},
		{[]float64{1, 3, 5, 7}, []float64{2, 4, 6, 8}, 0.25},
		{[]float64{1, 2, 2, 3}, []float64{2, 2, 3, 3}, 0.25}, // ties step together
	} {
		if d, _ := ksTwoSample(tt.x, tt.y); !near(d, tt.d, 1e-12) {
			t.Errorf("ksTwoSample(%v, %v) D = %v, want %v", tt.x, tt.y, d, tt.d)
		}
	}
}

// TestFisher checks Fisher's exact test against published values: the lady
// tasting tea (Fisher 1935; R: fisher.test(matrix(c(3,1,1,3),2)) p = 0.4857,
// one-sided 0.2429) and Wikipedia's 2×2 example [[1,9],[11,3]] (two-sided
// 0.002759; one-sided 0.001380, the observed table's 0.001346 plus the more
// extreme table's 0.000034).
func TestFisher(t *testing.T) {
	lf := logFactorials(100)
	if got := fisher2x2(3, 1, 1, 3, lf); !near(got, 0.4857, 1e-4) {
		t.Errorf("fisher2x2(tea) = %.5f, want 0.4857", got)
	}
	if got := newHypergeometric(8, 4, 4, lf).atLeast(3); !near(got, 0.2429, 1e-4) {
		t.Errorf("tea one-sided = %.5f, want 0.2429", got)
	}
	if got := fisher2x2(1, 9, 11, 3, lf); !near(got, 0.002759, 2e-6) {
		t.Errorf("fisher2x2(1,9,11,3) = %.6f, want 0.002759", got)
	}
	// P(X ≤ 1) for the first cell, as P(≥ 9) of the complementary cell.
	if got := newHypergeometric(24, 10, 12, lf).atLeast(9); !near(got, 0.001380, 2e-6) {
		t.Errorf("one-sided = %.6f, want 0.001380", got)
	}
	// A row that can never be significant: a single count.
	if got := newHypergeometric(600, 1, 300, lf).minTwoSided(); !near(got, 1, 1e-9) {
		t.Errorf("minTwoSided(K=1) = %v, want 1", got)
	}
}

func TestTarone(t *testing.T) {
	if got := taroneCount([]float64{1, 1, 1, 1e-9}, 0.01); got != 1 {
		t.Errorf("taroneCount = %d, want 1 (only one row testable)", got)
	}
	if got := taroneCount([]float64{1e-9, 1e-9, 1e-9}, 0.01); got != 3 {
		t.Errorf("taroneCount = %d, want 3", got)
	}
}

func TestNormal(t *testing.T) {
	if got := normalUpper(0.025); !near(got, 1.959964, 1e-6) {
		t.Errorf("normalUpper(0.025) = %v, want 1.959964", got)
	}
	if got := normalSF(1.959964); !near(got, 0.025, 1e-7) {
		t.Errorf("normalSF(1.959964) = %v, want 0.025", got)
	}
}

// TestMinDetectableShift compares with the theory for normal data: with
// n = 1000 per class, α = 0.05 and power 0.8 the Mann-Whitney test needs
// Φ(Δ/√2) = ½ + (1.95996+0.84162)·√(2001/(12·10⁶)), that is Δ = 0.1285σ
// (the t-test's 0.1253σ over the asymptotic efficiency √(3/π)).
func TestMinDetectableShift(t *testing.T) {
	pooled := make([]float64, 2000)
	for i := range pooled {
		pooled[i] = -normalUpper((float64(i) + 0.5) / 2000)
	}
	if got := minDetectableShift(pooled, 1000, 1000, 0.05, 0.8); !near(got, 0.1285, 0.003) {
		t.Errorf("minDetectableShift(normal) = %.4f, want 0.1285", got)
	}
}

// TestTimingCalibration runs the whole timing analysis on synthetic data:
// without a difference the leak rate stays under alpha; with the minimum
// detectable shift it is near the stated power.
func TestTimingCalibration(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lf := logFactorials(700)
	const runs, n, alpha = 200, 300, 0.05
	sample := func(shift float64) ([]float64, []bool) {
		times, isExists := make([]float64, 2*n), make([]bool, 2*n)
		for i := range times {
			isExists[i] = i%2 == 0
			times[i] = 50e3 + 10e3*rng.ExpFloat64() // a long right tail, like real times
			if isExists[i] {
				times[i] += shift
			}
		}
		rng.Shuffle(len(times), func(i, j int) {
			times[i], times[j] = times[j], times[i]
			isExists[i], isExists[j] = isExists[j], isExists[i]
		})
		return times, isExists
	}
	falseLeaks, mdd := 0, 0.0
	for range runs {
		times, isExists := sample(0)
		ch := analyzeTiming("t", times, isExists, alpha, rng, lf)
		if ch.Leak {
			falseLeaks++
		}
		mdd += ch.Timing.MinDetectable / runs
	}
	if falseLeaks > runs*alpha {
		t.Errorf("false leaks: %d of %d runs at alpha %v", falseLeaks, runs, alpha)
	}
	found := 0
	for range runs {
		times, isExists := sample(mdd)
		if analyzeTiming("t", times, isExists, alpha, rng, lf).Leak {
			found++
		}
	}
	if got := float64(found) / runs; got < 0.7 {
		t.Errorf("shift of the stated minimum detectable difference %.0fns found in %.0f%% of runs, want ≥ 70%% (80%% stated)", mdd, 100*got)
	}
	t.Logf("false leaks %d/%d at alpha %v; MDD %.0fns found in %d/%d", falseLeaks, runs, alpha, mdd, found, runs)
}

func TestHeldOutAccuracy(t *testing.T) {
	lf := logFactorials(200)
	times, isExists := make([]float64, 100), make([]bool, 100)
	for i := range times {
		isExists[i] = i%4 < 2
		times[i] = float64(i % 7)
		if isExists[i] {
			times[i] += 100
		}
	}
	acc, p := heldOutAccuracy(times, isExists, lf)
	if acc != 1 || p > 1e-10 {
		t.Errorf("heldOutAccuracy(separated) = %v, p %v; want 1, tiny", acc, p)
	}
}

func TestBoxTest(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	times, isExists := make([]float64, 400), make([]bool, 400)
	for i := range times {
		isExists[i] = i%2 == 0
		times[i] = 1000 + 100*rng.ExpFloat64()
		if isExists[i] {
			times[i] += 200
		}
	}
	b := boxTest(times, isExists, 0.001, rng)
	if b.gap <= 0 || b.p > 0.001 {
		t.Errorf("boxTest(shifted by 2σ) = gap %v p %v, want apart and p ≤ 0.001", b.gap, b.p)
	}
}
