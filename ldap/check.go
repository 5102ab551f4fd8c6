package ldap

import (
	"context"
	"fmt"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/veil-id/veil"
)

// CheckPassword implements veil.PasswordChecker with exactly one search and
// one bind, whatever the directory holds:
//
//   - one usable entry: bind as its DN with the password;
//   - no entry, several entries, or an entry the lockout guard spares: bind
//     as the decoy DN with the password, which the directory refuses after
//     the same round trip.
//
// The guard leaves Config.LockoutReserve failures below pwdMaxFailure to
// trusted attempts (a.Trusted: the person's own browser), so strangers'
// guesses cannot keep her out; a trusted attempt may still not make the
// failure that locks. Whether an entry was spared shows in nothing but the
// audit reason: the stranger's answer and work are a decoy bind's.
//
// The password policy control rides on every bind, so the verdict tells
// locked, expired and must-change entries apart — for the audit log only.
// Errors (a directory that does not answer) do not depend on the entry.
func (s *Store) CheckPassword(ctx context.Context, a veil.PasswordAttempt) (*veil.PasswordCheck, error) {
	id, password := a.Identifier, a.Password
	// One attempt per identifier at a time: two concurrent attempts must
	// not both read the same failure count and together lock the entry.
	unlock, err := s.attempts.lock(ctx, string(id))
	if err != nil {
		return nil, err
	}
	defer unlock()
	s.policy.maybeRefresh(s)
	entries, err := s.findEntries(ctx, id)
	if err != nil {
		return nil, err
	}
	check := &veil.PasswordCheck{}
	var target *entry
	switch {
	case len(entries) == 1 && s.spare(entries[0], a.Trusted):
		check.Account, check.Reason = entries[0].account, veil.ReasonThrottled
		if entries[0].locked {
			check.Reason = veil.ReasonLocked
		}
	case len(entries) == 1:
		target = entries[0]
		check.Account = target.account
	case len(entries) > 1:
		// No account is the one: the reason goes to the audit log, and
		// the decoy bind below keeps the work a match's.
		check.Reason = veil.ReasonAmbiguous
	}
	dn := s.decoyDN
	if target != nil {
		dn = target.dn
	}
	res, err := s.bindAs(ctx, dn, password)
	if err != nil {
		return nil, err
	}
	if target == nil {
		return check, nil // Match stays false, whatever the decoy bind said
	}
	check.Match, check.Reason = res.verdict()
	if check.Match {
		s.cache.put(target.account)
	}
	return check, nil
}

// bindResult is what the directory answered to a bind.
type bindResult struct {
	ok     bool
	code   int                                 // the LDAP result code; -1 if none
	policy *goldap.ControlBeheraPasswordPolicy // nil if the directory sent none
}

// bindAs binds once as dn over a bind connection.
func (s *Store) bindAs(ctx context.Context, dn, password string) (bindResult, error) {
	if password == "" {
		// An empty password would be an unauthenticated bind, which
		// succeeds for any DN (RFC 4513 5.1.2). veil refuses empty
		// passwords before it gets here; this is the second lock.
		return bindResult{code: -1}, nil
	}
	c, err := s.bind.get(ctx)
	if err != nil {
		return bindResult{}, err
	}
	s.count.binds.Add(1)
	res, err := c.SimpleBind(&goldap.SimpleBindRequest{
		Username: dn,
		Password: password,
		Controls: []goldap.Control{goldap.NewControlBeheraPasswordPolicy()},
	})
	broken := isTransportError(err)
	s.bind.put(c, broken)
	if broken {
		// Not retried: the directory may have counted the failure
		// already, and a second bind would count it twice. The message
		// names neither the DN nor the identifier.
		return bindResult{}, fmt.Errorf("ldap: sign-in bind: %w", err)
	}
	r := bindResult{ok: err == nil, code: ldapResultCode(err)}
	if res != nil {
		for _, ctl := range res.Controls {
			if pp, ok := ctl.(*goldap.ControlBeheraPasswordPolicy); ok {
				r.policy = pp
			}
		}
	}
	return r, nil
}

// verdict turns a bind's answer into a match and the reason it cannot
// sign in, if any. A bind that succeeds but leaves the entry unable to do
// anything but change its password (must change, a grace login on an
// expired password) does not sign in: veil cannot change directory
// passwords, and a session would outlive the restriction.
func (r bindResult) verdict() (match bool, reason string) {
	ppErr := int8(-1)
	grace := int64(-1)
	if r.policy != nil {
		ppErr, grace = r.policy.Error, r.policy.Grace
	}
	switch {
	case r.ok && ppErr == goldap.BeheraChangeAfterReset:
		return true, veil.ReasonMustChange
	case r.ok && (ppErr == goldap.BeheraPasswordExpired || grace >= 0):
		return true, veil.ReasonExpired
	case r.ok && ppErr >= 0:
		return true, veil.ReasonError
	case r.ok:
		return true, veil.ReasonNone
	case ppErr == goldap.BeheraAccountLocked:
		return false, veil.ReasonLocked
	case ppErr == goldap.BeheraPasswordExpired:
		return false, veil.ReasonExpired
	case r.code == goldap.LDAPResultInvalidCredentials:
		return false, veil.ReasonWrongPassword
	default:
		// Any other refusal (unwilling to perform, ...) is still a
		// refusal; the code is not for anyone outside.
		return false, veil.ReasonError
	}
}
