package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/veil-id/veil"
)

// burstOf releases n requests made by send at once, behind a barrier, and
// returns how many got each status.
func burstOf(n int, send func() answer) map[int]int {
	statuses := make(chan int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			statuses <- send().status
		})
	}
	close(start)
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for s := range statuses {
		got[s]++
	}
	return got
}

// burstChecks is what testThrottlePolicy lets a burst on one fresh
// identifier reach: 2 checks before a proof of work is asked for, and one
// slow-lane turn. Every other request of the burst is throttled.
const burstChecks = 3

// TestBurstsOnRoutesWithoutAHash releases 30 attempts at once on one
// identifier (or credential, or pending sign-in) for each route that
// checks something other than a password hash, and for the sign-in form
// that the OpenID authorize step sends people to: each burst gets exactly
// the checks the policy allows and every other attempt is throttled, for
// an existing account as for an unknown identifier (or, where only an
// account can be, for two accounts by two kinds of code).
func TestBurstsOnRoutesWithoutAHash(t *testing.T) {
	const n = 30
	ts := MustOpenThrottledServer(t, withPasskeys(t))
	addr := 0
	nextAddr := func() string { addr++; return fmt.Sprintf("198.51.100.%d", addr) }
	// Each route gets accounts of its own, so that no burst finds
	// another's failures in its identifier's bucket.
	accounts := 0
	account := func() string {
		accounts++
		email := fmt.Sprintf("person%d@example.com", accounts)
		ts.mustAddAccount(t, email, goodPassword)
		return email
	}
	unknown := func() string { accounts++; return fmt.Sprintf("nobody%d@example.com", accounts) }
	withTOTP := func() string {
		email := account()
		acct, err := ts.db.FindAccountByIdentifier(t.Context(), veil.Identifier(email))
		if err != nil {
			t.Fatal(err)
		}
		ts.mustEnrolTOTPAt(t, acct, ts.clock.Now())
		return email
	}
	post := func(path, contentType, body, from string, cookie ...string) answer {
		hdr := []string{"X-Forwarded-For", from}
		if len(cookie) > 0 {
			hdr = append(hdr, "Cookie", cookie[0])
		}
		return ts.do(t, "POST", path, contentType, body, hdr...)
	}
	pending := func(email string) string {
		a := ts.attempt(t, false, nextAddr(), email, goodPassword, "")
		if c := cookieNamed(a, "veil_pending"); c != "" {
			return c
		}
		t.Fatalf("right password for %s: %d %s, no pending cookie", email, a.status, a.body)
		return ""
	}
	session := func(email string) string { return onlyCookie(ts.mustSignIn(t, email, goodPassword), "veil_session") }
	p := passkeyAttempt{ts.testServer}
	kay := ts.mustAddAccount(t, "kay@example.com", goodPassword)
	ts.mustStorePasskey(t, kay, "sixteen-byte-id!")

	tests := []struct {
		name   string
		failed int                          // the status of a checked attempt
		send   func(side int) func() answer // side 0: an account, 1: unknown (or another account)
	}{
		{"mailed code, json", 401, func(side int) func() answer {
			email, from := []func() string{account, unknown}[side](), nextAddr()
			return func() answer {
				return post("/api/login/code/confirm", "application/json", jsonBody("email", email, "code", "12345678"), from)
			}
		}},
		{"mailed code, form", 401, func(side int) func() answer {
			email, from := []func() string{account, unknown}[side](), nextAddr()
			return func() answer {
				return post("/login/code/confirm", formType, url.Values{"email": {email}, "code": {"12345678"}}.Encode(), from)
			}
		}},
		{"passkey finish", 401, func(side int) func() answer {
			cred, from := []string{"sixteen-byte-id!", "not-a-passkey-id"}[side], nextAddr()
			challenges := make(chan string, n)
			for range n {
				challenges <- p.challenge(t, "")
			}
			return func() answer {
				return post("/api/passkey/login/finish", "application/json", forgedAssertion(<-challenges, []byte(cred)), from)
			}
		}},
		{"second factor, api", 401, func(side int) func() answer {
			c, from := pending(withTOTP()), nextAddr()
			body := []string{jsonBody("code", "000000"), jsonBody("recovery_code", "aaaa-bbbb-cccc")}[side]
			return func() answer { return post("/api/login/second-factor", "application/json", body, from, c) }
		}},
		{"second factor, form", 401, func(side int) func() answer {
			c, from := pending(withTOTP()), nextAddr()
			body := []url.Values{{"code": {"000000"}}, {"recovery_code": {"aaaa-bbbb-cccc"}}}[side].Encode()
			return func() answer { return post("/login/second-factor", formType, body, from, c) }
		}},
		{"change password", 401, func(side int) func() answer {
			c, from := session(account()), nextAddr()
			body := jsonBody("current_password", wrongPassword, "password", "a brand new passphrase")
			return func() answer { return post("/api/account/password", "application/json", body, from, c) }
		}},
		{"delete account", 401, func(side int) func() answer {
			c, from := session(account()), nextAddr()
			return func() answer {
				return post("/api/account/delete", "application/json", jsonBody("password", wrongPassword), from, c)
			}
		}},
		{"ask for a mailed code", 202, func(side int) func() answer {
			email, from := []func() string{account, unknown}[side](), nextAddr()
			return func() answer { return post("/api/login/code", "application/json", jsonBody("email", email), from) }
		}},
		{"sign-in form of the OpenID authorize step", 401, func(side int) func() answer {
			email, from := []func() string{account, unknown}[side](), nextAddr()
			body := url.Values{"identifier": {email}, "password": {wrongPassword}, "return_to": {"/oidc/authorize/callback?id=x"}}.Encode()
			return func() answer { return post("/login", formType, body, from) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := fmt.Sprint(map[int]int{tt.failed: burstChecks, http.StatusTooManyRequests: n - burstChecks})
			var got [2]string
			for side := range got {
				got[side] = fmt.Sprint(burstOf(n, tt.send(side)))
			}
			if got[0] != want || got[1] != got[0] {
				t.Errorf("a burst of %d: statuses %s (account), %s (other side); want %s for both", n, got[0], got[1], want)
			}
		})
	}
}
