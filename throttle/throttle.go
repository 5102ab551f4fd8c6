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
	Blocked       atomic.Int64 // refused while blocked, or while a bucket had all the attempts in flight it may
	Uncounted     atomic.Int64 // admitted, ended by a fault of veil's or a client that went away: not counted
	Released      atomic.Int64 // admitted, ended with nothing to count: a right password awaiting its second factor, passkey options
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
	if cfg.Policy.Hold == 0 {
		cfg.Policy.Hold = DefaultPolicy.Hold
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

// admission is the state a Check hands to Done.
type admission struct {
	policy  ActionPolicy
	buckets []veil.ThrottleBucket
	ticket  string
}

// busyWait is the Retry-After of an attempt refused because its buckets
// have all the attempts in flight they may: those settle within a
// password check.
const busyWait = time.Second

// buckets returns the counters attempt a is checked and counted in: the
// device's own when it presents a device cookie bound to its Subject,
// else the identifier's, the address's and the global rate.
func (t *Throttle) buckets(a *veil.Attempt, ap ActionPolicy, now time.Time) ([]veil.ThrottleBucket, bool) {
	if ap.Device != (Escalation{}) && a.Device != "" {
		if dev, ok := t.devices.verify(a.Device, a.Subject, now); ok {
			return []veil.ThrottleBucket{t.bucket(a.Action+":d:"+dev, ap.Device)}, true
		}
	}
	bs := []veil.ThrottleBucket{t.bucket(a.Action+":s:"+a.Subject, ap.Subject), t.bucket(a.Action+":a:"+a.Addr, ap.Address)}
	if ap.GlobalChallengePerMinute > 0 {
		// A sliding window over this minute's counter and the last's.
		elapsed := float64(now.Unix()%60) / 60
		bs = append(bs, veil.ThrottleBucket{
			Key: globalKey(a.Action, now), TTL: 2 * time.Minute, ChallengeAt: int64(ap.GlobalChallengePerMinute),
			Prior: globalKey(a.Action, now.Add(-time.Minute)), PriorWeight: 1 - elapsed,
		})
	}
	return bs, false
}

func (t *Throttle) bucket(key string, e Escalation) veil.ThrottleBucket {
	return veil.ThrottleBucket{
		Key: key, TTL: t.policy.ForgetAfter, ChallengeAt: int64(e.ChallengeAfter),
		BlockAfter: int64(e.BlockAfter), BlockFor: e.BlockFor, BlockMax: e.BlockMax, SlowLane: true,
	}
}

// Check implements veil.Throttle: one atomic Reserve in the store decides
// and reserves. A proof is verified first, whether or not it will be
// needed, so that deciding costs one round trip and the same for every
// identifier; the store spends it only if a bucket asks for one. An
// attempt that must prove work and brings no fresh proof takes the slow
// lane — one turn per SlowLane of every bucket at once, or none — so that
// a browser without JavaScript still gets in, slower, and a client that
// waits the Retry-After it was told finds every turn free.
func (t *Throttle) Check(ctx context.Context, a *veil.Attempt) (*veil.Admission, error) {
	ap, ok := t.policy.Actions[a.Action]
	if !ok {
		return nil, fmt.Errorf("throttle: no policy for action %q", a.Action)
	}
	now := t.clock.Now()
	buckets, trusted := t.buckets(a, ap, now)
	r := &veil.ThrottleReservation{Buckets: buckets, Hold: t.policy.Hold, SlowLane: t.policy.SlowLane}
	if proof, ok := t.pow.verify(a.Proof, a, t.policy.PowDifficulty, now); ok {
		r.Proof, r.ProofUntil = "pow:"+proof.nonce, proof.expires
	}
	d, err := t.store.Reserve(ctx, r)
	if err != nil {
		return nil, t.unavailable(ctx, err)
	}
	switch {
	case d.Admitted:
		if trusted {
			t.stats.Trusted.Add(1)
		}
		switch {
		case d.Proved:
			t.stats.Proved.Add(1)
		case d.SlowLane:
			t.stats.SlowLane.Add(1)
		default:
			t.stats.Admitted.Add(1)
		}
		st := &admission{policy: ap, buckets: buckets, ticket: d.Ticket}
		return &veil.Admission{Attempt: *a, Trusted: trusted, State: st}, nil
	case d.Blocked:
		t.stats.Blocked.Add(1)
		return nil, veil.Throttled(roundUp(d.RetryAfter), nil)
	case d.Busy:
		t.stats.Blocked.Add(1)
		return nil, veil.Throttled(busyWait, nil)
	}
	t.stats.Challenged.Add(1)
	return nil, veil.Throttled(roundUp(max(d.RetryAfter, time.Millisecond)), t.challenge(a, now))
}

// NewChallenge returns a fresh challenge at the policy's difficulty for
// attempts like a (the same action, Subject and Addr).
func (t *Throttle) NewChallenge(a *veil.Attempt) *veil.Challenge {
	return t.challenge(a, t.clock.Now())
}

func (t *Throttle) challenge(a *veil.Attempt, now time.Time) *veil.Challenge {
	return t.pow.issue(a, t.policy.PowDifficulty, now.Add(t.policy.PowTTL))
}

// Done implements veil.Throttle. A failure counts against every bucket
// the attempt was reserved in, and hands out a challenge if the next
// attempt of this history will need one. A success, a fault or a release
// frees the reservation uncounted; a success also issues a device cookie
// and forgets the failures of the device that succeeded — never those of the
// identifier or the address, or an attacker could wash them by signing in
// to an account of their own. An abandoned attempt's reservation lapses.
func (t *Throttle) Done(ctx context.Context, adm *veil.Admission, outcome veil.AttemptOutcome) (*veil.ThrottleResult, error) {
	st, ok := adm.State.(*admission)
	if !ok {
		return &veil.ThrottleResult{}, nil
	}
	if outcome == veil.AttemptAbandoned {
		t.stats.Uncounted.Add(1)
		return &veil.ThrottleResult{}, nil
	}
	failed := outcome == veil.AttemptFailed
	recs, err := t.store.Settle(ctx, &veil.ThrottleSettlement{Ticket: st.ticket, Buckets: st.buckets, Failure: failed})
	if err != nil {
		t.logStoreError(ctx, err)
		return &veil.ThrottleResult{}, err
	}
	now := t.clock.Now()
	switch outcome {
	case veil.AttemptSucceeded:
		return t.succeeded(ctx, adm, st, now)
	case veil.AttemptFailed:
	case veil.AttemptReleased:
		t.stats.Released.Add(1)
		return &veil.ThrottleResult{}, nil
	default:
		t.stats.Uncounted.Add(1)
		return &veil.ThrottleResult{}, nil
	}
	next, blocked := false, false
	for i, b := range st.buckets {
		blocked = blocked || recs[i].BlockedUntil.After(now)
		next = next || challenges(b, recs[i])
	}
	if next && !blocked {
		return &veil.ThrottleResult{Challenge: t.challenge(&adm.Attempt, now)}, nil
	}
	return &veil.ThrottleResult{}, nil
}

// challenges reports whether an attempt on a bucket with record r asks
// for a proof of work, as the stores decide it.
func challenges(b veil.ThrottleBucket, r veil.ThrottleRecord) bool {
	load := float64(r.Failures+r.InFlight) + b.PriorWeight*float64(r.Prior)
	return b.ChallengeAt > 0 && load >= float64(b.ChallengeAt)
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
		if err := t.store.Forget(ctx, st.buckets[0].Key); err != nil {
			t.logStoreError(ctx, err)
		}
	}
	expires := now.Add(t.policy.DeviceTTL)
	cookie := t.devices.carry(t.devices.issue(adm.Attempt.Subject, expires), adm.Attempt.Device, adm.Attempt.Subject, now)
	return &veil.ThrottleResult{DeviceCookie: cookie, DeviceExpires: expires}, nil
}

// globalKey names the counter of all failures of action in the minute of now.
func globalKey(action string, now time.Time) string {
	return action + ":g:" + strconv.FormatInt(now.Unix()/60, 10)
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
