package web_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/throttle"
)

// options asks for identifier-first passkey options from a client at
// from, with a Cookie header if one is given.
func options(tb testing.TB, ts *throttledServer, identifier, from string, cookie ...string) answer {
	tb.Helper()
	hdr := []string{"X-Forwarded-For", from}
	if len(cookie) > 0 {
		hdr = append(hdr, "Cookie", cookie[0])
	}
	return ts.do(tb, "POST", "/api/passkey/login/options", "application/json", jsonBody("identifier", identifier), hdr...)
}

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
		return options(t, ts, identifier, from, cookie...)
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

// TestPasskeyFinishPastLockout: identifier-first options give anyone an
// account's credential IDs, and the finish step is throttled by
// credential, so a stranger's forged assertions block the credential.
// The browser that signed in with that passkey before must still sign in
// with it (invariant 5): its device cookie holds one bound to the
// credential beside the one bound to the address. Before, the throttle's
// credential-bound cookie was thrown away and the finish step took no
// device cookie: the owner got the stranger's 429.
func TestPasskeyFinishPastLockout(t *testing.T) {
	ts := MustOpenThrottledServer(t, withPasskeys(t))
	kay := ts.mustAddAccount(t, "kay@example.com", goodPassword)
	key := ts.mustAddSoftPasskey(t, kay, "sixteen-byte-id!")
	p := passkeyAttempt{ts.testServer}
	finish := func(body, from string, cookie ...string) answer {
		hdr := []string{"X-Forwarded-For", from}
		if len(cookie) > 0 {
			hdr = append(hdr, "Cookie", cookie[0])
		}
		return ts.do(t, "POST", "/api/passkey/login/finish", "application/json", body, hdr...)
	}
	first := finish(key.finishBody(t, p.challenge(t, "")), "198.51.100.7")
	device := cookieNamed(first, "veil_device")
	if first.status != http.StatusOK || device == "" {
		t.Fatalf("passkey sign-in: %d %s, device cookie %q", first.status, first.body, device)
	}
	// A stranger blocks the credential, whose ID the options give out.
	for range 6 {
		finish(forgedAssertion(p.challenge(t, ""), key.credID), "203.0.113.9")
	}
	if a := finish(key.finishBody(t, p.challenge(t, "")), "198.51.100.8"); a.status != http.StatusTooManyRequests {
		t.Fatalf("the right passkey from another browser, credential blocked: %d, want 429", a.status)
	}
	a := finish(key.finishBody(t, p.challenge(t, "")), "198.51.100.7", device)
	if a.status != http.StatusOK || cookieNamed(a, "veil_session") == "" {
		t.Fatalf("the right passkey from the owner's browser, credential blocked: %d %s, want a session", a.status, a.body)
	}
	// That browser still gets past a lockout of her address, too.
	for range 6 {
		ts.attempt(t, false, "203.0.113.9", "kay@example.com", wrongPassword, "")
	}
	if a := options(t, ts, "kay@example.com", "198.51.100.7", cookieNamed(a, "veil_device")); a.status != http.StatusOK {
		t.Errorf("options for her blocked address with the cookie of her passkey sign-in: %d, want 200", a.status)
	}
}
