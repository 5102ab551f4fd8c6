package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/veil-id/veil"
)

// mailbox is a Mailer that keeps what it is given.
type mailbox struct {
	mu   sync.Mutex
	sent []*veil.Message
}

func (m *mailbox) SendMail(_ context.Context, msg *veil.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

// take returns and forgets the mail sent so far.
func (m *mailbox) take() []*veil.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.sent
	m.sent = nil
	return out
}

// drain runs every due outbox job, as the worker would in the background.
func (ts *testServer) drain(tb testing.TB) []*veil.Message {
	tb.Helper()
	for range 100 {
		ran, err := ts.worker.RunOnce(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		if !ran {
			return ts.mailbox.take()
		}
	}
	tb.Fatal("the outbox did not drain in 100 jobs")
	return nil
}

var linkRE = regexp.MustCompile(`https://veil\.example(/[a-z/]+)\?token=([A-Za-z0-9_-]+)`)

// mustLink returns the path and token of the one link in a mail.
func mustLink(tb testing.TB, m *veil.Message) (path, token string) {
	tb.Helper()
	match := linkRE.FindStringSubmatch(m.Text)
	if match == nil {
		tb.Fatalf("no link in mail %q:\n%s", m.Subject, m.Text)
	}
	return match[1], match[2]
}

// TestSignUpAndRecoveryAnswersAreIdentical is the pair test of invariant 6:
// sign-up for a new, a taken and a disabled address, and recovery for an
// existing, an unknown and a disabled one, answer with the same bytes on
// the JSON API and on the HTML forms.
func TestSignUpAndRecoveryAnswersAreIdentical(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "taken@example.com", goodPassword)
	ts.mustAddAccount(t, "dora@example.com", goodPassword)
	if _, err := ts.service.SetDisabled(t.Context(), "dora@example.com", true); err != nil {
		t.Fatal(err)
	}
	const form = "application/x-www-form-urlencoded"
	for _, tt := range []struct {
		name, path, contentType string
		body                    func(email string) string
		golden                  string
	}{
		{"signup json", "/api/signup", "application/json", func(e string) string { return jsonBody("email", e) }, "signup.json.golden"},
		{"signup form", "/signup", form, func(e string) string { return url.Values{"email": {e}}.Encode() }, "signup.html.golden"},
		{"recover json", "/api/recover", "application/json", func(e string) string { return jsonBody("email", e) }, "recover.json.golden"},
		{"recover form", "/recover", form, func(e string) string { return url.Values{"email": {e}}.Encode() }, "recover.html.golden"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := ts.do(t, "POST", tt.path, tt.contentType, tt.body("new@example.com"))
			if want.status != http.StatusAccepted {
				t.Fatalf("status %d, want 202: %s", want.status, want.body)
			}
			golden(t, tt.golden, dump(want))
			// Every spelling of the taken mailbox (issue 10.7) is the
			// taken address, not a new one.
			for _, email := range []string{"taken@example.com", "TAKEN@example.com", "taken@example\u3002com.", "dora@example.com"} {
				if d := diffEchoing(t, ts.do(t, "POST", tt.path, tt.contentType, tt.body(email)), email, want, "new@example.com"); d != "" {
					t.Errorf("%s: answer differs from a new address's: %s", email, d)
				}
			}
		})
	}
	// And what the mail says: per address, not per answer.
	got := map[string][]string{}
	for _, m := range ts.drain(t) {
		got[string(m.To)] = append(got[string(m.To)], m.Subject)
	}
	if len(got["dora@example.com"]) != 0 {
		t.Errorf("a disabled account was mailed: %q", got["dora@example.com"])
	}
	if n := len(got["new@example.com"]); n != 2 { // two sign-up confirmations; no recovery mail
		t.Errorf("new@example.com got %d mails (%q), want 2 sign-up confirmations", n, got["new@example.com"])
	}
	if n := len(got["taken@example.com"]); n != 12 { // three spellings × (JSON, form) × (sign-up notice, reset link)
		t.Errorf("taken@example.com got %d mails (%q), want 12", n, got["taken@example.com"])
	}
	if len(got) != 2 {
		t.Errorf("mail went to %d addresses (%v), want 2: every spelling of one mailbox is one address", len(got), got)
	}
}

// TestRecoveryEndToEnd asks for a reset, follows the link, sets a new
// password, and checks that the old password and the old sessions are gone.
func TestRecoveryEndToEnd(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	oldCookie := strings.Split(ts.loginJSON(t, "alice@example.com", goodPassword).header.Get("Set-Cookie"), ";")[0]

	ts.do(t, "POST", "/api/recover", "application/json", jsonBody("email", "alice@example.com"))
	ts.do(t, "POST", "/api/recover", "application/json", jsonBody("email", "alice@example.com"))
	mails := ts.drain(t)
	if len(mails) != 2 {
		t.Fatalf("%d mails, want 2 reset links", len(mails))
	}
	_, older := mustLink(t, mails[0])
	path, token := mustLink(t, mails[1])
	if path != "/recover/confirm" {
		t.Fatalf("link path %q", path)
	}
	const newPassword = "a brand new passphrase"
	if a := ts.do(t, "POST", "/api/recover/confirm", "application/json", jsonBody("token", older, "password", newPassword)); a.status != 400 || !strings.Contains(a.body, "invalid_token") {
		t.Errorf("an older reset link after a newer one: %d %s, want 400 invalid_token", a.status, a.body)
	}
	if a := ts.do(t, "POST", "/api/recover/confirm", "application/json", jsonBody("token", token, "password", "short")); a.status != 400 || !strings.Contains(a.body, "invalid_request") {
		t.Errorf("a too short new password: %d %s, want 400 invalid_request", a.status, a.body)
	}
	if a := ts.do(t, "POST", "/api/recover/confirm", "application/json", jsonBody("token", token, "password", "password123")); a.status != 400 || !strings.Contains(a.body, "too common") {
		t.Errorf("a common new password: %d %s, want 400 saying it is too common", a.status, a.body)
	}
	if a := ts.do(t, "POST", "/api/recover/confirm", "application/json", jsonBody("token", token, "password", newPassword)); a.status != 200 {
		t.Fatalf("reset: %d %s", a.status, a.body)
	}
	if a := ts.loginJSON(t, "alice@example.com", goodPassword); a.status != 401 {
		t.Errorf("the old password still works: %d", a.status)
	}
	if a := ts.loginJSON(t, "alice@example.com", newPassword); a.status != 200 {
		t.Errorf("the new password does not work: %d", a.status)
	}
	if a := ts.do(t, "GET", "/api/session", "", "", "Cookie", oldCookie); a.status != 401 {
		t.Errorf("a session from before the reset still works: %d", a.status)
	}
	notice := ts.drain(t)
	if len(notice) != 1 || notice[0].To != "alice@example.com" || !strings.Contains(strings.ToLower(notice[0].Text), "changed") {
		t.Errorf("after a reset, mails = %v; want one 'your password was changed' notice", notice)
	}
}

func TestMailFlowsBadInput(t *testing.T) {
	ts := MustOpenServer(t)
	for _, tt := range []struct{ path, body, mentions string }{
		{"/api/signup", `{"email":"x@example.com","password":"long enough pass"}`, `unknown field \"password\"`},
		{"/api/signup", `{}`, "email"},
		{"/api/signup", `{"email":"not an email"}`, "@"},
		{"/api/signup", `{"email":"x@example.com.."}`, "domain"},
		{"/api/signup", `{"email":"x@192.0.2.1"}`, "domain"},
		{"/api/recover", `{"email":"a\u0000@example.com"}`, "control"},
		{"/api/recover", `{}`, "email"},
		{"/api/signup/confirm", `{"token":"garbage","password":"long enough pass"}`, "invalid_token"},
		{"/api/signup/confirm", `{"token":"` + strings.Repeat("A", 43) + `","password":"long enough pass"}`, "invalid_token"},
		{"/api/signup/confirm", `{"token":"` + strings.Repeat("A", 43) + `"}`, "password"},
		{"/api/signup/confirm", `{"token":"` + strings.Repeat("A", 43) + `","password":"short"}`, "at least 8"},
		{"/api/signup/confirm", `{"token":"` + strings.Repeat("A", 43) + `","password":"baseball1"}`, "too common"},
		{"/api/signup/confirm", `{"token":"` + strings.Repeat("A", 43) + `","password":"long enough pass","name":"a\u0007"}`, "control"},
		{"/api/signup/confirm", `{"token":"` + strings.Repeat("A", 43) + `","password":"long enough pass","name":"\u202egnp.exe"}`, "not allowed in a name"},
		{"/api/signup/confirm", `{"token":"` + strings.Repeat("A", 43) + `","password":"long enough pass","name":"` + strings.Repeat("é", 65) + `"}`, "64"},
		{"/api/signup/confirm", `{"token":"` + strings.Repeat("A", 43) + `","password":"long enough pass","email":"x@example.com"}`, "unknown field"},
		{"/api/recover/confirm", `{"token":"` + strings.Repeat("A", 43) + `","password":"long enough pass"}`, "invalid_token"},
	} {
		a := ts.do(t, "POST", tt.path, "application/json", tt.body)
		if a.status != 400 || !strings.Contains(a.body, tt.mentions) {
			t.Errorf("POST %s %s: %d %s; want 400 mentioning %q", tt.path, tt.body, a.status, a.body, tt.mentions)
		}
	}
	if mails := ts.drain(t); len(mails) != 0 {
		t.Errorf("bad input sent %d mails", len(mails))
	}
}
