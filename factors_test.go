package veil_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/throttle"
	"github.com/veil-id/veil/veiltest"
)

// factorFixture is a Service with second factors on, the real throttle,
// and one account, alice, with the password "correct horse battery".
type factorFixture struct {
	s     *veil.Service
	db    *sqlstore.DB
	clock *veiltest.Clock
	audit *recordingAuditor
	alice *veil.Account
}

const alicePassword = "correct horse battery"

func mustOpenFactors(tb testing.TB) *factorFixture {
	tb.Helper()
	db := sqlitetest.MustOpen(tb)
	h := mustCheapHasher(tb)
	clock := veiltest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	th, err := throttle.New(throttle.Config{
		Store:  throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20, Clock: clock}),
		Secret: []byte("factor test secret, at least 32 bytes"), Clock: clock, Logger: discardLogger(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	f := &factorFixture{db: db, clock: clock, audit: &recordingAuditor{}}
	f.s, err = veil.NewService(context.Background(), veil.ServiceConfig{
		Accounts: db, Sessions: db, Hasher: h, Auditor: f.audit, Clock: clock, Throttle: th,
		Key:     veil.IdentifierKey("0123456789abcdef0123456789abcdef"),
		Factors: db, FactorKey: veil.FactorKey(bytes.Repeat([]byte{7}, veil.FactorKeySize)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	if f.alice, err = f.s.AddAccount(context.Background(), "alice@example.com", "", alicePassword); err != nil {
		tb.Fatal(err)
	}
	return f
}

// enrol sets up an authenticator app for alice and returns its secret and
// recovery codes.
func (f *factorFixture) enrol(tb testing.TB) (string, []string) {
	tb.Helper()
	ctx := tb.Context()
	e, err := f.s.BeginTOTP(ctx, f.alice)
	if err != nil {
		tb.Fatalf("BeginTOTP: %v", err)
	}
	codes, err := f.s.ConfirmTOTP(ctx, f.alice, f.code(tb, e.Secret), veil.Client{}, "")
	if err != nil {
		tb.Fatalf("ConfirmTOTP: %v", err)
	}
	return e.Secret, codes
}

func (f *factorFixture) code(tb testing.TB, secret string) string {
	tb.Helper()
	c, err := veil.TOTPCode(secret, f.clock.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// pending signs alice in with her password and returns the pending token.
func (f *factorFixture) pending(tb testing.TB) string {
	tb.Helper()
	res, err := f.s.Login(tb.Context(), veil.LoginRequest{Identifier: "alice@example.com", Password: alicePassword})
	if err != nil {
		tb.Fatalf("Login: %v", err)
	}
	if res.SecondFactor == nil || res.Session != nil || res.Token != "" || res.DeviceCookie != "" {
		tb.Fatalf("Login with a second factor = %+v, want a pending sign-in without session or device cookie", res)
	}
	return res.SecondFactor.Token
}

func TestTOTPEnrolment(t *testing.T) {
	f := mustOpenFactors(t)
	ctx := t.Context()
	e1, err := f.s.BeginTOTP(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e1.URL, "otpauth://totp/") || !strings.Contains(e1.URL, "secret="+e1.Secret) {
		t.Errorf("BeginTOTP URL = %q, want an otpauth://totp/ URL with the secret", e1.URL)
	}
	if e2, _ := f.s.BeginTOTP(ctx, f.alice); e2 == nil || e2.Secret != e1.Secret {
		t.Errorf("BeginTOTP again = %+v, want the waiting secret %s", e2, e1.Secret)
	}
	// Not confirmed yet: the password alone signs in.
	if res, err := f.s.Login(ctx, veil.LoginRequest{Identifier: "alice@example.com", Password: alicePassword}); err != nil || res.SecondFactor != nil {
		t.Fatalf("Login before confirming = %+v, %v; want a session", res, err)
	}
	if _, err := f.s.ConfirmTOTP(ctx, f.alice, "000000", veil.Client{}, ""); veil.ErrorCode(err) != veil.EINVALIDCODE && f.code(t, e1.Secret) != "000000" {
		t.Errorf("ConfirmTOTP(wrong code) = %v, want EINVALIDCODE", err)
	}
	if _, err := f.s.ConfirmTOTP(ctx, f.alice, "12345", veil.Client{}, ""); veil.ErrorCode(err) != veil.EINVALID {
		t.Errorf("ConfirmTOTP(5 digits) = %v, want EINVALID", err)
	}
	codes, err := f.s.ConfirmTOTP(ctx, f.alice, f.code(t, e1.Secret), veil.Client{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != veil.RecoveryCodeCount {
		t.Errorf("ConfirmTOTP gave %d recovery codes, want %d", len(codes), veil.RecoveryCodeCount)
	}
	if _, err := f.s.BeginTOTP(ctx, f.alice); veil.ErrorCode(err) != veil.ECONFLICT {
		t.Errorf("BeginTOTP with a confirmed app = %v, want ECONFLICT", err)
	}
	// At rest: the sealed secret, never the secret.
	stored, err := f.db.FindTOTP(ctx, f.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := strings.CutSuffix(e1.Secret, "=")
	if bytes.Contains(stored.SealedSecret, []byte(raw)) || !stored.Confirmed {
		t.Errorf("stored factor %+v holds the secret in the clear or is unconfirmed", stored)
	}
	if on, left, err := f.s.HasTOTP(ctx, f.alice); !on || left != 10 || err != nil {
		t.Errorf("HasTOTP = %v, %d, %v; want true, 10", on, left, err)
	}
}

func TestSecondFactorSignIn(t *testing.T) {
	f := mustOpenFactors(t)
	ctx := t.Context()
	secret, recovery := f.enrol(t)

	// A wrong password answers the one failure, as for an unknown address.
	_, wrong := f.s.Login(ctx, veil.LoginRequest{Identifier: "alice@example.com", Password: "wrong password!"})
	_, unknown := f.s.Login(ctx, veil.LoginRequest{Identifier: "nobody@example.com", Password: "wrong password!"})
	if wrong == nil || wrong.Error() != unknown.Error() {
		t.Fatalf("Login(wrong password) = %v, Login(unknown) = %v; want one failure", wrong, unknown)
	}
	if ev := f.audit.last(); ev.Reason != veil.ReasonUnknownIdentifier {
		t.Errorf("audit after unknown = %+v", ev)
	}

	tok := f.pending(t)
	if ev := f.audit.last(); ev.Kind != veil.EventLogin || ev.Outcome != veil.OutcomePending || ev.Reason != veil.ReasonSecondFactorRequired {
		t.Errorf("audit after the password = %+v, want login pending", ev)
	}
	_, err := f.s.CompleteSignIn(ctx, veil.SecondFactorRequest{Pending: tok, Code: wrongCode(f.code(t, secret))})
	if veil.ErrorCode(err) != veil.EINVALIDCODE {
		t.Errorf("CompleteSignIn(wrong code) = %v, want EINVALIDCODE", err)
	}
	if ev := f.audit.last(); ev.Kind != veil.EventSecondFactor || ev.Reason != veil.ReasonWrongCode || ev.AccountID != f.alice.ID {
		t.Errorf("audit after a wrong code = %+v", ev)
	}
	f.clock.Add(30 * time.Second) // the step enrolment used is spent
	code := f.code(t, secret)
	res, err := f.s.CompleteSignIn(ctx, veil.SecondFactorRequest{Pending: tok, Code: code})
	if err != nil || res.Session == nil || res.Token == "" || res.Account.ID != f.alice.ID {
		t.Fatalf("CompleteSignIn(right code) = %+v, %v; want a session", res, err)
	}
	if res.DeviceCookie == "" {
		t.Errorf("CompleteSignIn gave no device cookie")
	}
	// The same code again, even on a fresh sign-in, is refused.
	_, err = f.s.CompleteSignIn(ctx, veil.SecondFactorRequest{Pending: f.pending(t), Code: code})
	if veil.ErrorCode(err) != veil.EINVALIDCODE || f.audit.last().Reason != veil.ReasonReusedCode {
		t.Errorf("CompleteSignIn(reused code) = %v, audit %+v; want EINVALIDCODE, reused_code", err, f.audit.last())
	}
	// A recovery code works once.
	tok = f.pending(t)
	if _, err := f.s.CompleteSignIn(ctx, veil.SecondFactorRequest{Pending: tok, RecoveryCode: strings.ToUpper(recovery[3])}); err != nil {
		t.Errorf("CompleteSignIn(recovery code) = %v", err)
	}
	if ev := f.audit.last(); ev.Outcome != veil.OutcomeSuccess || ev.Reason != veil.MethodRecoveryCode {
		t.Errorf("audit after a recovery code = %+v", ev)
	}
	_, err = f.s.CompleteSignIn(ctx, veil.SecondFactorRequest{Pending: tok, RecoveryCode: recovery[3]})
	if veil.ErrorCode(err) != veil.EINVALIDCODE || f.audit.last().Reason != veil.ReasonWrongRecoveryCode {
		t.Errorf("CompleteSignIn(used recovery code) = %v, audit %+v", err, f.audit.last())
	}
	if _, left, _ := f.s.HasTOTP(ctx, f.alice); left != 9 {
		t.Errorf("recovery codes left = %d, want 9", left)
	}
}

func TestPendingSignInToken(t *testing.T) {
	f := mustOpenFactors(t)
	ctx := t.Context()
	secret, _ := f.enrol(t)
	tok := f.pending(t)
	f.clock.Add(30 * time.Second)
	for _, bad := range []string{"", "x", tok + "x", flipFirst(tok), strings.Replace(tok, ".", ".A", 1)} {
		_, err := f.s.CompleteSignIn(ctx, veil.SecondFactorRequest{Pending: bad, Code: f.code(t, secret)})
		if veil.ErrorCode(err) != veil.EINVALIDCODE || f.audit.last().Reason != veil.ReasonExpiredSignIn {
			t.Errorf("CompleteSignIn(pending %q) = %v, audit %+v; want EINVALIDCODE, expired_sign_in", bad, err, f.audit.last())
		}
	}
	f.clock.Add(veil.PendingSignInTTL)
	_, err := f.s.CompleteSignIn(ctx, veil.SecondFactorRequest{Pending: tok, Code: f.code(t, secret)})
	if f.audit.last().Reason != veil.ReasonExpiredSignIn {
		t.Errorf("CompleteSignIn(expired) = %v, audit %+v", err, f.audit.last())
	}
	for _, in := range []veil.SecondFactorRequest{{Pending: tok}, {Pending: tok, Code: "123456", RecoveryCode: "aaaa-bbbb-cccc"}, {Pending: tok, Code: "12345a"}, {Pending: tok, RecoveryCode: "short"}} {
		if _, err := f.s.CompleteSignIn(ctx, in); veil.ErrorCode(err) != veil.EINVALID {
			t.Errorf("CompleteSignIn(%+v) = %v, want EINVALID", in, err)
		}
	}
}

// TestSecondFactorThrottle checks that wrong codes count in the sign-in's
// own counters: the account is held back after as many wrong codes as
// wrong passwords, and a device cookie does not skip the code.
func TestSecondFactorThrottle(t *testing.T) {
	f := mustOpenFactors(t)
	ctx := t.Context()
	secret, _ := f.enrol(t)
	tok := f.pending(t)
	bad := wrongCode(f.code(t, secret))
	var err error
	for i := 0; i < 20 && veil.ErrorCode(err) != veil.ETHROTTLED; i++ {
		_, err = f.s.CompleteSignIn(ctx, veil.SecondFactorRequest{Pending: tok, Code: bad, Client: veil.Client{Addr: "192.0.2.1"}})
	}
	if veil.ErrorCode(err) != veil.ETHROTTLED {
		t.Fatalf("20 wrong codes: last error %v, want ETHROTTLED", err)
	}
	// From another address, on the same account: still held back.
	_, err = f.s.CompleteSignIn(ctx, veil.SecondFactorRequest{Pending: tok, Code: bad, Client: veil.Client{Addr: "198.51.100.1"}})
	if veil.ErrorCode(err) != veil.ETHROTTLED {
		t.Errorf("wrong code from another address = %v, want ETHROTTLED (per account)", err)
	}
	// The password step shares the counters.
	_, err = f.s.Login(ctx, veil.LoginRequest{Identifier: "alice@example.com", Password: alicePassword, Client: veil.Client{Addr: "198.51.100.1"}})
	if veil.ErrorCode(err) != veil.ETHROTTLED {
		t.Errorf("Login after wrong codes = %v, want ETHROTTLED", err)
	}
}

func TestDeviceCookieDoesNotSkipTheFactor(t *testing.T) {
	f := mustOpenFactors(t)
	ctx := t.Context()
	secret, _ := f.enrol(t)
	f.clock.Add(30 * time.Second)
	res, err := f.s.CompleteSignIn(ctx, veil.SecondFactorRequest{Pending: f.pending(t), Code: f.code(t, secret)})
	if err != nil || res.DeviceCookie == "" {
		t.Fatalf("CompleteSignIn = %+v, %v", res, err)
	}
	again, err := f.s.Login(ctx, veil.LoginRequest{Identifier: "alice@example.com", Password: alicePassword, DeviceCookie: res.DeviceCookie})
	if err != nil || again.SecondFactor == nil || again.Session != nil {
		t.Errorf("Login with a device cookie = %+v, %v; want the second factor asked", again, err)
	}
}

func TestRemoveAndResetFactors(t *testing.T) {
	f := mustOpenFactors(t)
	ctx := t.Context()
	secret, recovery := f.enrol(t)
	f.clock.Add(30 * time.Second)
	if err := f.s.RemoveTOTP(ctx, f.alice, wrongCode(f.code(t, secret)), "", veil.Client{}, ""); veil.ErrorCode(err) != veil.EINVALIDCODE {
		t.Errorf("RemoveTOTP(wrong code) = %v, want EINVALIDCODE", err)
	}
	if err := f.s.RemoveTOTP(ctx, f.alice, "", recovery[0], veil.Client{}, ""); err != nil {
		t.Fatalf("RemoveTOTP(recovery code) = %v", err)
	}
	if on, left, _ := f.s.HasTOTP(ctx, f.alice); on || left != 0 {
		t.Errorf("after RemoveTOTP: HasTOTP = %v, %d", on, left)
	}
	f.clock.Add(30 * time.Second)
	f.enrol(t)
	if _, err := f.s.RegenerateRecoveryCodes(ctx, f.alice); err != nil {
		t.Fatal(err)
	}
	acct, n, err := f.s.ResetFactors(ctx, "alice@example.com")
	if err != nil || acct.ID != f.alice.ID || n != 11 {
		t.Errorf("ResetFactors = %v, %d, %v; want alice, 11 rows", acct, n, err)
	}
	if ev := f.audit.last(); ev.Kind != veil.EventFactorsReset || ev.AccountID != f.alice.ID {
		t.Errorf("audit after ResetFactors = %+v", ev)
	}
	res, err := f.s.Login(ctx, veil.LoginRequest{Identifier: "alice@example.com", Password: alicePassword})
	if err != nil || res.SecondFactor != nil || res.Session == nil {
		t.Errorf("Login after ResetFactors = %+v, %v; want a session", res, err)
	}
	if _, err := f.s.DeleteAccount(ctx, f.alice.ID); err != nil {
		t.Fatal(err)
	}
}

func TestParseRecoveryCode(t *testing.T) {
	for in, want := range map[string]string{"abcd-efgh-2345": "abcdefgh2345", " ABCD EFGH 2345 ": "abcdefgh2345", "abcdefgh2345": "abcdefgh2345"} {
		if got, err := veil.ParseRecoveryCode(in); got != want || err != nil {
			t.Errorf("ParseRecoveryCode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abcd-efgh-234", "abcd-efgh-2341", "abcd-efgh-23450", strings.Repeat("a", 100)} {
		if _, err := veil.ParseRecoveryCode(in); veil.ErrorCode(err) != veil.EINVALID {
			t.Errorf("ParseRecoveryCode(%q) = %v, want EINVALID", in, err)
		}
	}
}

func FuzzParseCodes(f *testing.F) {
	f.Add("123 456")
	f.Add("abcd-efgh-2345")
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := veil.ParseTOTPCode(s); err == nil && len(c) != 6 {
			t.Errorf("ParseTOTPCode(%q) = %q", s, c)
		}
		if c, err := veil.ParseRecoveryCode(s); err == nil {
			if again, err := veil.ParseRecoveryCode(c); again != c || err != nil {
				t.Errorf("ParseRecoveryCode(%q) = %q, not a fixed point", s, c)
			}
		}
	})
}

// wrongCode is a six-digit code other than c.
func wrongCode(c string) string {
	if c == "000000" {
		return "111111"
	}
	return "000000"
}

// flipFirst changes the first character of s.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// mustCheapHasher is a hasher with the cheapest argon2id parameters: the
// factor tests need passwords to check, not their cost.
func mustCheapHasher(tb testing.TB) *password.Hasher {
	tb.Helper()
	h, err := password.New(password.Config{Params: password.Params{Memory: 1024, Iterations: 1, Parallelism: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	return h
}
