package veil

import (
	"context"
	"time"
)

// DefaultRecentSignIn is the ServiceConfig.RecentSignIn veil serve uses:
// long enough to sign in and delete the account in one sitting, too short
// for a session left open, or stolen later, to do it without the password.
const DefaultRecentSignIn = 5 * time.Minute

// ReasonSignInNotRecent: a deletion without the password from a session
// older than ServiceConfig.RecentSignIn.
const ReasonSignInNotRecent = "sign_in_not_recent"

var errPasswordNeeded = &Error{Code: EUNAUTHORIZED, Message: "Enter your password to delete your account."}

// DeleteOwnAccount deletes the signed-in account after checking its
// password like a sign-in (reauthenticate), or without a password when
// the session is a recent sign-in (SignedInRecently): every session
// begins with a credential check, so one a few minutes old proves what
// typing the password again would. An older session without a password
// gets EUNAUTHORIZED; a password, when given, is always checked.
//
// Audit events recorded before are stored first (an AuditWriter holds them
// for a moment). Then, in one transaction, the store removes the account, its sessions, its
// mailed tokens and its queued mail, blanks the account ID and client
// address of its audit events (their keyed identifier hash stays, so an
// operator who is given the address can still find them) and queues a
// mail to the address that confirms the deletion. Sessions kept elsewhere
// (Redis) end next; a session left behind signs nobody in, since its
// account is gone.
func (s *Service) DeleteOwnAccount(ctx context.Context, r Reauthentication) error {
	if r.Password != "" {
		if err := CheckPassword(r.Password); err != nil {
			return err
		}
	}
	if err := s.settingsReady(); err != nil {
		return err
	}
	ev := &Event{Kind: EventAccountDelete, Outcome: OutcomeFailure, ClientAddr: r.Client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	var acct *Account
	var err error
	if r.Password == "" {
		acct, err = s.recentSignIn(ctx, r.SessionToken, ev)
	} else {
		acct, _, err = s.reauthenticate(ctx, r, ev)
	}
	if err != nil {
		return err
	}
	// The erasure blanks the account's audit events: those recorded
	// before it, a sign-in's a moment ago among them, must be stored first.
	if err := flushAudit(ctx, s.cfg.Auditor); err != nil {
		ev.Reason = ReasonError
		return unavailable("storing the account's audit events before deleting it", err)
	}
	now := s.cfg.Clock.Now()
	job := &Job{Kind: JobAccountDeleted, Subject: string(acct.Email), SubjectHash: s.cfg.Key.Hash(acct.Email), Lang: r.Client.Lang, CreatedAt: now, NextAttemptAt: now}
	switch err := s.cfg.Settings.EraseAccount(ctx, acct.ID, job); ErrorCode(err) {
	case "":
	case ENOTFOUND: // deleted meanwhile
		ev.Reason = ReasonNone
		return errNoSessionToCheck
	default:
		ev.Reason = ReasonError
		return unavailable("deleting the account", err)
	}
	s.wakeWorker()
	// The event of the deletion keeps only the identifier hash too.
	ev.AccountID, ev.ClientAddr = "", ""
	if _, err := s.cfg.Sessions.DeleteAccountSessions(ctx, acct.ID); err != nil {
		// The account is gone, and with it every session's sign-in.
		ev.Reason = ReasonError
	}
	ev.Outcome = OutcomeSuccess
	return nil
}

// SignedInRecently reports whether sess began less than
// ServiceConfig.RecentSignIn ago, so that its account may be deleted
// without the password; the account page asks for it only otherwise.
func (s *Service) SignedInRecently(sess *Session) bool {
	return sess != nil && s.cfg.RecentSignIn > 0 && s.cfg.Clock.Now().Sub(sess.CreatedAt) < s.cfg.RecentSignIn
}

// recentSignIn returns the signed-in account if its session is a recent
// sign-in, or EUNAUTHORIZED.
func (s *Service) recentSignIn(ctx context.Context, sessionToken string, ev *Event) (*Account, error) {
	acct, sess, err := s.authenticateFor(ctx, sessionToken, ev)
	if err != nil {
		return nil, err
	}
	if !s.SignedInRecently(sess) {
		ev.Reason = ReasonSignInNotRecent
		return nil, errPasswordNeeded
	}
	return acct, nil
}
