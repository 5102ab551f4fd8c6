package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/throttle"
)

// TestChangeEmailAnswersAreIdentical is the pair test of an address
// change: to a free address, to one another account has (in any
// spelling), to a disabled account's and to one's own, the JSON API and
// the form answer with the same bytes; only the mail differs.
func TestChangeEmailAnswersAreIdentical(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	ts.mustAddAccount(t, "taken@example.com", goodPassword)
	ts.mustAddAccount(t, "dora@example.com", goodPassword)
	if _, err := ts.service.SetDisabled(t.Context(), "dora@example.com", true); err != nil {
		t.Fatal(err)
	}
	cookie := ts.mustSignIn(t, "alice@example.com", goodPassword)
	for _, tt := range []struct {
		name, path, contentType string
		body                    func(email string) string
		golden                  string
	}{
		{"json", "/api/account/email", "application/json", func(e string) string { return jsonBody("email", e, "password", goodPassword) }, "email_change.json.golden"},
		{"form", "/account/email", formType, func(e string) string { return url.Values{"email": {e}, "password": {goodPassword}}.Encode() }, "email_change.html.golden"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := ts.do(t, "POST", tt.path, tt.contentType, tt.body("free@example.com"), "Cookie", cookie)
			if want.status != http.StatusAccepted {
				t.Fatalf("status %d, want 202: %s", want.status, want.body)
			}
			golden(t, tt.golden, dump(want))
			for _, email := range []string{"taken@example.com", "TAKEN@example.com", "taken@example\u3002com.", "dora@example.com", "alice@example.com"} {
				if d := diffAnswers(ts.do(t, "POST", tt.path, tt.contentType, tt.body(email), "Cookie", cookie), want); d != "" {
					t.Errorf("%s: answer differs from a free address's: %s", email, d)
				}
			}
		})
	}
	got := map[string][]string{}
	for _, m := range ts.drain(t) {
		got[string(m.To)] = append(got[string(m.To)], m.Subject)
	}
	if n := len(got["free@example.com"]); n != 2 {
		t.Errorf("free@example.com got %d mails (%q), want 2 confirmation links", n, got["free@example.com"])
	}
	if n := len(got["taken@example.com"]); n != 6 {
		t.Errorf("taken@example.com got %d mails (%q), want 6 notices", n, got["taken@example.com"])
	}
	for _, s := range got["taken@example.com"] {
		if !strings.Contains(s, "already has") {
			t.Errorf("taken@example.com got %q, want the notice that it already has an account", s)
		}
	}
	if len(got["dora@example.com"]) != 0 {
		t.Errorf("a disabled account was mailed: %q", got["dora@example.com"])
	}
	if len(got) != 3 { // free, taken, and alice's own notices
		t.Errorf("mail went to %v", got)
	}
}

// TestChangeEmailEndToEnd follows the confirmation link mailed to the new
// address, then the undo link mailed to the old one.
func TestChangeEmailEndToEnd(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	cookie := ts.mustSignIn(t, "alice@example.com", goodPassword)
	if a := ts.api(t, "POST", "/api/account/email", cookie, jsonBody("email", "not the password", "password", "x")); a.status != 400 {
		t.Errorf("bad address: %d", a.status)
	}
	if a := ts.api(t, "POST", "/api/account/email", cookie, jsonBody("email", "new@example.com", "password", "not the password")); a.status != 401 || !strings.Contains(a.body, "invalid_credentials") {
		t.Errorf("wrong password: %d %s", a.status, a.body)
	}
	if mails := ts.drain(t); len(mails) != 0 {
		t.Fatalf("a refused change sent %d mails", len(mails))
	}
	if a := ts.api(t, "POST", "/api/account/email", cookie, jsonBody("email", "New@Example.com", "password", goodPassword)); a.status != 202 {
		t.Fatalf("change: %d %s", a.status, a.body)
	}
	mails := ts.drain(t)
	if len(mails) != 1 || mails[0].To != "new@example.com" {
		t.Fatalf("mails: %v", mails)
	}
	path, token := mustLink(t, mails[0])
	if path != "/account/email/confirm" {
		t.Fatalf("link path %q", path)
	}
	// Nothing changes before the link is followed, and opening it does not spend it.
	if a := ts.loginJSON(t, "alice@example.com", goodPassword); a.status != 200 {
		t.Errorf("old address before confirming: %d", a.status)
	}
	if page := ts.do(t, "GET", path+"?token="+token, "", ""); page.status != 200 || !strings.Contains(page.body, token) {
		t.Errorf("confirmation page: %d", page.status)
	}
	done := ts.do(t, "POST", path, formType, url.Values{"token": {token}}.Encode())
	if done.status != 200 || !strings.Contains(done.body, "has been changed") {
		t.Fatalf("confirm: %d %s", done.status, done.body)
	}
	if again := ts.api(t, "POST", "/api/account/email/confirm", "", jsonBody("token", token)); again.status != 400 || !strings.Contains(again.body, "invalid_token") {
		t.Errorf("the link twice: %d %s", again.status, again.body)
	}
	if a := ts.loginJSON(t, "alice@example.com", goodPassword); a.status != 401 {
		t.Errorf("old address after the change: %d", a.status)
	}
	if a := ts.loginJSON(t, "new@example.com", goodPassword); a.status != 200 {
		t.Errorf("new address after the change: %d", a.status)
	}
	if a := ts.api(t, "GET", "/api/account", cookie, ""); !strings.Contains(a.body, `"email":"new@example.com"`) {
		t.Errorf("GET /api/account after the change: %s", a.body)
	}

	mails = ts.drain(t)
	if len(mails) != 1 || mails[0].To != "alice@example.com" {
		t.Fatalf("notice to the old address: %v", mails)
	}
	path, undo := mustLink(t, mails[0])
	if path != "/account/email/undo" {
		t.Fatalf("undo link path %q", path)
	}
	if a := ts.api(t, "POST", "/api/account/email/undo", "", jsonBody("token", undo)); a.status != 200 || !strings.Contains(a.body, "email_restored") {
		t.Fatalf("undo: %d %s", a.status, a.body)
	}
	if a := ts.api(t, "GET", "/api/session", cookie, ""); a.status != 401 {
		t.Errorf("a session after the undo: %d, want 401", a.status)
	}
	if a := ts.loginJSON(t, "alice@example.com", goodPassword); a.status != 200 {
		t.Errorf("old address after the undo: %d", a.status)
	}
	if a := ts.api(t, "POST", "/api/account/email/undo", "", jsonBody("token", undo)); a.status != 400 {
		t.Errorf("the undo link twice: %d", a.status)
	}
}

// TestChangeEmailLinkForATakenAddress: an address that got an account
// after the link was mailed cannot be taken over by following it.
func TestChangeEmailLinkForATakenAddress(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	cookie := ts.mustSignIn(t, "alice@example.com", goodPassword)
	if a := ts.api(t, "POST", "/api/account/email", cookie, jsonBody("email", "late@example.com", "password", goodPassword)); a.status != 202 {
		t.Fatal(a.body)
	}
	_, token := mustLink(t, ts.drain(t)[0])
	ts.mustAddAccount(t, "late@example.com", goodPassword)
	if a := ts.api(t, "POST", "/api/account/email/confirm", "", jsonBody("token", token)); a.status != 400 || !strings.Contains(a.body, "invalid_token") {
		t.Errorf("confirm to a taken address: %d %s", a.status, a.body)
	}
	if a := ts.loginJSON(t, "alice@example.com", goodPassword); a.status != 200 {
		t.Errorf("alice's address after a refused confirm: %d", a.status)
	}
}

// TestChangeEmailKeepsDeviceStanding: the device cookie of the person's
// own browser, signed in to the account, follows the account to its new
// address when that browser confirms the change (and back when it undoes
// it), so that it still gets past a lockout someone else causes on the
// address the account has now. The link followed by a browser that is not
// signed in to the account, even one holding the account's device cookie,
// leaves no device cookie: the link proves only a mailbox.
func TestChangeEmailKeepsDeviceStanding(t *testing.T) {
	ts := MustOpenThrottledServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	ts.mustAddAccount(t, "bob@example.com", goodPassword)
	const mine = "198.51.100.7"
	signIn := func(email string) (session, device string) {
		t.Helper()
		a := ts.attempt(t, false, mine, email, goodPassword, "")
		session, device = cookieNamed(a, "veil_session"), cookieNamed(a, "veil_device")
		if a.status != 200 || session == "" || device == "" {
			t.Fatalf("sign-in %s: %d, cookies %v", email, a.status, a.header.Values("Set-Cookie"))
		}
		return session, device
	}
	// link asks, from the browser with cookies, to move its account to
	// email and returns the confirmation link's token.
	link := func(email string, cookies ...string) string {
		t.Helper()
		if a := ts.do(t, "POST", "/api/account/email", "application/json", jsonBody("email", email, "password", goodPassword), "Cookie", strings.Join(cookies, "; "), "X-Forwarded-For", mine); a.status != 202 {
			t.Fatalf("change to %s: %d %s", email, a.status, a.body)
		}
		for _, m := range ts.drain(t) {
			if string(m.To) == email {
				_, token := mustLink(t, m)
				return token
			}
		}
		t.Fatalf("no mail to %s", email)
		return ""
	}
	follow := func(path, token string, cookies ...string) answer {
		t.Helper()
		a := ts.do(t, "POST", path, "application/json", jsonBody("token", token), "Cookie", strings.Join(cookies, "; "))
		if a.status != 200 {
			t.Fatalf("POST %s: %d %s", path, a.status, a.body)
		}
		return a
	}
	// getsIn blocks email's sign-in from elsewhere, and reports whether
	// this browser, with device, still gets in.
	getsIn := func(email, device string) bool {
		t.Helper()
		var chal *veil.Challenge
		for i := range 4 {
			proof := ""
			if chal != nil {
				proof = throttle.Solve(chal)
			}
			chal = challengeIn(t, ts.attempt(t, false, "203.0.113.66", email, "guess"+strconv.Itoa(i), proof))
		}
		if a := ts.attempt(t, false, mine, email, goodPassword, ""); a.status != 429 {
			t.Fatalf("%s is not blocked: %d", email, a.status)
		}
		return ts.attempt(t, false, mine, email, goodPassword, "", device).status == 200
	}

	session, device := signIn("alice@example.com")
	moved := cookieNamed(follow("/api/account/email/confirm", link("new@example.com", session, device), session, device), "veil_device")
	if moved == "" || moved == device {
		t.Fatalf("confirming from the signed-in browser left device cookie %q", moved)
	}
	if getsIn("new@example.com", device) {
		t.Error("the cookie bound to the old address gets past a lockout of the new one")
	}
	if !getsIn("new@example.com", moved) {
		t.Error("the browser's rebound cookie does not get past a lockout of the new address")
	}

	// Another change, undone from the same browser: its cookie follows
	// the account back to the address the undo restores.
	ts.clock.Add(time.Hour) // past the block
	session, device = signIn("new@example.com")
	ts.drain(t)
	follow("/api/account/email/confirm", link("newer@example.com", session, device), session, device)
	mails := ts.drain(t)
	if len(mails) != 1 || mails[0].To != "new@example.com" {
		t.Fatalf("notice to the old address: %v", mails)
	}
	_, undo := mustLink(t, mails[0])
	session, device = signIn("newer@example.com")
	back := cookieNamed(follow("/api/account/email/undo", undo, session, device), "veil_device")
	if back == "" || !getsIn("new@example.com", back) {
		t.Errorf("undoing from the signed-in browser left device cookie %q, which does not get past a lockout of the restored address", back)
	}

	// Bob's link, followed by a browser that holds Bob's device cookie
	// but no session of his, or a session but no cookie: no device cookie.
	bobSession, bobDevice := signIn("bob@example.com")
	for _, cookies := range [][]string{{bobDevice}, {bobSession}} {
		to := "bob" + strconv.Itoa(len(cookies[0])) + "@example.com"
		if a := follow("/api/account/email/confirm", link(to, bobSession, bobDevice), cookies...); cookieNamed(a, "veil_device") != "" {
			t.Errorf("following the link with only %q left a device cookie", cookies[0][:12])
		}
		ts.drain(t)
	}
}
