// Package throttle is veil's throttling policy: proof-of-work challenges,
// temporary blocks with growing backoff, device cookies that let the real
// person past a lockout, and a size-bounded in-memory counter store.
//
// It keys everything by the keyed hash of an identifier and by client
// address, and decides from counters alone. It must never look up an
// account, never take a hint about why an attempt failed, and never hold
// more memory than it was given, however many identifiers an attacker
// sprays.
package throttle

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/veil-id/veil"
)

// Config holds what a Throttle needs.
type Config struct {
	Store  veil.ThrottleStore
	Policy Policy // zero: DefaultPolicy
	// Secret keys the challenges and the device cookies; every instance
	// that shares a Store must share it. At least 32 bytes.
	Secret []byte
	Clock  veil.Clock   // nil: the system clock
	Logger *slog.Logger // nil: slog.Default()
}

// Throttle implements veil.Throttle.
type Throttle struct {
	store   veil.ThrottleStore
	policy  Policy
	pow     powSigner
	devices deviceSigner
	clock   veil.Clock
	logger  *slog.Logger
	stats   Stats

	logMu   sync.Mutex
	lastLog time.Time
}

var _ veil.Throttle = (*Throttle)(nil)

// Stats counts the true state of decisions, for the admin listener's
// metrics only.
type Stats struct {
	Admitted      atomic.Int64 // under every threshold
	Trusted       atomic.Int64 // admitted on a device cookie
	Proved        atomic.Int64 // admitted with a valid proof of work
	SlowLane      atomic.Int64 // admitted without a proof, in the slow lane
	Challenged    atomic.Int64 // refused until a proof of work comes
	Blocked       atomic.Int64 // refused while blocked
	StoreFailures atomic.Int64 // a store call failed
}

// New returns a Throttle.
func New(cfg Config) (*Throttle, error) {
	if cfg.Store == nil {
		return nil, errors.New("throttle: New needs a Store")
	}
	if len(cfg.Secret) < 32 {
		return nil, errors.New("throttle: New needs a secret of at least 32 bytes")
	}
	if cfg.Policy.Actions == nil {
		cfg.Policy = DefaultPolicy
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, err
	}
	t := &Throttle{
		store:   cfg.Store,
		policy:  cfg.Policy,
		pow:     powSigner{key: derive(cfg.Secret, "proof of work")},
		devices: deviceSigner{key: derive(cfg.Secret, "device cookie")},
		clock:   cfg.Clock,
		logger:  cfg.Logger,
	}
	if t.clock == nil {
		t.clock = veil.SystemClock{}
	}
	if t.logger == nil {
		t.logger = slog.Default()
	}
	return t, nil
}

// derive gives each use of the secret a key of its own, so a signature
// made for one can never pass for the other.
func derive(secret []byte, use string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("veil throttle\x00" + use))
	return m.Sum(nil)
}

// Stats returns the decision counters.
func (t *Throttle) Stats() *Stats { return &t.stats }

// Policy returns the policy in force.
func (t *Throttle) Policy() Policy { return t.policy }

// bucket is one counted key and the escalation that applies to it.
type bucket struct {
	key string
	esc Escalation
}

// admission is the state a Check hands to Done.
type admission struct {
	policy     ActionPolicy
	buckets    []bucket
	globalPrev int64 // failures in the previous minute, for the rate
	global     bool
}

// Check implements veil.Throttle.
func (t *Throttle) Check(ctx context.Context, a *veil.Attempt) (*veil.Admission, error) {
	ap, ok := t.policy.Actions[a.Action]
	if !ok {
		return nil, fmt.Errorf("throttle: no policy for action %q", a.Action)
	}
	now := t.clock.Now()
	st := &admission{policy: ap}
	trusted := false
	if ap.Device != (Escalation{}) && a.Device != "" {
		if dev, ok := t.devices.verify(a.Device, a.Subject, now); ok {
			trusted = true
			st.buckets = []bucket{{a.Action + ":d:" + dev, ap.Device}}
		}
	}
	if !trusted {
		st.buckets = []bucket{{a.Action + ":s:" + a.Subject, ap.Subject}, {a.Action + ":a:" + a.Addr, ap.Address}}
		st.global = ap.GlobalChallengePerMinute > 0
	}
	keys := make([]string, 0, len(st.buckets)+2)
	for _, b := range st.buckets {
		keys = append(keys, b.key)
	}
	if st.global {
		keys = append(keys, globalKey(a.Action, now), globalKey(a.Action, now.Add(-time.Minute)))
	}
	recs, err := t.store.Records(ctx, keys)
	if err != nil {
		return nil, t.unavailable(ctx, err)
	}
	var wait time.Duration
	challenged := false
	for i, b := range st.buckets {
		if until := recs[i].BlockedUntil; until.After(now) {
			wait = max(wait, until.Sub(now))
		}
		challenged = challenged || b.esc.challenges(recs[i].Failures)
	}
	if st.global {
		cur, prev := recs[len(st.buckets)], recs[len(st.buckets)+1]
		st.globalPrev = prev.Failures
		challenged = challenged || globalRate(cur.Failures, prev.Failures, now) >= float64(ap.GlobalChallengePerMinute)
	}
	if wait > 0 {
		t.stats.Blocked.Add(1)
		return nil, veil.Throttled(roundUp(wait), nil)
	}
	adm := &veil.Admission{Attempt: *a, Trusted: trusted, State: st}
	if !challenged {
		t.count(trusted, &t.stats.Admitted)
		return adm, nil
	}
	return t.checkChallenged(ctx, adm, st, now)
}

func (t *Throttle) count(trusted bool, c *atomic.Int64) {
	if trusted {
		t.stats.Trusted.Add(1)
	}
	c.Add(1)
}

// checkChallenged admits an attempt that must prove work: with a valid,
// unspent solution, or else in the slow lane — one attempt per SlowLane
// per key — so that a browser without JavaScript still gets in, slower.
func (t *Throttle) checkChallenged(ctx context.Context, adm *veil.Admission, st *admission, now time.Time) (*veil.Admission, error) {
	if proof, ok := t.pow.verify(adm.Attempt.Proof, t.policy.PowDifficulty, now); ok {
		fresh, err := t.store.Claim(ctx, "pow:"+proof.nonce, proof.expires)
		if err != nil {
			return nil, t.unavailable(ctx, err)
		}
		if fresh {
			t.count(adm.Trusted, &t.stats.Proved)
			return adm, nil
		}
	}
	free := true
	for _, b := range st.buckets {
		ok, err := t.store.Claim(ctx, "slow:"+b.key, now.Add(t.policy.SlowLane))
		if err != nil {
			return nil, t.unavailable(ctx, err)
		}
		free = free && ok
	}
	if free {
		t.count(adm.Trusted, &t.stats.SlowLane)
		return adm, nil
	}
	t.stats.Challenged.Add(1)
	return nil, veil.Throttled(t.policy.SlowLane, t.challenge(now))
}

// NewChallenge returns a fresh challenge at the policy's difficulty.
func (t *Throttle) NewChallenge() *veil.Challenge { return t.challenge(t.clock.Now()) }

func (t *Throttle) challenge(now time.Time) *veil.Challenge {
	return t.pow.issue(t.policy.PowDifficulty, now.Add(t.policy.PowTTL))
}

// Done implements veil.Throttle. A success issues a device cookie and
// forgets the failures of the device that succeeded — never those of the
// identifier or the address, or an attacker could wash them by signing in
// to an account of their own. A failure counts against every bucket the
// attempt was checked against, and hands out a challenge if the next
// attempt of this history will need one.
func (t *Throttle) Done(ctx context.Context, adm *veil.Admission, success bool) (*veil.ThrottleResult, error) {
	st, ok := adm.State.(*admission)
	if !ok {
		return &veil.ThrottleResult{}, nil
	}
	now := t.clock.Now()
	if success {
		return t.succeeded(ctx, adm, st, now)
	}
	incs := make([]veil.ThrottleIncrement, 0, len(st.buckets)+1)
	for _, b := range st.buckets {
		incs = append(incs, veil.ThrottleIncrement{Key: b.key, TTL: t.policy.ForgetAfter})
	}
	if st.policy.GlobalChallengePerMinute > 0 {
		incs = append(incs, veil.ThrottleIncrement{Key: globalKey(adm.Attempt.Action, now), TTL: 2 * time.Minute})
	}
	counts, err := t.store.AddFailures(ctx, incs)
	if err != nil {
		t.logStoreError(ctx, err)
		return &veil.ThrottleResult{}, err
	}
	next, blocked := false, false
	for i, b := range st.buckets {
		if d := b.esc.blockFor(counts[i]); d > 0 {
			blocked = true
			if err := t.store.Block(ctx, b.key, now.Add(d)); err != nil {
				t.logStoreError(ctx, err)
			}
		}
		next = next || b.esc.challenges(counts[i])
	}
	if st.global {
		next = next || globalRate(counts[len(st.buckets)], st.globalPrev, now) >= float64(st.policy.GlobalChallengePerMinute)
	}
	if next && !blocked {
		return &veil.ThrottleResult{Challenge: t.challenge(now)}, nil
	}
	return &veil.ThrottleResult{}, nil
}

// Forget implements veil.Throttle: the keys of subject and addr under
// every action, with their slow-lane claims. Device buckets are left
// alone: they belong to browsers, not to the person or the address.
func (t *Throttle) Forget(ctx context.Context, subject, addr string) error {
	var keys []string
	for action := range t.policy.Actions {
		for kind, v := range map[string]string{":s:": subject, ":a:": addr} {
			if v != "" {
				keys = append(keys, action+kind+v, "slow:"+action+kind+v)
			}
		}
	}
	if err := t.store.Forget(ctx, keys...); err != nil {
		return fmt.Errorf("throttle: forgetting counters: %w", err)
	}
	return nil
}

func (t *Throttle) succeeded(ctx context.Context, adm *veil.Admission, st *admission, now time.Time) (*veil.ThrottleResult, error) {
	if st.policy.Device == (Escalation{}) {
		return &veil.ThrottleResult{}, nil
	}
	if adm.Trusted {
		if err := t.store.Forget(ctx, st.buckets[0].key); err != nil {
			t.logStoreError(ctx, err)
		}
	}
	expires := now.Add(t.policy.DeviceTTL)
	return &veil.ThrottleResult{DeviceCookie: t.devices.issue(adm.Attempt.Subject, expires), DeviceExpires: expires}, nil
}

// globalKey names the counter of all failures of action in the minute of now.
func globalKey(action string, now time.Time) string {
	return action + ":g:" + strconv.FormatInt(now.Unix()/60, 10)
}

// globalRate estimates failures in the last minute from the current and
// the previous minute's counters (a sliding window).
func globalRate(cur, prev int64, now time.Time) float64 {
	elapsed := float64(now.Unix()%60) / 60
	return float64(cur) + float64(prev)*(1-elapsed)
}

// roundUp rounds a wait up to whole seconds, as Retry-After says it.
func roundUp(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

var errUnavailable = &veil.Error{Code: veil.EUNAVAILABLE, Message: "This service cannot check attempts right now. Please try again in a moment."}

// unavailable answers a store failure: the same 503 for everyone, whatever
// the identifier (fail closed). A store that should fall back instead is
// wrapped in a FallbackStore and never gets here.
func (t *Throttle) unavailable(ctx context.Context, err error) error {
	t.logStoreError(ctx, err)
	return &veil.Error{Code: errUnavailable.Code, Message: errUnavailable.Message, Cause: err}
}

// logStoreError logs at most one store failure every ten seconds: an
// outage must not flood the log with a line per request.
func (t *Throttle) logStoreError(ctx context.Context, err error) {
	t.stats.StoreFailures.Add(1)
	t.logMu.Lock()
	now := time.Now()
	quiet := now.Sub(t.lastLog) < 10*time.Second
	if !quiet {
		t.lastLog = now
	}
	t.logMu.Unlock()
	if !quiet {
		t.logger.ErrorContext(ctx, "throttle: store failed", "err", err)
	}
}
