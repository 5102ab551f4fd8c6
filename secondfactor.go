package veil

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"
)

// PendingSignIn is a sign-in whose password was right and which waits for
// a second factor: no session yet. Token is handed to the client (a
// cookie) and comes back with the code.
type PendingSignIn struct {
	Token   string
	Methods []string // MethodTOTP, MethodRecoveryCode
	Expires time.Time
}

// PendingSignInTTL is how long the second step may take.
const PendingSignInTTL = 5 * time.Minute

// SecondFactorRequest is the second step of a sign-in: the pending token
// and one of Code (from the authenticator app) or RecoveryCode.
type SecondFactorRequest struct {
	Pending      string
	Code         string
	RecoveryCode string
	// Assertion, instead of a code, is a passkey's answer to options from
	// PasskeyLoginOptions.
	Assertion []byte
	Client    Client
	// PriorSessionToken, DeviceCookie and Proof are as in LoginRequest.
	PriorSessionToken string
	DeviceCookie      string
	Proof             string
}

var errSignInExpired = &Error{Code: EINVALIDCODE, Message: "This sign-in has expired. Please sign in again."}

// secondFactorMethods returns the second factors an account must present
// after its password, or nil when it has none: an authenticator app, a
// passkey, and with either, a recovery code.
func (s *Service) secondFactorMethods(ctx context.Context, acct *Account) ([]string, error) {
	totp, passkeys, err := s.factorsOf(ctx, acct)
	if err != nil {
		return nil, err
	}
	var methods []string
	if totp {
		methods = append(methods, MethodTOTP)
	}
	if passkeys > 0 {
		methods = append(methods, MethodPasskey)
	}
	if methods != nil {
		methods = append(methods, MethodRecoveryCode)
	}
	return methods, nil
}

// factorsOf says whether the account has a confirmed authenticator app
// and how many passkeys.
func (s *Service) factorsOf(ctx context.Context, acct *Account) (bool, int, error) {
	totp, _, err := s.HasTOTP(ctx, acct)
	if err != nil {
		return false, 0, err
	}
	keys, err := s.ListPasskeys(ctx, acct)
	return totp, len(keys), err
}

// pendingSignIn returns the token of a sign-in waiting for a second
// factor: signed, expiring, naming the account and the throttle subject of
// its identifier, so that the second step is throttled before anything is
// looked up, in the same counters as the password.
func (s *Service) pendingSignIn(acct *Account, methods []string) *PendingSignIn {
	exp := s.cfg.Clock.Now().Add(PendingSignInTTL)
	var nonce [12]byte
	rand.Read(nonce[:])
	payload := make([]byte, 8, 64)
	binary.BigEndian.PutUint64(payload, uint64(exp.Unix()))
	payload = append(payload, nonce[:]...)
	payload = append(payload, acct.ID+"|"+s.cfg.Key.Hash(acct.Email)...)
	tok := base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(s.pendingMAC(payload))
	return &PendingSignIn{Token: tok, Methods: methods, Expires: exp}
}

func (s *Service) pendingMAC(payload []byte) []byte {
	m := hmac.New(sha256.New, s.cfg.Key)
	m.Write([]byte("veil pending sign-in v1\x00"))
	m.Write(payload)
	return m.Sum(nil)[:16]
}

// parsePending returns the account ID and throttle subject of a pending
// token that veil made and that has not expired.
func (s *Service) parsePending(tok string) (accountID, subject string, ok bool) {
	p64, m64, found := strings.Cut(tok, ".")
	if !found || len(tok) > 256 {
		return "", "", false
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(m64)
	if err1 != nil || err2 != nil || len(payload) < 20 || !hmac.Equal(mac, s.pendingMAC(payload)) {
		return "", "", false
	}
	if !s.cfg.Clock.Now().Before(time.Unix(int64(binary.BigEndian.Uint64(payload)), 0)) {
		return "", "", false
	}
	accountID, subject, found = strings.Cut(string(payload[20:]), "|")
	return accountID, subject, found
}

// CompleteSignIn is the second step of a sign-in: a code from the
// authenticator app, or a recovery code, for a pending sign-in. It starts
// the session the password alone did not.
//
// It is throttled like the password, in the same counters (the
// identifier's, the client address's, the device's), reserved before
// anything is looked up; a wrong code is counted and audited like a wrong
// password, and a device cookie lets a client past a lockout but never
// past the code. A code whose time step was used already is refused.
func (s *Service) CompleteSignIn(ctx context.Context, req SecondFactorRequest) (*LoginResult, error) {
	check, err := s.parseCode(req.Code, req.RecoveryCode, req.Assertion)
	if err != nil {
		return nil, err
	}
	ev := &Event{Kind: EventSecondFactor, Outcome: OutcomeFailure, ClientAddr: req.Client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	accountID, subject, ok := s.parsePending(req.Pending)
	if !ok || s.cfg.Factors == nil {
		ev.Reason = ReasonExpiredSignIn
		return nil, errSignInExpired
	}
	ev.AccountID, ev.IdentifierHash = accountID, subject
	adm, err := s.cfg.Throttle.Check(ctx, &Attempt{
		Action: ActionLogin, Subject: subject, Addr: req.Client.Addr,
		Device: req.DeviceCookie, Proof: req.Proof,
	})
	if err != nil {
		ev.Reason = throttleReason(err)
		return nil, err
	}
	res, err := s.secondStep(ctx, accountID, check, req, ev)
	return s.countLogin(ctx, adm, res, err)
}

func (s *Service) secondStep(ctx context.Context, accountID string, check codeCheck, req SecondFactorRequest, ev *Event) (*LoginResult, error) {
	BeginAccountWork(ctx)
	acct, err := s.cfg.Accounts.FindAccountByID(ctx, accountID)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		ev.Reason = ReasonUnknownIdentifier
		return nil, errSignInExpired
	case err != nil:
		ev.Reason = ReasonError
		return nil, unavailable("finding the account of a pending sign-in", err)
	case acct.Disabled:
		ev.Reason = ReasonDisabled
		return nil, errSignInExpired
	}
	if err := check(ctx, acct, ev); err != nil {
		return nil, err
	}
	res, err := s.startSession(ctx, acct, LoginRequest{Client: req.Client, PriorSessionToken: req.PriorSessionToken})
	if err != nil {
		ev.Reason = ReasonError
		return nil, err
	}
	ev.Outcome = OutcomeSuccess
	if ev.Reason == "" {
		ev.Reason = MethodTOTP
	}
	return res, nil
}

// codeCheck verifies a code for an account, recording the reason of a
// failure (or, for a recovery code, the method) in ev.
type codeCheck func(ctx context.Context, acct *Account, ev *Event) error

// parseCode checks the shape of exactly one of a TOTP code, a recovery
// code and a passkey assertion, from the input alone (EINVALID), and
// returns its check.
func (s *Service) parseCode(code, recoveryCode string, assertion []byte) (codeCheck, error) {
	n := 0
	for _, given := range []bool{code != "", recoveryCode != "", len(assertion) > 0} {
		if given {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, Errorf(EINVALID, "Send one of a code, a recovery code and a passkey.")
	case code != "":
		c, err := ParseTOTPCode(code)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, acct *Account, ev *Event) error { return s.verifyTOTP(ctx, acct, c, ev) }, nil
	case recoveryCode != "":
		c, err := ParseRecoveryCode(recoveryCode)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, acct *Account, ev *Event) error { return s.useRecoveryCode(ctx, acct, c, ev) }, nil
	case len(assertion) > 0 && s.cfg.Ceremonies != nil:
		a, err := s.cfg.Ceremonies.ParseAssertion(assertion)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, acct *Account, ev *Event) error {
			_, err := s.verifyPasskey(ctx, a, acct.ID, false, ev)
			if ErrorCode(err) == EUNAUTHORIZED {
				// The second step's one failure, as for a code.
				return errPasskeyFactorFailed
			} else if err != nil {
				return err
			}
			ev.Reason = MethodPasskey
			return nil
		}, nil
	}
	return nil, Errorf(EINVALID, "Send the code from your authenticator app, or a recovery code.")
}

// throttledCode runs check, a code check for a signed-in account (turning
// a factor off, confirming one), in the sign-in's throttle counters, so
// that a stolen session cannot guess codes any faster than a sign-in can.
func (s *Service) throttledCode(ctx context.Context, acct *Account, client Client, device string, ev *Event, check func() error) error {
	ev.IdentifierHash = s.cfg.Key.Hash(acct.Email)
	adm, err := s.cfg.Throttle.Check(ctx, &Attempt{Action: ActionLogin, Subject: ev.IdentifierHash, Addr: client.Addr, Device: device})
	if err != nil {
		ev.Reason = throttleReason(err)
		return err
	}
	_, err = s.countLogin(ctx, adm, &LoginResult{}, check())
	return err
}
