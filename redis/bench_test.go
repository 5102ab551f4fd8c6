package redis_test

import (
	"testing"

	"github.com/veil-id/veil/throttle"
	"github.com/veil-id/veil/veiltest"
)

// BenchmarkThrottleRedis is the cost the throttle adds to a sign-in when
// its counters are in Redis (on loopback): one round trip before the
// password check, one after (compare throttle.BenchmarkThrottleMemory).
func BenchmarkThrottleRedis(b *testing.B) {
	p := throttle.DefaultPolicy
	p.Actions = map[string]throttle.ActionPolicy{}
	for k, ap := range throttle.DefaultPolicy.Actions {
		ap.GlobalChallengePerMinute = 0
		p.Actions[k] = ap
	}
	th, err := throttle.New(throttle.Config{Store: MustOpen(b), Policy: p, Secret: []byte("redis benchmark secret, 32 bytes+")})
	if err != nil {
		b.Fatal(err)
	}
	veiltest.BenchmarkThrottle(b, th)
}
