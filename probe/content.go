package probe

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// sigCount is how often one signature of a channel was seen in each class.
type sigCount struct {
	sig            int32
	exists, missng int
	p, minP        float64
}

// analyzeContent tests one content channel. Every distinct signature is a
// row of a 2×2 table (this signature or another × exists or missing) and is
// tested with Fisher's exact test: a signature seen for one class only, or
// far more often for one class, is a leak. Signatures too rare to ever reach
// significance are left out of the Bonferroni count (Tarone 1990), so answers
// that differ randomly on every request cost no power and raise no alarm.
func analyzeContent(c int, s *Samples, alpha float64, lf []float64) Channel {
	ch := Channel{Name: contentNames[c], Kind: "content", Alpha: alpha, P: 1}
	counts, nE, nM := countSignatures(s, c)
	ch.Signatures = len(counts)
	if len(counts) == 1 {
		ch.Summary = fmt.Sprintf("identical in all %d answers", nE+nM)
		return ch
	}
	minP := make([]float64, len(counts))
	for i := range counts {
		h := newHypergeometric(nE+nM, counts[i].exists+counts[i].missng, nE, lf)
		counts[i].p = h.twoSided(counts[i].exists)
		counts[i].minP = h.minTwoSided()
		minP[i] = counts[i].minP
	}
	k := taroneCount(minP, alpha)
	best := counts[0]
	for _, sc := range counts {
		// Equal p-values: prefer the signature existing accounts show.
		if sc.p < best.p || sc.p == best.p && sc.exists-sc.missng > best.exists-best.missng {
			best = sc
		}
	}
	ch.P = math.Min(1, best.p*float64(k))
	ch.Leak = ch.P <= alpha
	ch.Tests = []Test{{Name: "fisher", Statistic: float64(k), P: ch.P}}
	if !ch.Leak {
		ch.Summary = fmt.Sprintf("%s, spread alike over both classes", s.describeSignatures(c, counts))
		if len(counts) > (nE+nM)/4 {
			s.notef("%s: %d distinct answers in %d: part of it changes on every request; a --scrub pattern (or --ignore-header) would make the channel comparable", ch.Name, len(counts), nE+nM)
		}
		return ch
	}
	ch.Example = contentExample(c, s, counts, best)
	ch.Summary = fmt.Sprintf("answer seen %d× for exists, %d× for missing", best.exists, best.missng)
	return ch
}

func countSignatures(s *Samples, c int) (counts []sigCount, nE, nM int) {
	index := map[int32]int{}
	for _, o := range s.Obs {
		i, ok := index[o.sig[c]]
		if !ok {
			i = len(counts)
			index[o.sig[c]] = i
			counts = append(counts, sigCount{sig: o.sig[c]})
		}
		if o.Class == Exists {
			counts[i].exists++
			nE++
		} else {
			counts[i].missng++
			nM++
		}
	}
	return counts, nE, nM
}

// contentExample pairs the most telling signature with the most common one
// of the other class, and shows the smallest difference between them.
func contentExample(c int, s *Samples, counts []sigCount, best sigCount) *Example {
	overExists := float64(best.exists) >= float64(best.missng)
	other := sigCount{sig: -1}
	for _, sc := range counts {
		if sc.sig == best.sig {
			continue
		}
		if overExists && sc.missng > other.missng || !overExists && sc.exists > other.exists {
			other = sc
		}
	}
	sigs := s.sigs[c]
	e := &Example{ExistsCount: best.exists, MissingCount: best.missng}
	if overExists {
		e.Exists = sigs[best.sig]
		if other.sig >= 0 {
			e.Missing = sigs[other.sig]
		}
	} else {
		e.Missing = sigs[best.sig]
		if other.sig >= 0 {
			e.Exists = sigs[other.sig]
		}
	}
	switch c {
	case chHeaders, chCookies:
		e.Diff = lineSetDiff(e.Missing, e.Exists)
	case chBody:
		e.Diff = compactDiff(e.Missing, e.Exists)
	default:
		e.Diff = fmt.Sprintf("- %s\n+ %s", orNone(e.Missing), orNone(e.Exists))
	}
	return e
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// lineSetDiff shows the lines only in a ("-") and only in b ("+").
func lineSetDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			if l != "" {
				m[l] = true
			}
		}
		return m
	}
	am, bm := in(a), in(b)
	var out []string
	for l := range am {
		if !bm[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range bm {
		if !am[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][2:]+out[i][:1] < out[j][2:]+out[j][:1] })
	return strings.Join(out, "\n")
}

// describeSignatures counts the distinct answers of a channel, and the
// requests that got none apart: a timeout is not a second answer.
func (s *Samples) describeSignatures(c int, counts []sigCount) string {
	answers, failed := 0, 0
	for _, sc := range counts {
		if strings.HasPrefix(s.sigs[c][sc.sig], "error: ") {
			failed += sc.exists + sc.missng
		} else {
			answers++
		}
	}
	if failed == 0 {
		return fmt.Sprintf("%d distinct answers", answers)
	}
	return fmt.Sprintf("%d distinct answers and %d requests without an answer", answers, failed)
}
