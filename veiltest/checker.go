package veiltest

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/veil-id/veil"
)

// CheckerHarness is a PasswordChecker under test and what the suite needs
// to know of it.
type CheckerHarness struct {
	Checker veil.PasswordChecker
	// Known is the identifier of an account that may sign in, with
	// Password; Disabled, if not "", one that has Password too but may
	// not (a disabled account, an operator-locked entry).
	Known, Disabled, Password string
	// Work counts the costly operations so far — verifications of a
	// hash, binds to a directory, lookups — however the checker does
	// them: every attempt must add the same.
	Work func() int64
}

// RunPasswordCheckerTests checks a PasswordChecker (the local one, a
// directory) for what sign-in relies on: the right verdict for each kind
// of attempt, the true reason kept to itself, and the same work whether or
// not the identifier names an account, is disabled or is trusted.
func RunPasswordCheckerTests(t *testing.T, open func(tb testing.TB) CheckerHarness) {
	h := open(t)
	const wrong = "not the password at all"
	type verdict struct {
		account, match bool
	}
	tests := []struct {
		name, identifier, password string
		trusted                    bool
		want                       verdict
	}{
		{"right password", h.Known, h.Password, false, verdict{true, true}},
		{"right password, trusted", h.Known, h.Password, true, verdict{true, true}},
		{"wrong password", h.Known, wrong, false, verdict{true, false}},
		{"wrong password, trusted", h.Known, wrong, true, verdict{true, false}},
		{"unknown, an account's password", "nobody-" + randomHex(4) + "@example.com", h.Password, false, verdict{false, false}},
		{"unknown", "nobody-" + randomHex(4) + "@example.com", wrong, false, verdict{false, false}},
		{"unknown, trusted", "nobody-" + randomHex(4) + "@example.com", wrong, true, verdict{false, false}},
	}
	if h.Disabled != "" {
		// Such an account is refused after the check (Disabled, or a
		// Reason); whether the password matched is the checker's to say.
		tests = append(tests, struct {
			name, identifier, password string
			trusted                    bool
			want                       verdict
		}{"may not sign in, right password", h.Disabled, h.Password, false, verdict{true, false}})
	}
	// The first attempt warms pools and caches, which cost work of their
	// own: it is the baseline's, not a case's.
	if _, err := h.Checker.CheckPassword(t.Context(), veil.PasswordAttempt{Identifier: mustIdentifier(t, "warm-up@example.com"), Password: wrong}); err != nil {
		t.Fatalf("CheckPassword(warm-up): %v", err)
	}
	var work int64 = -1
	for _, tt := range tests {
		before := h.Work()
		got, err := h.Checker.CheckPassword(t.Context(), veil.PasswordAttempt{Identifier: mustIdentifier(t, tt.identifier), Password: tt.password, Trusted: tt.trusted})
		if err != nil {
			t.Errorf("%s: CheckPassword: %v", tt.name, err)
			continue
		}
		cost := h.Work() - before
		refused := got.Account != nil && (got.Account.Disabled || got.Reason != "")
		if tt.identifier == h.Disabled && refused {
			got.Match = false // refused all the same
		}
		if v := (verdict{got.Account != nil, got.Match}); v != tt.want {
			t.Errorf("%s: CheckPassword = account %v, match %v (reason %q); want account %v, match %v", tt.name, v.account, v.match, got.Reason, tt.want.account, tt.want.match)
		}
		if got.Match && got.Account.Email != mustIdentifier(t, tt.identifier) {
			t.Errorf("%s: CheckPassword matched %q", tt.name, got.Account.Email)
		}
		if tt.want.match && got.Reason != "" {
			t.Errorf("%s: a sign-in that may proceed has the reason %q", tt.name, got.Reason)
		}
		switch {
		case cost <= 0:
			t.Errorf("%s: CheckPassword did no work (%d)", tt.name, cost)
		case work < 0:
			work = cost
		case cost != work:
			t.Errorf("%s: CheckPassword cost %d operations, the first case %d: the work must not depend on the account", tt.name, cost, work)
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
