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
// send back Token + ":" + solution before Expires. Each is good once, and
// only for the action, identifier and client address it was issued to, so
// challenges gathered on a throwaway identifier buy nothing on another.
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
	// may go on, and if it may, reserves it in every counter it is checked
	// against, in one atomic step: attempts in flight count like failures,
	// so a burst sent at once gets no more checks than one sent in turn.
	// It returns ETHROTTLED (a *ThrottleError with a Retry-After and, when
	// a proof of work would let the client in sooner, a Challenge),
	// EUNAVAILABLE when its store is unreachable and it fails closed, or an
	// admission, which the caller must hand to Done.
	Check(ctx context.Context, a *Attempt) (*Admission, error)
	// Done settles an admission: a failure is counted, a success or a
	// fault releases the reservation uncounted, an abandoned attempt's
	// reservation is left to lapse. Callers must not tell it why an
	// attempt failed.
	Done(ctx context.Context, adm *Admission, outcome AttemptOutcome) (*ThrottleResult, error)
	// Forget clears, for every action, the failures, blocks and slow-lane
	// turns counted against subject (an IdentifierKey hash) and against
	// the client address addr; an empty one is left alone. An operator's
	// tool, for a person locked out by someone else's attempts.
	Forget(ctx context.Context, subject, addr string) error
}

// AttemptOutcome is all a throttle learns of how an admitted attempt
// ended. It is decided from the public answer alone (see loginOutcome),
// never from the reason.
type AttemptOutcome int

const (
	// AttemptFailed is a completed check that failed: counted.
	AttemptFailed AttemptOutcome = iota
	// AttemptSucceeded is a success: released, and the throttle may
	// trust the client's device from then on.
	AttemptSucceeded
	// AttemptFaulted is an attempt that a fault of veil's (an overloaded
	// pool, a store that is down) ended before it was decided: released
	// uncounted, since it was not the person's doing.
	AttemptFaulted
	// AttemptAbandoned is an attempt whose client went away before the
	// answer: not counted, but its reservation is left to lapse, so that
	// clients who cancel every request cannot check passwords (or bind to
	// a directory) at any rate they like.
	AttemptAbandoned
	// AttemptReleased is an attempt that ended without a check that could
	// fail and without a success that would trust the device: a right
	// password still waiting for its second factor, or passkey options,
	// which check nothing. Released uncounted like a fault, but it is no
	// fault: the throttle's metrics keep it apart, or every such sign-in
	// would read as an outage of veil's.
	AttemptReleased
)

// ThrottleRecord is what a ThrottleStore keeps under one key.
type ThrottleRecord struct {
	Failures     int64     // counted since the key was forgotten
	InFlight     int64     // reservations neither settled nor lapsed
	BlockedUntil time.Time // zero when never blocked
	// Prior is the failures of the bucket's Prior key, if it has one.
	Prior int64
}

// ThrottleBucket is one counter an attempt is checked and counted in, with
// what a store must know of its policy to decide in one atomic step.
type ThrottleBucket struct {
	Key string
	// TTL is how long the key keeps its failures after the last one.
	TTL time.Duration
	// ChallengeAt, when positive, is the load at which an attempt needs a
	// proof of work (or a slow-lane turn). The load is the failures plus
	// the reservations in flight, plus PriorWeight times the failures of
	// Prior when it is not "" (a sliding window over two counters).
	ChallengeAt int64
	Prior       string
	PriorWeight float64
	// BlockAfter, when positive, is the count of failures from which each
	// further failure blocks the key: for BlockFor, doubling with each
	// failure past BlockAfter, up to BlockMax. It also bounds the
	// attempts in flight to max(BlockAfter - failures, 1), so that a
	// burst cannot run past a block that its own failures would cause.
	BlockAfter         int64
	BlockFor, BlockMax time.Duration
	// SlowLane marks a bucket with slow-lane turns.
	SlowLane bool
}

// ThrottleReservation asks a store to admit an attempt.
type ThrottleReservation struct {
	Buckets []ThrottleBucket
	// Hold is how long a reservation that is never settled counts: a
	// request that crashed holds its buckets no longer. A store may
	// assume every reservation of a key has the same Hold.
	Hold time.Duration
	// Proof, when not "", is the key of a proof of work the throttle has
	// verified; it is claimed (good once, until ProofUntil) only when a
	// bucket asks for a proof.
	Proof      string
	ProofUntil time.Time
	// SlowLane is how long a slow-lane turn lasts.
	SlowLane time.Duration
}

// ThrottleDecision is what a store decided.
type ThrottleDecision struct {
	// Admitted attempts are reserved in every bucket; Ticket names the
	// reservation for Settle.
	Admitted bool
	Ticket   string
	// Challenged: a bucket asked for a proof of work. An admitted,
	// challenged attempt came in on its proof (Proved) or on a slow-lane
	// turn of every bucket that has them (SlowLane).
	Challenged, Proved, SlowLane bool
	// A refused attempt was Blocked (RetryAfter is the block's remaining
	// time), Busy (as many attempts are in flight as may be), or
	// challenged without a fresh proof while a slow-lane turn was taken
	// (RetryAfter is the remaining time of the latest one).
	Blocked, Busy bool
	RetryAfter    time.Duration
	// Records are the buckets' records as the decision saw them.
	Records []ThrottleRecord
}

// ThrottleSettlement ends a reservation.
type ThrottleSettlement struct {
	Ticket  string
	Buckets []ThrottleBucket // as reserved
	// Failure counts one failure in each bucket (blocking it as its
	// escalation says); otherwise the reservation is released uncounted.
	Failure bool
}

// ThrottleStore keeps throttle counters, in memory or shared between
// instances. Keys are made by the throttle from keyed hashes and address
// prefixes, never from an identifier. Every key a store holds expires.
type ThrottleStore interface {
	// Reserve decides, in one atomic step, whether an attempt may go on:
	// refused while any bucket is blocked or has as many attempts in
	// flight as it may; challenged when any bucket's load reaches its
	// ChallengeAt, and then admitted on a fresh proof, or on one
	// slow-lane turn of every slow-lane bucket — all free and all taken
	// together, or none taken. A refusal for a taken turn holds every
	// turn of the attempt until the latest one is free (RetryAfter), so
	// that a client told to wait that long finds them all free, rather
	// than each taken by someone else in turn. An admitted attempt is
	// reserved in every bucket until it is settled or Hold passes.
	Reserve(ctx context.Context, r *ThrottleReservation) (*ThrottleDecision, error)
	// Settle ends a reservation as a failure or releases it, atomically,
	// and returns the buckets' records after. A ticket that has lapsed is
	// no error: a failure is still counted.
	Settle(ctx context.Context, s *ThrottleSettlement) ([]ThrottleRecord, error)
	// Records returns the record of each key, in order; a key the store
	// does not hold (or no longer holds) has the zero record.
	Records(ctx context.Context, keys []string) ([]ThrottleRecord, error)
	// Forget removes keys with all they hold (failures, blocks,
	// reservations, slow-lane turns); keys it does not hold are no error.
	Forget(ctx context.Context, keys ...string) error
}

// ThrottleError is a public failure with what the client needs to try
// again: how long to wait, and, when solving a proof of work would let it
// in sooner, a challenge. Its code is that of Err: ETHROTTLED for an
// attempt held back, that of a failed check (failedCheck) after which the
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
	if ch == nil || !errors.As(err, &e) || !failedCheck(e) {
		return err
	}
	return &ThrottleError{Err: e, Challenge: ch}
}

// failedCheck reports whether err is the one public failure of a completed
// check: EUNAUTHORIZED for a password, passkey or mailed code, EINVALIDCODE
// for a sign-in's second step. Every other code is a syntax error, a hold
// or a fault, none of which the person caused by a wrong guess.
func failedCheck(err error) bool {
	switch ErrorCode(err) {
	case EUNAUTHORIZED, EINVALIDCODE:
		return true
	}
	return false
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

// loginOutcome is what the throttle learns of how a sign-in it admitted
// ended, read from the public answer only: a success, the one failure of
// a completed check (failedCheck: a wrong password and an unknown
// identifier alike, since they share it), or anything else — an
// overloaded pool, a store or directory that failed, a deadline — which
// is veil's fault and not counted. This leaks nothing: the outcome is a
// function of the answer the client gets anyway, and a fault's answer
// (EOVERLOADED, EINTERNAL) is the same for every identifier, so whether
// it was counted cannot depend on the account either. A client that went
// away is not counted either, but its reservation lapses instead of being
// released, so cancelling requests buys no extra checks.
func loginOutcome(ctx context.Context, err error) AttemptOutcome {
	switch {
	case err == nil:
		return AttemptSucceeded
	case failedCheck(err):
		return AttemptFailed
	case errors.Is(ctx.Err(), context.Canceled):
		return AttemptAbandoned
	}
	return AttemptFaulted
}

// countLogin tells the throttle how a sign-in it admitted ended and adds
// what it gives back to the answer. A failure to count never changes the
// answer: the throttle logs its own store errors, and a failure that does
// not depend on the account must not become one that does. It counts even
// when the client has gone away, so the request's cancellation is dropped.
func (s *Service) countLogin(ctx context.Context, adm *Admission, res *LoginResult, err error) (*LoginResult, error) {
	outcome := loginOutcome(ctx, err)
	if err == nil && res.SecondFactor != nil {
		// The password was right but the sign-in is not done: released
		// uncounted, and no device cookie until the second factor.
		outcome = AttemptReleased
	}
	out, terr := s.cfg.Throttle.Done(context.WithoutCancel(ctx), adm, outcome)
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
// something whatever its outcome (sign-up, recovery), per client address
// and per target address, blind to whether an account has it: the keyed
// hash is the same for a taken address and a free one. It returns the
// admission to settle with settleRequest, or the error to answer with
// (ETHROTTLED, EOVERLOADED, EUNAVAILABLE), and audits a refusal as an event of kind.
func (s *Service) throttleRequest(ctx context.Context, action, kind string, id Identifier, client Client, proof string) (*Admission, error) {
	hash := s.cfg.Key.Hash(id)
	adm, err := s.cfg.Throttle.Check(ctx, &Attempt{Action: action, Subject: hash, Addr: client.Addr, Proof: proof})
	if err != nil {
		s.cfg.Auditor.RecordEvent(ctx, &Event{Time: s.cfg.Clock.Now(), Kind: kind, Outcome: OutcomeFailure,
			Reason: throttleReason(err), IdentifierHash: hash, ClientAddr: client.Addr})
		return nil, err
	}
	return adm, nil
}

// settleRequest counts a request throttleRequest let through once it is
// done: as a failure when its job was written (there is no success that
// would forgive it, and the count is the budget of mail a target may
// receive), uncounted when err says a fault stopped it first (everything
// that depends on the input alone was checked before the throttle, so any
// error here is veil's, and the same for every address).
func (s *Service) settleRequest(ctx context.Context, adm *Admission, err error) {
	outcome := AttemptFailed
	switch {
	case err != nil && errors.Is(ctx.Err(), context.Canceled):
		outcome = AttemptAbandoned
	case err != nil:
		outcome = AttemptReleased
	}
	_, _ = s.cfg.Throttle.Done(context.WithoutCancel(ctx), adm, outcome)
}

// noThrottle admits everything: a Service without a Throttle (tests, tools).
type noThrottle struct{}

func (noThrottle) Check(_ context.Context, a *Attempt) (*Admission, error) {
	return &Admission{Attempt: *a}, nil
}

func (noThrottle) Done(context.Context, *Admission, AttemptOutcome) (*ThrottleResult, error) {
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
		ev.IdentifierHash = s.cfg.Key.Hash(id)
	}
	if err := s.cfg.Throttle.Forget(ctx, ev.IdentifierHash, addr); err != nil {
		return err
	}
	ev.Time = s.cfg.Clock.Now()
	s.cfg.Auditor.RecordEvent(ctx, ev)
	return nil
}
