package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// samplePairs measures a probe in paired mode: Warmup pairs discarded, then
// N pairs, each with one identifier of each class in random packet order.
func samplePairs(ctx context.Context, p Probe) (*Samples, error) {
	t, o := p.Target, p.Options
	u, err := url.Parse(t.URL.RenderURL("x", "x"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("paired mode needs an http or https URL")
	}
	r := &pairRunner{probe: p, rec: newRecorder(t), url: u, rng: newRand(o.Seed),
		pace: newPacer(o.Rate / 2), total: 2 * (o.Warmup + o.N), steps: newClient(o)}
	defer r.close()
	if r.base, err = t.runSteps(ctx, r.steps, flow{}, true); err != nil {
		return nil, targetOrContext(ctx, fmt.Errorf("once-only %w", err))
	}
	ids := newIdentifiers(t)
	for i := 0; i < o.Warmup; i++ {
		// Both of a warm-up pair's identifiers are throwaway ones.
		if _, err := r.pair(ctx, [2]string{ids.throwaway(2 * i), ids.throwaway(2*i + 1)}); err != nil {
			return nil, targetOrContext(ctx, err)
		}
	}
	s := &Samples{Probe: p}
	start := time.Now()
	failures := 0
	for i := 0; i < o.N; {
		obs, err := r.pair(ctx, [2]string{ids.exists(i), ids.missing(i)})
		if err != nil {
			if failures++; ctx.Err() != nil || failures > max(10, o.N/20) {
				return nil, targetOrContext(ctx, fmt.Errorf("%d pairs failed, the last with: %w", failures, err))
			}
			continue
		}
		s.Obs = append(s.Obs, obs[0], obs[1])
		s.Pairs = append(s.Pairs, r.last)
		i++
	}
	s.Elapsed, s.Requests, s.Sent, s.sigs = time.Since(start), r.sent, ids.sent, r.rec.sigs
	return s, nil
}

func targetOrContext(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &TargetError{err}
}

type pairRunner struct {
	probe Probe
	rec   *recorder
	url   *url.URL
	rng   interface{ IntN(int) int }
	pace  *pacer
	conn  *pairConn
	steps *http.Client // for the steps, on their own connections
	base  flow         // what the once-only steps produced
	last  PairOutcome
	sent  int
	total int
}

func (r *pairRunner) close() {
	if r.conn != nil {
		r.conn.Close()
	}
	r.steps.CloseIdleConnections()
}

// pair sends one pair, ids[0] as the existing identifier and ids[1] as the
// missing one, reconnecting first if the connection is gone, and returns
// the two observations, exists first.
func (r *pairRunner) pair(ctx context.Context, ids [2]string) ([2]Observation, error) {
	var obs [2]Observation
	if err := r.pace.wait(ctx); err != nil {
		return obs, err
	}
	t, o := r.probe.Target, r.probe.Options
	if r.conn == nil {
		c, err := dialPair(ctx, r.url, o)
		if err != nil {
			return obs, err
		}
		r.conn = c
	}
	existsFirst := r.rng.IntN(2) == 0
	order := [2]int{0, 1} // order[k] is the class index sent k-th
	if !existsFirst {
		order = [2]int{1, 0}
	}
	// Each side's steps run before the pair is sent, so the pair's two
	// requests still leave in one packet.
	var flows [2]flow
	for c := range flows {
		f, err := t.runSteps(ctx, r.steps, r.base, false)
		if err != nil {
			return obs, err
		}
		flows[c] = f
	}
	var reqs [2]pairRequest
	for k, c := range order {
		req, err := renderPairRequest(t, ids[c], flows[c], r.url.Scheme, r.url.Host)
		if err != nil {
			return obs, err
		}
		reqs[k] = req
	}
	r.sent += 2
	answers, first, err := r.conn.roundTrip(reqs, o.Timeout)
	r.progress()
	if err != nil {
		r.conn.Close()
		r.conn = nil
		return obs, err
	}
	for k, c := range order {
		a := answers[k]
		obs[c] = Observation{Class: Class(c), TTFB: a.headersAt, TTLB: a.endAt, sig: r.rec.record(ids[c], flows[c].vars, a.answer)}
	}
	r.last = PairOutcome{ExistsSentFirst: existsFirst, ExistsAnsweredFirst: order[first] == 0,
		Gap: answers[1].headersAt - answers[0].headersAt}
	return obs, nil
}

func (r *pairRunner) progress() {
	if f := r.probe.Options.Progress; f != nil {
		f(r.sent, r.total)
	}
}
