package veiltest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

// RunStoreTests checks that a veil.Store keeps the contract of its
// interfaces. open must return a fresh, empty store that is ready for use
// (migrated) and closed when tb's test ends; it is called once per subtest,
// and subtests run in parallel.
func RunStoreTests(t *testing.T, open func(tb testing.TB) veil.Store) {
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, open) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, open) })
	t.Run("Times", func(t *testing.T) { testTimes(t, open) })
	t.Run("SignUps", func(t *testing.T) { testSignUps(t, open) })
	t.Run("CompleteSignUp", func(t *testing.T) { testCompleteSignUp(t, open) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open) })
	t.Run("Outbox", func(t *testing.T) { testOutbox(t, open) })
	t.Run("OutboxLeases", func(t *testing.T) { testOutboxLeases(t, open) })
	t.Run("OutboxKeepsLang", func(t *testing.T) { testOutboxKeepsLang(t, open) })
	t.Run("OutboxErasesAddresses", func(t *testing.T) { testOutboxErasesAddresses(t, open) })
	t.Run("Factors", func(t *testing.T) { testFactors(t, open) })
	t.Run("Passkeys", func(t *testing.T) { testPasskeys(t, open) })
	t.Run("AccountSettings", func(t *testing.T) { testAccountSettings(t, open) })
}

// t0 has nanoseconds, so every round trip shows what the store keeps of
// them: the microseconds.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)

// micro is how a time reads back from a store: UTC, to the microsecond.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// sameTime reports whether got is what a store should return for want.
func sameTime(got, want time.Time) bool {
	return got.Location() == time.UTC && got.Equal(micro(want))
}

func mustIdentifier(tb testing.TB, s string) veil.Identifier {
	tb.Helper()
	id, err := veil.NormalizeIdentifier(s)
	if err != nil {
		tb.Fatalf("NormalizeIdentifier(%q): %v", s, err)
	}
	return id
}

// newAccount returns an account that is not stored yet.
func newAccount(tb testing.TB, email string) *veil.Account {
	tb.Helper()
	return &veil.Account{
		ID:           veil.NewAccountID(),
		Email:        mustIdentifier(tb, email),
		DisplayName:  "Display " + email,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		CreatedAt:    t0,
		UpdatedAt:    t0.Add(time.Second),
	}
}

func mustCreateAccount(tb testing.TB, st veil.Store, email string) *veil.Account {
	tb.Helper()
	a := newAccount(tb, email)
	if err := st.CreateAccount(tb.Context(), a); err != nil {
		tb.Fatalf("CreateAccount(%q): %v", a.Email, err)
	}
	return a
}

// newSession returns a session of accountID made at created, not stored yet.
func newSession(accountID string, created time.Time) *veil.Session {
	_, idHash := veil.NewSessionToken()
	return &veil.Session{
		IDHash:     idHash,
		AccountID:  accountID,
		CreatedAt:  created,
		LastSeenAt: created.Add(time.Minute),
		ExpiresAt:  created.Add(30 * 24 * time.Hour),
		ClientAddr: "192.0.2.7",
		UserAgent:  "Mozilla/5.0 (veiltest)",
	}
}

func mustCreateSession(tb testing.TB, st veil.SessionStore, s *veil.Session) *veil.Session {
	tb.Helper()
	if err := st.CreateSession(tb.Context(), s); err != nil {
		tb.Fatalf("CreateSession(account %s): %v", s.AccountID, err)
	}
	return s
}

// wantCode fails the test unless err has the error code want.
func wantCode(tb testing.TB, call string, err error, want string) {
	tb.Helper()
	if got := veil.ErrorCode(err); got != want {
		tb.Errorf("%s: error code %q (%v), want %q", call, got, err, want)
	}
}

// accountDiff lists how got differs from want as a store returns it.
func accountDiff(got, want *veil.Account) []string {
	var diffs []string
	add := func(field string, g, w any) { diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w)) }
	if got.ID != want.ID {
		add("ID", got.ID, want.ID)
	}
	if got.Email != want.Email {
		add("Email", fmt.Sprintf("%q", got.Email), fmt.Sprintf("%q", want.Email))
	}
	if got.DisplayName != want.DisplayName {
		add("DisplayName", fmt.Sprintf("%q", got.DisplayName), fmt.Sprintf("%q", want.DisplayName))
	}
	if got.PasswordHash != want.PasswordHash {
		add("PasswordHash", got.PasswordHash, want.PasswordHash)
	}
	if got.Disabled != want.Disabled {
		add("Disabled", got.Disabled, want.Disabled)
	}
	if !sameTime(got.CreatedAt, want.CreatedAt) {
		add("CreatedAt", got.CreatedAt, micro(want.CreatedAt))
	}
	if !sameTime(got.UpdatedAt, want.UpdatedAt) {
		add("UpdatedAt", got.UpdatedAt, micro(want.UpdatedAt))
	}
	return diffs
}

// sessionDiff lists how got differs from want as a store returns it.
func sessionDiff(got, want *veil.Session) []string {
	var diffs []string
	add := func(field string, g, w any) { diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w)) }
	if !bytes.Equal(got.IDHash, want.IDHash) {
		add("IDHash", fmt.Sprintf("%x", got.IDHash), fmt.Sprintf("%x", want.IDHash))
	}
	if got.AccountID != want.AccountID {
		add("AccountID", got.AccountID, want.AccountID)
	}
	if !sameTime(got.CreatedAt, want.CreatedAt) {
		add("CreatedAt", got.CreatedAt, micro(want.CreatedAt))
	}
	if !sameTime(got.LastSeenAt, want.LastSeenAt) {
		add("LastSeenAt", got.LastSeenAt, micro(want.LastSeenAt))
	}
	if !sameTime(got.ExpiresAt, want.ExpiresAt) {
		add("ExpiresAt", got.ExpiresAt, micro(want.ExpiresAt))
	}
	if got.ClientAddr != want.ClientAddr {
		add("ClientAddr", fmt.Sprintf("%q", got.ClientAddr), fmt.Sprintf("%q", want.ClientAddr))
	}
	if got.UserAgent != want.UserAgent {
		add("UserAgent", fmt.Sprintf("%q", got.UserAgent), fmt.Sprintf("%q", want.UserAgent))
	}
	return diffs
}

// eventDiff lists how got differs from want as a store returns it.
func eventDiff(got, want *veil.Event) []string {
	var diffs []string
	if !sameTime(got.Time, want.Time) {
		diffs = append(diffs, fmt.Sprintf("Time = %v, want %v", got.Time, micro(want.Time)))
	}
	g, w := *got, *want
	g.Time, w.Time = time.Time{}, time.Time{}
	if g != w {
		diffs = append(diffs, fmt.Sprintf("fields = %+v, want %+v", g, w))
	}
	return diffs
}
