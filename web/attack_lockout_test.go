package web_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/throttle"
)

// TestPasskeyOptionsPastLockout: a stranger's wrong passwords block an
// identifier; its owner's browser, which holds her device cookie, must
// still get her passkey options (invariant 5), as it gets her password
// sign-in. Before, the options were checked in the identifier's bucket
// whatever the cookie, and answered 429 to her too. Everyone else's
// options stay blocked alike, for the account and an unknown identifier.
func TestPasskeyOptionsPastLockout(t *testing.T) {
	ts := MustOpenThrottledServer(t, withPasskeys(t))
	kay := ts.mustAddAccount(t, "kay@example.com", goodPassword)
	// Her browser signed in before she added a passkey (which is a second
	// factor from then on).
	ok := ts.attempt(t, false, "198.51.100.7", "kay@example.com", goodPassword, "")
	device := cookieNamed(ok, "veil_device")
	if ok.status != http.StatusOK || device == "" {
		t.Fatalf("sign-in: %d, device cookie %q", ok.status, device)
	}
	ts.mustStorePasskey(t, kay, "sixteen-byte-id!")
	options := func(identifier, from string, cookie ...string) answer {
		hdr := []string{"X-Forwarded-For", from}
		if len(cookie) > 0 {
			hdr = append(hdr, "Cookie", cookie[0])
		}
		return ts.do(t, "POST", "/api/passkey/login/options", "application/json", jsonBody("identifier", identifier), hdr...)
	}
	block := func(identifier string) {
		var chal *veil.Challenge
		for range 4 {
			proof := ""
			if chal != nil {
				proof = throttle.Solve(chal)
			}
			chal = challengeIn(t, ts.attempt(t, false, "203.0.113.66", identifier, "guess"+strconv.Itoa(len(proof)), proof))
		}
	}
	block("kay@example.com")
	block("nobody@example.com")
	stranger, unknown := options("kay@example.com", "198.51.100.8"), options("nobody@example.com", "198.51.100.8")
	if stranger.status != http.StatusTooManyRequests || diffAnswers(masked(stranger), masked(unknown)) != "" {
		t.Errorf("options for a blocked account and a blocked unknown identifier, from a stranger: %d and %d (%s); want the same 429",
			stranger.status, unknown.status, diffAnswers(masked(stranger), masked(unknown)))
	}
	if a := options("kay@example.com", "198.51.100.7", device); a.status != http.StatusOK {
		t.Errorf("options for her blocked identifier from the owner's browser: %d %s, want 200", a.status, a.body)
	}
	if a := options("kay@example.com", "198.51.100.8", "veil_device=forged.cookie"); a.status != http.StatusTooManyRequests {
		t.Errorf("options with a forged device cookie: %d, want 429", a.status)
	}
}
