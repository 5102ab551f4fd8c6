package veil

import (
	"bytes"
	"context"
)

// The flows of this file and of email_change.go, account_sessions.go,
// account_delete.go and login_code.go let a signed-in person manage her
// own account. Each one finds the account from the session it is given,
// never from anything typed, so no answer can depend on another account:
// where an address is typed (a new address, a sign-in code's), the work
// that depends on whose it is runs in the outbox worker.

// settingsReady reports whether accounts can be changed here: there is
// an AccountSettingsStore and the accounts are not managed elsewhere.
func (s *Service) settingsReady() error {
	if s.cfg.Settings == nil {
		return errSettingsOff
	}
	return s.elsewhere
}

// SetDisplayName sets the name the signed-in person is shown by. The name
// is checked first, from the input alone (NormalizeDisplayName).
func (s *Service) SetDisplayName(ctx context.Context, sessionToken, name string, client Client) (*Account, error) {
	name, err := NormalizeDisplayName(name)
	if err != nil {
		return nil, err
	}
	if err := s.settingsReady(); err != nil {
		return nil, err
	}
	acct, _, err := s.Authenticate(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	switch err := s.cfg.Settings.SetDisplayName(ctx, acct.ID, name); ErrorCode(err) {
	case "":
	case ENOTFOUND: // deleted meanwhile
		return nil, errNoSession
	default:
		return nil, unavailable("setting the display name", err)
	}
	acct.DisplayName = name
	s.cfg.Auditor.RecordEvent(ctx, &Event{Time: s.cfg.Clock.Now(), Kind: EventDisplayName, Outcome: OutcomeSuccess, AccountID: acct.ID, ClientAddr: client.Addr})
	return acct, nil
}

// Reauthentication is a password a signed-in person enters again before a
// change that a stolen session must not make.
type Reauthentication struct {
	SessionToken string
	Password     string
	Client       Client
	// DeviceCookie and Proof are as in LoginRequest: the password is
	// checked in the identifier's sign-in bucket, so a browser that signed
	// in before gets past a lockout others caused.
	DeviceCookie string
	Proof        string
}

// errNoSessionToCheck answers a password check without a live session: it
// is a failed credential check (EUNAUTHORIZED), as a wrong password is.
var errNoSessionToCheck = &Error{Code: EUNAUTHORIZED, Message: errNoSession.Message}

// reauthenticate finds the signed-in account and checks its password as a
// sign-in does: the throttle of the identifier's sign-in bucket first,
// then the same hash under the time floor, counted as a sign-in. The
// event ev is filled in with the account and the reason.
func (s *Service) reauthenticate(ctx context.Context, r Reauthentication, ev *Event) (*Account, *Session, error) {
	acct, sess, err := s.authenticateFor(ctx, r.SessionToken, ev)
	if err != nil {
		return nil, nil, err
	}
	adm, err := s.cfg.Throttle.Check(ctx, &Attempt{Action: ActionLogin, Subject: ev.IdentifierHash, Addr: r.Client.Addr, Device: r.DeviceCookie, Proof: r.Proof})
	if err != nil {
		ev.Reason = throttleReason(err)
		return nil, nil, err
	}
	BeginAccountWork(ctx)
	match, _, err := s.cfg.Hasher.VerifyPassword(ctx, acct.PasswordHash, r.Password)
	switch {
	case err != nil:
		ev.Reason = reasonOf(err)
	case !match:
		ev.Reason, err = ReasonWrongPassword, errWrongPassword
	}
	out, terr := s.cfg.Throttle.Done(context.WithoutCancel(ctx), adm, loginOutcome(ctx, err))
	if err != nil {
		if terr == nil && out != nil {
			err = withChallenge(err, out.Challenge)
		}
		return nil, nil, err
	}
	return acct, sess, nil
}

// authenticateFor is Authenticate for a flow whose event is ev: it is
// filled in with the account, or with the reason there is none.
func (s *Service) authenticateFor(ctx context.Context, sessionToken string, ev *Event) (*Account, *Session, error) {
	acct, sess, err := s.Authenticate(ctx, sessionToken)
	if ErrorCode(err) == ENOSESSION {
		// Answered like a failed check, as the password routes promise.
		ev.Reason = ReasonNone
		return nil, nil, errNoSessionToCheck
	} else if err != nil {
		ev.Reason = ReasonError
		return nil, nil, err
	}
	ev.AccountID, ev.IdentifierHash = acct.ID, s.cfg.Key.Hash(acct.Email)
	return acct, sess, nil
}

// ChangePasswordRequest is what a signed-in person sends to choose a new
// password: the current one (Reauthentication) and the new one.
type ChangePasswordRequest struct {
	Reauthentication
	NewPassword string
}

// ChangePassword sets a new password after checking the current one like
// a sign-in (reauthenticate), voids reset links, ends every other session
// and queues the "your password was changed" notice. Both passwords are
// checked for syntax first.
func (s *Service) ChangePassword(ctx context.Context, req ChangePasswordRequest) error {
	if err := CheckPassword(req.Password); err != nil {
		return err
	}
	if err := CheckNewPassword(req.NewPassword); err != nil {
		return err
	}
	if err := s.settingsReady(); err != nil {
		return err
	}
	ev := &Event{Kind: EventPasswordChange, Outcome: OutcomeFailure, ClientAddr: req.Client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	acct, sess, err := s.reauthenticate(ctx, req.Reauthentication, ev)
	if err != nil {
		return err
	}
	encoded, err := s.cfg.Hasher.HashPassword(ctx, req.NewPassword)
	if err != nil {
		ev.Reason = reasonOf(err)
		return err
	}
	switch err := s.cfg.Accounts.ReplacePasswordHash(ctx, acct.ID, acct.PasswordHash, encoded); ErrorCode(err) {
	case "":
	case ENOTFOUND: // changed or deleted meanwhile: the current password is no longer the one checked
		ev.Reason = ReasonWrongPassword
		return errWrongPassword
	default:
		ev.Reason = ReasonError
		return unavailable("setting the new password", err)
	}
	if err := s.cfg.Tokens.DeleteAccountTokens(ctx, acct.ID, TokenReset); err != nil {
		ev.Reason = ReasonError
		return unavailable("voiding reset links", err)
	}
	if _, err := s.endOtherSessions(ctx, acct.ID, sess.IDHash); err != nil {
		ev.Reason = ReasonError
		return err
	}
	if err := s.enqueue(ctx, &Job{Kind: JobPasswordChanged, Subject: acct.ID, Lang: req.Client.Lang}); err != nil {
		ev.Reason = ReasonError
		return err
	}
	ev.Outcome, ev.Reason = OutcomeSuccess, ReasonNone
	return nil
}

// endOtherSessions ends every session of an account but the one whose ID
// hash is keep, and returns how many it ended.
func (s *Service) endOtherSessions(ctx context.Context, accountID string, keep []byte) (int, error) {
	sessions, err := s.cfg.Sessions.ListSessions(ctx, accountID)
	if err != nil {
		return 0, unavailable("listing sessions", err)
	}
	n := 0
	for _, o := range sessions {
		if bytes.Equal(o.IDHash, keep) {
			continue
		}
		if err := s.cfg.Sessions.DeleteSession(ctx, o.IDHash); err != nil {
			return n, unavailable("ending a session", err)
		}
		n++
	}
	if n > 0 {
		s.cfg.Auditor.RecordEvent(ctx, &Event{Time: s.cfg.Clock.Now(), Kind: EventSessionRevoked, Outcome: OutcomeSuccess, AccountID: accountID})
	}
	return n, nil
}

// enqueue queues a job due now and wakes the worker.
func (s *Service) enqueue(ctx context.Context, j *Job) error {
	now := s.cfg.Clock.Now()
	j.CreatedAt, j.NextAttemptAt = now, now
	if err := s.cfg.Outbox.EnqueueJob(ctx, j); err != nil {
		return unavailable("queueing a "+j.Kind+" job", err)
	}
	s.wakeWorker()
	return nil
}
