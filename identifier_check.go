package veil

import "context"

// IdentifierIssue is a stored account whose email is not what
// NormalizeIdentifier makes of it today: stored by a veil with older
// rules (before issue 10.7, "alice@example.com." and "alice@example.com"
// were two identifiers). Nobody can sign in to it by typing its address —
// every spelling now normalizes to Normal, or is refused — so it is
// either a second account for one mailbox (Twin) or one its owner can no
// longer reach. Which account the person keeps is an operator's decision:
// veil does not merge or rename accounts on its own.
type IdentifierIssue struct {
	Account *Account
	Normal  Identifier // the address today's rules make of it; "" if refused
	Refusal string     // why today's rules refuse it, when Normal is ""
	Twin    *Account   // the account that has Normal, if there is one
}

// CheckIdentifiers returns the accounts whose stored email is not in its
// normal form under today's rules. Rules of identifiers only ever change
// with a release, so this is the check to run after upgrading to one that
// changed them (`veil user check`); no migration can do it, because the
// rules are Go code, not SQL.
func (s *Service) CheckIdentifiers(ctx context.Context) ([]IdentifierIssue, error) {
	accounts, err := s.cfg.Accounts.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	byEmail := make(map[Identifier]*Account, len(accounts))
	for _, a := range accounts {
		byEmail[a.Email] = a
	}
	var issues []IdentifierIssue
	for _, a := range accounts {
		normal, err := NormalizeIdentifier(string(a.Email))
		switch {
		case err != nil:
			issues = append(issues, IdentifierIssue{Account: a, Refusal: ErrorMessage(err)})
		case normal != a.Email:
			issues = append(issues, IdentifierIssue{Account: a, Normal: normal, Twin: byEmail[normal]})
		}
	}
	return issues, nil
}
