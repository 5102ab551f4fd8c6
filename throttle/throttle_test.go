package throttle_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/throttle"
	"github.com/veil-id/veil/veiltest"
)

var testSecret = []byte("throttle test secret, 32 bytes or more")

// testPolicy is DefaultPolicy with small numbers, so a test walks through
// every step in a few attempts, and an easy proof of work.
func testPolicy() throttle.Policy {
	p := throttle.DefaultPolicy
	p.PowDifficulty = 4
	p.Actions = map[string]throttle.ActionPolicy{
		veil.ActionLogin: {
			Subject:                  throttle.Escalation{ChallengeAfter: 2, BlockAfter: 4, BlockFor: time.Minute, BlockMax: 3 * time.Minute},
			Address:                  throttle.Escalation{ChallengeAfter: 20, BlockAfter: 50, BlockFor: time.Minute, BlockMax: time.Hour},
			Device:                   throttle.Escalation{ChallengeAfter: 2, BlockAfter: 3, BlockFor: time.Minute, BlockMax: time.Hour},
			GlobalChallengePerMinute: 100,
		},
		veil.ActionRecover: throttle.DefaultPolicy.Actions[veil.ActionRecover],
	}
	return p
}

// MustOpenThrottle returns a throttle on a fresh memory store with a fake
// clock.
func MustOpenThrottle(tb testing.TB, p throttle.Policy) (*throttle.Throttle, *veiltest.Clock) {
	tb.Helper()
	clock := veiltest.NewClock(time.Date(2026, 5, 6, 7, 8, 0, 0, time.UTC))
	th, err := throttle.New(throttle.Config{
		Store:  throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20, Clock: clock}),
		Policy: p, Secret: testSecret, Clock: clock,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return th, clock
}

// outcome is what one attempt came to, as a client sees it.
type outcome struct {
	admitted   bool
	code       string
	retryAfter time.Duration
	challenge  bool // a challenge came with the answer
}

// try makes one attempt that fails (or succeeds) once admitted.
func try(tb testing.TB, th *throttle.Throttle, a veil.Attempt, success bool) (outcome, *veil.ThrottleResult) {
	tb.Helper()
	adm, err := th.Check(context.Background(), &a)
	if err != nil {
		return outcome{code: veil.ErrorCode(err), retryAfter: veil.RetryAfterOf(err), challenge: veil.ChallengeOf(err) != nil}, nil
	}
	ended := veil.AttemptFailed
	if success {
		ended = veil.AttemptSucceeded
	}
	res, err := th.Done(context.Background(), adm, ended)
	if err != nil {
		tb.Fatalf("Done: %v", err)
	}
	return outcome{admitted: true, challenge: res.Challenge != nil}, res
}

// TestEscalation walks one identifier through every step, from one
// address, and checks each answer.
func TestEscalation(t *testing.T) {
	th, clock := MustOpenThrottle(t, testPolicy())
	a := veil.Attempt{Action: veil.ActionLogin, Subject: "00112233445566778899aabbccddeeff", Addr: "192.0.2.1"}
	steps := []struct {
		name    string
		proof   bool
		advance time.Duration
		want    outcome
	}{
		{"first failure", false, 0, outcome{admitted: true}},
		{"second failure hands out a challenge", false, 0, outcome{admitted: true, challenge: true}},
		{"unsolved, in the slow lane", false, 0, outcome{admitted: true, challenge: true}},
		{"unsolved, slow lane taken", false, 0, outcome{code: veil.ETHROTTLED, retryAfter: 15 * time.Second, challenge: true}},
		{"solved: 4th failure blocks", true, 0, outcome{admitted: true}},
		{"blocked", true, 0, outcome{code: veil.ETHROTTLED, retryAfter: time.Minute}},
		{"blocked, later", true, 45 * time.Second, outcome{code: veil.ETHROTTLED, retryAfter: 15 * time.Second}},
		{"block over: 5th failure blocks twice as long", true, 15 * time.Second, outcome{admitted: true}},
		{"blocked longer", false, 0, outcome{code: veil.ETHROTTLED, retryAfter: 2 * time.Minute}},
		{"6th failure: capped", true, 2 * time.Minute, outcome{admitted: true}},
		{"blocked at the cap", false, 0, outcome{code: veil.ETHROTTLED, retryAfter: 3 * time.Minute}},
		{"forgotten a day later", false, 25 * time.Hour, outcome{admitted: true}},
	}
	var challenge *veil.Challenge
	for _, st := range steps {
		clock.Add(st.advance)
		a.Proof = ""
		if st.proof {
			if challenge == nil {
				t.Fatalf("%s: no challenge to solve", st.name)
			}
			a.Proof = throttle.Solve(challenge)
		}
		got, res := try(t, th, a, false)
		if got != st.want {
			t.Errorf("%s: got %+v, want %+v", st.name, got, st.want)
		}
		if res != nil && res.Challenge != nil {
			challenge = res.Challenge
		}
	}
}

// TestProofIsSingleUse spends one solution twice.
func TestProofIsSingleUse(t *testing.T) {
	th, _ := MustOpenThrottle(t, testPolicy())
	a := veil.Attempt{Action: veil.ActionLogin, Subject: "aa", Addr: "192.0.2.2"}
	try(t, th, a, false)
	_, res := try(t, th, a, false)
	try(t, th, a, false) // takes the slow lane
	a.Proof = throttle.Solve(res.Challenge)
	if got, _ := try(t, th, a, false); !got.admitted {
		t.Fatalf("a fresh proof was refused: %+v", got)
	}
	if got, _ := try(t, th, a, false); got.admitted || got.code != veil.ETHROTTLED {
		t.Errorf("a spent proof was accepted again: %+v", got)
	}
	for _, bad := range []string{"x", a.Proof + "0", a.Proof[:len(a.Proof)-1] + "!", ":" + a.Proof} {
		a.Proof = bad
		if got, _ := try(t, th, a, false); got.admitted {
			t.Errorf("proof %q was accepted", bad)
		}
	}
}

// TestDeviceCookie is OWASP's scheme: the real person, with the cookie of
// an earlier sign-in, gets past a lockout that an attacker elsewhere caused,
// while the attacker — even with a cookie of their own account — does not.
func TestDeviceCookie(t *testing.T) {
	th, _ := MustOpenThrottle(t, testPolicy())
	victim, attacker := "ffeeddccbbaa99887766554433221100", "0123456789abcdef0123456789abcdef"
	_, res := try(t, th, veil.Attempt{Action: veil.ActionLogin, Subject: victim, Addr: "198.51.100.1"}, true)
	if res.DeviceCookie == "" {
		t.Fatal("a success issued no device cookie")
	}
	device := res.DeviceCookie
	_, res = try(t, th, veil.Attempt{Action: veil.ActionLogin, Subject: attacker, Addr: "203.0.113.9"}, true)
	attackerDevice := res.DeviceCookie
	for i := 0; i < 12; i++ { // block the victim's identifier from elsewhere
		try(t, th, veil.Attempt{Action: veil.ActionLogin, Subject: victim, Addr: "203.0.113.9", Device: attackerDevice}, false)
	}
	if got, _ := try(t, th, veil.Attempt{Action: veil.ActionLogin, Subject: victim, Addr: "198.51.100.1"}, true); got.code != veil.ETHROTTLED {
		t.Fatalf("without the cookie the victim's identifier is not blocked: %+v", got)
	}
	got, res := try(t, th, veil.Attempt{Action: veil.ActionLogin, Subject: victim, Addr: "198.51.100.1", Device: device}, true)
	if !got.admitted || res.DeviceCookie == "" || res.DeviceCookie == device {
		t.Fatalf("with its device cookie the victim is not let in with a fresh cookie: %+v", got)
	}
	// The device's own bucket blocks a stolen cookie after its own limit.
	device = res.DeviceCookie
	for i := 0; i < 3; i++ {
		a := veil.Attempt{Action: veil.ActionLogin, Subject: victim, Addr: "192.0.2.99", Device: device}
		if got, res := try(t, th, a, false); got.challenge && res != nil {
			a.Proof = throttle.Solve(res.Challenge)
		}
	}
	if got, _ := try(t, th, veil.Attempt{Action: veil.ActionLogin, Subject: victim, Device: device}, true); got.code != veil.ETHROTTLED {
		t.Errorf("a device cookie with 3 failures is not blocked: %+v", got)
	}
	for _, bad := range []string{"", "garbage", device[:len(device)-1] + "A", device + "A"} {
		_ = bad // parsing is fuzzed; here: none of these may pass the lockout
		if got, _ := try(t, th, veil.Attempt{Action: veil.ActionLogin, Subject: victim, Device: bad}, true); got.admitted {
			t.Errorf("device cookie %q let an attempt past the lockout", bad)
		}
	}
}

// TestGlobalRate checks that many failures across many identifiers and
// addresses ask everyone without a device cookie for a proof of work.
func TestGlobalRate(t *testing.T) {
	th, _ := MustOpenThrottle(t, testPolicy())
	for i := range 100 {
		try(t, th, veil.Attempt{Action: veil.ActionLogin, Subject: "s" + strconv.Itoa(i), Addr: "a" + strconv.Itoa(i)}, false)
	}
	got, _ := try(t, th, veil.Attempt{Action: veil.ActionLogin, Subject: "fresh", Addr: "fresh"}, false)
	if !got.admitted || !got.challenge {
		t.Fatalf("after 100 failures a minute a fresh identifier was not asked for a proof of work: %+v", got)
	}
}

// TestRecoverCountsEveryRequest checks that mail flows are limited per
// target address, whatever the client address.
func TestRecoverCountsEveryRequest(t *testing.T) {
	th, _ := MustOpenThrottle(t, testPolicy())
	var last outcome
	for i := range 6 {
		a := veil.Attempt{Action: veil.ActionRecover, Subject: "target", Addr: string(rune('A' + i))}
		adm, err := th.Check(context.Background(), &a)
		if err != nil {
			last = outcome{code: veil.ErrorCode(err)}
			continue
		}
		th.Done(context.Background(), adm, veil.AttemptFailed)
		last = outcome{admitted: true}
	}
	if last.code != veil.ETHROTTLED {
		t.Errorf("the 6th recovery for one address from 6 clients: %+v, want blocked", last)
	}
}

type failingStore struct{ veil.ThrottleStore }

var errDown = errors.New("store is down")

func (failingStore) Records(context.Context, []string) ([]veil.ThrottleRecord, error) {
	return nil, errDown
}
func (failingStore) Reserve(context.Context, *veil.ThrottleReservation) (*veil.ThrottleDecision, error) {
	return nil, errDown
}
func (failingStore) Settle(context.Context, *veil.ThrottleSettlement) ([]veil.ThrottleRecord, error) {
	return nil, errDown
}

// TestStoreDown checks both ways of meeting an unreachable store: fail
// closed (the same 503 for everyone) or fall back to memory.
func TestStoreDown(t *testing.T) {
	a := &veil.Attempt{Action: veil.ActionLogin, Subject: "s", Addr: "192.0.2.1"}
	closed, err := throttle.New(throttle.Config{Store: failingStore{}, Secret: testSecret, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := closed.Check(context.Background(), a); veil.ErrorCode(err) != veil.EUNAVAILABLE || errors.Is(err, errDown) && veil.ErrorMessage(err) == errDown.Error() {
		t.Errorf("fail closed: Check = %v, want EUNAVAILABLE with a public message", err)
	}
	fb := &throttle.FallbackStore{Primary: failingStore{}, Fallback: throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20}), Logger: discardLogger()}
	open, err := throttle.New(throttle.Config{Store: fb, Secret: testSecret, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for range 12 {
		try(t, open, *a, false)
	}
	if got, _ := try(t, open, *a, false); got.code != veil.ETHROTTLED {
		t.Errorf("fallback: after 12 failures the identifier is not blocked: %+v", got)
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*throttle.Policy)
	}{
		{"no block on accounts", func(p *throttle.Policy) { setLogin(p, func(a *throttle.ActionPolicy) { a.Subject.BlockAfter = 0 }) }},
		{"over NIST's 100", func(p *throttle.Policy) { setLogin(p, func(a *throttle.ActionPolicy) { a.Subject.BlockAfter = 101 }) }},
		{"device never blocked", func(p *throttle.Policy) { setLogin(p, func(a *throttle.ActionPolicy) { a.Device.BlockAfter = 0 }) }},
		{"device over NIST's 100", func(p *throttle.Policy) { setLogin(p, func(a *throttle.ActionPolicy) { a.Device.BlockAfter = 101 }) }},
		{"block without a duration", func(p *throttle.Policy) { setLogin(p, func(a *throttle.ActionPolicy) { a.Address.BlockFor = 0 }) }},
		{"difficulty 0", func(p *throttle.Policy) { p.PowDifficulty = 0 }},
		{"difficulty 33", func(p *throttle.Policy) { p.PowDifficulty = 33 }},
		{"no slow lane", func(p *throttle.Policy) { p.SlowLane = 0 }},
	}
	if err := throttle.DefaultPolicy.Validate(); err != nil {
		t.Fatalf("DefaultPolicy: %v", err)
	}
	for _, tt := range tests {
		p := testPolicy()
		tt.change(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil, want an error", tt.name)
		}
	}
}

func setLogin(p *throttle.Policy, f func(*throttle.ActionPolicy)) {
	ap := p.Actions[veil.ActionLogin]
	f(&ap)
	p.Actions[veil.ActionLogin] = ap
}

// TestForget: an operator's reset lets a blocked identifier, or a blocked
// address, start over — and only what was named.
func TestForget(t *testing.T) {
	tests := []struct {
		name          string
		subject, addr string // what is forgotten
		wantVictim    bool   // the victim's identifier from a fresh address is admitted
		wantAddress   bool   // a fresh identifier from the attacker's address is admitted
	}{
		{"identifier", "victim", "", true, false},
		{"address", "", "198.51.100.66", false, true},
		{"both", "victim", "198.51.100.66", true, true},
		{"another identifier", "someone-else", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			ap := p.Actions[veil.ActionLogin]
			ap.Address = throttle.Escalation{ChallengeAfter: 3, BlockAfter: 3, BlockFor: time.Hour, BlockMax: time.Hour}
			p.Actions[veil.ActionLogin] = ap
			th, _ := MustOpenThrottle(t, p)
			attacker := veil.Attempt{Action: veil.ActionLogin, Subject: "victim", Addr: "198.51.100.66"}
			for range 4 { // 2 failures, 1 in the slow lane (the address blocks), 1 refused
				try(t, th, attacker, false)
			}
			victim := veil.Attempt{Action: veil.ActionLogin, Subject: "victim", Addr: "203.0.113.7"}
			fresh := veil.Attempt{Action: veil.ActionLogin, Subject: "fresh", Addr: "198.51.100.66"}
			if got, _ := try(t, th, victim, false); got.admitted {
				t.Fatalf("before the reset the victim's identifier was admitted: %+v", got)
			}
			if err := th.Forget(context.Background(), tt.subject, tt.addr); err != nil {
				t.Fatal(err)
			}
			if got, _ := try(t, th, victim, true); got.admitted != tt.wantVictim {
				t.Errorf("after forgetting %q/%q: the victim's identifier admitted = %v, want %v", tt.subject, tt.addr, got.admitted, tt.wantVictim)
			}
			if got, _ := try(t, th, fresh, true); got.admitted != tt.wantAddress {
				t.Errorf("after forgetting %q/%q: the attacker's address admitted = %v, want %v", tt.subject, tt.addr, got.admitted, tt.wantAddress)
			}
		})
	}
}

// switchedStore is a real store that fails while down is set, as a Redis
// that goes away between a Check and its Done.
type switchedStore struct {
	veil.ThrottleStore
	down bool
}

func (s *switchedStore) Settle(ctx context.Context, st *veil.ThrottleSettlement) ([]veil.ThrottleRecord, error) {
	if s.down {
		return nil, errDown
	}
	return s.ThrottleStore.Settle(ctx, st)
}

// TestFallbackCountsWhatThePrimaryCannot: an attempt reserved on the
// primary that fails after the primary went down is counted in memory.
func TestFallbackCountsWhatThePrimaryCannot(t *testing.T) {
	primary := &switchedStore{ThrottleStore: throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20})}
	memory := throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20})
	th, err := throttle.New(throttle.Config{Store: &throttle.FallbackStore{Primary: primary, Fallback: memory, Logger: discardLogger()}, Secret: testSecret, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	a := veil.Attempt{Action: veil.ActionLogin, Subject: "s", Addr: "192.0.2.1"}
	adm, err := th.Check(context.Background(), &a)
	if err != nil {
		t.Fatal(err)
	}
	primary.down = true
	if _, err := th.Done(context.Background(), adm, veil.AttemptFailed); err != nil {
		t.Fatalf("Done with the primary down: %v", err)
	}
	recs, _ := memory.Records(context.Background(), []string{"login:s:s", "login:a:192.0.2.1"})
	if recs[0].Failures != 1 || recs[1].Failures != 1 {
		t.Errorf("in memory after the primary failed: %+v, want the failure counted", recs)
	}
}
