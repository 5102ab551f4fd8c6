package probe

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
)

// Report is the outcome of a plan: Leak is true when any channel of any
// target leaks on a conclusive run; Inconclusive when some target could
// not be measured behind its throttle or failures.
type Report struct {
	Leak         bool      `json:"leak"`
	Inconclusive bool      `json:"inconclusive"`
	Alpha        float64   `json:"alpha"` // family-wise false-positive rate of the whole report
	Targets      []*Result `json:"targets"`
}

// Result is the outcome for one target.
type Result struct {
	Name              string    `json:"name"`
	Kind              string    `json:"kind,omitempty"` // login, signup or recover
	Method            string    `json:"method"`
	URL               string    `json:"url"`
	Mode              string    `json:"mode"`          // "sequential" or "pairs"
	N                 int       `json:"n"`             // per class
	Identifiers       [2]int    `json:"identifiers"`   // distinct ones measured, exists and missing
	FirstContact      bool      `json:"first_contact"` // every missing one new to the target
	Requests          int       `json:"requests"`
	Errors            int       `json:"errors"`
	Seconds           float64   `json:"seconds"`
	RequestsPerSecond float64   `json:"requests_per_second"`
	Alpha             float64   `json:"alpha"`
	Leak              bool      `json:"leak"`
	Channels          []Channel `json:"channels"`
	Notes             []string  `json:"notes,omitempty"`
	// Inconclusive says why the run cannot tell (most answers throttled,
	// errors or failures); "" when it can. Remedies say what would help.
	Inconclusive string   `json:"inconclusive,omitempty"`
	Remedies     []string `json:"remedies,omitempty"`
	Sent         Sent     `json:"sent"`
	Effects      string   `json:"effects"` // what the run may have changed on the target

	samples *Samples
}

// Channel is the verdict on one observable channel.
type Channel struct {
	Name       string         `json:"name"`
	Kind       string         `json:"kind"` // content, timing or order
	Leak       bool           `json:"leak"`
	P          float64        `json:"p"`     // smallest p-value, Bonferroni-adjusted within the channel
	Alpha      float64        `json:"alpha"` // the channel's share of the family-wise rate
	Summary    string         `json:"summary"`
	Signatures int            `json:"signatures,omitempty"` // distinct answers (content)
	Tests      []Test         `json:"tests,omitempty"`
	Example    *Example       `json:"example,omitempty"`
	Timing     *TimingFigures `json:"timing,omitempty"`
	Order      *OrderFigures  `json:"order,omitempty"`
}

// Test is one statistical test of a channel, with its unadjusted p-value.
type Test struct {
	Name      string  `json:"name"`
	Statistic float64 `json:"statistic"`
	P         float64 `json:"p"`
}

// Example is the smallest example of a content leak: one answer of each
// class and their difference ("-" missing, "+" exists).
type Example struct {
	Exists       string `json:"exists"`
	Missing      string `json:"missing"`
	Diff         string `json:"diff"`
	ExistsCount  int    `json:"exists_count"`  // answers of each class that
	MissingCount int    `json:"missing_count"` // showed the telling signature
}

// Run measures and analyzes every probe of a plan in turn. The plan's alpha
// is split evenly between its probes.
func Run(ctx context.Context, plan Plan) (*Report, error) {
	alpha := plan.Alpha
	if alpha <= 0 {
		alpha = DefaultAlpha
	}
	rep := &Report{Alpha: alpha}
	for _, p := range plan.Probes {
		s, err := Sample(ctx, p)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", p.Target.name(), err)
		}
		res := Analyze(s, alpha/float64(len(plan.Probes)))
		rep.Targets = append(rep.Targets, res)
		rep.Leak = rep.Leak || res.Leak
		rep.Inconclusive = rep.Inconclusive || res.Inconclusive != ""
	}
	return rep, nil
}

// Analyze tests every channel of a sample. Alpha is split evenly between the
// channels, and within each channel between its tests, so the chance that a
// target without any leak is reported leaking is at most alpha.
func Analyze(s *Samples, alpha float64) *Result {
	t, o := s.Probe.Target, s.Probe.Options
	r := &Result{Name: t.name(), Kind: t.Kind, Method: t.method(), URL: t.Where(), Mode: "sequential",
		N: o.N, Identifiers: [2]int{len(t.Exists), len(t.Missing)}, Requests: s.Requests,
		Errors: s.errors(), Seconds: s.Elapsed.Seconds(), Alpha: alpha, FirstContact: t.OnFirstContact(), samples: s}
	if r.FirstContact {
		r.Identifiers[1] = s.Sent.Missing
	}
	if s.Elapsed > 0 {
		r.RequestsPerSecond = float64(len(s.Obs)) / s.Elapsed.Seconds()
	}
	nTiming := 2
	if o.Pairs {
		r.Mode, nTiming = "pairs", 1
	}
	perChannel := alpha / float64(numContent+nTiming)
	lf := logFactorials(len(s.Obs) + 2)
	s.notes = nil
	r.Channels = make([]Channel, numContent+nTiming)
	var wg sync.WaitGroup
	for c := range numContent {
		if c == chStructure {
			wg.Go(func() { r.Channels[c] = analyzeStructure(s, perChannel, lf) })
			continue
		}
		wg.Go(func() { r.Channels[c] = analyzeContent(c, s, perChannel, lf) })
	}
	if o.Pairs {
		r.Channels[numContent] = analyzeOrder(s.Pairs, perChannel, lf)
	} else {
		times, isExists := s.times()
		for k, name := range []string{"time to first byte", "time to last byte"} {
			rng := newRand(o.Seed + uint64(k) + 1)
			wg.Go(func() { r.Channels[numContent+k] = analyzeTiming(name, times[k], isExists, perChannel, rng, lf) })
		}
	}
	wg.Wait()
	for _, c := range r.Channels {
		r.Leak = r.Leak || c.Leak
	}
	r.Notes = append(s.statusNotes(), s.notes...)
	if note := accuracyNote(r.Channels); note != "" {
		r.Notes = append(r.Notes, note)
	}
	r.Sent, r.Effects = s.Sent, effects(t, s.Sent)
	if why := s.inconclusive(); why != "" {
		// The channels stay in the report, but their verdict is the
		// throttle's or the outage's, not the endpoint's.
		r.Inconclusive, r.Remedies, r.Leak = why, Remedies, false
	}
	return r
}

// times returns TTFB and TTLB of the requests that got an answer, in sending
// order, and their classes.
func (s *Samples) times() (times [2][]float64, isExists []bool) {
	for _, o := range s.Obs {
		if o.Err {
			continue
		}
		times[0] = append(times[0], float64(o.TTFB))
		times[1] = append(times[1], float64(o.TTLB))
		isExists = append(isExists, o.Class == Exists)
	}
	return times, isExists
}

func (s *Samples) notef(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

// statusNotes warns about answers that make the verdict less meaningful.
func (s *Samples) statusNotes() []string {
	counts := map[string]int{}
	for _, o := range s.Obs {
		counts[s.sigs[chStatus][o.sig[chStatus]]]++
	}
	var notes []string
	if n := counts["429"]; n > 0 {
		notes = append(notes, fmt.Sprintf("the target throttled %d answers (429): those answers are the throttle's, not the endpoint's", n))
	}
	if len(counts) == 1 {
		for status := range counts {
			if status == "404" || status == "405" {
				notes = append(notes, "every answer was "+status+": is the URL or method right?")
			}
		}
	}
	if n := s.errors(); n > 0 {
		notes = append(notes, fmt.Sprintf("%d requests failed without an answer", n))
	}
	return notes
}

// OrderFigures describe the paired channel.
type OrderFigures struct {
	Pairs             int     `json:"pairs"`
	ExistsFirstShare  float64 `json:"exists_first_share"` // of all pairs
	FirstSentWinShare float64 `json:"first_sent_wins"`    // how often packet order decided
	// MinDetectable is the smallest shift of the exists-first share away
	// from ½ the order test would detect with probability 0.8. What time
	// difference that is depends on how concurrently the target serves the
	// two streams; calibrate it against the leaky test server.
	MinDetectable float64 `json:"min_detectable_share"`
}

// orderTests is how many tests the paired channel runs.
const orderTests = 2

// analyzeOrder tests whether existing accounts answer first more or less
// often, or sooner, than missing ones. Which class is sent first is random
// per pair, and under "no difference" how a pair turns out does not depend
// on which class went first. Two tests, each at alpha/2:
//
//   - Fisher's exact test on sent-first class × first-sent-answered-first: a
//     sign test on the order, stratified by packet order, which removes the
//     packet-order effect from its variance;
//   - Mann-Whitney on the gap (second-sent answer minus first-sent answer)
//     between pairs that sent exists first and pairs that sent missing
//     first: a leak of Δ moves the two groups up to 2Δ apart. (The gap is
//     read by the client; answers the server flushes together arrive
//     together, so it cannot be turned into a detectable time.)
func analyzeOrder(pairs []PairOutcome, alpha float64, lf []float64) Channel {
	ch := Channel{Name: "answer order (HTTP/2 pairs)", Kind: "order", Alpha: alpha, P: 1}
	n := len(pairs)
	if n < MinN {
		ch.Summary = "too few pairs to test"
		return ch
	}
	var tab [2][2]int // [exists sent first][first-sent answered first]
	var gaps [2][]float64
	existsFirst := 0
	for _, p := range pairs {
		tab[b2i(p.ExistsSentFirst)][b2i(p.ExistsSentFirst == p.ExistsAnsweredFirst)]++
		gaps[b2i(p.ExistsSentFirst)] = append(gaps[b2i(p.ExistsSentFirst)], float64(p.Gap))
		if p.ExistsAnsweredFirst {
			existsFirst++
		}
	}
	if len(gaps[0]) == 0 || len(gaps[1]) == 0 {
		ch.Summary = "every pair sent the same class first"
		return ch
	}
	pOrder := fisher2x2(tab[1][1], tab[1][0], tab[0][1], tab[0][0], lf)
	mw := mannWhitneyU(gaps[1], gaps[0])
	ch.Tests = []Test{{Name: "fisher-order", Statistic: float64(existsFirst) / float64(n), P: pOrder},
		{Name: "mann-whitney-gap", Statistic: mw.AUC, P: mw.P}}
	ch.P = math.Min(1, orderTests*math.Min(pOrder, mw.P))
	ch.Leak = ch.P <= alpha
	perTest := alpha / orderTests
	wins := tab[1][1] + tab[0][1]
	q := (float64(wins) + 1) / (float64(n) + 2) // Laplace, so 0 or n wins keep a variance
	n1, n0 := float64(len(gaps[1])), float64(len(gaps[0]))
	// The strata's first-sent win rates differ by twice the shift of the
	// exists-first share; a two-proportion test with power 0.8 needs
	// |q1−q0| ≥ (z_{α/2}+z_{0.2})·√(q(1−q)(1/n1+1/n0)).
	mdd := (normalUpper(perTest/2) + normalUpper(1-power)) * math.Sqrt(q*(1-q)*(1/n1+1/n0)) / 2
	ch.Order = &OrderFigures{Pairs: n, ExistsFirstShare: float64(existsFirst) / float64(n),
		FirstSentWinShare: float64(wins) / float64(n), MinDetectable: mdd}
	ch.Summary = fmt.Sprintf("exists answered first in %.1f%% of %d pairs (packet order decided %.1f%%)",
		100*ch.Order.ExistsFirstShare, n, 100*ch.Order.FirstSentWinShare)
	if !ch.Leak {
		ch.Summary += fmt.Sprintf(", would detect an order shift ≥ %.1f points", 100*mdd)
	}
	return ch
}

// LeakingChannels lists the names of the channels that leak.
func (r *Result) LeakingChannels() []string {
	var names []string
	for _, c := range r.Channels {
		if c.Leak {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	return names
}
