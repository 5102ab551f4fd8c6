package probe

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// timingTests is how many tests a timing channel runs; each is held to the
// channel's alpha divided by it (Bonferroni).
const timingTests = 4

// power is the detection probability the minimum detectable difference is
// stated at.
const power = 0.8

// analyzeTiming tests one timing channel (times in sending order, with their
// classes) four ways, each at alpha/4:
//
//   - Mann-Whitney U: do existing accounts tend to answer slower or faster?
//   - Kolmogorov-Smirnov: do the two distributions differ anywhere?
//   - Crosby's box test: do low-percentile bands separate? (Crosby, Wallach &
//     Riedi, "Opportunities and Limits of Remote Timing Attacks", ACM TISSEC
//     12(3), 2009: the low percentiles are the least disturbed by jitter.)
//     Its p-value is a permutation test on the widest band separation.
//   - the held-out accuracy of the best single-request threshold an attacker
//     could learn, trained on half the requests and tested on the other half,
//     with Fisher's exact test against guessing.
//
// The run's order is a complete randomization of the classes, so under "no
// difference" every relabelling is equally likely: the rank and permutation
// tests are exact, whatever the target's drift.
func analyzeTiming(name string, times []float64, isExists []bool, alpha float64, rng *rand.Rand, lf []float64) Channel {
	ch := Channel{Name: name, Kind: "timing", Alpha: alpha, P: 1}
	var x, y []float64
	for i, t := range times {
		if isExists[i] {
			x = append(x, t)
		} else {
			y = append(y, t)
		}
	}
	if len(x) < MinN || len(y) < MinN {
		ch.Summary = "too few answers to test"
		return ch
	}
	perTest := alpha / timingTests
	mw := mannWhitneyU(x, y)
	d, ksP := ksTwoSample(x, y)
	box := boxTest(times, isExists, perTest, rng)
	acc, accP := heldOutAccuracy(times, isExists, lf)
	ch.Tests = []Test{
		{Name: "mann-whitney", Statistic: mw.AUC, P: mw.P},
		{Name: "kolmogorov-smirnov", Statistic: d, P: ksP},
		{Name: "box", Statistic: box.gap, P: box.p},
		{Name: "classifier", Statistic: acc, P: accP},
	}
	for _, t := range ch.Tests {
		ch.P = math.Min(ch.P, math.Min(1, t.P*timingTests))
	}
	ch.Leak = ch.P <= alpha
	xs, ys := sortedCopy(x), sortedCopy(y)
	pooled := sortedCopy(times)
	ch.Timing = &TimingFigures{
		ExistsMedian: quantile(xs, 0.5), MissingMedian: quantile(ys, 0.5),
		ExistsP10: quantile(xs, 0.1), MissingP10: quantile(ys, 0.1),
		SlowerShare: mw.AUC, Accuracy: acc, AccuracyP: accP, Box: box.describe(),
		MinDetectable: minDetectableShift(pooled, len(x), len(y), perTest, power),
	}
	ch.Summary = ch.Timing.summary(ch.Leak)
	return ch
}

// TimingFigures describe a timing channel in nanoseconds.
type TimingFigures struct {
	ExistsMedian  float64 `json:"exists_median_ns"`
	MissingMedian float64 `json:"missing_median_ns"`
	ExistsP10     float64 `json:"exists_p10_ns"`
	MissingP10    float64 `json:"missing_p10_ns"`
	SlowerShare   float64 `json:"exists_slower_share"` // P(exists > missing)
	Accuracy      float64 `json:"classifier_accuracy"` // held out, balanced
	AccuracyP     float64 `json:"classifier_p"`        // of reaching Accuracy by guessing
	Box           string  `json:"box"`
	// MinDetectable is the smallest constant extra time for one class that
	// the Mann-Whitney test alone, at its share of alpha, would detect with
	// probability 0.8 at this sample size and spread (+Inf: none would).
	MinDetectable float64 `json:"min_detectable_ns"`
}

func (f *TimingFigures) summary(leak bool) string {
	s := fmt.Sprintf("median %s vs %s (%+s), p10 %s vs %s, attacker accuracy %.1f%%",
		fmtNS(f.ExistsMedian), fmtNS(f.MissingMedian), fmtNS(f.ExistsMedian-f.MissingMedian),
		fmtNS(f.ExistsP10), fmtNS(f.MissingP10), 100*f.Accuracy)
	if !leak {
		s += fmt.Sprintf(" (p=%s by guessing), would detect ≥ %s", fmtP(f.AccuracyP), fmtNS(f.MinDetectable))
	}
	return s
}

// accuracyNote explains an attacker accuracy above a coin's beside a "no
// leak": people read 75 % as "an attacker is right three times in four",
// when at a small sample it is what guessing often gives.
func accuracyNote(channels []Channel) string {
	for _, c := range channels {
		if f := c.Timing; f != nil && !c.Leak && f.Accuracy >= 0.55 {
			return fmt.Sprintf("attacker accuracy (%.1f%% on %s) is how often the best threshold on one answer's time, learned on half the requests, named the class of the other half; 50%% is guessing. "+
				"Guessing reaches %.1f%% at this sample size with p=%s, above the %.2g a leak needs (the channel's share of alpha over its %d tests), so it is no evidence of one; more requests (--n) would tell a real edge from luck",
				100*f.Accuracy, c.Name, 100*f.Accuracy, fmtP(f.AccuracyP), c.Alpha/timingTests, timingTests)
		}
	}
	return ""
}

// fmtNS formats nanoseconds for people: "183µs", "1.2ms".
func fmtNS(ns float64) string {
	if math.IsInf(ns, 0) || math.IsNaN(ns) {
		return "∞"
	}
	d := time.Duration(ns)
	switch a := math.Abs(ns); {
	case a < 1e3:
		return fmt.Sprintf("%.0fns", ns)
	case a < 1e6:
		return fmt.Sprintf("%.1fµs", ns/1e3)
	default:
		return d.Round(10 * time.Microsecond).String()
	}
}

// boxPercentiles are the band edges of the box test; band b spans
// boxPercentiles[b] to boxPercentiles[b+1].
var boxPercentiles = []float64{0.01, 0.05, 0.10, 0.20, 0.30}

type boxResult struct {
	gap      float64 // widest separation, in pooled band widths (> 0: boxes apart)
	p        float64
	band     int
	existsLo float64
	existsHi float64
	missLo   float64
	missHi   float64
}

func (b boxResult) describe() string {
	lo, hi := 100*boxPercentiles[b.band], 100*boxPercentiles[b.band+1]
	rel := "overlap"
	if b.gap > 0 {
		rel = "apart"
	}
	return fmt.Sprintf("band %g–%g%%: exists [%s, %s], missing [%s, %s]: %s",
		lo, hi, fmtNS(b.existsLo), fmtNS(b.existsHi), fmtNS(b.missLo), fmtNS(b.missHi), rel)
}

// boxTest computes the box statistic and its permutation p-value, drawing
// new labels for the sorted pooled sample. It stops early once 20 relabellings
// reach the observed statistic (Besag & Clifford, Biometrika 78(2), 1991),
// and otherwise runs enough relabellings to resolve alpha.
func boxTest(times []float64, isExists []bool, alpha float64, rng *rand.Rand) boxResult {
	idx := make([]int, len(times))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return times[idx[a]] < times[idx[b]] })
	sorted := make([]float64, len(times))
	labels := make([]bool, len(times))
	nE := 0
	for k, i := range idx {
		sorted[k], labels[k] = times[i], isExists[i]
		if labels[k] {
			nE++
		}
	}
	bs := newBoxStat(sorted, nE, len(times)-nE)
	obs := bs.stat(func(k int) bool { return labels[k] })
	b := min(20000, int(math.Ceil(3/alpha)))
	hits, runs := 0, 0
	for runs < b && hits < 20 {
		runs++
		remE, rem := nE, len(sorted)
		perm := bs.stat(func(int) bool {
			e := rng.IntN(rem) < remE
			rem--
			if e {
				remE--
			}
			return e
		})
		if perm.gap >= obs.gap {
			hits++
		}
	}
	if hits >= 20 {
		obs.p = float64(hits) / float64(runs)
	} else {
		obs.p = float64(hits+1) / float64(runs+1)
	}
	return obs
}

type boxStat struct {
	sorted       []float64
	rankE, rankM []int     // per percentile, the 0-based rank within each class
	width        []float64 // per band, the pooled band width
}

func newBoxStat(sorted []float64, nE, nM int) *boxStat {
	bs := &boxStat{sorted: sorted}
	for _, q := range boxPercentiles {
		bs.rankE = append(bs.rankE, int(q*float64(nE-1)))
		bs.rankM = append(bs.rankM, int(q*float64(nM-1)))
	}
	for b := 0; b+1 < len(boxPercentiles); b++ {
		w := quantile(sorted, boxPercentiles[b+1]) - quantile(sorted, boxPercentiles[b])
		bs.width = append(bs.width, math.Max(w, 1))
	}
	return bs
}

// stat scans the pooled sample in order, labelling position k with
// isExists(k) (called once per position, in order), until both classes have
// reached their highest percentile, and returns the widest band gap.
func (bs *boxStat) stat(isExists func(k int) bool) boxResult {
	np := len(boxPercentiles)
	qe, qm := make([]float64, np), make([]float64, np)
	ce, cm, ie, im := 0, 0, 0, 0
	for k := 0; k < len(bs.sorted) && (ie < np || im < np); k++ {
		v := bs.sorted[k]
		if isExists(k) {
			for ie < np && bs.rankE[ie] == ce {
				qe[ie], ie = v, ie+1
			}
			ce++
		} else {
			for im < np && bs.rankM[im] == cm {
				qm[im], im = v, im+1
			}
			cm++
		}
	}
	best := boxResult{gap: math.Inf(-1)}
	for b := range bs.width {
		gap := math.Max(qm[b]-qe[b+1], qe[b]-qm[b+1]) / bs.width[b]
		if gap > best.gap {
			best = boxResult{gap: gap, band: b, existsLo: qe[b], existsHi: qe[b+1], missLo: qm[b], missHi: qm[b+1]}
		}
	}
	return best
}

// heldOutAccuracy learns the threshold rule "faster than t means exists" (or
// its reverse) with the best balanced accuracy on the even-numbered requests,
// and returns its balanced accuracy on the odd-numbered ones with the exact
// one-sided p-value of doing that well by chance (the test half's labels
// are a random relabelling under "no difference": hypergeometric).
func heldOutAccuracy(times []float64, isExists []bool, lf []float64) (acc, p float64) {
	threshold, fastIsExists, ok := fitThreshold(times, isExists)
	if !ok {
		return 0.5, 1
	}
	var tab [2][2]int // [predicted exists][is exists]
	for i := 1; i < len(times); i += 2 {
		predE := (times[i] < threshold) == fastIsExists
		tab[b2i(predE)][b2i(isExists[i])]++
	}
	tE, tM := tab[0][1]+tab[1][1], tab[0][0]+tab[1][0]
	if tE == 0 || tM == 0 {
		return 0.5, 1
	}
	acc = (float64(tab[1][1])/float64(tE) + float64(tab[0][0])/float64(tM)) / 2
	h := newHypergeometric(tE+tM, tE, tab[1][1]+tab[1][0], lf)
	return acc, h.atLeast(tab[1][1])
}

// fitThreshold finds, on the even-numbered requests, the threshold and
// direction with the best balanced accuracy, trying every split between
// distinct sorted times.
func fitThreshold(times []float64, isExists []bool) (threshold float64, fastIsExists, ok bool) {
	var train []int
	nE := 0
	for i := 0; i < len(times); i += 2 {
		train = append(train, i)
		nE += b2i(isExists[i])
	}
	nM := len(train) - nE
	if nE == 0 || nM == 0 {
		return 0, false, false
	}
	sort.Slice(train, func(a, b int) bool { return times[train[a]] < times[train[b]] })
	best, seenE := -1.0, 0
	for k := 0; k <= len(train); k++ { // the first k are "fast"
		if k > 0 {
			seenE += b2i(isExists[train[k-1]])
			if k < len(train) && times[train[k]] == times[train[k-1]] {
				continue
			}
		}
		a := (float64(seenE)/float64(nE) + float64(nM-(k-seenE))/float64(nM)) / 2
		t := math.Inf(1)
		if k < len(train) {
			t = times[train[k]]
		}
		if a > best {
			best, threshold, fastIsExists = a, t, true
		}
		if 1-a > best {
			best, threshold, fastIsExists = 1-a, t, false
		}
	}
	return threshold, fastIsExists, true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// minDetectableShift returns the smallest Δ such that adding Δ to every time
// of one class would make a two-sided Mann-Whitney test at level alpha reject
// with probability pow. With X, Y drawn from the pooled sample, the test's
// power for P(X+Δ > Y) = π is about Φ((|π−½|·n1n2 − z_{α/2}σ₀)/σ₀) with
// σ₀² = n1n2(N+1)/12 (Noether, JASA 82, 1987), so π must reach
// ½ + (z_{α/2} + z_{1−pow})·√((N+1)/(12·n1n2)); Δ is found by bisection.
func minDetectableShift(pooled []float64, n1, n2 int, alpha, pow float64) float64 {
	need := (normalUpper(alpha/2) + normalUpper(1-pow)) *
		math.Sqrt(float64(n1+n2+1)/(12*float64(n1)*float64(n2)))
	if len(pooled) < 2 || need >= 0.5 {
		return math.Inf(1)
	}
	lo, hi := 0.0, pooled[len(pooled)-1]-pooled[0]
	if shiftedShare(pooled, hi)-0.5 < need {
		return math.Inf(1)
	}
	for range 60 {
		mid := (lo + hi) / 2
		if shiftedShare(pooled, mid)-0.5 >= need {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// shiftedShare returns P(X + d > Y) + ½P(X + d = Y) for X, Y drawn
// independently from the sorted sample z, counting all ordered pairs.
func shiftedShare(z []float64, d float64) float64 {
	var less, lessEq int // pairs with z[j] < z[i]+d, and <=
	j, k := 0, 0
	for _, zi := range z {
		for j < len(z) && z[j] < zi+d {
			j++
		}
		for k < len(z) && z[k] <= zi+d {
			k++
		}
		less += j
		lessEq += k
	}
	n := float64(len(z))
	return (float64(less) + float64(lessEq-less)/2) / (n * n)
}
