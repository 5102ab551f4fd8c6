package veil

import (
	"context"
	"crypto/subtle"
	"encoding/base32"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP as every authenticator app takes it (RFC 6238 with Google
// Authenticator's defaults): SHA-1, 6 digits, 30-second steps, and one
// step of drift either way.
const (
	totpPeriod     = 30
	totpDigits     = 6
	totpSkew       = 1
	totpSecretSize = 20
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

var b32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// TOTPEnrolment is what a person needs to add veil to an authenticator
// app: the otpauth:// URL (shown as a QR code) and the secret in base32
// (to type in by hand).
type TOTPEnrolment struct {
	URL    string
	Secret string
}

var (
	errTOTPOff        = &Error{Code: EINVALID, Message: "Second factors are not enabled on this server."}
	errTOTPEnrolled   = &Error{Code: ECONFLICT, Message: "An authenticator app is already set up. Remove it first to set up another."}
	errTOTPNotStarted = &Error{Code: EINVALID, Message: "Start setting up an authenticator app first."}
	errNoTOTP         = &Error{Code: EINVALID, Message: "No authenticator app or passkey is set up."}
	errWrongCode      = &Error{Code: EINVALIDCODE, Message: "The code is incorrect. Please try again."}
)

// ParseTOTPCode checks the shape of a code as typed (six digits; spaces
// are dropped, as apps show "123 456"): EINVALID otherwise.
func ParseTOTPCode(s string) (string, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	if len(s) != totpDigits || strings.Trim(s, "0123456789") != "" {
		return "", Errorf(EINVALID, "A code is %d digits.", totpDigits)
	}
	return s, nil
}

// matchTOTP returns the time step whose code is code, within the drift
// allowed around now. Every step is compared, in constant time, whatever
// matched.
func matchTOTP(secret []byte, code string, now time.Time) (int64, bool) {
	enc := b32NoPad.EncodeToString(secret)
	cur := now.Unix() / totpPeriod
	var found int64
	ok := false
	for st := cur - totpSkew; st <= cur+totpSkew; st++ {
		want, err := totp.GenerateCodeCustom(enc, time.Unix(st*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !ok {
			found, ok = st, true
		}
	}
	return found, ok
}

// TOTPCode returns the code of secret (base32, as TOTPEnrolment.Secret)
// at t, as an authenticator app computes it: for tests and tools.
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}

// BeginTOTP starts setting up an authenticator app for a signed-in
// account: a fresh secret, kept unconfirmed until ConfirmTOTP, or the one
// already waiting (so reloading the page shows the same QR code).
// ECONFLICT when a confirmed app exists.
func (s *Service) BeginTOTP(ctx context.Context, acct *Account) (*TOTPEnrolment, error) {
	if s.cfg.Factors == nil {
		return nil, errTOTPOff
	}
	f, err := s.cfg.Factors.FindTOTP(ctx, acct.ID)
	var secret []byte
	switch {
	case err == nil && f.Confirmed:
		return nil, errTOTPEnrolled
	case err == nil:
		if secret, err = s.cfg.FactorKey.open(acct.ID, f.SealedSecret); err != nil {
			return nil, err
		}
	case ErrorCode(err) == ENOTFOUND:
		key, err := totp.Generate(totp.GenerateOpts{Issuer: s.cfg.MailPolicy.SiteName, AccountName: acct.Email.String(), SecretSize: totpSecretSize})
		if err != nil {
			return nil, err
		}
		if secret, err = b32NoPad.DecodeString(key.Secret()); err != nil {
			return nil, err
		}
		f = &TOTPFactor{AccountID: acct.ID, SealedSecret: s.cfg.FactorKey.seal(acct.ID, secret), CreatedAt: s.cfg.Clock.Now()}
		if err := s.cfg.Factors.PutTOTP(ctx, f); err != nil {
			return nil, unavailable("storing a TOTP factor", err)
		}
	default:
		return nil, unavailable("finding a TOTP factor", err)
	}
	return s.totpEnrolment(acct, secret)
}

func (s *Service) totpEnrolment(acct *Account, secret []byte) (*TOTPEnrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.cfg.MailPolicy.SiteName, AccountName: acct.Email.String(),
		Secret: secret, Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, err
	}
	return &TOTPEnrolment{URL: key.URL(), Secret: key.Secret()}, nil
}

// ConfirmTOTP turns the waiting authenticator app on once the person
// typed a code from it, and returns fresh recovery codes when the account
// has none left (shown once, never stored). The code is checked like a
// sign-in's second step: throttled per account and audited.
func (s *Service) ConfirmTOTP(ctx context.Context, acct *Account, code string, client Client, device string) ([]string, error) {
	code, err := ParseTOTPCode(code)
	if err != nil {
		return nil, err
	}
	if s.cfg.Factors == nil {
		return nil, errTOTPOff
	}
	ev := &Event{Kind: EventFactorAdded, Outcome: OutcomeFailure, AccountID: acct.ID, ClientAddr: client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	err = s.throttledCode(ctx, acct, client, device, ev, func() error {
		f, err := s.cfg.Factors.FindTOTP(ctx, acct.ID)
		switch {
		case ErrorCode(err) == ENOTFOUND:
			return errTOTPNotStarted
		case err != nil:
			return unavailable("finding a TOTP factor", err)
		case f.Confirmed:
			return errTOTPEnrolled
		}
		step, err := s.matchFactor(f, code, ev)
		if err != nil {
			return err
		}
		f.Confirmed, f.LastStep = true, step
		if err := s.cfg.Factors.PutTOTP(ctx, f); err != nil {
			return unavailable("confirming a TOTP factor", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ev.Outcome, ev.Reason = OutcomeSuccess, MethodTOTP
	n, err := s.cfg.Factors.CountRecoveryCodes(ctx, acct.ID)
	if err != nil || n > 0 {
		return nil, err
	}
	return s.newRecoveryCodes(ctx, acct)
}

// RemoveTOTP turns an account's authenticator app off, and its recovery
// codes with it unless a passkey remains, on a current code from the app or a recovery code (one
// of code, recoveryCode): a stolen session alone cannot turn the second
// factor off.
func (s *Service) RemoveTOTP(ctx context.Context, acct *Account, code, recoveryCode string, client Client, device string) error {
	check, err := s.parseCode(code, recoveryCode, nil)
	if err != nil {
		return err
	}
	if s.cfg.Factors == nil {
		return errTOTPOff
	}
	ev := &Event{Kind: EventFactorRemoved, Outcome: OutcomeFailure, AccountID: acct.ID, ClientAddr: client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	err = s.throttledCode(ctx, acct, client, device, ev, func() error { return check(ctx, acct, ev) })
	if err != nil {
		return err
	}
	if err := s.removeTOTP(ctx, acct); err != nil {
		ev.Reason = ReasonError
		return err
	}
	ev.Outcome, ev.Reason = OutcomeSuccess, MethodTOTP
	return nil
}

// HasTOTP reports whether the account has a confirmed authenticator app,
// and how many recovery codes it has left.
func (s *Service) HasTOTP(ctx context.Context, acct *Account) (bool, int, error) {
	if s.cfg.Factors == nil {
		return false, 0, nil
	}
	f, err := s.cfg.Factors.FindTOTP(ctx, acct.ID)
	if ErrorCode(err) == ENOTFOUND {
		return false, 0, nil
	} else if err != nil {
		return false, 0, unavailable("finding a TOTP factor", err)
	}
	n, err := s.cfg.Factors.CountRecoveryCodes(ctx, acct.ID)
	if err != nil {
		return false, 0, unavailable("counting recovery codes", err)
	}
	return f.Confirmed, n, nil
}

// verifyTOTP checks a code against the account's confirmed app and spends
// its time step, so that the same code (or an earlier one) never works
// twice. ev gets the reason of a failure.
func (s *Service) verifyTOTP(ctx context.Context, acct *Account, code string, ev *Event) error {
	f, err := s.cfg.Factors.FindTOTP(ctx, acct.ID)
	switch {
	case ErrorCode(err) == ENOTFOUND || err == nil && !f.Confirmed:
		ev.Reason = ReasonNoFactor
		return errWrongCode
	case err != nil:
		return unavailable("finding a TOTP factor", err)
	}
	step, err := s.matchFactor(f, code, ev)
	if err != nil {
		return err
	}
	err = s.cfg.Factors.UseTOTPStep(ctx, acct.ID, step)
	switch ErrorCode(err) {
	case "":
		return nil
	case ECONFLICT:
		ev.Reason = ReasonReusedCode
		return errWrongCode
	case ENOTFOUND:
		ev.Reason = ReasonNoFactor
		return errWrongCode
	}
	return unavailable("spending a TOTP code", err)
}

// matchFactor opens f's secret and returns the time step whose code is
// code; errWrongCode (the reason in ev) if none is.
func (s *Service) matchFactor(f *TOTPFactor, code string, ev *Event) (int64, error) {
	secret, err := s.cfg.FactorKey.open(f.AccountID, f.SealedSecret)
	if err != nil {
		return 0, err
	}
	step, ok := matchTOTP(secret, code, s.cfg.Clock.Now())
	if !ok {
		ev.Reason = ReasonWrongCode
		return 0, errWrongCode
	}
	return step, nil
}

// removeTOTP deletes the app, and the recovery codes when no passkey
// still needs them.
func (s *Service) removeTOTP(ctx context.Context, acct *Account) error {
	if err := s.cfg.Factors.DeleteTOTP(ctx, acct.ID); err != nil {
		return unavailable("removing a TOTP factor", err)
	}
	keys, err := s.ListPasskeys(ctx, acct)
	if err != nil || len(keys) > 0 {
		return err
	}
	if err := s.cfg.Factors.ReplaceRecoveryCodes(ctx, acct.ID, nil, s.cfg.Clock.Now()); err != nil {
		return unavailable("removing recovery codes", err)
	}
	return nil
}
