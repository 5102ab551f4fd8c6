package throttle

import (
	"fmt"
	"time"

	"github.com/veil-id/veil"
)

// Escalation says what a run of failures on one key leads to. Failures are
// counted until the key has seen none for Policy.ForgetAfter; attempts
// refused by the throttle are not failures (they checked no password).
type Escalation struct {
	// ChallengeAfter failures, every further attempt needs a proof of
	// work (or the slow lane). 0 never asks.
	ChallengeAfter int
	// BlockAfter failures, the key is blocked for BlockFor, and each
	// further failure blocks it twice as long, up to BlockMax. 0 never
	// blocks.
	BlockAfter int
	BlockFor   time.Duration
	BlockMax   time.Duration
}

// challenges reports whether a key with this many failures asks for a
// proof of work.
func (e Escalation) challenges(failures int64) bool {
	return e.ChallengeAfter > 0 && failures >= int64(e.ChallengeAfter)
}

// blockFor returns how long a failure that brought the count to failures
// blocks the key, or 0.
func (e Escalation) blockFor(failures int64) time.Duration {
	if e.BlockAfter <= 0 || failures < int64(e.BlockAfter) {
		return 0
	}
	d := e.BlockFor
	for n := failures - int64(e.BlockAfter); n > 0 && d < e.BlockMax; n-- {
		d *= 2
	}
	return min(d, e.BlockMax)
}

func (e Escalation) validate(name string) error {
	switch {
	case e.ChallengeAfter < 0 || e.BlockAfter < 0:
		return fmt.Errorf("%s: thresholds must not be negative", name)
	case e.BlockAfter > 0 && (e.BlockFor <= 0 || e.BlockMax < e.BlockFor):
		return fmt.Errorf("%s: block_for must be positive and block_max at least block_for", name)
	}
	return nil
}

// ActionPolicy is the policy of one action.
type ActionPolicy struct {
	Subject Escalation // per identifier or target address (its keyed hash)
	Address Escalation // per client address (IPv6 per /64)
	// Device is the policy of a client that presents a device cookie bound
	// to the identifier; zero turns device cookies off for the action.
	Device Escalation
	// GlobalChallengePerMinute failures in a minute, across all keys, ask
	// every client without a device cookie for a proof of work. 0: never.
	GlobalChallengePerMinute int
}

// Policy is the whole throttling policy.
type Policy struct {
	Actions map[string]ActionPolicy
	// ForgetAfter is how long a key keeps its failures after the last one.
	ForgetAfter time.Duration
	// PowDifficulty is the number of leading zero bits a proof of work
	// needs; PowTTL how long a challenge can be solved.
	PowDifficulty int
	PowTTL        time.Duration
	// SlowLane is how often a client that does not solve the challenge
	// (no JavaScript) may still try, per identifier and per address.
	SlowLane time.Duration
	// DeviceTTL is how long a device cookie lasts.
	DeviceTTL time.Duration
	// Hold is how long an attempt's reservation counts if it is never
	// settled (a request that crashed, or whose client went away): long
	// enough to cover any password check, short enough that a person is
	// not held up for long by a request that will never finish. Zero
	// means DefaultPolicy's.
	Hold time.Duration
}

// DefaultPolicy follows NIST SP 800-63B §3.2.2 (at most 100 consecutive
// failures on an account; rate limiting over lockout; a success from a
// known device disregards failures elsewhere) and OWASP's Authentication
// and Credential Stuffing cheat sheets (proof of work before lockout,
// device cookies, per-address limits, growing backoff):
//
//   - an identifier asks for a proof of work after 5 failures and is
//     blocked after 10 (1 minute, doubling to 1 hour), so a guesser gets
//     at most 10 failures in a row, and about two dozen a day, on one
//     account;
//   - a client address (IPv6 /64) asks after 20 and is blocked after 100,
//     generous for offices behind one NAT;
//   - a device cookie's own bucket asks after 5 and blocks after 10, so a
//     stolen cookie is no way around the limit;
//   - over 1000 failures a minute across the service ask everyone without
//     a device cookie for a proof of work (credential stuffing);
//   - sign-up and recovery count every request: per target address a
//     proof of work from the 3rd and a block from the 5th (15 minutes,
//     doubling to a day), so nobody can be mail-bombed; per client address
//     from the 5th and the 30th.
var DefaultPolicy = Policy{
	Actions: map[string]ActionPolicy{
		veil.ActionLogin: {
			Subject:                  Escalation{ChallengeAfter: 5, BlockAfter: 10, BlockFor: time.Minute, BlockMax: time.Hour},
			Address:                  Escalation{ChallengeAfter: 20, BlockAfter: 100, BlockFor: time.Minute, BlockMax: time.Hour},
			Device:                   Escalation{ChallengeAfter: 5, BlockAfter: 10, BlockFor: time.Minute, BlockMax: time.Hour},
			GlobalChallengePerMinute: 1000,
		},
		veil.ActionSignUp: {
			Subject: Escalation{ChallengeAfter: 3, BlockAfter: 5, BlockFor: 15 * time.Minute, BlockMax: 24 * time.Hour},
			Address: Escalation{ChallengeAfter: 5, BlockAfter: 30, BlockFor: 15 * time.Minute, BlockMax: 24 * time.Hour},
		},
		veil.ActionRecover: {
			Subject: Escalation{ChallengeAfter: 3, BlockAfter: 5, BlockFor: 15 * time.Minute, BlockMax: 24 * time.Hour},
			Address: Escalation{ChallengeAfter: 5, BlockAfter: 30, BlockFor: 15 * time.Minute, BlockMax: 24 * time.Hour},
		},
	},
	ForgetAfter:   24 * time.Hour,
	PowDifficulty: 20,
	PowTTL:        5 * time.Minute,
	SlowLane:      15 * time.Second,
	DeviceTTL:     90 * 24 * time.Hour,
	Hold:          time.Minute,
}

// maxConsecutiveFailures is NIST SP 800-63B's cap on failures on one
// account without a block.
const maxConsecutiveFailures = 100

// Validate checks the policy.
func (p Policy) Validate() error {
	if p.ForgetAfter <= 0 || p.PowTTL <= 0 || p.SlowLane <= 0 || p.DeviceTTL <= 0 || p.Hold < 0 {
		return fmt.Errorf("throttle: forget_after, pow_ttl, slow_lane and device_ttl must be positive")
	}
	if p.PowDifficulty < 1 || p.PowDifficulty > 32 {
		return fmt.Errorf("throttle: pow_difficulty must be between 1 and 32 bits, not %d", p.PowDifficulty)
	}
	for name, ap := range p.Actions {
		for _, e := range []struct {
			what string
			esc  Escalation
		}{{"subject", ap.Subject}, {"address", ap.Address}, {"device", ap.Device}} {
			if err := e.esc.validate("throttle " + name + " " + e.what); err != nil {
				return err
			}
		}
		if name == veil.ActionLogin && (ap.Subject.BlockAfter < 1 || ap.Subject.BlockAfter > maxConsecutiveFailures) {
			return fmt.Errorf("throttle: an identifier must be blocked after 1 to %d failures (NIST SP 800-63B), not %d", maxConsecutiveFailures, ap.Subject.BlockAfter)
		}
		// A device cookie's bucket stands in for the identifier's, so it
		// must cap failures on the account just the same.
		if name == veil.ActionLogin && ap.Device != (Escalation{}) && (ap.Device.BlockAfter < 1 || ap.Device.BlockAfter > maxConsecutiveFailures) {
			return fmt.Errorf("throttle: a device cookie must be blocked after 1 to %d failures (NIST SP 800-63B), not %d", maxConsecutiveFailures, ap.Device.BlockAfter)
		}
		if ap.GlobalChallengePerMinute < 0 {
			return fmt.Errorf("throttle %s: the global rate must not be negative", name)
		}
	}
	return nil
}
