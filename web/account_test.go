package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/veiltest"
	"github.com/veil-id/veil/web"
)

// mustSignIn signs in and returns the Cookie header of the new session.
func (ts *testServer) mustSignIn(tb testing.TB, email, pw string) string {
	tb.Helper()
	a := ts.loginJSON(tb, email, pw)
	if a.status != http.StatusOK {
		tb.Fatalf("sign-in %s: %d %s", email, a.status, a.body)
	}
	return cookieHeader(a)
}

// api sends a JSON request with a session cookie ("" for none).
func (ts *testServer) api(tb testing.TB, method, path, cookie, body string) answer {
	tb.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	if cookie == "" {
		return ts.do(tb, method, path, ct, body)
	}
	return ts.do(tb, method, path, ct, body, "Cookie", cookie)
}

func TestOwnAccountAndName(t *testing.T) {
	ts := MustOpenServer(t)
	acct := ts.mustAddAccount(t, "alice@example.com", goodPassword)
	cookie := ts.mustSignIn(t, "alice@example.com", goodPassword)

	got := ts.api(t, "GET", "/api/account", cookie, "")
	want := `{"id":"` + acct.ID + `","display_name":"","email":"alice@example.com"}` + "\n"
	if got.status != 200 || got.body != want {
		t.Fatalf("GET /api/account = %d %s, want 200 %s", got.status, got.body, want)
	}
	if got := ts.api(t, "GET", "/api/account", "", ""); got.status != 401 {
		t.Errorf("GET /api/account without a session = %d, want 401", got.status)
	}
	got = ts.api(t, "POST", "/api/account/name", cookie, jsonBody("name", "  Alice Liddell "))
	if got.status != 200 || !strings.Contains(got.body, `"display_name":"Alice Liddell"`) {
		t.Fatalf("POST /api/account/name = %d %s", got.status, got.body)
	}
	// The name is what forward-auth and the account page show.
	if fa := ts.api(t, "GET", "/api/forward-auth", cookie, ""); fa.header.Get("Remote-Name") != "Alice Liddell" || fa.header.Get("Remote-Email") != "" {
		t.Errorf("forward-auth headers after a name change: %v", fa.header)
	}
	page := ts.do(t, "GET", "/", "", "", "Cookie", cookie)
	if !strings.Contains(page.body, "Alice Liddell") || !strings.Contains(page.body, `href="/account/sessions"`) {
		t.Errorf("account page lacks the name or the account links:\n%s", page.body)
	}
	// The form posts the same field and goes back to the account page.
	form := ts.do(t, "POST", "/account/name", formType, url.Values{"name": {"Alice"}}.Encode(), "Cookie", cookie)
	if form.status != http.StatusSeeOther || form.header.Get("Location") != "/" {
		t.Errorf("POST /account/name form = %d %v", form.status, form.header)
	}
	if a, _ := ts.service.FindAccount(t.Context(), acct.ID); a.DisplayName != "Alice" {
		t.Errorf("display name = %q, want Alice", a.DisplayName)
	}
}

// TestNameValidationPair: a name is judged by its characters alone, so a
// refused name gets the same answer from every account and from nobody.
func TestNameValidationPair(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	ts.mustAddAccount(t, "bob@example.com", goodPassword)
	alice := ts.mustSignIn(t, "alice@example.com", goodPassword)
	bob := ts.mustSignIn(t, "bob@example.com", goodPassword)
	for _, name := range []string{"a\u0007b", "\u202egnp.exe", strings.Repeat("é", 65), "line\u2028break"} {
		want := ts.api(t, "POST", "/api/account/name", alice, jsonBody("name", name))
		if want.status != 400 || !strings.Contains(want.body, "invalid_request") {
			t.Fatalf("name %q: %d %s, want 400 invalid_request", name, want.status, want.body)
		}
		for who, cookie := range map[string]string{"bob": bob, "nobody": ""} {
			if d := diffAnswers(ts.api(t, "POST", "/api/account/name", cookie, jsonBody("name", name)), want); d != "" {
				t.Errorf("name %q from %s: %s", name, who, d)
			}
		}
	}
}

func TestChangePassword(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	cookie := ts.mustSignIn(t, "alice@example.com", goodPassword)
	other := ts.mustSignIn(t, "alice@example.com", goodPassword)
	const newPassword = "a new and longer passphrase"

	wrong := ts.api(t, "POST", "/api/account/password", cookie, jsonBody("current_password", "not the password", "password", newPassword))
	if wrong.status != 401 || !strings.Contains(wrong.body, `"error":"invalid_credentials"`) {
		t.Fatalf("wrong current password: %d %s", wrong.status, wrong.body)
	}
	weak := ts.api(t, "POST", "/api/account/password", cookie, jsonBody("current_password", goodPassword, "password", "short"))
	if weak.status != 400 {
		t.Errorf("short new password: %d %s, want 400", weak.status, weak.body)
	}
	ok := ts.api(t, "POST", "/api/account/password", cookie, jsonBody("current_password", goodPassword, "password", newPassword))
	if ok.status != 200 || !strings.Contains(ok.body, `"status":"password_changed"`) {
		t.Fatalf("change password: %d %s", ok.status, ok.body)
	}
	if a := ts.api(t, "GET", "/api/session", cookie, ""); a.status != 200 {
		t.Errorf("the session that changed the password: %d, want 200", a.status)
	}
	if a := ts.api(t, "GET", "/api/session", other, ""); a.status != 401 {
		t.Errorf("another session after a password change: %d, want 401", a.status)
	}
	if a := ts.loginJSON(t, "alice@example.com", goodPassword); a.status != 401 {
		t.Errorf("old password after the change: %d", a.status)
	}
	if a := ts.loginJSON(t, "alice@example.com", newPassword); a.status != 200 {
		t.Errorf("new password: %d %s", a.status, a.body)
	}
	mails := ts.drain(t)
	if len(mails) != 1 || mails[0].To != "alice@example.com" || !strings.Contains(mails[0].Subject, "password was changed") {
		t.Errorf("mails after a password change: %v", mails)
	}
	// The form: the two new passwords must match.
	form := ts.do(t, "POST", "/account/password", formType,
		url.Values{"current_password": {newPassword}, "password": {goodPassword}, "password_confirm": {"something else"}}.Encode(), "Cookie", cookie)
	if form.status != 400 || !strings.Contains(form.body, "do not match") {
		t.Errorf("form with different new passwords: %d", form.status)
	}
}

type sessionList struct {
	Sessions []struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
		Device  string `json:"device"`
		Place   string `json:"place"`
	} `json:"sessions"`
}

func TestOwnSessions(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	ts.mustAddAccount(t, "bob@example.com", goodPassword)
	cookie := ts.mustSignIn(t, "alice@example.com", goodPassword)
	other := ts.mustSignIn(t, "alice@example.com", goodPassword)
	third := ts.mustSignIn(t, "alice@example.com", goodPassword)
	bob := ts.mustSignIn(t, "bob@example.com", goodPassword)

	a := ts.api(t, "GET", "/api/account/sessions", cookie, "")
	var list sessionList
	if err := json.Unmarshal([]byte(a.body), &list); err != nil || a.status != 200 || len(list.Sessions) != 3 {
		t.Fatalf("GET /api/account/sessions = %d %s", a.status, a.body)
	}
	var current int
	var otherID string
	for _, s := range list.Sessions {
		if s.Current {
			current++
		} else {
			otherID = s.ID
		}
		if s.Place != "This machine" || s.Device == "" {
			t.Errorf("session %+v: want a device and the place of a loopback client", s)
		}
	}
	if current != 1 {
		t.Errorf("%d sessions marked current, want 1", current)
	}
	// Bob cannot end Alice's session with its ID: he only finds his own.
	if a := ts.api(t, "DELETE", "/api/account/sessions/"+otherID, bob, ""); a.status != 204 {
		t.Errorf("DELETE someone else's session = %d, want 204 (nothing of his to end)", a.status)
	}
	if a := ts.api(t, "GET", "/api/account/sessions", cookie, ""); strings.Count(a.body, `"id"`) != 3 {
		t.Errorf("another account ended a session of Alice's: %s", a.body)
	}
	if a := ts.api(t, "DELETE", "/api/account/sessions/"+otherID, cookie, ""); a.status != 204 {
		t.Errorf("DELETE own session = %d, want 204", a.status)
	}
	if a := ts.api(t, "GET", "/api/account/sessions", cookie, ""); strings.Count(a.body, `"id"`) != 2 {
		t.Errorf("after ending one session: %s", a.body)
	}
	if a := ts.api(t, "DELETE", "/api/account/sessions/not-an-id", cookie, ""); a.status != 400 {
		t.Errorf("DELETE malformed session ID = %d, want 400", a.status)
	}
	if a := ts.api(t, "DELETE", "/api/account/sessions", cookie, ""); a.status != 204 {
		t.Errorf("DELETE other sessions = %d", a.status)
	}
	for name, c := range map[string]string{"other": other, "third": third} {
		if a := ts.api(t, "GET", "/api/session", c, ""); a.status != 401 {
			t.Errorf("%s session after ending others: %d, want 401", name, a.status)
		}
	}
	if a := ts.api(t, "GET", "/api/session", cookie, ""); a.status != 200 {
		t.Errorf("own session after ending others: %d", a.status)
	}
	if a := ts.api(t, "GET", "/api/session", bob, ""); a.status != 200 {
		t.Errorf("Bob's session after Alice ended her others: %d", a.status)
	}
	page := ts.do(t, "GET", "/account/sessions", "", "", "Cookie", cookie)
	if page.status != 200 || !strings.Contains(page.body, "This session") {
		t.Errorf("sessions page: %d\n%s", page.status, page.body)
	}
}

func TestDeleteOwnAccount(t *testing.T) {
	ts := MustOpenServer(t)
	acct := ts.mustAddAccount(t, "alice@example.com", goodPassword)
	cookie := ts.mustSignIn(t, "alice@example.com", goodPassword)
	other := ts.mustSignIn(t, "alice@example.com", goodPassword)
	if a := ts.api(t, "POST", "/api/recover", "", jsonBody("email", "alice@example.com")); a.status != 202 {
		t.Fatal(a.body)
	}
	if a := ts.api(t, "POST", "/api/account/delete", cookie, jsonBody("password", "not the password")); a.status != 401 || !strings.Contains(a.body, "invalid_credentials") {
		t.Fatalf("delete with a wrong password: %d %s", a.status, a.body)
	}
	a := ts.api(t, "POST", "/api/account/delete", cookie, jsonBody("password", goodPassword))
	if a.status != 204 || !strings.Contains(a.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("delete: %d %v %s", a.status, a.header, a.body)
	}
	for _, c := range []string{cookie, other} {
		if a := ts.api(t, "GET", "/api/session", c, ""); a.status != 401 {
			t.Errorf("a session after deletion: %d", a.status)
		}
	}
	if _, err := ts.service.FindAccount(t.Context(), acct.ID); veil.ErrorCode(err) != veil.ENOTFOUND {
		t.Errorf("FindAccount after deletion: %v", err)
	}
	// The queued recovery mail is dropped; only the confirmation goes out.
	mails := ts.drain(t)
	if len(mails) != 1 || mails[0].To != "alice@example.com" || !strings.Contains(mails[0].Subject, "deleted") {
		t.Errorf("mail after deletion: %v", mails)
	}
	events, err := ts.db.ListEvents(t.Context(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.AccountID == acct.ID {
			t.Errorf("an audit event kept the deleted account's ID: %+v", e)
		}
	}
}

// TestDeleteAfterRecentSignIn: a session that began less than
// RecentSignIn ago deletes its account without the password, on the API
// and on the page (which then asks for none); an older one needs it, and
// a password that is given is checked however recent the session.
func TestDeleteAfterRecentSignIn(t *testing.T) {
	clock := veiltest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	ts := MustOpenServer(t, func(_ *web.Config, _ *password.Config, c *veil.ServiceConfig) {
		c.Clock, c.RecentSignIn = clock, 5*time.Minute
	})
	for _, e := range []string{"alice@example.com", "bob@example.com", "carol@example.com"} {
		ts.mustAddAccount(t, e, goodPassword)
	}
	alice := ts.mustSignIn(t, "alice@example.com", goodPassword)
	bob := ts.mustSignIn(t, "bob@example.com", goodPassword)
	clock.Add(5*time.Minute - time.Second)
	if a := ts.api(t, "POST", "/api/account/delete", alice, jsonBody("password", "not the password")); a.status != 401 {
		t.Fatalf("a recent session with a wrong password: %d %s", a.status, a.body)
	}
	if a := ts.api(t, "POST", "/api/account/delete", alice, `{}`); a.status != 204 {
		t.Fatalf("delete without a password %v after signing in: %d %s", 5*time.Minute-time.Second, a.status, a.body)
	}
	if a := ts.loginJSON(t, "alice@example.com", goodPassword); a.status != 401 {
		t.Errorf("sign-in to the deleted account: %d", a.status)
	}

	clock.Add(time.Second) // bob signed in RecentSignIn ago: no longer recent
	page := ts.do(t, "GET", "/account/delete", "", "", "Cookie", bob)
	if page.status != 200 || !strings.Contains(page.body, `type="password"`) {
		t.Fatalf("the delete page of an older session asks for no password: %d\n%s", page.status, page.body)
	}
	for _, a := range []answer{
		ts.api(t, "POST", "/api/account/delete", bob, `{}`),
		ts.api(t, "POST", "/api/account/delete", bob, jsonBody("password", "")),
		ts.do(t, "POST", "/account/delete", formType, "password=", "Cookie", bob),
	} {
		if a.status != 401 || !strings.Contains(a.body, "Enter your password") {
			t.Errorf("delete without a password from an older session: %d %s", a.status, a.body)
		}
	}
	if a := ts.api(t, "GET", "/api/session", bob, ""); a.status != 200 {
		t.Fatalf("bob's session after refused deletions: %d", a.status)
	}
	if a := ts.api(t, "POST", "/api/account/delete", bob, jsonBody("password", goodPassword)); a.status != 204 {
		t.Errorf("delete with the password from an older session: %d %s", a.status, a.body)
	}

	// The page of a recent session asks for no password, and its form
	// deletes without one.
	carol := ts.mustSignIn(t, "carol@example.com", goodPassword)
	page = ts.do(t, "GET", "/account/delete", "", "", "Cookie", carol)
	if page.status != 200 || strings.Contains(page.body, `type="password"`) || !strings.Contains(page.body, "password is not needed") {
		t.Fatalf("the delete page of a recent session: %d\n%s", page.status, page.body)
	}
	if a := ts.do(t, "POST", "/account/delete", formType, "password=", "Cookie", carol); a.status != 200 || !strings.Contains(a.body, accountDeletedText) {
		t.Errorf("the delete form of a recent session: %d %s", a.status, a.body)
	}
	mails := map[veil.Identifier]bool{}
	for _, m := range ts.drain(t) {
		mails[m.To] = strings.Contains(m.Subject, "deleted")
	}
	if len(mails) != 3 || !mails["alice@example.com"] || !mails["bob@example.com"] || !mails["carol@example.com"] {
		t.Errorf("deletion mails: %v", mails)
	}
}

// accountDeletedText is from the answer of a deletion.
const accountDeletedText = "Your account has been deleted"

// TestAccountBadInput: every account endpoint refuses malformed input
// with a 400 that names the problem, before it looks at a session.
func TestAccountBadInput(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	cookie := ts.mustSignIn(t, "alice@example.com", goodPassword)
	token := strings.Repeat("A", 43)
	for _, tt := range []struct{ path, body, mentions string }{
		{"/api/account/name", `{}`, "name"},
		{"/api/account/name", `{"name":1}`, "string"},
		{"/api/account/name", `{"name":"x","email":"y"}`, "unknown field"},
		{"/api/account/password", `{"password":"long enough pass"}`, "current_password"},
		{"/api/account/password", `{"current_password":"x"}`, "password"},
		{"/api/account/password", `{"current_password":"x","password":"baseball1"}`, "too common"},
		{"/api/account/email", `{"password":"x"}`, "email"},
		{"/api/account/email", `{"email":"not an address","password":"x"}`, "@"},
		{"/api/account/email", `{"email":"a@example.com"}`, "password"},
		{"/api/account/email/confirm", `{}`, "token"},
		{"/api/account/email/confirm", `{"token":"garbage"}`, "invalid_token"},
		{"/api/account/email/confirm", `{"token":"` + token + `"}`, "invalid_token"},
		{"/api/account/email/undo", `{"token":"` + token + `"}`, "invalid_token"},
		{"/api/login/code", `{}`, "email"},
		{"/api/login/code", `{"email":"a\u0000@example.com"}`, "control"},
		{"/api/login/code/confirm", `{"email":"a@example.com"}`, "code"},
		{"/api/login/code/confirm", `{"email":"a@example.com","code":"12ab5678"}`, "8 digits"},
		{"/api/login/code/confirm", `{"email":"a@example.com","code":"1234567"}`, "8 digits"},
		{"/api/login/code/confirm", `{"token":"garbage"}`, "invalid_token"},
		{"/api/login/code/confirm", `{"token":"` + token + `","email":"a@example.com","code":"12345678"}`, "either"},
	} {
		a := ts.api(t, "POST", tt.path, cookie, tt.body)
		if a.status != 400 || !strings.Contains(a.body, tt.mentions) {
			t.Errorf("POST %s %s: %d %s; want 400 mentioning %q", tt.path, tt.body, a.status, a.body, tt.mentions)
		}
	}
	// A cross-site form post is refused like every other.
	a := ts.do(t, "POST", "/account/delete", formType, "password="+goodPassword, "Cookie", cookie, "Sec-Fetch-Site", "cross-site")
	if a.status != 403 {
		t.Errorf("cross-site POST /account/delete: %d, want 403", a.status)
	}
	if a := ts.api(t, "GET", "/api/session", cookie, ""); a.status != 200 {
		t.Errorf("the account is gone after refused requests: %d", a.status)
	}
	if mails := ts.drain(t); len(mails) != 0 {
		t.Errorf("bad input sent %d mails", len(mails))
	}
}

// TestPublicErrorNamesWithoutSession pins the answer to a request without
// a session on each kind of route: a route that checks a password says
// invalid_credentials, as a wrong password does, and every other says
// unauthorized. The names come from one table of codes, so this is what
// the domain's codes must keep.
func TestPublicErrorNamesWithoutSession(t *testing.T) {
	ts := MustOpenServer(t)
	const want401 = `{"error":"%s","message":"Not signed in."}` + "\n"
	tests := []struct {
		method, path, body, name string
	}{
		{"POST", "/api/account/password", `{"current_password":"` + goodPassword + `","password":"another long password"}`, "invalid_credentials"},
		{"POST", "/api/account/email", `{"email":"new@example.com","password":"` + goodPassword + `"}`, "invalid_credentials"},
		{"POST", "/api/account/delete", `{"password":"` + goodPassword + `"}`, "invalid_credentials"},
		{"GET", "/api/session", "", "unauthorized"},
		{"GET", "/api/account/sessions", "", "unauthorized"},
	}
	for _, tt := range tests {
		a := ts.api(t, tt.method, tt.path, "", tt.body)
		if want := fmt.Sprintf(want401, tt.name); a.status != 401 || a.body != want {
			t.Errorf("%s %s without a session = %d %q, want 401 %q", tt.method, tt.path, a.status, a.body, want)
		}
	}
}
