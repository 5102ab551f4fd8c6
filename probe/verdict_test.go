package probe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/veil-id/veil/probe/leaky"
)

// mustRunPreset runs a preset of the leaky server configured by cfg and
// returns the report.
func mustRunPreset(tb testing.TB, cfg leaky.Config, preset string, o Options) *Report {
	tb.Helper()
	cfg.Exists = testExists
	base, stop, err := leaky.Start(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	return mustRunPresetAt(tb, base, preset, o)
}

// TestFirstContactSignUp shows a sign-up that answers a new address 200 and
// a known one 400 (Kratos) found leaking on the status and body: the
// missing class is measured on first contact, and the warm-up does not
// register a measured address. Warm-up 0 and 40 both: 0 must mean 0.
func TestFirstContactSignUp(t *testing.T) {
	for _, warmup := range []int{0, 40} {
		rep := mustRunPreset(t, leaky.Config{Leak: leaky.None, FirstContact: true}, "signup", Options{N: 50, Warmup: warmup})
		r := rep.Targets[0]
		if !rep.Leak || r.Inconclusive != "" || !strings.Contains(strings.Join(r.LeakingChannels(), ","), "status") {
			t.Errorf("warm-up %d: first-contact sign-up: leak %v, inconclusive %q, leaking %q; want a status leak",
				warmup, rep.Leak, r.Inconclusive, r.LeakingChannels())
			logResult(t, r)
		}
		want := Sent{Exists: 50, Missing: 50, Fresh: 50 + warmup, Warmup: warmup}
		if r.Sent != want || r.Requests != 100+warmup {
			t.Errorf("warm-up %d: sent %+v, %d requests; want %+v, %d", warmup, r.Sent, r.Requests, want, 100+warmup)
		}
		if !strings.Contains(r.Effects, "up to 90 accounts created") && warmup == 40 {
			t.Errorf("effects %q: want the accounts possibly created", r.Effects)
		}
	}
}

// TestFirstContactNoLeak shows a sign-up that answers new and known
// addresses alike not reported leaking when measured on first contact.
func TestFirstContactNoLeak(t *testing.T) {
	rep := mustRunPreset(t, leaky.Config{Leak: leaky.None}, "signup", Options{N: 100, Warmup: 10})
	if rep.Leak || rep.Inconclusive {
		t.Errorf("sign-up without a leak: verdict %s, leaking %q", rep.Verdict(), rep.Targets[0].LeakingChannels())
		logResult(t, rep.Targets[0])
	}
}

// TestInconclusiveThrottled shows a run whose answers are mostly 429
// reported inconclusive, with what would help, never "no leak" — and a
// throttle that answers only part of the run normally not mistaken for a
// leak either.
func TestInconclusiveThrottled(t *testing.T) {
	for _, leak := range []leaky.Leak{leaky.None, leaky.Status} {
		rep := mustRunPreset(t, leaky.Config{Leak: leak, ThrottleAfter: 10}, "login", Options{N: 50, Warmup: 4})
		r := rep.Targets[0]
		if rep.Verdict() != "inconclusive" || rep.Leak || !strings.Contains(r.Inconclusive, "throttled") || len(r.Remedies) == 0 {
			t.Errorf("leak %s behind a throttle: verdict %s, inconclusive %q; want inconclusive, throttled, remedies", leak, rep.Verdict(), r.Inconclusive)
		}
		var text strings.Builder
		rep.WriteText(&text)
		if !strings.HasSuffix(text.String(), "verdict: inconclusive\n") || !strings.Contains(text.String(), "allow-lists") {
			t.Errorf("text report:\n%s\nwant the remedies and verdict: inconclusive", text.String())
		}
	}
}

// TestInconclusiveOneClass shows a run where only one class's answers are
// mostly failures (a throttle counting per identifier hits the reused
// existing identifiers, never the fresh missing ones) reported
// inconclusive, not as a status leak.
func TestInconclusiveOneClass(t *testing.T) {
	s := &Samples{Probe: Probe{Target: &Target{}}}
	s.sigs[chStatus] = []string{"202", "429", "error: timeout"}
	for i := range 40 {
		s.Obs = append(s.Obs, Observation{Class: Missing})
		o := Observation{Class: Exists}
		o.sig[chStatus] = 1 // every exists answer throttled...
		if i%4 == 0 {
			o.sig[chStatus], o.Err = 2, true // ...or not answered at all
		}
		s.Obs = append(s.Obs, o)
	}
	why := s.inconclusive()
	if !strings.Contains(why, "40 of 40 answers for exists identifiers") || !strings.Contains(why, "30 throttled, 10 no answer") {
		t.Errorf("inconclusive() = %q, want every exists answer counted as a failure, by kind", why)
	}
}

// TestFailedRequestsNotAnswers shows requests that got no answer counted
// apart from the distinct answers.
func TestFailedRequestsNotAnswers(t *testing.T) {
	s := &Samples{}
	s.sigs[chBody] = []string{`{"ok":1}`, "error: timeout"}
	got := s.describeSignatures(chBody, []sigCount{{sig: 0, exists: 10, missng: 10}, {sig: 1, exists: 1, missng: 2}})
	if want := "1 distinct answers and 3 requests without an answer"; got != want {
		t.Errorf("describeSignatures = %q, want %q", got, want)
	}
}

// TestInconclusivePerIdentifierThrottle shows a first-contact run whose
// existing identifiers, reused, hit a per-identifier throttle that the
// fresh missing ones never reach reported inconclusive rather than as a
// status leak; on a run that reuses both classes alike, the same answers
// are a real difference (a lockout only accounts have) and stay a verdict.
func TestInconclusivePerIdentifierThrottle(t *testing.T) {
	for _, firstContact := range []bool{true, false} {
		s := &Samples{Probe: Probe{Target: &Target{FirstContact: firstContact}}}
		s.sigs[chStatus] = []string{"202", "429"}
		for i := range 100 {
			s.Obs = append(s.Obs, Observation{Class: Missing})
			o := Observation{Class: Exists}
			if i%5 == 0 {
				o.sig[chStatus] = 1
			}
			s.Obs = append(s.Obs, o)
		}
		why := s.inconclusive()
		if got := why != ""; got != firstContact || firstContact && !strings.Contains(why, "20 of 100 answers for the reused existing identifiers") {
			t.Errorf("first contact %v: inconclusive() = %q, want inconclusive %v", firstContact, why, firstContact)
		}
	}
}

// TestInconclusiveNoAnswers shows a target that drops most connections
// without an answer reported inconclusive ("no answer"), with the failed
// requests counted apart from the answers, not as a second answer.
func TestInconclusiveNoAnswers(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if served.Add(1)%4 != 0 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, `{"error":"invalid_credentials"}`)
	}))
	t.Cleanup(srv.Close)
	target, err := NewTarget(srv.URL+"/login", "", "", LoginBody)
	if err != nil {
		t.Fatal(err)
	}
	target.Exists, target.Missing = testExists, MissingFor(testExists)
	rep, err := Run(context.Background(), Plan{Probes: []Probe{{Target: target, Options: Options{N: 40}}}})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Targets[0]
	if rep.Verdict() != "inconclusive" || !strings.Contains(r.Inconclusive, "no answer") {
		t.Errorf("verdict %s, inconclusive %q; want inconclusive for lack of answers", rep.Verdict(), r.Inconclusive)
	}
	if body := r.Channels[chBody].Summary; !strings.Contains(body, "requests without an answer") {
		t.Errorf("body channel: %q, want the requests without an answer counted apart", body)
	}
}
