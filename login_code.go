package veil

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"strings"
)

// LoginCodeDigits is the length of a mailed sign-in code: 10⁸ codes, of
// which an attacker may try a handful before the identifier's sign-in
// bucket blocks, during the LoginCodeTTL one code lives.
const LoginCodeDigits = 8

// LoginCodeRequest asks for a sign-in code by mail.
type LoginCodeRequest struct {
	Email  string
	Client Client
	Proof  string // as in SignUpRequest
}

// RequestLoginCode queues a sign-in code for an address and answers the
// same for every address: the worker mails an account a code and a link
// (LoginCodeTTL, single use) and a disabled address nothing, an unknown
// one nothing or the sign-up link (MailPolicy.LoginCodeSignUp), so the
// flow tells no more than recovery does. The request's work is the same
// either way: the choice is the worker's. Requests are throttled
// like recovery, per target address and per client address.
func (s *Service) RequestLoginCode(ctx context.Context, req LoginCodeRequest) (err error) {
	id, err := NormalizeIdentifier(req.Email)
	if err != nil {
		return err
	}
	if err := s.settingsReady(); err != nil {
		return err
	}
	adm, err := s.throttleRequest(ctx, ActionRecover, EventLoginCode, id, req.Client, req.Proof)
	if err != nil {
		return err
	}
	defer func() { s.settleRequest(ctx, adm, err) }()
	if err := s.enqueue(ctx, &Job{Kind: JobLoginCode, Subject: string(id), SubjectHash: s.cfg.Key.Hash(id), Lang: req.Client.Lang}); err != nil {
		return err
	}
	s.cfg.Auditor.RecordEvent(ctx, &Event{Time: s.cfg.Clock.Now(), Kind: EventLoginCode, Outcome: OutcomeSuccess, IdentifierHash: s.cfg.Key.Hash(id), ClientAddr: req.Client.Addr})
	return nil
}

// LoginCodeSignIn signs in with a mailed code: Email and Code, or the
// Token of the mailed link instead.
type LoginCodeSignIn struct {
	Email, Code string
	Token       string
	Client      Client
	// PriorSessionToken, DeviceCookie and Proof are as in LoginRequest.
	PriorSessionToken string
	DeviceCookie      string
	Proof             string
}

// errInvalidCode is the one failure of a sign-in with a code, whatever
// the reason: unknown address, wrong, used or expired code.
var errInvalidCode = &Error{Code: EUNAUTHORIZED, Message: "The code is incorrect or has expired. Please ask for a new one."}

var errMalformedCode = Errorf(EINVALID, "The code must be %d digits.", LoginCodeDigits)

// NormalizeLoginCode returns the digits of a code as typed (spaces and
// hyphens between them allowed), or EINVALID.
func NormalizeLoginCode(s string) (string, error) {
	if len(s) > 4*LoginCodeDigits {
		return "", errMalformedCode
	}
	code := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
	if len(code) != LoginCodeDigits {
		return "", errMalformedCode
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", errMalformedCode
		}
	}
	return code, nil
}

// SignInWithCode checks a mailed code or link and starts a session.
//
// A code is checked like a password: throttled in the identifier's
// sign-in bucket before anything is looked up, under the time floor from
// the account lookup on, and counted as a sign-in. An unknown address
// costs what a real one does: the code is looked up for a decoy account.
// Every failure is the one EUNAUTHORIZED. A link's token has 256 bits and
// needs no throttle; a malformed one is EINVALID.
func (s *Service) SignInWithCode(ctx context.Context, req LoginCodeSignIn) (*LoginResult, error) {
	if req.Token != "" {
		return s.signInWithCodeLink(ctx, req)
	}
	id, err := NormalizeIdentifier(req.Email)
	if err != nil {
		return nil, err
	}
	code, err := NormalizeLoginCode(req.Code)
	if err != nil {
		return nil, err
	}
	if err := s.settingsReady(); err != nil {
		return nil, err
	}
	ev := &Event{Kind: EventLoginCodeSignIn, Outcome: OutcomeFailure, IdentifierHash: s.cfg.Key.Hash(id), ClientAddr: req.Client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	adm, err := s.cfg.Throttle.Check(ctx, &Attempt{Action: ActionLogin, Subject: ev.IdentifierHash, Addr: req.Client.Addr, Device: req.DeviceCookie, Proof: req.Proof})
	if err != nil {
		ev.Reason = throttleReason(err)
		return nil, err
	}
	res, err := s.checkCode(ctx, id, code, req, ev)
	return s.countLogin(ctx, adm, res, err)
}

// decoyAccountID stands for an unknown address's account in the code
// lookup, so that it costs what a real one does; no account has it
// (IDs are 26 characters).
const decoyAccountID = "decoy"

func (s *Service) checkCode(ctx context.Context, id Identifier, code string, req LoginCodeSignIn, ev *Event) (*LoginResult, error) {
	BeginAccountWork(ctx)
	acct, err := s.cfg.Accounts.FindAccountByIdentifier(ctx, id)
	owner := decoyAccountID
	switch {
	case err == nil:
		owner = acct.ID
	case ErrorCode(err) == ENOTFOUND:
		acct = nil
	default:
		ev.Reason = ReasonError
		return nil, unavailable("finding account for a code", err)
	}
	_, err = s.cfg.Settings.ConsumeLoginCode(ctx, owner, s.loginCodeHash(owner, code), s.cfg.Clock.Now())
	switch {
	case err != nil && ErrorCode(err) != ENOTFOUND:
		ev.Reason = ReasonError
		return nil, unavailable("consuming a code", err)
	case acct == nil:
		ev.Reason = ReasonUnknownIdentifier
		return nil, errInvalidCode
	case err != nil:
		ev.AccountID, ev.Reason = acct.ID, ReasonInvalidToken
		return nil, errInvalidCode
	case acct.Disabled:
		ev.AccountID, ev.Reason = acct.ID, ReasonDisabled
		return nil, errInvalidCode
	}
	return s.codeSession(ctx, acct, req, ev)
}

func (s *Service) signInWithCodeLink(ctx context.Context, req LoginCodeSignIn) (*LoginResult, error) {
	hash, err := ParseToken(req.Token)
	if err != nil {
		return nil, err
	}
	if err := s.settingsReady(); err != nil {
		return nil, err
	}
	ev := &Event{Kind: EventLoginCodeSignIn, Outcome: OutcomeFailure, Reason: ReasonInvalidToken, ClientAddr: req.Client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	BeginAccountWork(ctx)
	t, err := s.cfg.Settings.ConsumeAccountToken(ctx, hash, TokenLoginCode, s.cfg.Clock.Now())
	if ErrorCode(err) == ENOTFOUND {
		return nil, errInvalidCode
	} else if err != nil {
		ev.Reason = ReasonError
		return nil, unavailable("consuming a sign-in link", err)
	}
	acct, err := s.cfg.Accounts.FindAccountByID(ctx, t.AccountID)
	if ErrorCode(err) == ENOTFOUND || (err == nil && acct.Disabled) {
		return nil, errInvalidCode
	} else if err != nil {
		ev.Reason = ReasonError
		return nil, unavailable("finding the account of a sign-in link", err)
	}
	ev.IdentifierHash = s.cfg.Key.Hash(acct.Email)
	res, err := s.codeSession(ctx, acct, req, ev)
	if err != nil {
		return nil, err
	}
	if d, ok := s.cfg.Throttle.(DeviceIssuer); ok {
		res.DeviceCookie, res.DeviceExpires = d.IssueDevice(ev.IdentifierHash, req.DeviceCookie)
	}
	return res, nil
}

// codeSession starts the session of a good code and voids the account's
// other codes.
func (s *Service) codeSession(ctx context.Context, acct *Account, req LoginCodeSignIn, ev *Event) (*LoginResult, error) {
	ev.AccountID = acct.ID
	if err := s.cfg.Settings.DeleteAccountTokensOf(ctx, acct.ID, TokenLoginCode); err != nil {
		ev.Reason = ReasonError
		return nil, unavailable("voiding sign-in codes", err)
	}
	res, err := s.startSession(ctx, acct, LoginRequest{Client: req.Client, PriorSessionToken: req.PriorSessionToken})
	if err != nil {
		ev.Reason = ReasonError
		return nil, err
	}
	ev.Outcome, ev.Reason = OutcomeSuccess, ReasonNone
	return res, nil
}

// loginCodeHash is the stored form of a sign-in code: keyed, so that a
// copy of the database cannot be searched for the 10⁸ codes, and bound to
// its account.
func (s *Service) loginCodeHash(accountID, code string) []byte {
	mac := hmac.New(sha256.New, s.cfg.Key)
	mac.Write([]byte("veil login code v1\x00"))
	mac.Write([]byte(accountID))
	mac.Write([]byte{0})
	mac.Write([]byte(code))
	return mac.Sum(nil)
}

// newLoginCode returns a random code of LoginCodeDigits digits.
func newLoginCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(100_000_000))
	s := n.String()
	return strings.Repeat("0", LoginCodeDigits-len(s)) + s
}
