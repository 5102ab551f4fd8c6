package throttle_test

import (
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/throttle"
	"github.com/veil-id/veil/veiltest"
)

// benchPolicy is DefaultPolicy without the global rate, which a benchmark
// loop would trip within a second.
func benchPolicy() throttle.Policy {
	p := throttle.DefaultPolicy
	p.Actions = map[string]throttle.ActionPolicy{}
	for k, ap := range throttle.DefaultPolicy.Actions {
		ap.GlobalChallengePerMinute = 0
		p.Actions[k] = ap
	}
	return p
}

// BenchmarkThrottleMemory is the cost the throttle adds to a sign-in on
// the in-memory store (compare redis.BenchmarkThrottleRedis).
func BenchmarkThrottleMemory(b *testing.B) {
	th, err := throttle.New(throttle.Config{Store: throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 32 << 20}), Policy: benchPolicy(), Secret: testSecret})
	if err != nil {
		b.Fatal(err)
	}
	veiltest.BenchmarkThrottle(b, th)
}

// BenchmarkProofCheck is a challenged attempt with a valid proof: verify,
// claim and reserve, then release. The check is one HMAC and one SHA-256 whatever the
// difficulty, so the proofs are made at 8 bits to keep solving them, out
// of the timer, cheap.
func BenchmarkProofCheck(b *testing.B) {
	p := benchPolicy()
	p.PowDifficulty = 8
	ap := p.Actions[veil.ActionLogin]
	ap.Subject.ChallengeAfter, ap.Subject.BlockAfter = 1, 100
	p.Actions[veil.ActionLogin] = ap
	th, err := throttle.New(throttle.Config{Store: throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 32 << 20}), Policy: p, Secret: testSecret})
	if err != nil {
		b.Fatal(err)
	}
	a := veil.Attempt{Action: veil.ActionLogin, Subject: "s", Addr: "192.0.2.1"}
	adm, _ := th.Check(b.Context(), &a)
	th.Done(b.Context(), adm, veil.AttemptFailed)
	proofs := make([]string, 1024)
	i := len(proofs)
	for b.Loop() {
		if i == len(proofs) { // each proof is good once: make a fresh batch
			b.StopTimer()
			for j := range proofs {
				proofs[j] = throttle.Solve(th.NewChallenge(&a))
			}
			i = 0
			b.StartTimer()
		}
		a.Proof = proofs[i]
		i++
		adm, err := th.Check(b.Context(), &a)
		if err != nil {
			b.Fatalf("Check with a valid proof: %v", err)
		}
		// Released, so that reservations do not pile up to the bound.
		th.Done(b.Context(), adm, veil.AttemptFaulted)
	}
}
