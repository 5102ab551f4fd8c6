package veil

import (
	"context"
	"errors"
	"time"
)

// ETHROTTLED is the code of an attempt the throttle held back: answered 429
// with Retry-After, decided from counters that never depend on whether an
// account exists.
const ETHROTTLED = "throttled"

// ReasonChallengeRequired is the audited reason of an attempt held back
// until it brings a proof of work (ReasonThrottled is a temporary block).
const ReasonChallengeRequired = "challenge_required"

// Actions the throttle counts separately, each with its own policy.
const (
	ActionLogin   = "login"
	ActionSignUp  = "signup"
	ActionRecover = "recover"
)

// Attempt is what the throttle may know about a request: never the
// identifier, never whether an account has it.
type Attempt struct {
	Action string // ActionLogin, ActionSignUp, ActionRecover
	// Subject is IdentifierKey.Hash of the normalized identifier or target
	// address: the same for an unknown address as for a real one.
	Subject string
	// Addr is the client's address as the transport computed it (IPv6
	// reduced to its /64).
	Addr string
	// Device is the device cookie the client presented, as sent, or "".
	Device string
	// Proof is a proof-of-work solution as sent ("token:solution"), or "".
	Proof string
}

// Admission is an attempt the throttle let through. The caller hands it
// back to Throttle.Done untouched.
type Admission struct {
	Attempt Attempt
	// Trusted is true when the attempt presented a device cookie bound to
	// its Subject: it is counted in that device's own bucket.
	Trusted bool
	// State belongs to the Throttle that made the admission.
	State any
}

// ThrottleResult is what counting an outcome gives back.
type ThrottleResult struct {
	// Challenge, when not nil, is a proof of work the next attempt of the
	// same history will need: handed out with the failure so the client
	// can solve it before trying again.
	Challenge *Challenge
	// DeviceCookie, after a success, binds the client to the Subject; it
	// expires at DeviceExpires.
	DeviceCookie  string
	DeviceExpires time.Time
}

// Challenge is a server-issued proof of work: find a solution such that
// SHA-256(Token + ":" + solution) starts with Difficulty zero bits, and
// send back Token + ":" + solution before Expires. Each is good once.
type Challenge struct {
	Token      string
	Difficulty int
	Expires    time.Time
}

// Throttle slows down and blocks repeated attempts, keyed by the hash of an
// identifier and by client address, so that it can neither reveal nor
// depend on whether an account exists.
type Throttle interface {
	// Check decides, before any account is looked at, whether an attempt
	// may go on. It returns ETHROTTLED (a *ThrottleError with a Retry-After
	// and, when a proof of work would let the client in sooner, a
	// Challenge), EUNAVAILABLE when its store is unreachable and it fails
	// closed, or an admission.
	Check(ctx context.Context, a *Attempt) (*Admission, error)
	// Done counts the outcome of an admitted attempt: success, or a
	// failure of any kind. Callers must not tell it why an attempt failed.
	Done(ctx context.Context, adm *Admission, success bool) (*ThrottleResult, error)
	// Forget clears, for every action, the failures, blocks and slow-lane
	// turns counted against subject (an IdentifierKey hash) and against
	// the client address addr; an empty one is left alone. An operator's
	// tool, for a person locked out by someone else's attempts.
	Forget(ctx context.Context, subject, addr string) error
}

// ThrottleRecord is what a ThrottleStore keeps under one key.
type ThrottleRecord struct {
	Failures     int64     // counted since the key was forgotten
	BlockedUntil time.Time // zero when never blocked
}

// ThrottleIncrement adds one failure to Key and keeps it at least TTL.
type ThrottleIncrement struct {
	Key string
	TTL time.Duration
}

// ThrottleStore keeps throttle counters, in memory or shared between
// instances. Keys are made by the throttle from keyed hashes and address
// prefixes, never from an identifier. Every key a store holds expires.
type ThrottleStore interface {
	// Records returns the record of each key, in order; a key the store
	// does not hold (or no longer holds) has the zero record.
	Records(ctx context.Context, keys []string) ([]ThrottleRecord, error)
	// AddFailures atomically adds one failure to each key, keeps each key
	// at least its TTL from now (never shortening it), and returns the new
	// counts in order.
	AddFailures(ctx context.Context, incs []ThrottleIncrement) ([]int64, error)
	// Block sets BlockedUntil of key to until unless it is already later,
	// and keeps the key at least until then.
	Block(ctx context.Context, key string, until time.Time) error
	// Forget removes keys; keys it does not hold are no error.
	Forget(ctx context.Context, keys ...string) error
	// Claim reports whether key is claimed for the first time, and keeps
	// the claim until until. A store that has dropped the claim of a key
	// always claimed with the same until (a single-use token) must still
	// answer false. The throttle never uses a claimed key as a counter.
	Claim(ctx context.Context, key string, until time.Time) (bool, error)
}

// ThrottleError is a public failure with what the client needs to try
// again: how long to wait, and, when solving a proof of work would let it
// in sooner, a challenge. Its code is that of Err: ETHROTTLED for an
// attempt held back, EUNAUTHORIZED for a failed sign-in after which the
// next attempt will need a proof of work.
type ThrottleError struct {
	Err        *Error
	RetryAfter time.Duration
	Challenge  *Challenge
}

func (e *ThrottleError) Error() string { return e.Err.Error() }
func (e *ThrottleError) Unwrap() error { return e.Err }

var (
	errBlocked   = &Error{Code: ETHROTTLED, Message: "Too many attempts. Please wait, then try again."}
	errChallenge = &Error{Code: ETHROTTLED, Message: "Too many attempts. Your browser must solve a small puzzle before it can try again; without JavaScript, wait the time shown, then try again."}
)

// Throttled returns the ETHROTTLED error of an attempt held back for
// retryAfter, or until it brings a solution to challenge when that is not
// nil. The messages are fixed: they depend on the state of counters only.
func Throttled(retryAfter time.Duration, challenge *Challenge) error {
	base := errBlocked
	if challenge != nil {
		base = errChallenge
	}
	return &ThrottleError{Err: base, RetryAfter: retryAfter, Challenge: challenge}
}

// RetryAfterOf returns how long the client of err should wait, or 0.
func RetryAfterOf(err error) time.Duration {
	var te *ThrottleError
	if errors.As(err, &te) {
		return te.RetryAfter
	}
	return 0
}

// ChallengeOf returns the proof-of-work challenge carried by err, or nil.
func ChallengeOf(err error) *Challenge {
	var te *ThrottleError
	if errors.As(err, &te) {
		return te.Challenge
	}
	return nil
}

// withChallenge hands a challenge for the next attempt out with the one
// public sign-in failure. Only the public code is looked at, never the
// reason: every failure of the same history carries the same challenge.
func withChallenge(err error, ch *Challenge) error {
	var e *Error
	if ch == nil || !errors.As(err, &e) || e.Code != EUNAUTHORIZED {
		return err
	}
	return &ThrottleError{Err: e, Challenge: ch}
}

// throttleReason is the audited reason of an attempt the throttle refused.
func throttleReason(err error) string {
	switch {
	case ErrorCode(err) != ETHROTTLED:
		return reasonOf(err)
	case ChallengeOf(err) != nil:
		return ReasonChallengeRequired
	}
	return ReasonThrottled
}

// countLogin tells the throttle how a sign-in it admitted ended — a
// success, or a failure of whatever kind — and adds what it gives back to
// the answer. A failure to count never changes the answer: the throttle
// logs its own store errors, and a failure that does not depend on the
// account must not become one that does.
func (s *Service) countLogin(ctx context.Context, adm *Admission, res *LoginResult, err error) (*LoginResult, error) {
	out, terr := s.throttle.Done(ctx, adm, err == nil)
	if terr != nil || out == nil {
		out = &ThrottleResult{}
	}
	if err != nil {
		return nil, withChallenge(err, out.Challenge)
	}
	res.DeviceCookie, res.DeviceExpires = out.DeviceCookie, out.DeviceExpires
	return res, nil
}

// throttleRequest throttles a request that sends mail or otherwise costs
// something whatever its outcome (sign-up, recovery) and counts it at
// once, per client address and per target address, blind to whether an
// account has it: the keyed hash is the same for a taken address and a
// free one. It returns nil, or the error to answer with (ETHROTTLED,
// EOVERLOADED, EUNAVAILABLE), and audits a refusal as an event of kind.
func (s *Service) throttleRequest(ctx context.Context, action, kind string, id Identifier, client Client, proof string) error {
	hash := s.key.Hash(id)
	adm, err := s.throttle.Check(ctx, &Attempt{Action: action, Subject: hash, Addr: client.Addr, Proof: proof})
	if err != nil {
		s.auditor.RecordEvent(ctx, &Event{Time: s.clock.Now(), Kind: kind, Outcome: OutcomeFailure,
			Reason: throttleReason(err), IdentifierHash: hash, ClientAddr: client.Addr})
		return err
	}
	// Counted as a failure: there is no success that would forgive it, and
	// the count is the budget of mail a target may receive.
	_, _ = s.throttle.Done(ctx, adm, false)
	return nil
}

// noThrottle admits everything: a Service without a Throttle (tests, tools).
type noThrottle struct{}

func (noThrottle) Check(_ context.Context, a *Attempt) (*Admission, error) {
	return &Admission{Attempt: *a}, nil
}

func (noThrottle) Done(context.Context, *Admission, bool) (*ThrottleResult, error) {
	return &ThrottleResult{}, nil
}

func (noThrottle) Forget(context.Context, string, string) error { return nil }

// ResetThrottle lets an identifier, a client address, or both, start over
// with the throttle: an operator's answer to a person locked out by
// someone else's guesses. identifier is normalized like a sign-in's, so
// any spelling of an address resets it; addr is a client address as the
// transport computed it (IPv6 reduced to its /64). The reset is audited.
func (s *Service) ResetThrottle(ctx context.Context, identifier, addr string) error {
	ev := &Event{Kind: EventThrottleReset, Outcome: OutcomeSuccess, ClientAddr: addr}
	if identifier == "" && addr == "" {
		return Errorf(EINVALID, "Give an identifier, a client address, or both.")
	}
	if identifier != "" {
		id, err := NormalizeIdentifier(identifier)
		if err != nil {
			return err
		}
		ev.IdentifierHash = s.key.Hash(id)
	}
	if err := s.throttle.Forget(ctx, ev.IdentifierHash, addr); err != nil {
		return err
	}
	ev.Time = s.clock.Now()
	s.auditor.RecordEvent(ctx, ev)
	return nil
}
