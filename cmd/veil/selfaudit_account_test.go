package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil/probe"
)

// TestSelfAuditAccount runs veil probe against the account endpoints that
// take an address somebody else may have: sign-in by mailed code (asking
// for a code, trying one) for existing and unknown addresses, and an
// address change from a signed-in account to addresses other accounts
// have (one disabled) and to free ones. Sized like TestSelfAudit; the
// closing numbers come from `veil probe` at n=2000 (README).
func TestSelfAuditAccount(t *testing.T) {
	url, exists := mustRunAuditedVeil(t)
	cookie := mustSessionCookie(t, url, exists[0], auditPassword)
	const n = 150
	var plan probe.Plan
	for _, tt := range []struct {
		preset string
		status int
	}{
		{"login-code", http.StatusAccepted},
		{"login-code-confirm", http.StatusUnauthorized},
		{"account-email", http.StatusAccepted},
	} {
		target, err := probe.PresetTarget(tt.preset, url)
		if err != nil {
			t.Fatal(err)
		}
		target.Exists = exists
		target.Missing = probe.MissingFor(exists)
		target.Password = probe.RandomPassword()
		if tt.preset == "account-email" {
			// Alice moves her account: to her own address, Bob's and
			// Carol's (disabled), or to free ones.
			target.Password = auditPassword
			target.Header.Set("Cookie", cookie)
		}
		checkPresetAnswer(t, target, tt.status)
		plan.Probes = append(plan.Probes, auditProbe(target, n))
	}
	runAuditPlan(t, "SQLite (account endpoints)", n, plan, 2*time.Minute)
}

// mustSessionCookie signs in at url and returns the Cookie header of the
// session.
func mustSessionCookie(tb testing.TB, url, email, password string) string {
	tb.Helper()
	res, err := http.Post(url+"/api/login", "application/json",
		strings.NewReader(`{"identifier":"`+email+`","password":"`+password+`"}`))
	if err != nil {
		tb.Fatal(err)
	}
	res.Body.Close()
	var pairs []string
	for _, c := range res.Cookies() {
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	if res.StatusCode != http.StatusOK || len(pairs) == 0 {
		tb.Fatalf("sign-in as %s: %d", email, res.StatusCode)
	}
	return strings.Join(pairs, "; ")
}
