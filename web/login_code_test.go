package web_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/web"
)

var codeRE = regexp.MustCompile(`\b(\d{8})\b`)

// TestLoginCodeAnswersAreIdentical is the pair test of sign-in by code:
// asking for a code and trying one answer the same bytes for an existing,
// a disabled and an unknown address, with the operator's option to mail
// unknown addresses the sign-up link (MailPolicy.LoginCodeSignUp) off and
// on — the same golden files for both, since the option changes only what
// the worker mails. Off, only the existing address gets mail; on, the
// unknown one gets a sign-up link that works, and the disabled one still
// nothing.
func TestLoginCodeAnswersAreIdentical(t *testing.T) {
	for _, signUp := range []bool{false, true} {
		t.Run(fmt.Sprintf("LoginCodeSignUp=%v", signUp), func(t *testing.T) {
			ts := MustOpenServer(t, func(_ *web.Config, _ *password.Config, c *veil.ServiceConfig) {
				c.MailPolicy.LoginCodeSignUp = signUp
			})
			testLoginCodeAnswers(t, ts)
			mails := ts.drain(t)
			got := map[string]int{}
			for _, m := range mails {
				got[string(m.To)]++
			}
			want := map[string]int{"alice@example.com": 4}
			if signUp {
				want["nobody@example.com"] = 2 // the JSON and the form request
			}
			if !maps.Equal(got, want) {
				t.Fatalf("mail went to %v; want %v", got, want)
			}
			for _, m := range mails {
				if m.To != "nobody@example.com" {
					if !codeRE.MatchString(m.Text) {
						t.Errorf("mail to %s has no code: %s", m.To, m.Text)
					}
					continue
				}
				path, token := mustLink(t, m)
				if path != "/signup/confirm" {
					t.Fatalf("the unknown address got a link to %s, want /signup/confirm", path)
				}
				if a := ts.api(t, "POST", "/api/signup/confirm", "", jsonBody("token", token, "password", goodPassword)); a.status != 200 {
					t.Fatalf("following the sign-up link of a code request: %d %s", a.status, a.body)
				}
				if a := ts.loginJSON(t, "nobody@example.com", goodPassword); a.status != 200 {
					t.Errorf("sign-in to the account the code request's link made: %d", a.status)
				}
				return
			}
		})
	}
}

func testLoginCodeAnswers(t *testing.T, ts *testServer) {
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	ts.mustAddAccount(t, "dora@example.com", goodPassword)
	if _, err := ts.service.SetDisabled(t.Context(), "dora@example.com", true); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path, contentType string
		body                    func(email string) string
		status                  int
		golden                  string
	}{
		{"request json", "/api/login/code", "application/json", func(e string) string { return jsonBody("email", e) }, 202, "login_code.json.golden"},
		{"request form", "/login/code", formType, func(e string) string { return url.Values{"email": {e}}.Encode() }, 202, "login_code.html.golden"},
		{"confirm json", "/api/login/code/confirm", "application/json", func(e string) string { return jsonBody("email", e, "code", "12345678") }, 401, "login_code_confirm.json.golden"},
		{"confirm form", "/login/code/confirm", formType, func(e string) string { return url.Values{"email": {e}, "code": {"1234 5678"}}.Encode() }, 401, "login_code_confirm.html.golden"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := ts.do(t, "POST", tt.path, tt.contentType, tt.body("nobody@example.com"))
			if want.status != tt.status {
				t.Fatalf("status %d, want %d: %s", want.status, tt.status, want.body)
			}
			golden(t, tt.golden, dump(want))
			for _, email := range []string{"alice@example.com", "ALICE@example.com.", "dora@example.com"} {
				if d := diffAnswers(ts.do(t, "POST", tt.path, tt.contentType, tt.body(email)), want); d != "" {
					t.Errorf("%s: answer differs from an unknown address's: %s", email, d)
				}
			}
		})
	}
}

func TestLoginCodeEndToEnd(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	request := func() (code, token string) {
		t.Helper()
		if a := ts.api(t, "POST", "/api/login/code", "", jsonBody("email", "alice@example.com")); a.status != 202 {
			t.Fatal(a.body)
		}
		mails := ts.drain(t)
		if len(mails) != 1 {
			t.Fatalf("%d mails", len(mails))
		}
		m := codeRE.FindStringSubmatch(mails[0].Text)
		if m == nil {
			t.Fatalf("no code in %s", mails[0].Text)
		}
		path, token := mustLink(t, mails[0])
		if path != "/login/code/confirm" {
			t.Fatalf("link path %q", path)
		}
		return m[1], token
	}
	old, _ := request()
	code, token := request()
	if old == code {
		t.Fatal("two requests mailed the same code")
	}
	if a := ts.api(t, "POST", "/api/login/code/confirm", "", jsonBody("email", "alice@example.com", "code", old)); a.status != 401 {
		t.Errorf("an older code after a newer one was mailed: %d", a.status)
	}
	a := ts.api(t, "POST", "/api/login/code/confirm", "", jsonBody("email", "Alice@Example.com", "code", code[:4]+" "+code[4:]))
	if a.status != 200 || !strings.Contains(a.header.Get("Set-Cookie"), "veil_session=") {
		t.Fatalf("sign-in with the code: %d %s", a.status, a.body)
	}
	if s := ts.api(t, "GET", "/api/session", cookieHeader(a), ""); s.status != 200 {
		t.Errorf("the session of a code: %d", s.status)
	}
	if a := ts.api(t, "POST", "/api/login/code/confirm", "", jsonBody("email", "alice@example.com", "code", code)); a.status != 401 {
		t.Errorf("the code twice: %d", a.status)
	}
	if a := ts.api(t, "POST", "/api/login/code/confirm", "", jsonBody("token", token)); a.status != 401 || !strings.Contains(a.body, "invalid_credentials") {
		t.Errorf("the link of a spent code: %d %s", a.status, a.body)
	}
	// The link, through its page and form.
	_, token = request()
	if page := ts.do(t, "GET", "/login/code/confirm?token="+token, "", ""); page.status != 200 || !strings.Contains(page.body, token) {
		t.Errorf("link page: %d", page.status)
	}
	form := ts.do(t, "POST", "/login/code/confirm", formType, url.Values{"token": {token}}.Encode())
	if form.status != http.StatusSeeOther || form.header.Get("Location") != "/" || !strings.Contains(form.header.Get("Set-Cookie"), "veil_session=") {
		t.Errorf("sign-in with the link: %d %v", form.status, form.header)
	}
}
