package veil

import (
	"context"
	"time"
)

// MailPolicy configures the flows that answer "check your email".
type MailPolicy struct {
	BaseURL       string        // where links in mail point, without a trailing slash
	SiteName      string        // how mail names the service
	SignUpTTL     time.Duration // how long a confirmation link works
	ResetTTL      time.Duration // how long a reset link works
	NotifyUnknown bool          // recovery for an unknown address mails a notice
	// LoginCodeSignUp: a sign-in code asked for an address without an
	// account mails that address the sign-up link instead of nothing.
	LoginCodeSignUp bool
}

// DefaultMailPolicy: a day to confirm an address, half an hour to reset.
var DefaultMailPolicy = MailPolicy{BaseURL: "http://127.0.0.1:8080", SiteName: "veil", SignUpTTL: 24 * time.Hour, ResetTTL: 30 * time.Minute}

var errMailFlowsOff = &Error{Code: EINVALID, Message: "Sign-up and password recovery are not available here."}

// SignUpRequest is what a person sends to sign up: only the address.
type SignUpRequest struct {
	Email  string
	Client Client
	// Proof is a proof-of-work solution ("token:solution") once the
	// throttle has asked for one, or "".
	Proof string
}

// SignUp records a sign-up and leaves the rest to the outbox worker, which
// mails either a confirmation link (a new address) or a "you already have
// an account" notice (a taken one). It never looks the address up and
// takes no password: every valid request does the same work — check, one
// transaction — and gets the same answer, and whoever typed the address
// has no say in the account it may become (no pre-hijacking).
func (s *Service) SignUp(ctx context.Context, req SignUpRequest) (err error) {
	id, err := NormalizeIdentifier(req.Email)
	if err != nil {
		return err
	}
	if s.cfg.SignUps == nil {
		return errMailFlowsOff
	}
	if s.elsewhere != nil {
		return s.elsewhere
	}
	adm, err := s.throttleRequest(ctx, ActionSignUp, EventSignUp, id, req.Client, req.Proof)
	if err != nil {
		return err
	}
	defer func() { s.settleRequest(ctx, adm, err) }()
	now := s.cfg.Clock.Now()
	p := &PendingSignUp{ID: NewAccountID(), Email: id, CreatedAt: now}
	job := &Job{Kind: JobSignUp, Subject: p.ID, Lang: req.Client.Lang, CreatedAt: now, NextAttemptAt: now}
	if err := s.cfg.SignUps.CreatePendingSignUp(ctx, p, job); err != nil {
		return unavailable("recording a sign-up", err)
	}
	s.wakeWorker()
	s.cfg.Auditor.RecordEvent(ctx, &Event{Time: now, Kind: EventSignUp, Outcome: OutcomeSuccess, IdentifierHash: s.cfg.Key.Hash(id), ClientAddr: req.Client.Addr})
	return nil
}

// ConfirmSignUpRequest is what the person who followed a confirmation
// link sends: the token, and the password and display name she chooses.
type ConfirmSignUpRequest struct {
	Token       string
	Password    string
	DisplayName string // optional; see NormalizeDisplayName
	Client      Client
	// PriorSessionToken is the session the client held before, if any;
	// it ends, as on a sign-in (session fixation).
	PriorSessionToken string
}

// DeviceIssuer is implemented by a Throttle that can bind a device cookie
// to an identifier outside a sign-in. Confirming a sign-up proves the
// mailbox and sets the password, as much as any sign-in does, so the
// browser that did it gets past a lockout someone else causes later.
type DeviceIssuer interface {
	// IssueDevice returns a device cookie for subject (an IdentifierKey
	// hash) and its expiry, or "" when the policy has no device cookies.
	// prior is the device cookie the browser presented, or "": what it
	// holds for other subjects is carried along.
	IssueDevice(subject, prior string) (cookie string, expires time.Time)
}

// ConfirmSignUp creates the account of a confirmed address with the
// password and display name of whoever holds the link, and signs her in.
//
// The password and the name are checked first, from the input alone, and
// the token's shape next: their errors spend nothing, so a person who
// mistyped can try again with the same link. The password is hashed only
// for a live token (a look that does not spend it), so garbage tokens
// cost no hash; the token is spent and the account created in one
// transaction. Any token that is malformed, unknown, used, expired, or
// whose address has an account by now gets the one invalid-token answer:
// of several pending sign-ups for one address, each link works until one
// of them made the account.
func (s *Service) ConfirmSignUp(ctx context.Context, req ConfirmSignUpRequest) (*LoginResult, error) {
	if err := CheckNewPassword(req.Password); err != nil {
		return nil, err
	}
	name, err := NormalizeDisplayName(req.DisplayName)
	if err != nil {
		return nil, err
	}
	if s.cfg.SignUps == nil {
		return nil, errMailFlowsOff
	}
	if s.elsewhere != nil {
		return nil, s.elsewhere
	}
	hash, err := ParseToken(req.Token)
	if err != nil {
		return nil, err
	}
	ev := &Event{Kind: EventSignUpConfirm, Outcome: OutcomeFailure, Reason: ReasonInvalidToken, ClientAddr: req.Client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	acct, err := s.createConfirmedAccount(ctx, hash, req.Password, name, ev)
	if err != nil {
		return nil, err
	}
	res, err := s.startSession(ctx, acct, LoginRequest{Client: req.Client, PriorSessionToken: req.PriorSessionToken})
	if err != nil {
		// The account exists and its owner knows the password: she can
		// sign in. Only the session failed.
		ev.Reason = ReasonError
		return nil, err
	}
	if d, ok := s.cfg.Throttle.(DeviceIssuer); ok {
		res.DeviceCookie, res.DeviceExpires = d.IssueDevice(s.cfg.Key.Hash(acct.Email), "")
	}
	ev.Outcome, ev.Reason = OutcomeSuccess, ReasonNone
	return res, nil
}

// createConfirmedAccount hashes the password for a live token and creates
// the account, recording in ev what happened.
func (s *Service) createConfirmedAccount(ctx context.Context, tokenHash []byte, password, name string, ev *Event) (*Account, error) {
	p, err := s.cfg.SignUps.FindPendingSignUpByToken(ctx, tokenHash, s.cfg.Clock.Now())
	if ErrorCode(err) == ENOTFOUND {
		return nil, errInvalidToken
	} else if err != nil {
		ev.Reason = ReasonError
		return nil, unavailable("creating an account", err)
	}
	ev.IdentifierHash = s.cfg.Key.Hash(p.Email)
	encoded, err := s.cfg.Hasher.HashPassword(ctx, password)
	if err != nil {
		ev.Reason = reasonOf(err)
		return nil, err
	}
	now := s.cfg.Clock.Now()
	acct := &Account{ID: NewAccountID(), DisplayName: name, PasswordHash: encoded, CreatedAt: now, UpdatedAt: now}
	switch err := s.cfg.SignUps.CompleteSignUp(ctx, tokenHash, now, acct); ErrorCode(err) {
	case "":
	case ENOTFOUND: // spent or expired meanwhile, by a racing request
		return nil, errInvalidToken
	case ECONFLICT:
		ev.Reason = ReasonTakenAddress
		return nil, errInvalidToken
	default:
		ev.Reason = ReasonError
		return nil, unavailable("creating an account", err)
	}
	ev.AccountID = acct.ID
	return acct, nil
}

// consumeToken spends a token of one purpose; errInvalidToken for anything
// that is not a live token.
func (s *Service) consumeToken(ctx context.Context, token, purpose string) (*Token, error) {
	hash, err := ParseToken(token)
	if err != nil {
		return nil, err
	}
	t, err := s.cfg.Tokens.ConsumeToken(ctx, hash, purpose, s.cfg.Clock.Now())
	if ErrorCode(err) == ENOTFOUND {
		return nil, errInvalidToken
	}
	return t, unavailable("consuming a token", err)
}
