package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/throttle"
	"github.com/veil-id/veil/veiltest"
	"github.com/veil-id/veil/web"
)

// throttledServer is the public stack with a throttle on a memory store
// and a fake clock, behind a trusted proxy on loopback, so that each test
// client says who it is with X-Forwarded-For.
type throttledServer struct {
	*testServer
	clock    *veiltest.Clock
	throttle *throttle.Throttle
}

// testThrottlePolicy walks through every step in a few attempts: a proof
// of work after 2 failures (or sign-up and recovery requests), a block
// after 4 (1 minute, then 2).
func testThrottlePolicy() throttle.Policy {
	p := throttle.DefaultPolicy
	p.PowDifficulty = 4
	steps := throttle.Escalation{ChallengeAfter: 2, BlockAfter: 4, BlockFor: time.Minute, BlockMax: time.Hour}
	lax := throttle.Escalation{ChallengeAfter: 50, BlockAfter: 100, BlockFor: time.Minute, BlockMax: time.Hour}
	p.Actions = map[string]throttle.ActionPolicy{
		veil.ActionLogin:   {Subject: steps, Address: lax, Device: steps},
		veil.ActionSignUp:  {Subject: steps, Address: lax},
		veil.ActionRecover: {Subject: steps, Address: lax},
	}
	return p
}

// MustOpenThrottledServer starts the whole public stack over real SQLite
// with the throttle in front of sign-in, sign-up and recovery, on a fake
// clock, behind a trusted proxy on loopback; opts apply after.
func MustOpenThrottledServer(tb testing.TB, opts ...serverOption) *throttledServer {
	tb.Helper()
	clock := veiltest.NewClock(time.Date(2026, 7, 8, 9, 10, 0, 0, time.UTC))
	th, err := throttle.New(throttle.Config{
		Store:  throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20, Clock: clock}),
		Policy: testThrottlePolicy(), Secret: []byte("web test throttle secret of 32+ bytes"), Clock: clock,
		Logger: discardLogger(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	ts := MustOpenServer(tb, append([]serverOption{func(w *web.Config, _ *password.Config, s *veil.ServiceConfig) {
		w.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		s.Throttle, s.Clock = th, clock
	}}, opts...)...)
	return &throttledServer{testServer: ts, clock: clock, throttle: th}
}

// tokenPattern matches a challenge token: its nonce is random, so pair
// tests compare answers with every token masked to an equal length.
var tokenPattern = regexp.MustCompile(`2\.[A-Za-z0-9_-]{28}\.[A-Za-z0-9_-]{22}`)

func masked(a answer) answer {
	a.body = tokenPattern.ReplaceAllStringFunc(a.body, func(s string) string { return strings.Repeat("X", len(s)) })
	return a
}

// challengeIn returns the challenge an answer carries, or nil.
func challengeIn(tb testing.TB, a answer) *veil.Challenge {
	tb.Helper()
	tok := tokenPattern.FindString(a.body)
	if tok == "" {
		return nil
	}
	if strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		var body struct {
			Challenge struct{ Difficulty int } `json:"challenge"`
		}
		if err := json.Unmarshal([]byte(a.body), &body); err != nil {
			tb.Fatal(err)
		}
		return &veil.Challenge{Token: tok, Difficulty: body.Challenge.Difficulty}
	}
	m := regexp.MustCompile(`data-difficulty="(\d+)"`).FindStringSubmatch(a.body)
	if m == nil {
		tb.Fatalf("a page with a challenge token has no difficulty:\n%s", a.body)
	}
	d, _ := strconv.Atoi(m[1])
	return &veil.Challenge{Token: tok, Difficulty: d}
}

// attempt signs in as a client at addr, with a proof if one is given.
func (ts *throttledServer) attempt(tb testing.TB, form bool, addr, identifier, pw, proof string, cookies ...string) answer {
	tb.Helper()
	hdr := []string{"X-Forwarded-For", addr}
	if len(cookies) > 0 {
		hdr = append(hdr, "Cookie", strings.Join(cookies, "; "))
	}
	if form {
		v := url.Values{"identifier": {identifier}, "password": {pw}}
		if proof != "" {
			v.Set("proof", proof)
		}
		return ts.do(tb, "POST", "/login", "application/x-www-form-urlencoded", v.Encode(), hdr...)
	}
	kv := []string{"identifier", identifier, "password", pw}
	if proof != "" {
		kv = append(kv, "proof", proof)
	}
	return ts.do(tb, "POST", "/api/login", "application/json", jsonBody(kv...), hdr...)
}

// throttleStep is one attempt of a pair test of the throttle, made by
// both sides, and what the first side must get.
type throttleStep struct {
	name       string
	solve      bool // send a solution to the last challenge
	advance    time.Duration
	wantStatus int
	wantRetry  string
	wantChal   bool
}

// walkPair makes each step for two sides — a real account's identifier and
// one without an account, each from its own client address — through send,
// and checks the first side's answer and that both answers are identical
// (challenge tokens masked).
func (ts *throttledServer) walkPair(t *testing.T, steps []throttleStep, typed [2]string, send func(side int, proof string) answer) {
	t.Helper()
	var challenges [2]*veil.Challenge
	for _, st := range steps {
		ts.clock.Add(st.advance)
		var got [2]answer
		for i := range got {
			proof := ""
			if st.solve {
				proof = throttle.Solve(challenges[i])
			}
			got[i] = send(i, proof)
			challenges[i] = challengeIn(t, got[i])
		}
		if got[0].status != st.wantStatus || got[0].header.Get("Retry-After") != st.wantRetry || (challenges[0] != nil) != st.wantChal {
			t.Errorf("%s: status %d, Retry-After %q, challenge %v; want %d, %q, %v\n%s", st.name,
				got[0].status, got[0].header.Get("Retry-After"), challenges[0] != nil, st.wantStatus, st.wantRetry, st.wantChal, got[0].body)
		}
		if d := diffEchoing(t, masked(got[0]), typed[0], masked(got[1]), typed[1]); d != "" {
			t.Errorf("%s: the real account's answer differs from the unknown one's: %s", st.name, d)
		}
	}
}

// TestThrottledAnswersAreIdentical is the pair test of the throttle: an
// existing account and an unknown identifier, each with the same history
// from its own address, get byte-identical answers (tokens masked) at
// every step — under the threshold, challenged, in the slow lane, solved,
// blocked, and after the block — on the JSON API and the HTML form.
func TestThrottledAnswersAreIdentical(t *testing.T) {
	steps := signInThrottleSteps
	for _, form := range []bool{false, true} {
		t.Run(map[bool]string{false: "json", true: "form"}[form], func(t *testing.T) {
			ts := MustOpenThrottledServer(t)
			ts.mustAddAccount(t, "alice@example.com", goodPassword)
			who := []struct{ addr, identifier string }{{"198.51.100.1", "alice@example.com"}, {"198.51.100.2", "nobody@example.com"}}
			ts.walkPair(t, steps, [2]string{who[0].identifier, who[1].identifier}, func(i int, proof string) answer {
				return ts.attempt(t, form, who[i].addr, who[i].identifier, wrongPassword, proof)
			})
		})
	}
}

// TestThrottledMailFlowsAreIdentical is the pair test of the throttle on
// sign-up and recovery: a new or unknown address and a taken one, each
// with the same history from its own client address, get byte-identical
// answers at every step, and the taken address receives a bounded number
// of mails however often it is named (no mail-bombing).
func TestThrottledMailFlowsAreIdentical(t *testing.T) {
	steps := mailFlowSteps
	const form = "application/x-www-form-urlencoded"
	for _, tt := range []struct {
		name, path, contentType string
		body                    func(email, proof string) string
	}{
		{"signup json", "/api/signup", "application/json", func(e, p string) string {
			return jsonBody("email", e, "proof", p)
		}},
		{"signup form", "/signup", form, func(e, p string) string {
			return url.Values{"email": {e}, "proof": {p}}.Encode()
		}},
		{"recover json", "/api/recover", "application/json", func(e, p string) string { return jsonBody("email", e, "proof", p) }},
		{"recover form", "/recover", form, func(e, p string) string { return url.Values{"email": {e}, "proof": {p}}.Encode() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := MustOpenThrottledServer(t)
			ts.mustAddAccount(t, "taken@example.com", goodPassword)
			who := []struct{ addr, email string }{{"198.51.100.1", "taken@example.com"}, {"198.51.100.2", "new@example.com"}}
			ts.walkPair(t, steps, [2]string{who[0].email, who[1].email}, func(i int, proof string) answer {
				return ts.do(t, "POST", tt.path, tt.contentType, tt.body(who[i].email, proof), "X-Forwarded-For", who[i].addr)
			})
			mails := 0
			for _, m := range ts.drain(t) {
				if m.To == "taken@example.com" {
					mails++
				}
			}
			if mails != 5 { // the five accepted requests, not the nine made
				t.Errorf("taken@example.com got %d mails, want 5", mails)
			}
		})
	}
}

// TestThrottledJSONBody pins the shape of a 429 with a challenge.
func TestThrottledJSONBody(t *testing.T) {
	ts := MustOpenThrottledServer(t)
	var a answer
	for range 4 {
		a = ts.attempt(t, false, "192.0.2.50", "nobody@example.com", wrongPassword, "")
	}
	want := `{"error":"too_many_attempts","message":"Too many attempts. Your browser must solve a small puzzle before it can try again; without JavaScript, wait the time shown, then try again.","challenge":{"token":"` +
		strings.Repeat("X", 53) + `","difficulty":4,"expires_at":"2026-07-08T09:15:00Z"}}` + "\n"
	if got := masked(a).body; a.status != 429 || got != want {
		t.Errorf("429 body:\n%s\nwant:\n%s", got, want)
	}
}

// TestDeviceCookieGetsPastLockout: the person who signed in from this
// browser before still gets in while an attacker elsewhere has blocked the
// identifier; the attacker does not.
func TestDeviceCookieGetsPastLockout(t *testing.T) {
	ts := MustOpenThrottledServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	ok := ts.attempt(t, false, "198.51.100.7", "alice@example.com", goodPassword, "")
	device := cookieNamed(ok, "veil_device")
	if ok.status != 200 || device == "" {
		t.Fatalf("sign-in: %d, device cookie %q", ok.status, device)
	}
	var chal *veil.Challenge
	for range 4 {
		proof := ""
		if chal != nil {
			proof = throttle.Solve(chal)
		}
		chal = challengeIn(t, ts.attempt(t, false, "203.0.113.66", "alice@example.com", "guess"+strconv.Itoa(len(proof)), proof))
	}
	if a := ts.attempt(t, false, "198.51.100.7", "alice@example.com", goodPassword, ""); a.status != 429 {
		t.Fatalf("without the device cookie: %d, want the identifier blocked (429)", a.status)
	}
	a := ts.attempt(t, true, "198.51.100.7", "alice@example.com", goodPassword, "", device)
	if a.status != http.StatusSeeOther || cookieNamed(a, "veil_session") == "" || cookieNamed(a, "veil_device") == "" {
		t.Fatalf("with the device cookie: %d %v, want a session and a fresh device cookie", a.status, a.header.Values("Set-Cookie"))
	}
	if a := ts.attempt(t, false, "203.0.113.66", "alice@example.com", goodPassword, "", "veil_device=forged.cookie"); a.status != 429 {
		t.Errorf("with a forged device cookie: %d, want 429", a.status)
	}
}

func cookieNamed(a answer, name string) string {
	for _, c := range a.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, name+"=") {
			return strings.SplitN(c, ";", 2)[0]
		}
	}
	return ""
}

// TestChallengePageRunsOnlyPowJS checks the CSP: a page without a challenge
// runs no script; one with a challenge runs this origin's scripts only, and
// loads the one it has.
func TestChallengePageRunsOnlyPowJS(t *testing.T) {
	ts := MustOpenThrottledServer(t)
	first := ts.attempt(t, true, "192.0.2.9", "nobody@example.com", wrongPassword, "")
	if csp := first.header.Get("Content-Security-Policy"); strings.Contains(csp, "script-src") || strings.Contains(first.body, "<script") {
		t.Errorf("a page without a challenge allows scripts: %s", csp)
	}
	second := ts.attempt(t, true, "192.0.2.9", "nobody@example.com", wrongPassword, "")
	csp := second.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
		t.Errorf("challenge page CSP = %q, want script-src 'self' and nothing unsafe", csp)
	}
	for _, want := range []string{`<script src="/static/pow.js" defer></script>`, `name="proof"`, "<noscript>"} {
		if !strings.Contains(second.body, want) {
			t.Errorf("challenge page lacks %s", want)
		}
	}
	js := ts.do(t, "GET", "/static/pow.js", "", "")
	if js.status != 200 || !strings.HasPrefix(js.header.Get("Content-Type"), "text/javascript") {
		t.Errorf("GET /static/pow.js: %d %s", js.status, js.header.Get("Content-Type"))
	}
}

// TestBurstThroughHTTP releases 30 wrong-password sign-ins at once on one
// identifier through the whole public stack, for an existing and an
// unknown identifier, each from its own address: each burst gets the
// policy's 2 checks and one slow-lane turn (answered 401), every other
// request is throttled (429), and the two bursts are answered alike.
func TestBurstThroughHTTP(t *testing.T) {
	const n = 30
	ts := MustOpenThrottledServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	count := func(addr, identifier string) map[int]int {
		return burstOf(n, func() answer { return ts.attempt(t, false, addr, identifier, wrongPassword, "") })
	}
	existing := count("198.51.100.1", "alice@example.com")
	unknown := count("198.51.100.2", "nobody@example.com")
	want := map[int]int{401: 3, 429: n - 3}
	for _, got := range []map[int]int{existing, unknown} {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("a burst of %d: statuses %v, want %v", n, got, want)
		}
	}
}
