package veil

import (
	"context"
	"fmt"
)

// The operator flows below serve the CLI on the machine that runs veil. They
// may say whether an account exists: only an operator can call them.

// AddAccount creates an account with a password; ECONFLICT if the address is
// taken.
func (s *Service) AddAccount(ctx context.Context, email, displayName, password string) (*Account, error) {
	id, err := NormalizeIdentifier(email)
	if err != nil {
		return nil, err
	}
	displayName, err = NormalizeDisplayName(displayName)
	if err != nil {
		return nil, err
	}
	if err := CheckNewPassword(password); err != nil {
		return nil, err
	}
	encoded, err := s.cfg.Hasher.HashPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now()
	acct := &Account{ID: NewAccountID(), Email: id, DisplayName: displayName, PasswordHash: encoded, CreatedAt: now, UpdatedAt: now}
	if err := s.cfg.Accounts.CreateAccount(ctx, acct); err != nil {
		return nil, err
	}
	s.auditOperator(ctx, EventAccountAdded, acct)
	return acct, nil
}

// auditOperator records what an operator did to acct. The audit log keeps
// the keyed hash of the address, never the address.
func (s *Service) auditOperator(ctx context.Context, kind string, acct *Account) {
	s.cfg.Auditor.RecordEvent(ctx, &Event{
		Time: s.cfg.Clock.Now(), Kind: kind, Outcome: OutcomeSuccess,
		IdentifierHash: s.cfg.Key.Hash(acct.Email), AccountID: acct.ID, ClientAddr: OperatorAddr,
	})
}

// FindAccount returns the account for an email address or account ID.
func (s *Service) FindAccount(ctx context.Context, emailOrID string) (*Account, error) {
	if id, err := NormalizeIdentifier(emailOrID); err == nil {
		return s.cfg.Accounts.FindAccountByIdentifier(ctx, id)
	}
	return s.cfg.Accounts.FindAccountByID(ctx, emailOrID)
}

// ListAccounts returns every account.
func (s *Service) ListAccounts(ctx context.Context) ([]*Account, error) {
	return s.cfg.Accounts.ListAccounts(ctx)
}

// SetPassword replaces an account's password and ends its sessions.
func (s *Service) SetPassword(ctx context.Context, emailOrID, password string) (*Account, error) {
	if err := CheckNewPassword(password); err != nil {
		return nil, err
	}
	encoded, err := s.cfg.Hasher.HashPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	acct, err := s.updateAccount(ctx, emailOrID, func(a *Account) { a.PasswordHash = encoded })
	if err != nil {
		return nil, err
	}
	s.auditOperator(ctx, EventPasswordSet, acct)
	if s.cfg.Tokens != nil {
		// A new password voids reset links mailed before it.
		err = s.cfg.Tokens.DeleteAccountTokens(ctx, acct.ID, TokenReset)
	}
	return acct, err
}

// SetDisabled disables or enables an account; disabling ends its sessions.
func (s *Service) SetDisabled(ctx context.Context, emailOrID string, disabled bool) (*Account, error) {
	acct, err := s.updateAccount(ctx, emailOrID, func(a *Account) { a.Disabled = disabled })
	if err != nil {
		return nil, err
	}
	kind := EventAccountEnabled
	if disabled {
		kind = EventAccountDisabled
	}
	s.auditOperator(ctx, kind, acct)
	return acct, nil
}

func (s *Service) updateAccount(ctx context.Context, emailOrID string, change func(*Account)) (*Account, error) {
	acct, err := s.FindAccount(ctx, emailOrID)
	if err != nil {
		return nil, err
	}
	change(acct)
	if err := s.cfg.Accounts.UpdateAccount(ctx, acct); err != nil {
		return nil, err
	}
	if _, err := s.RevokeSessions(ctx, acct.ID); err != nil {
		return nil, err
	}
	return acct, nil
}

// DeleteAccount removes an account and its sessions. A SQL store deletes
// the sessions it keeps in the account's own transaction; sessions kept
// elsewhere (Redis) are ended here, after the account is gone. A session a
// sign-in makes in between is refused all the same: Authenticate looks its
// account up.
func (s *Service) DeleteAccount(ctx context.Context, emailOrID string) (*Account, error) {
	acct, err := s.FindAccount(ctx, emailOrID)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Accounts.DeleteAccount(ctx, acct.ID); err != nil {
		return nil, err
	}
	s.auditOperator(ctx, EventAccountDeleted, acct)
	if s.cfg.Factors != nil {
		if _, err := s.cfg.Factors.DeleteAccountFactors(ctx, acct.ID); err != nil {
			return nil, fmt.Errorf("veil: the account is deleted, but its second factors are not: %w", err)
		}
	}
	if _, err := s.RevokeSessions(ctx, acct.ID); err != nil {
		// The operator must know the account is gone all the same; the
		// sessions left are refused by Authenticate.
		return nil, fmt.Errorf("veil: the account is deleted, but its sessions are not (they no longer sign anyone in): %w", err)
	}
	return acct, nil
}

// RevokeSessions ends every session of an account.
func (s *Service) RevokeSessions(ctx context.Context, accountID string) (int, error) {
	defer s.identities.forgetAccount(accountID) // after the delete: identity_cache.go
	n, err := s.cfg.Sessions.DeleteAccountSessions(ctx, accountID)
	if err != nil {
		return 0, fmt.Errorf("veil: revoking sessions: %w", err)
	}
	if n > 0 {
		s.cfg.Auditor.RecordEvent(ctx, &Event{Time: s.cfg.Clock.Now(), Kind: EventSessionRevoked, Outcome: OutcomeSuccess, AccountID: accountID})
	}
	return n, nil
}

// RevokeSession ends one session.
func (s *Service) RevokeSession(ctx context.Context, sess *Session) error {
	if err := s.cfg.Sessions.DeleteSession(ctx, sess.IDHash); err != nil {
		return fmt.Errorf("veil: revoking session: %w", err)
	}
	s.cfg.Auditor.RecordEvent(ctx, &Event{Time: s.cfg.Clock.Now(), Kind: EventSessionRevoked, Outcome: OutcomeSuccess, AccountID: sess.AccountID})
	return nil
}

// ListSessions returns the sessions of an account, or all when accountID is "".
func (s *Service) ListSessions(ctx context.Context, accountID string) ([]*Session, error) {
	return s.cfg.Sessions.ListSessions(ctx, accountID)
}

// DeleteExpired deletes what has expired: sessions past their idle or
// absolute timeout, mailed tokens and pending sign-ups. It returns how
// many records went.
func (s *Service) DeleteExpired(ctx context.Context) (int, error) {
	now := s.cfg.Clock.Now()
	n, err := s.cfg.Sessions.DeleteExpiredSessions(ctx, now, now.Add(-s.cfg.SessionPolicy.IdleTimeout))
	if err != nil || s.cfg.SignUps == nil {
		return n, err
	}
	m, err := s.cfg.SignUps.DeleteExpiredSignUpsAndTokens(ctx, now.Add(-s.cfg.MailPolicy.SignUpTTL), now)
	if err != nil || s.cfg.Settings == nil {
		return n + m, err
	}
	k, err := s.cfg.Settings.DeleteExpiredAccountTokens(ctx, now)
	return n + m + k, err
}
