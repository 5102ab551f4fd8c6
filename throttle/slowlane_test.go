package throttle_test

import (
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/throttle"
)

// slowLanePolicy challenges every attempt after the first failure of an
// identifier or an address, and blocks only after more failures than a
// test makes, so that everything after the first try is the slow lane.
func slowLanePolicy() throttle.Policy {
	p := throttle.DefaultPolicy
	lane := throttle.Escalation{ChallengeAfter: 1, BlockAfter: 100, BlockFor: time.Minute, BlockMax: time.Hour}
	p.Actions = map[string]throttle.ActionPolicy{veil.ActionLogin: {Subject: lane, Address: lane}}
	return p
}

// laneClient is one client of the slow lane: an identifier from an address,
// never solving the challenge.
type laneClient struct {
	a      veil.Attempt
	next   time.Time // when it tries next
	passes int
	tries  int
}

// slowLaneRun runs clients on a fake clock until end: each tries at its
// next time and then waits what every(outcome) says. It returns the
// clients, their passes counted.
func slowLaneRun(t *testing.T, th *throttle.Throttle, now func() time.Time, advance func(time.Duration), end time.Time, clients []*laneClient, every func(c *laneClient, o outcome) time.Duration) {
	t.Helper()
	for {
		var c *laneClient
		for _, x := range clients {
			if c == nil || x.next.Before(c.next) {
				c = x
			}
		}
		if !c.next.Before(end) {
			return
		}
		advance(c.next.Sub(now()))
		got, _ := try(t, th, c.a, false)
		c.tries++
		if got.admitted {
			c.passes++
		}
		c.next = c.next.Add(every(c, got))
	}
}

// TestSlowLaneDoesNotStarve is the no-JavaScript client of issue 10.4,
// whose identifier and address turns were put out of step by others: an
// attempt on its identifier from another address at 0 s, and one on
// another identifier from its address at 7 s. Turns are taken all at
// once or not at all, and a refusal says the real wait of the latest
// turn, so a client retrying rapidly gets a turn about every SlowLane
// (and no more), and one that waits the Retry-After it was told passes on
// its next try, even while others keep taking turns of its buckets at
// phases that, together, always hold one of them.
func TestSlowLaneDoesNotStarve(t *testing.T) {
	const run = 11 * time.Minute
	lane := throttle.DefaultPolicy.SlowLane
	tests := []struct {
		name string
		// others keep trying besides the setup's one-off attempts, every
		// 20 s (longer than a turn), at their own phase.
		others bool
		every  func(c *laneClient, o outcome) time.Duration
		check  func(t *testing.T, c *laneClient)
	}{
		{"retries every 0.6s", false,
			func(*laneClient, outcome) time.Duration { return 600 * time.Millisecond },
			func(t *testing.T, c *laneClient) {
				most, least := int(run/lane)+1, int(run/(lane+time.Second))-1
				if c.passes < least || c.passes > most {
					t.Errorf("%d passes in %v of retries every 0.6s, want %d to %d (one per slow-lane turn)", c.passes, run, least, most)
				}
			}},
		{"waits the Retry-After", false, retryAfterOrPass, passesAfterWaiting},
		{"waits the Retry-After, others keep trying", true, retryAfterOrPass, passesAfterWaiting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, clock := MustOpenThrottle(t, slowLanePolicy())
			start := clock.Now()
			victim := veil.Attempt{Action: veil.ActionLogin, Subject: "11111111111111111111111111111111", Addr: "198.51.100.10"}
			onIdentifier := veil.Attempt{Action: veil.ActionLogin, Subject: victim.Subject, Addr: "203.0.113.20"}
			onAddress := veil.Attempt{Action: veil.ActionLogin, Subject: "22222222222222222222222222222222", Addr: victim.Addr}
			// First failures, so that every later attempt is challenged.
			try(t, th, onIdentifier, false)
			try(t, th, onAddress, false)
			clients := []*laneClient{
				{a: onIdentifier, next: start},
				{a: onAddress, next: start.Add(7 * time.Second)},
				{a: victim, next: start.Add(7*time.Second + 300*time.Millisecond)},
			}
			slowLaneRun(t, th, clock.Now, clock.Add, start.Add(run), clients, func(c *laneClient, o outcome) time.Duration {
				if c != clients[2] {
					if tt.others {
						return 20 * time.Second
					}
					return run
				}
				return tt.every(c, o)
			})
			tt.check(t, clients[2])
			t.Logf("%s: %d passes in %d tries", tt.name, clients[2].passes, clients[2].tries)
		})
	}
}

// retryAfterOrPass waits the Retry-After of a refusal, and a fresh turn
// after a pass.
func retryAfterOrPass(_ *laneClient, o outcome) time.Duration {
	if o.admitted {
		return throttle.DefaultPolicy.SlowLane
	}
	return o.retryAfter
}

// passesAfterWaiting checks that a client that waited what it was told
// got its attempt: only its very first try (out of step) was refused.
func passesAfterWaiting(t *testing.T, c *laneClient) {
	if c.passes < 40 || c.tries > c.passes+1 {
		t.Errorf("%d passes in %d tries while waiting the Retry-After, want every try after the first to pass", c.passes, c.tries)
	}
}

// TestSlowLaneNeighbourDoesNotStarve is the no-JavaScript client whose
// identifier asks for a proof of work (5 to 10 failures under the default
// policy) while a neighbour behind the same address retries every 0.6 s on
// his own challenged identifier. The address challenges nobody, so its
// turn must not be needed: when it was, the neighbour took it whenever it
// came free and the client, waiting the Retry-After it was told, was
// refused until the neighbour's identifier was blocked.
func TestSlowLaneNeighbourDoesNotStarve(t *testing.T) {
	th, clock := MustOpenThrottle(t, throttle.DefaultPolicy)
	start := clock.Now()
	victim := veil.Attempt{Action: veil.ActionLogin, Subject: "11111111111111111111111111111111", Addr: "198.51.100.10"}
	neighbour := veil.Attempt{Action: veil.ActionLogin, Subject: "22222222222222222222222222222222", Addr: victim.Addr}
	// Both identifiers reach the challenge from elsewhere.
	for _, a := range []veil.Attempt{victim, neighbour} {
		a.Addr = "203.0.113.20"
		for range throttle.DefaultPolicy.Actions[veil.ActionLogin].Subject.ChallengeAfter {
			try(t, th, a, false)
		}
	}
	clients := []*laneClient{{a: neighbour, next: start}, {a: victim, next: start.Add(7*time.Second + 300*time.Millisecond)}}
	told, waitedAndRefused := false, 0
	slowLaneRun(t, th, clock.Now, clock.Add, start.Add(11*time.Minute), clients, func(c *laneClient, o outcome) time.Duration {
		if c != clients[1] {
			return 600 * time.Millisecond
		}
		if told && !o.admitted {
			waitedAndRefused++
		}
		told = !o.admitted
		return retryAfterOrPass(c, o)
	})
	t.Logf("%d passes in %d tries; %d refused after waiting the Retry-After", clients[1].passes, clients[1].tries, waitedAndRefused)
	if waitedAndRefused > 0 || clients[1].passes < 5 {
		t.Errorf("%d passes in %d tries, %d of them refused after waiting the Retry-After they were told; want none refused", clients[1].passes, clients[1].tries, waitedAndRefused)
	}
}
