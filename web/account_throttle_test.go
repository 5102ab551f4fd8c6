package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil/throttle"
)

// signInThrottleSteps is how failed sign-ins go for one identifier
// (testThrottlePolicy).
var signInThrottleSteps = []throttleStep{
	{"first failure", false, 0, 401, "", false},
	{"second failure: challenge for the next", false, 0, 401, "", true},
	{"unsolved: slow lane", false, 0, 401, "", true},
	{"unsolved: slow lane taken", false, 0, 429, "15", true},
	{"solved: fourth failure blocks", true, 0, 401, "", false},
	{"blocked", false, 0, 429, "60", false},
	{"blocked, later", false, 30 * time.Second, 429, "30", false},
	{"after the block, slow lane: blocks longer", false, 31 * time.Second, 401, "", false},
	{"blocked longer", false, 0, 429, "120", false},
}

// mailFlowSteps is how a throttled request that sends mail goes, per
// target address (testThrottlePolicy).
var mailFlowSteps = []throttleStep{
	{"first request", false, 0, 202, "", false},
	{"second request", false, 0, 202, "", false},
	{"unsolved: slow lane", false, 0, 202, "", false},
	{"unsolved: slow lane taken", false, 0, 429, "15", true},
	{"solved: fourth request blocks the next", true, 0, 202, "", false},
	{"blocked", false, 0, 429, "60", false},
	{"blocked, later", false, 30 * time.Second, 429, "30", false},
	{"after the block, slow lane: blocks longer", false, 31 * time.Second, 202, "", false},
	{"blocked longer", false, 0, 429, "120", false},
}

// TestThrottledEmailChangeIsIdentical: asking to move to a taken address
// and to a free one, each with the same history, gets byte-identical
// answers at every step of the target address's throttle, and the owner
// of the taken address gets a bounded number of notices.
func TestThrottledEmailChangeIsIdentical(t *testing.T) {
	for _, tt := range []struct {
		name, path, contentType string
		body                    func(email, proof string) string
	}{
		{"json", "/api/account/email", "application/json", func(e, p string) string {
			return jsonBody("email", e, "password", goodPassword, "proof", p)
		}},
		{"form", "/account/email", formType, func(e, p string) string {
			return url.Values{"email": {e}, "password": {goodPassword}, "proof": {p}}.Encode()
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := MustOpenThrottledServer(t)
			ts.mustAddAccount(t, "alice@example.com", goodPassword)
			ts.mustAddAccount(t, "taken@example.com", goodPassword)
			cookie := ts.mustSignIn(t, "alice@example.com", goodPassword)
			who := []struct{ addr, email string }{{"198.51.100.1", "taken@example.com"}, {"198.51.100.2", "free@example.com"}}
			ts.walkPair(t, mailFlowSteps, [2]string{who[0].email, who[1].email}, func(i int, proof string) answer {
				return ts.do(t, "POST", tt.path, tt.contentType, tt.body(who[i].email, proof), "X-Forwarded-For", who[i].addr, "Cookie", cookie)
			})
			got := map[string]int{}
			for _, m := range ts.drain(t) {
				got[string(m.To)]++
			}
			if got["taken@example.com"] != 5 || got["free@example.com"] != 5 {
				t.Errorf("mail: %v; want 5 to each address (the accepted requests, not the nine made)", got)
			}
		})
	}
}

// TestThrottledLoginCodeIsIdentical: asking for codes is throttled like
// recovery, and trying codes like signing in, in the identifier's bucket:
// an existing and an unknown address, each with the same history, get
// byte-identical answers at every step.
func TestThrottledLoginCodeIsIdentical(t *testing.T) {
	for _, tt := range []struct {
		name, path, contentType string
		steps                   []throttleStep
		body                    func(email, proof string) string
	}{
		{"request json", "/api/login/code", "application/json", mailFlowSteps, func(e, p string) string { return jsonBody("email", e, "proof", p) }},
		{"request form", "/login/code", formType, mailFlowSteps, func(e, p string) string { return url.Values{"email": {e}, "proof": {p}}.Encode() }},
		{"confirm json", "/api/login/code/confirm", "application/json", signInThrottleSteps[:6], func(e, p string) string {
			return jsonBody("email", e, "code", "12345678", "proof", p)
		}},
		{"confirm form", "/login/code/confirm", formType, signInThrottleSteps[:6], func(e, p string) string {
			return url.Values{"email": {e}, "code": {"12345678"}, "proof": {p}}.Encode()
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := MustOpenThrottledServer(t)
			ts.mustAddAccount(t, "alice@example.com", goodPassword)
			who := []struct{ addr, email string }{{"198.51.100.1", "alice@example.com"}, {"198.51.100.2", "nobody@example.com"}}
			ts.walkPair(t, tt.steps, [2]string{who[0].email, who[1].email}, func(i int, proof string) answer {
				return ts.do(t, "POST", tt.path, tt.contentType, tt.body(who[i].email, proof), "X-Forwarded-For", who[i].addr)
			})
			if tt.steps[0].wantStatus == http.StatusUnauthorized {
				// Guessed codes count where guessed passwords do.
				if a := ts.attempt(t, false, "198.51.100.1", "alice@example.com", goodPassword, ""); a.status != http.StatusTooManyRequests {
					t.Errorf("sign-in with the password after wrong codes blocked the identifier: %d, want 429", a.status)
				}
			}
		})
	}
}

// TestChangePasswordCountsLikeASignIn: a stolen session cannot guess the
// current password faster than a sign-in could. Wrong current passwords
// are failures where a sign-in's would be: in the identifier's bucket, so
// its block stops sign-ins too — or, from a browser with the account's
// device cookie, in that device's own bucket, as its sign-ins are, so a
// lockout caused elsewhere does not keep the owner from her settings.
func TestChangePasswordCountsLikeASignIn(t *testing.T) {
	for _, withDevice := range []bool{false, true} {
		t.Run(map[bool]string{false: "identifier bucket", true: "device bucket"}[withDevice], func(t *testing.T) {
			ts := MustOpenThrottledServer(t)
			ts.mustAddAccount(t, "alice@example.com", goodPassword)
			cookie := ts.mustSignIn(t, "alice@example.com", goodPassword)
			if !withDevice {
				cookie = onlyCookie(cookie, "veil_session")
			}
			change := func(current, proof string) answer {
				return ts.do(t, "POST", "/api/account/password", "application/json",
					jsonBody("current_password", current, "password", "a brand new passphrase", "proof", proof),
					"X-Forwarded-For", "198.51.100.9", "Cookie", cookie)
			}
			var last answer
			for i := range 4 {
				proof := ""
				if i >= 2 { // challenged from the third on (testThrottlePolicy)
					proof = throttle.Solve(challengeIn(t, last))
				}
				if last = change(wrongPassword, proof); last.status != http.StatusUnauthorized {
					t.Fatalf("wrong current password %d: %d %s", i+1, last.status, last.body)
				}
			}
			if a := change(goodPassword, ""); a.status != http.StatusTooManyRequests {
				t.Errorf("the right password after four wrong ones: %d, want 429 (blocked)", a.status)
			}
			want := map[bool]int{false: http.StatusTooManyRequests, true: http.StatusOK}[withDevice]
			if a := ts.attempt(t, false, "198.51.100.10", "alice@example.com", goodPassword, ""); a.status != want {
				t.Errorf("sign-in elsewhere after four wrong current passwords: %d, want %d", a.status, want)
			}
		})
	}
}

// onlyCookie keeps the cookie called name of a Cookie header.
func onlyCookie(header, name string) string {
	for _, pair := range strings.Split(header, "; ") {
		if strings.HasPrefix(pair, name+"=") {
			return pair
		}
	}
	return ""
}
