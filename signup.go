package veil

import (
	"context"
	_ "embed"
	"strings"
	"sync"
	"time"
)

// MailPolicy configures the flows that answer "check your email".
type MailPolicy struct {
	BaseURL       string        // where links in mail point, without a trailing slash
	SiteName      string        // how mail names the service
	SignUpTTL     time.Duration // how long a confirmation link works
	ResetTTL      time.Duration // how long a reset link works
	NotifyUnknown bool          // recovery for an unknown address mails a notice
}

// DefaultMailPolicy: a day to confirm an address, half an hour to reset.
var DefaultMailPolicy = MailPolicy{BaseURL: "http://127.0.0.1:8080", SiteName: "veil", SignUpTTL: 24 * time.Hour, ResetTTL: 30 * time.Minute}

// Event kinds of the mail flows.
const (
	EventSignUp         = "signup"
	EventSignUpConfirm  = "signup_confirm"
	EventRecover        = "recover"
	EventPasswordReset  = "password_reset"
	EventMail           = "mail"
	ReasonNewAddress    = "new_address"
	ReasonTakenAddress  = "taken_address"
	ReasonInvalidToken  = "invalid_token"
	ReasonNotifyUnknown = "notified_unknown"
)

var errMailFlowsOff = &Error{Code: EINVALID, Message: "Sign-up and password recovery are not available here."}

// SignUpRequest is what a person sends to sign up.
type SignUpRequest struct {
	Email    string
	Password string
	Client   Client
	// Proof is a proof-of-work solution ("token:solution") once the
	// throttle has asked for one, or "".
	Proof string
}

// SignUp records a sign-up and leaves the rest to the outbox worker, which
// mails either a confirmation link (a new address) or a "you already have
// an account" notice (a taken one). It never looks the address up: every
// valid request does the same work — check, hash, one transaction — and
// gets the same answer.
func (s *Service) SignUp(ctx context.Context, req SignUpRequest) (err error) {
	id, err := NormalizeIdentifier(req.Email)
	if err != nil {
		return err
	}
	if err := CheckNewPassword(req.Password); err != nil {
		return err
	}
	if s.signups == nil {
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
	encoded, err := s.hasher.HashPassword(ctx, req.Password)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	p := &PendingSignUp{ID: NewAccountID(), Email: id, PasswordHash: encoded, CreatedAt: now}
	job := &Job{Kind: JobSignUp, Subject: p.ID, CreatedAt: now, NextAttemptAt: now}
	if err := s.signups.CreatePendingSignUp(ctx, p, job); err != nil {
		return err
	}
	s.wakeWorker()
	s.auditor.RecordEvent(ctx, &Event{Time: now, Kind: EventSignUp, Outcome: OutcomeSuccess, IdentifierHash: s.key.Hash(id), ClientAddr: req.Client.Addr})
	return nil
}

// ConfirmSignUp creates the account of a confirmed address. Any token that
// is malformed, unknown, used, expired, or whose address was taken
// meanwhile gets the one invalid-token answer.
func (s *Service) ConfirmSignUp(ctx context.Context, token string, client Client) (*Account, error) {
	if s.signups == nil {
		return nil, errMailFlowsOff
	}
	ev := &Event{Kind: EventSignUpConfirm, Outcome: OutcomeFailure, Reason: ReasonInvalidToken, ClientAddr: client.Addr}
	defer func() { ev.Time = s.clock.Now(); s.auditor.RecordEvent(ctx, ev) }()
	t, err := s.consumeToken(ctx, token, TokenSignUp)
	if err != nil {
		return nil, err
	}
	p, err := s.signups.FindPendingSignUp(ctx, t.SignUpID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, errInvalidToken
	} else if err != nil {
		return nil, err
	}
	ev.IdentifierHash = s.key.Hash(p.Email)
	now := s.clock.Now()
	acct := &Account{ID: NewAccountID(), Email: p.Email, PasswordHash: p.PasswordHash, CreatedAt: now, UpdatedAt: now}
	if err := s.accounts.CreateAccount(ctx, acct); ErrorCode(err) == ECONFLICT {
		ev.Reason = ReasonTakenAddress
		return nil, errInvalidToken
	} else if err != nil {
		ev.Reason = ReasonError
		return nil, err
	}
	if err := s.signups.DeletePendingSignUp(ctx, p.ID); err != nil {
		return nil, err
	}
	ev.Outcome, ev.Reason, ev.AccountID = OutcomeSuccess, ReasonNone, acct.ID
	return acct, nil
}

// consumeToken spends a token of one purpose; errInvalidToken for anything
// that is not a live token.
func (s *Service) consumeToken(ctx context.Context, token, purpose string) (*Token, error) {
	hash, err := ParseToken(token)
	if err != nil {
		return nil, err
	}
	t, err := s.tokens.ConsumeToken(ctx, hash, purpose, s.clock.Now())
	if ErrorCode(err) == ENOTFOUND {
		return nil, errInvalidToken
	}
	return t, err
}

//go:embed commonpasswords.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 12000)
	for _, line := range strings.Split(commonPasswordsText, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			m[line] = struct{}{}
		}
	}
	return m
})

// IsCommonPassword reports whether password (in any case) is on the list
// of common passwords veil refuses, as NIST SP 800-63B asks.
func IsCommonPassword(password string) bool {
	_, ok := commonPasswords()[strings.ToLower(password)]
	return ok
}
