package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestSecondFactorPendingIsNoFault signs in with the right password to an
// account with an authenticator app, and asks for passkey options: both
// end with nothing to count, and the throttle must say so — not count them
// among the attempts a fault of veil's ended (veil_throttle_uncounted_total),
// where each would read as an outage. Before, both were settled as faults.
func TestSecondFactorPendingIsNoFault(t *testing.T) {
	ts := MustOpenThrottledServer(t, withPasskeys(t))
	ts.mustEnrolTOTPAt(t, ts.mustAddAccount(t, "tom@example.com", goodPassword), ts.clock.Now())
	st := ts.throttle.Stats()
	const n = 6 // more than the identifier's BlockAfter (4): none is counted
	for i := range n {
		a := ts.attempt(t, false, "198.51.100.20", "tom@example.com", goodPassword, "")
		if a.status != http.StatusOK || !strings.Contains(a.body, `"second_factor_required"`) {
			t.Fatalf("right password %d: %d %s", i+1, a.status, a.body)
		}
		if c := cookieNamed(a, "veil_device"); c != "" {
			t.Fatalf("right password %d, second factor still to come: a device cookie was set", i+1)
		}
	}
	for range n {
		ts.do(t, "POST", "/api/passkey/login/options", "application/json", jsonBody("identifier", "tom@example.com"), "X-Forwarded-For", "198.51.100.21")
	}
	if got, want := st.Released.Load(), int64(2*n); got != want {
		t.Errorf("released = %d, want %d (%d pending sign-ins, %d options)", got, want, n, n)
	}
	if got := st.Uncounted.Load(); got != 0 {
		t.Errorf("uncounted (veil's faults) = %d, want 0: no fault happened", got)
	}
}
