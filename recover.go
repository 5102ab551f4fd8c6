package veil

import "context"

// RecoverRequest is what a person sends who forgot a password.
type RecoverRequest struct {
	Email  string
	Client Client
	// Proof is a proof-of-work solution ("token:solution") once the
	// throttle has asked for one, or "".
	Proof string
}

// Recover records a recovery request as one outbox job. The worker decides
// what to mail — a reset link to an account, a notice or nothing to an
// unknown address — so the answer is the same for every address.
func (s *Service) Recover(ctx context.Context, req RecoverRequest) (err error) {
	id, err := NormalizeIdentifier(req.Email)
	if err != nil {
		return err
	}
	if s.cfg.Outbox == nil {
		return errMailFlowsOff
	}
	if s.elsewhere != nil {
		return s.elsewhere
	}
	adm, err := s.throttleRequest(ctx, ActionRecover, EventRecover, id, req.Client, req.Proof)
	if err != nil {
		return err
	}
	defer func() { s.settleRequest(ctx, adm, err) }()
	now := s.cfg.Clock.Now()
	// The job keeps the address only until it is done (SubjectHash).
	job := &Job{Kind: JobRecover, Subject: string(id), SubjectHash: s.cfg.Key.Hash(id), Lang: req.Client.Lang, CreatedAt: now, NextAttemptAt: now}
	if err := s.cfg.Outbox.EnqueueJob(ctx, job); err != nil {
		return unavailable("queueing a recovery", err)
	}
	s.wakeWorker()
	s.cfg.Auditor.RecordEvent(ctx, &Event{Time: now, Kind: EventRecover, Outcome: OutcomeSuccess, IdentifierHash: s.cfg.Key.Hash(id), ClientAddr: req.Client.Addr})
	return nil
}

// ResetPassword sets a new password with a reset token, voids the
// account's other reset links, ends all its sessions and queues a "your
// password was changed" notice. The password is checked before the token,
// so its errors depend on the input alone.
func (s *Service) ResetPassword(ctx context.Context, token, newPassword string, client Client) error {
	if err := CheckNewPassword(newPassword); err != nil {
		return err
	}
	if s.cfg.Outbox == nil {
		return errMailFlowsOff
	}
	ev := &Event{Kind: EventPasswordReset, Outcome: OutcomeFailure, Reason: ReasonInvalidToken, ClientAddr: client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	t, err := s.consumeToken(ctx, token, TokenReset)
	if err != nil {
		return err
	}
	acct, err := s.cfg.Accounts.FindAccountByID(ctx, t.AccountID)
	if ErrorCode(err) == ENOTFOUND || (err == nil && acct.Disabled) {
		return errInvalidToken
	} else if err != nil {
		return unavailable("finding the account of a reset link", err)
	}
	ev.AccountID, ev.IdentifierHash = acct.ID, s.cfg.Key.Hash(acct.Email)
	encoded, err := s.cfg.Hasher.HashPassword(ctx, newPassword)
	if err != nil {
		ev.Reason = reasonOf(err)
		return err
	}
	if err := s.cfg.Accounts.ReplacePasswordHash(ctx, acct.ID, acct.PasswordHash, encoded); err != nil {
		ev.Reason = ReasonError
		return unavailable("setting the new password", err)
	}
	if err := s.afterPasswordChangeIn(ctx, acct.ID, client.Lang); err != nil {
		ev.Reason = ReasonError
		return err
	}
	ev.Outcome, ev.Reason = OutcomeSuccess, ReasonNone
	return nil
}

// afterPasswordChange voids reset links, ends sessions and queues the
// notice, in English.
func (s *Service) afterPasswordChange(ctx context.Context, accountID string) error {
	return s.afterPasswordChangeIn(ctx, accountID, "")
}

// afterPasswordChangeIn is afterPasswordChange with the notice in lang,
// the language of the request that changed the password.
func (s *Service) afterPasswordChangeIn(ctx context.Context, accountID, lang string) error {
	if err := s.cfg.Tokens.DeleteAccountTokens(ctx, accountID, TokenReset); err != nil {
		return unavailable("voiding reset links", err)
	}
	if _, err := s.RevokeSessions(ctx, accountID); err != nil {
		return unavailable("ending sessions", err)
	}
	now := s.cfg.Clock.Now()
	if err := s.cfg.Outbox.EnqueueJob(ctx, &Job{Kind: JobPasswordChanged, Subject: accountID, Lang: lang, CreatedAt: now, NextAttemptAt: now}); err != nil {
		return unavailable("queueing the password-changed notice", err)
	}
	s.wakeWorker()
	return nil
}
