package veil

import "context"

// DeleteOwnAccount deletes the signed-in account after checking its
// password like a sign-in (reauthenticate). In one transaction the store
// removes the account, its sessions, its mailed tokens and its queued
// mail, blanks the account ID and client address of its audit events
// (their keyed identifier hash stays, so an operator who is given the
// address can still find them) and queues a mail to the address that
// confirms the deletion. Sessions kept elsewhere (Redis) end next; a
// session left behind signs nobody in, since its account is gone.
func (s *Service) DeleteOwnAccount(ctx context.Context, r Reauthentication) error {
	if err := CheckPassword(r.Password); err != nil {
		return err
	}
	if err := s.settingsReady(); err != nil {
		return err
	}
	ev := &Event{Kind: EventAccountDelete, Outcome: OutcomeFailure, ClientAddr: r.Client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	acct, _, err := s.reauthenticate(ctx, r, ev)
	if err != nil {
		return err
	}
	now := s.cfg.Clock.Now()
	job := &Job{Kind: JobAccountDeleted, Subject: string(acct.Email), SubjectHash: s.cfg.Key.Hash(acct.Email), CreatedAt: now, NextAttemptAt: now}
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
