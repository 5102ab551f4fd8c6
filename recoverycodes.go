package veil

import (
	"context"
	"crypto/rand"
	"strings"
)

// Recovery codes: ten, single use, for when the authenticator app is lost.
// Each is 12 characters of base32 (60 random bits), shown as three groups
// of four; stored only as a keyed hash (FactorKey.recoveryHash).
const (
	RecoveryCodeCount = 10
	recoveryCodeChars = 12
)

var errWrongRecoveryCode = &Error{Code: EINVALIDCODE, Message: "The recovery code is incorrect or was used already."}

// ParseRecoveryCode checks the shape of a recovery code as typed and
// returns its normal form: case, spaces and dashes do not matter.
func ParseRecoveryCode(s string) (string, error) {
	if len(s) > 64 {
		return "", Errorf(EINVALID, "A recovery code is %d letters and digits.", recoveryCodeChars)
	}
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
	if len(s) != recoveryCodeChars || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz234567") != "" {
		return "", Errorf(EINVALID, "A recovery code is %d letters and digits.", recoveryCodeChars)
	}
	return s, nil
}

// newRecoveryCodes replaces the account's recovery codes with fresh ones
// and returns them, formatted, to be shown once.
func (s *Service) newRecoveryCodes(ctx context.Context, acct *Account) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		var b [recoveryCodeChars * 5 / 8]byte
		rand.Read(b[:])
		c := idEncoding.EncodeToString(b[:])
		hashes[i] = s.cfg.FactorKey.recoveryHash(acct.ID, c)
		codes[i] = c[0:4] + "-" + c[4:8] + "-" + c[8:12]
	}
	if err := s.cfg.Factors.ReplaceRecoveryCodes(ctx, acct.ID, hashes, s.cfg.Clock.Now()); err != nil {
		return nil, unavailable("storing recovery codes", err)
	}
	s.cfg.Auditor.RecordEvent(ctx, &Event{Time: s.cfg.Clock.Now(), Kind: EventRecoveryCodes, Outcome: OutcomeSuccess, AccountID: acct.ID})
	return codes, nil
}

// RegenerateRecoveryCodes voids an account's recovery codes and returns
// ten new ones; only with an authenticator app or a passkey.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, acct *Account) ([]string, error) {
	totp, passkeys, err := s.factorsOf(ctx, acct)
	if err != nil {
		return nil, err
	}
	if !totp && passkeys == 0 {
		return nil, errNoTOTP
	}
	return s.newRecoveryCodes(ctx, acct)
}

// useRecoveryCode spends one of the account's recovery codes.
func (s *Service) useRecoveryCode(ctx context.Context, acct *Account, code string, ev *Event) error {
	err := s.cfg.Factors.UseRecoveryCode(ctx, acct.ID, s.cfg.FactorKey.recoveryHash(acct.ID, code))
	switch ErrorCode(err) {
	case "":
		ev.Reason = MethodRecoveryCode
		return nil
	case ENOTFOUND:
		ev.Reason = ReasonWrongRecoveryCode
		return errWrongRecoveryCode
	}
	return unavailable("spending a recovery code", err)
}

// ResetFactors removes every second factor and recovery code of an
// account, for a person who lost them all: an operator's tool, audited.
func (s *Service) ResetFactors(ctx context.Context, emailOrID string) (*Account, int, error) {
	if s.cfg.Factors == nil {
		return nil, 0, errTOTPOff
	}
	acct, err := s.FindAccount(ctx, emailOrID)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.cfg.Factors.DeleteAccountFactors(ctx, acct.ID)
	if err != nil {
		return nil, 0, err
	}
	s.cfg.Auditor.RecordEvent(ctx, &Event{Time: s.cfg.Clock.Now(), Kind: EventFactorsReset, Outcome: OutcomeSuccess, AccountID: acct.ID})
	return acct, n, nil
}
