package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// Observation is one measured request: its class, its timing and its answer
// reduced to one interned signature per content channel.
type Observation struct {
	Class Class
	TTFB  time.Duration // request written → first byte of the answer
	TTLB  time.Duration // request written → last byte of the answer
	Err   bool          // transport error: no timing
	sig   [numContent]int32
}

// Samples is everything measured for one probe, ready for analysis.
type Samples struct {
	Probe    Probe
	Obs      []Observation // measured requests, in the order they were sent
	Pairs    []PairOutcome // paired mode only
	Requests int           // sent, warm-up included
	Sent     Sent          // what was sent, by kind
	Elapsed  time.Duration // of the measured part
	sigs     [numContent][]string

	mu    sync.Mutex // guards notes during analysis
	notes []string
}

// job is one request to send.
type job struct {
	class      Class
	identifier string
}

// schedule returns the warm-up and the measured requests. The warm-up uses
// throwaway identifiers only, so it changes nothing a measured request
// sees. The measured ones are exactly N per class, identifiers taken in
// turn within each class (fresh ones on a first-contact target), in a
// uniformly random order (complete randomization), which is what makes the
// rank and permutation tests exact under "no difference" even when the
// target drifts during the run.
func schedule(p Probe, rng *rand.Rand) (warmup, measured []job, sent Sent) {
	o := p.Options
	ids := newIdentifiers(p.Target)
	for i := range o.Warmup {
		warmup = append(warmup, job{Missing, ids.throwaway(i)})
	}
	for i := range o.N {
		measured = append(measured, job{Exists, ids.exists(i)}, job{Missing, ids.missing(i)})
	}
	rng.Shuffle(len(measured), func(i, j int) { measured[i], measured[j] = measured[j], measured[i] })
	return warmup, measured, ids.sent
}

func newRand(seed uint64) *rand.Rand {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Sample measures one probe. Errors are *TargetError when the target could
// not be measured, or the context's error when it was cancelled.
func Sample(ctx context.Context, p Probe) (*Samples, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p = p.withDefaults()
	if p.Options.Pairs {
		return samplePairs(ctx, p)
	}
	s := &sequential{probe: p, rec: newRecorder(p.Target), client: newClient(p.Options)}
	defer s.client.CloseIdleConnections()
	base, err := p.Target.runSteps(ctx, s.client, flow{}, true)
	if err != nil {
		return nil, targetOrContext(ctx, fmt.Errorf("once-only %w", err))
	}
	s.base = base
	return s.run(ctx)
}

func newClient(o Options) *http.Client {
	tr := &http.Transport{
		Proxy:               nil, // a proxy would add its own timing; measure directly
		MaxIdleConnsPerHost: o.Concurrency,
		MaxConnsPerHost:     o.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: o.Insecure},
	}
	return &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		// A redirect is part of the answer, not a new request.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// sequential runs a probe with ordinary requests, Concurrency at a time.
type sequential struct {
	probe  Probe
	rec    *recorder
	client *http.Client
	base   flow // what the once-only steps produced
	done   atomic.Int64
	total  int
}

func (s *sequential) run(ctx context.Context) (*Samples, error) {
	o := s.probe.Options
	warmup, measured, sent := schedule(s.probe, newRand(o.Seed))
	s.total = len(warmup) + len(measured)
	pace := newPacer(o.Rate)
	for _, j := range warmup {
		if err := pace.wait(ctx); err != nil {
			return nil, err
		}
		if obs := s.measure(ctx, j); obs.Err {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &TargetError{fmt.Errorf("warm-up request failed: %s", s.rec.sigs[chStatus][obs.sig[chStatus]])}
		}
	}
	start := time.Now()
	obs := make([]Observation, len(measured))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(measured); i = int(next.Add(1)) - 1 {
				if pace.wait(ctx) != nil {
					return
				}
				obs[i] = s.measure(ctx, measured[i])
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	smp := &Samples{Probe: s.probe, Obs: obs, Requests: s.total, Sent: sent, Elapsed: time.Since(start), sigs: s.rec.sigs}
	// Some requests without an answer are a finding (or make the run
	// inconclusive, which Analyze decides); none answered is a target that
	// cannot be measured.
	if failed := smp.errors(); failed == len(obs) {
		return nil, &TargetError{fmt.Errorf("all %d requests failed without an answer, the first with %s", failed, s.rec.sigs[chStatus][obs[0].sig[chStatus]])}
	}
	return smp, nil
}

// measure sends one request and records its answer.
func (s *sequential) measure(ctx context.Context, j job) Observation {
	f, err := s.probe.Target.runSteps(ctx, s.client, s.base, false)
	var a answer
	var ttfb, ttlb time.Duration
	if err != nil {
		a = answer{err: err}
	} else {
		a, ttfb, ttlb = s.send(ctx, j.identifier, f)
	}
	obs := Observation{Class: j.class, TTFB: ttfb, TTLB: ttlb, Err: a.err != nil, sig: s.rec.record(j.identifier, f.vars, a)}
	if f := s.probe.Options.Progress; f != nil {
		f(int(s.done.Add(1)), s.total)
	}
	return obs
}

var clockBase = time.Now()

// now is a monotonic clock reading that fits an atomic.
func now() int64 { return int64(time.Since(clockBase)) }

func (s *sequential) send(ctx context.Context, identifier string, f flow) (a answer, ttfb, ttlb time.Duration) {
	t := s.probe.Target
	req, err := newRequest(ctx, t, identifier, f)
	if err != nil {
		return answer{err: err}, 0, 0
	}
	var wrote, first atomic.Int64
	trace := &httptrace.ClientTrace{
		WroteRequest:         func(httptrace.WroteRequestInfo) { wrote.Store(now()) },
		GotFirstResponseByte: func() { first.Store(now()) },
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	begin := now()
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{err: err}, 0, 0
	}
	body, err := readBody(resp.Body)
	end := now()
	resp.Body.Close()
	if err != nil {
		return answer{err: err}, 0, 0
	}
	w := wrote.Load()
	if w == 0 {
		w = begin
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body},
		time.Duration(first.Load() - w), time.Duration(end - w)
}

// newRequest builds the measured request for identifier, with what the
// steps produced.
func newRequest(ctx context.Context, t *Target, identifier string, f flow) (*http.Request, error) {
	v := values{identifier: identifier, password: t.Password, vars: f.vars}
	var body io.Reader
	if t.Body != nil {
		body = bytes.NewReader(t.Body.renderBody(t.ContentType, v))
	}
	req, err := http.NewRequestWithContext(ctx, t.method(), t.URL.renderURL(v), body)
	if err != nil {
		return nil, err
	}
	setHeaders(req, t.Header, t.HeaderTemplates, v, f.cookies)
	if t.Body != nil && t.ContentType != "" {
		req.Header.Set("Content-Type", t.ContentType)
	}
	return req, nil
}

// readBody reads up to maxBody bytes; a longer body is cut and marked.
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if len(b) > maxBody {
		b = append(b[:maxBody], "{{truncated}}"...)
		_, err = io.Copy(io.Discard, r)
	}
	return b, err
}

func (s *Samples) errors() int {
	n := 0
	for _, o := range s.Obs {
		if o.Err {
			n++
		}
	}
	return n
}

// pacer spaces requests so no more than rate start per second.
type pacer struct {
	mu       sync.Mutex
	next     time.Time
	interval time.Duration
}

func newPacer(rate float64) *pacer {
	if rate <= 0 {
		return &pacer{}
	}
	return &pacer{interval: time.Duration(float64(time.Second) / rate)}
}

func (p *pacer) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.interval == 0 {
		return nil
	}
	p.mu.Lock()
	t := time.Now()
	if p.next.After(t) {
		t = p.next
	}
	p.next = t.Add(p.interval)
	p.mu.Unlock()
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

var errNoH2 = errors.New("the target does not speak HTTP/2 (paired mode needs h2 over TLS or h2c with prior knowledge)")
