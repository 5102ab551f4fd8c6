package veil

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// runAccountJob runs the jobs of the account flows (account_settings.go).
func (w *Worker) runAccountJob(ctx context.Context, job *Job) error {
	switch job.Kind {
	case JobEmailChange:
		id, to, err := splitAccountJobSubject(job.Subject)
		if err != nil {
			return err
		}
		return w.emailChange(ctx, id, to)
	case JobEmailChanged:
		id, old, err := splitAccountJobSubject(job.Subject)
		if err != nil {
			return err
		}
		return w.emailChanged(ctx, id, old)
	case JobLoginCode:
		return w.loginCode(ctx, Identifier(job.Subject), job.Lang)
	case JobAccountDeleted:
		return w.send(ctx, MailAccountDeleted, "", &MailData{Kind: MailAccountDeleted, To: Identifier(job.Subject)})
	}
	return fmt.Errorf("unknown job kind %q", job.Kind)
}

func splitAccountJobSubject(subject string) (string, Identifier, error) {
	id, email, ok := strings.Cut(subject, " ")
	if !ok || id == "" || email == "" {
		return "", "", fmt.Errorf("malformed job subject")
	}
	return id, Identifier(email), nil
}

// liveAccount returns the enabled account with ID id, or nil if it is gone
// or disabled: its jobs then send nothing.
func (w *Worker) liveAccount(ctx context.Context, id string) (*Account, error) {
	acct, err := w.s.cfg.Accounts.FindAccountByID(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if !w.mailable(ctx, acct, acct.Email) {
		return nil, nil
	}
	return acct, nil
}

// mailable reports whether acct, found for email, gets mail about itself:
// not when there is none or it is disabled, which is audited instead.
func (w *Worker) mailable(ctx context.Context, acct *Account, email Identifier) bool {
	switch {
	case acct == nil:
		w.audit(ctx, ReasonUnknownIdentifier, "", email)
		return false
	case acct.Disabled:
		w.audit(ctx, ReasonDisabled, acct.ID, acct.Email)
		return false
	}
	return true
}

// emailChange mails a confirmation link to a free address, or to an
// address that has an account a notice to its owner that nothing changed.
// The requester's answer was the same either way.
func (w *Worker) emailChange(ctx context.Context, accountID string, to Identifier) error {
	acct, err := w.liveAccount(ctx, accountID)
	if err != nil || acct == nil {
		return err
	}
	other, err := w.findAccount(ctx, to)
	if err != nil {
		return err
	}
	switch {
	case other != nil && w.mailable(ctx, other, to):
		return w.send(ctx, ReasonTakenAddress, other.ID, &MailData{Kind: MailEmailChangeTaken, To: other.Email, Name: other.DisplayName})
	case other != nil: // disabled: nothing, as for a sign-up
		return nil
	}
	token, t := w.accountToken(TokenEmailConfirm, acct.ID, to, w.s.cfg.MailPolicy.SignUpTTL)
	if err := w.s.cfg.Settings.CreateAccountToken(ctx, t); err != nil {
		return err
	}
	return w.send(ctx, ReasonNewAddress, acct.ID, &MailData{Kind: MailEmailChangeConfirm, To: to, Name: acct.DisplayName,
		Link: w.s.cfg.MailPolicy.BaseURL + "/account/email/confirm?token=" + token, Expires: t.ExpiresAt})
}

// emailChanged tells the old address of a change, with a link to undo it.
func (w *Worker) emailChanged(ctx context.Context, accountID string, old Identifier) error {
	acct, err := w.liveAccount(ctx, accountID)
	if err != nil || acct == nil {
		return err
	}
	token, t := w.accountToken(TokenEmailUndo, acct.ID, old, EmailUndoTTL)
	if err := w.s.cfg.Settings.CreateAccountToken(ctx, t); err != nil {
		return err
	}
	return w.send(ctx, MailEmailChanged, acct.ID, &MailData{Kind: MailEmailChanged, To: old, Name: acct.DisplayName,
		Link: w.s.cfg.MailPolicy.BaseURL + "/account/email/undo?token=" + token, Expires: t.ExpiresAt})
}

// loginCode mails an account a sign-in code and link, voiding older ones;
// a disabled address gets nothing, and an unknown one nothing or, with
// MailPolicy.LoginCodeSignUp, the sign-up link.
func (w *Worker) loginCode(ctx context.Context, email Identifier, lang string) error {
	acct, err := w.findAccount(ctx, email)
	if err != nil {
		return err
	}
	if acct == nil && w.s.cfg.MailPolicy.LoginCodeSignUp {
		return w.signUpInstead(ctx, email, lang)
	}
	if !w.mailable(ctx, acct, email) {
		return nil
	}
	if err := w.s.cfg.Settings.DeleteAccountTokensOf(ctx, acct.ID, TokenLoginCode); err != nil {
		return err
	}
	code := newLoginCode()
	token, t := w.accountToken(TokenLoginCode, acct.ID, "", LoginCodeTTL)
	t.CodeHash = w.s.loginCodeHash(acct.ID, code)
	if err := w.s.cfg.Settings.CreateAccountToken(ctx, t); err != nil {
		return err
	}
	return w.send(ctx, MailLoginCode, acct.ID, &MailData{Kind: MailLoginCode, To: acct.Email, Name: acct.DisplayName, Code: code,
		Link: w.s.cfg.MailPolicy.BaseURL + "/login/code/confirm?token=" + token, Expires: t.ExpiresAt})
}

// signUpInstead answers a sign-in code asked for an unknown address as a
// sign-up of it would be answered: it records the pending sign-up and
// queues its job, which mails the link as SignUp's does (or, should the
// address have an account by then, the "you already have an account"
// notice). The request's answer was queued before, and is the same.
func (w *Worker) signUpInstead(ctx context.Context, email Identifier, lang string) error {
	now := w.s.cfg.Clock.Now()
	p := &PendingSignUp{ID: NewAccountID(), Email: email, CreatedAt: now}
	job := &Job{Kind: JobSignUp, Subject: p.ID, Lang: lang, CreatedAt: now, NextAttemptAt: now}
	if err := w.s.cfg.SignUps.CreatePendingSignUp(ctx, p, job); err != nil {
		return err
	}
	w.audit(ctx, ReasonCodeSignUp, "", email)
	return nil
}

// accountToken makes a fresh account token and its stored form.
func (w *Worker) accountToken(purpose, accountID string, email Identifier, ttl time.Duration) (string, *AccountToken) {
	token, t := newToken(purpose, w.s.cfg.Clock.Now(), ttl)
	return token, &AccountToken{Hash: t.Hash, Purpose: purpose, AccountID: accountID, Email: email, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
}
