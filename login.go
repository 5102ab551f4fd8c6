package veil

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Client describes who made a request, for sessions and the audit log.
type Client struct {
	Addr      string
	UserAgent string
	// Lang is the language of the request (a locale code, "" for
	// English): mail that the request causes is written in it. It comes
	// from the request alone (a cookie, Accept-Language), never from the
	// account, so a mail's language says nothing the requester did not.
	Lang string
}

// LoginRequest is what a person presents to sign in.
type LoginRequest struct {
	Identifier string // as typed
	Password   string
	Client     Client
	// PriorSessionToken is the session the client held before, if any; it is
	// ended on success so that a planted session id cannot be carried into
	// the new sign-in (session fixation).
	PriorSessionToken string
	// DeviceCookie is the device cookie the client presented, or "": one
	// bound to this identifier lets the client past the identifier's
	// lockout (it is counted in its own bucket).
	DeviceCookie string
	// Proof is a proof-of-work solution ("token:solution"), or "".
	Proof string
}

// LoginResult is a successful sign-in.
type LoginResult struct {
	Account *Account
	Session *Session
	Token   string // given to the client once, never stored
	// DeviceCookie, when not "", is a fresh device cookie for the client,
	// valid until DeviceExpires.
	DeviceCookie  string
	DeviceExpires time.Time
	// SecondFactor, when not nil, says the password was right and the
	// account needs a second factor (CompleteSignIn) before a session:
	// Session and Token are then empty.
	SecondFactor *PendingSignIn
}

// errInvalidCredentials is the one public failure of a sign-in, whatever the
// true reason.
var errInvalidCredentials = &Error{Code: EUNAUTHORIZED, Message: "The email address or password is incorrect."}

// Login checks a password and starts a session.
//
// Every failure returns the same EUNAUTHORIZED error after the same work: an
// unknown identifier is verified against the decoy hash, a disabled account
// against its own hash. Syntax errors (EINVALID) depend only on the input, and
// EOVERLOADED only on the hashing pool. The true reason goes to the Auditor.
//
// The throttle decides before the account is looked up, from the keyed hash
// of the identifier and the client's address only (ETHROTTLED), reserving
// the attempt so that concurrent guesses count from the start, and settles
// it after: a failed check is counted, a success or a fault of veil's is
// not (loginOutcome).
func (s *Service) Login(ctx context.Context, req LoginRequest) (*LoginResult, error) {
	id, err := NormalizeIdentifier(req.Identifier)
	if err != nil {
		return nil, err
	}
	if err := CheckPassword(req.Password); err != nil {
		return nil, err
	}
	ev := &Event{Kind: EventLogin, Outcome: OutcomeFailure, IdentifierHash: s.cfg.Key.Hash(id), ClientAddr: req.Client.Addr}
	defer func() {
		ev.Time = s.cfg.Clock.Now()
		s.cfg.Auditor.RecordEvent(ctx, ev)
	}()
	adm, err := s.cfg.Throttle.Check(ctx, &Attempt{
		Action: ActionLogin, Subject: ev.IdentifierHash, Addr: req.Client.Addr,
		Device: req.DeviceCookie, Proof: req.Proof,
	})
	if err != nil {
		ev.Reason = throttleReason(err)
		return nil, err
	}
	res, err := s.checkAndStart(ctx, id, req, adm.Trusted, ev)
	return s.countLogin(ctx, adm, res, err)
}

// checkAndStart checks the password and starts a session, recording the
// true reason of a failure in ev. trusted is the throttle's Admission.Trusted.
func (s *Service) checkAndStart(ctx context.Context, id Identifier, req LoginRequest, trusted bool, ev *Event) (*LoginResult, error) {
	// From here on the cost may depend on the account: the time floor
	// starts counting (everything before depends only on the input and
	// the counters).
	BeginAccountWork(ctx)
	check, err := s.cfg.Checker.CheckPassword(ctx, PasswordAttempt{Identifier: id, Password: req.Password, Trusted: trusted})
	if err != nil {
		ev.Reason = reasonOf(err)
		return nil, unavailable("checking a password", err)
	}
	acct := check.Account
	switch {
	case acct == nil:
		ev.Reason = orDefault(check.Reason, ReasonUnknownIdentifier)
		return nil, errInvalidCredentials
	case !check.Match:
		ev.AccountID, ev.Reason = acct.ID, orDefault(check.Reason, ReasonWrongPassword)
		return nil, errInvalidCredentials
	case acct.Disabled || check.Reason != "":
		ev.AccountID, ev.Reason = acct.ID, orDefault(check.Reason, ReasonDisabled)
		return nil, errInvalidCredentials
	}
	ev.AccountID = acct.ID
	if check.Stale {
		s.rehash(ctx, acct, req.Password)
	}
	// Only now, after the right password, may the answer differ: a
	// wrong password answers the one failure whatever factors exist.
	if methods, err := s.secondFactorMethods(ctx, acct); err != nil {
		ev.Reason = ReasonError
		return nil, err
	} else if methods != nil {
		ev.Outcome, ev.Reason = OutcomePending, ReasonSecondFactorRequired
		return &LoginResult{Account: acct, SecondFactor: s.pendingSignIn(acct, methods)}, nil
	}
	res, err := s.startSession(ctx, acct, req)
	if err != nil {
		ev.Reason = ReasonError
		return nil, err
	}
	ev.Outcome = OutcomeSuccess
	return res, nil
}

// PasswordCheck is the verdict of checking a password where the
// credentials live.
type PasswordCheck struct {
	Account *Account // nil when no account has the identifier
	Match   bool     // the password is the account's
	Stale   bool     // the stored hash was made under an older policy
	// Reason, when not "", is why the account cannot sign in even with the
	// right password, or why the check failed (ReasonLocked, ...); with no
	// Account, why no account is the one (ReasonAmbiguous: several match).
	// For the audit log only.
	Reason string
}

// PasswordAttempt is one password to check for one identifier.
type PasswordAttempt struct {
	Identifier Identifier
	Password   string
	// Trusted is true when the throttle admitted the attempt on a device
	// cookie bound to the identifier (Admission.Trusted): the browser has
	// signed in to the account before. A checker that spares accounts near
	// a lockout it does not control (a directory's) keeps a reserve of
	// failures for trusted attempts, so that strangers' guesses cannot
	// keep the person out of her own browser. It must not change the
	// answer or the work of anyone else's attempt.
	Trusted bool
}

// PasswordChecker checks a password for an identifier, doing the same work
// whether or not an account has it. The local checker verifies stored
// hashes (and a decoy for unknown identifiers); an external directory
// binds (and makes a decoy bind).
type PasswordChecker interface {
	// CheckPassword returns the verdict, or an error (EOVERLOADED, EUNAVAILABLE, or an
	// internal one) that does not depend on whether the account exists.
	CheckPassword(ctx context.Context, a PasswordAttempt) (*PasswordCheck, error)
}

// localChecker checks passwords against hashes in an AccountStore.
type localChecker struct {
	accounts AccountStore
	hasher   PasswordHasher
	// decoyHash is a hash of a random password under the current policy.
	// Unknown identifiers are verified against it so that they cost exactly
	// what a real account costs.
	decoyHash string
}

// CheckPassword implements PasswordChecker. A disabled account is verified
// like any other: its answer must cost the same. Trusted changes nothing
// here: veil's own lockout is the throttle's, which already lets a trusted
// device through.
func (c *localChecker) CheckPassword(ctx context.Context, a PasswordAttempt) (*PasswordCheck, error) {
	acct, err := c.accounts.FindAccountByIdentifier(ctx, a.Identifier)
	encoded := c.decoyHash
	switch {
	case err == nil && acct != nil:
		encoded = acct.PasswordHash
	case err == nil || ErrorCode(err) == ENOTFOUND:
		acct = nil
	default:
		// A store failure is answered the same for every identifier: the
		// store failed before it could tell anything.
		return nil, unavailable("finding account for sign-in", err)
	}
	if err := LookupDone(ctx); err != nil {
		return nil, err
	}
	match, stale, err := c.hasher.VerifyPassword(ctx, encoded, a.Password)
	if err != nil {
		return nil, err
	}
	return &PasswordCheck{Account: acct, Match: match && acct != nil, Stale: stale}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func reasonOf(err error) string {
	if ErrorCode(err) == EOVERLOADED {
		return ReasonOverloaded
	}
	return ReasonError
}

// rehash replaces a hash made under an older policy. It runs only after a
// successful sign-in, whose answer differs from a failure anyway. A failure
// here must not fail the sign-in: the old hash still works.
func (s *Service) rehash(ctx context.Context, acct *Account, password string) {
	encoded, err := s.cfg.Hasher.HashPassword(ctx, password)
	if err != nil {
		return
	}
	if err := s.cfg.Accounts.ReplacePasswordHash(ctx, acct.ID, acct.PasswordHash, encoded); err == nil {
		acct.PasswordHash = encoded
	}
}

func (s *Service) startSession(ctx context.Context, acct *Account, req LoginRequest) (*LoginResult, error) {
	if req.PriorSessionToken != "" && validSessionToken(req.PriorSessionToken) {
		if err := s.cfg.Sessions.DeleteSession(ctx, HashToken(req.PriorSessionToken)); err != nil {
			return nil, unavailable("ending prior session", err)
		}
	}
	now := s.cfg.Clock.Now()
	token, idHash := NewSessionToken()
	sess := &Session{
		IDHash:     idHash,
		AccountID:  acct.ID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(s.cfg.SessionPolicy.AbsoluteTimeout),
		ClientAddr: req.Client.Addr,
		UserAgent:  cleanClientText(req.Client.UserAgent, 256),
	}
	if err := s.cfg.Sessions.CreateSession(ctx, sess); err != nil {
		return nil, unavailable("creating session", err)
	}
	return &LoginResult{Account: acct, Session: sess, Token: token}, nil
}

var errNoSession = &Error{Code: ENOSESSION, Message: "Not signed in."}

// Authenticate returns the account and session for a session token, or
// ENOSESSION if the token is malformed, unknown, expired, or belongs to a
// disabled or deleted account.
func (s *Service) Authenticate(ctx context.Context, token string) (*Account, *Session, error) {
	if !validSessionToken(token) {
		return nil, nil, errNoSession
	}
	idHash := HashToken(token)
	sess, err := s.cfg.Sessions.FindSession(ctx, idHash)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, errNoSession
	} else if err != nil {
		return nil, nil, unavailable("finding session", err)
	}
	now := s.cfg.Clock.Now()
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.LastSeenAt.Add(s.cfg.SessionPolicy.IdleTimeout)) {
		_ = s.cfg.Sessions.DeleteSession(ctx, idHash)
		return nil, nil, errNoSession
	}
	acct, err := s.cfg.Accounts.FindAccountByID(ctx, sess.AccountID)
	if ErrorCode(err) == ENOTFOUND || (err == nil && acct.Disabled) {
		_ = s.cfg.Sessions.DeleteSession(ctx, idHash)
		return nil, nil, errNoSession
	} else if err != nil {
		return nil, nil, unavailable("finding session account", err)
	}
	if now.Sub(sess.LastSeenAt) >= touchInterval {
		if err := s.cfg.Sessions.TouchSession(ctx, idHash, now); err != nil {
			return nil, nil, unavailable("touching session", err)
		}
		sess.LastSeenAt = now
	}
	return acct, sess, nil
}

// Logout ends the session of token, if there is one. It never fails for a
// malformed or unknown token: signing out is always possible.
func (s *Service) Logout(ctx context.Context, token string, client Client) error {
	if !validSessionToken(token) {
		return nil
	}
	idHash := HashToken(token)
	defer s.identities.forget(idHash) // after the delete: identity_cache.go
	sess, err := s.cfg.Sessions.FindSession(ctx, idHash)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil
		}
		return unavailable("finding session", err)
	}
	if err := s.cfg.Sessions.DeleteSession(ctx, idHash); err != nil {
		return unavailable("deleting session", err)
	}
	s.cfg.Auditor.RecordEvent(ctx, &Event{Time: s.cfg.Clock.Now(), Kind: EventLogout, Outcome: OutcomeSuccess, AccountID: sess.AccountID, ClientAddr: client.Addr})
	return nil
}

// cleanClientText makes a client-supplied header fit for storage: valid
// UTF-8, no control characters, at most n bytes. Headers may carry any
// byte, and a store must never fail on what a client chose to send.
func cleanClientText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
