package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

const formType = "application/x-www-form-urlencoded"

// confirmForm is the body of the confirmation form as a browser posts it.
func confirmForm(token, pw, repeat, name string) string {
	return url.Values{"token": {token}, "password": {pw}, "password_confirm": {repeat}, "name": {name}}.Encode()
}

// cookieHeader returns the Cookie header a browser would send back after
// an answer: every cookie it set, name=value.
func cookieHeader(a answer) string {
	var pairs []string
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	return strings.Join(pairs, "; ")
}

// mustSignUpLinks signs up email n times and returns the tokens of the
// confirmation links mailed for it, in order.
func (ts *testServer) mustSignUpLinks(tb testing.TB, email string, n int) []string {
	tb.Helper()
	for range n {
		if a := ts.do(tb, "POST", "/api/signup", "application/json", jsonBody("email", email)); a.status != http.StatusAccepted {
			tb.Fatalf("sign-up: %d %s", a.status, a.body)
		}
	}
	var tokens []string
	for _, m := range ts.drain(tb) {
		path, token := mustLink(tb, m)
		if path != "/signup/confirm" {
			tb.Fatalf("link path %q, want /signup/confirm", path)
		}
		tokens = append(tokens, token)
	}
	if len(tokens) != n {
		tb.Fatalf("%d confirmation links, want %d", len(tokens), n)
	}
	return tokens
}

// TestSignUpEndToEnd signs up with only an address, follows the mailed
// link, chooses a password and a name on the page it opens, and is signed
// in by that — then signs out and in again with the chosen password.
func TestSignUpEndToEnd(t *testing.T) {
	ts := MustOpenServer(t)
	if a := ts.do(t, "POST", "/api/signup", "application/json", jsonBody("email", "Carol@Example.com.")); a.status != 202 {
		t.Fatalf("sign-up: %d %s", a.status, a.body)
	}
	mails := ts.drain(t)
	if len(mails) != 1 || mails[0].To != "carol@example.com" {
		t.Fatalf("mails = %v, want one to the normalized address", mails)
	}
	path, token := mustLink(t, mails[0])
	// Opening the link (as a mail scanner would) does not spend the token:
	// the page asks for the password and the name.
	for range 2 {
		page := ts.do(t, "GET", path+"?token="+token, "", "")
		if page.status != 200 || !strings.Contains(page.body, `value="`+token+`"`) || page.header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("confirmation page: %d\n%s", page.status, page.body)
		}
		for _, field := range []string{`name="password"`, `name="password_confirm"`, `name="name"`, `autocomplete="new-password"`} {
			if !strings.Contains(page.body, field) {
				t.Errorf("the confirmation page has no %s", field)
			}
		}
	}
	signUpPage := ts.do(t, "GET", "/signup", "", "")
	if strings.Contains(signUpPage.body, `type="password"`) {
		t.Errorf("the sign-up page asks for a password:\n%s", signUpPage.body)
	}
	confirm := ts.do(t, "POST", "/signup/confirm", formType, confirmForm(token, goodPassword, goodPassword, " Carol Q. "))
	if confirm.status != http.StatusSeeOther || confirm.header.Get("Location") != "/" {
		t.Fatalf("confirm: %d %s, want 303 to /", confirm.status, confirm.body)
	}
	cookies := cookieHeader(confirm)
	if !strings.Contains(cookies, "veil_session=") {
		t.Errorf("confirm set cookies %q, want a session", cookies)
	}
	session := ts.do(t, "GET", "/api/session", "", "", "Cookie", cookies)
	if session.status != 200 || !strings.Contains(session.body, `"email":"carol@example.com"`) || !strings.Contains(session.body, `"display_name":"Carol Q."`) {
		t.Fatalf("the session of the confirmation: %d %s", session.status, session.body)
	}
	again := ts.do(t, "POST", "/api/signup/confirm", "application/json", jsonBody("token", token, "password", goodPassword))
	if again.status != 400 || !strings.Contains(again.body, `"error":"invalid_token"`) {
		t.Errorf("second use of a token: %d %s, want 400 invalid_token", again.status, again.body)
	}
	if a := ts.loginJSON(t, "carol@example.com", goodPassword); a.status != 200 {
		t.Fatalf("sign-in with the chosen password: %d %s", a.status, a.body)
	}
}

// TestSignUpCannotBePreHijacked is the attack of issue 10.6: an attacker
// signs up with the victim's address (trying to set a password of his
// own), the victim signs up too and follows the first mail she finds —
// the attacker's. The account is hers: her password opens it, his never
// does, and nothing he sent survives in it.
func TestSignUpCannotBePreHijacked(t *testing.T) {
	ts := MustOpenServer(t)
	const victim = "victim@example.com"
	const attackers = "the attacker's own passphrase"
	const hers = "the victim's chosen passphrase"

	refused := ts.do(t, "POST", "/api/signup", "application/json", jsonBody("email", victim, "password", attackers))
	if refused.status != 400 {
		t.Errorf("sign-up with a password: %d %s, want 400 (sign-up takes only the address)", refused.status, refused.body)
	}
	// A form can carry any field; the password is ignored.
	if a := ts.do(t, "POST", "/signup", formType, url.Values{"email": {victim}, "password": {attackers}, "name": {"Mallory"}}.Encode()); a.status != 202 {
		t.Fatalf("the attacker's sign-up: %d %s", a.status, a.body)
	}
	attackersMail := ts.drain(t)
	if a := ts.do(t, "POST", "/api/signup", "application/json", jsonBody("email", victim)); a.status != 202 {
		t.Fatalf("the victim's sign-up: %d %s", a.status, a.body)
	}
	victimsMail := ts.drain(t)
	if len(attackersMail) != 1 || len(victimsMail) != 1 || attackersMail[0].To != victim || victimsMail[0].To != victim {
		t.Fatalf("mails: %v then %v, want one each to the victim", attackersMail, victimsMail)
	}
	if a := ts.loginJSON(t, victim, attackers); a.status != 401 {
		t.Fatalf("sign-in with the attacker's password before any confirmation: %d", a.status)
	}
	// She follows the first mail: the sign-up the attacker started.
	_, first := mustLink(t, attackersMail[0])
	_, second := mustLink(t, victimsMail[0])
	confirm := ts.do(t, "POST", "/api/signup/confirm", "application/json", jsonBody("token", first, "password", hers))
	if confirm.status != 200 || !strings.Contains(confirm.body, `"display_name":""`) {
		t.Fatalf("the victim confirms the first link: %d %s", confirm.status, confirm.body)
	}
	for _, pw := range []string{attackers, goodPassword} {
		if a := ts.loginJSON(t, victim, pw); a.status != 401 {
			t.Errorf("sign-in with %q after the victim confirmed: %d, want 401", pw, a.status)
		}
	}
	if a := ts.loginJSON(t, victim, hers); a.status != 200 {
		t.Errorf("sign-in with the victim's password: %d %s", a.status, a.body)
	}
	// The other link now meets a taken address.
	if a := ts.do(t, "POST", "/api/signup/confirm", "application/json", jsonBody("token", second, "password", attackers)); a.status != 400 || !strings.Contains(a.body, "invalid_token") {
		t.Errorf("the second link after the account exists: %d %s, want 400 invalid_token", a.status, a.body)
	}
	if a := ts.loginJSON(t, victim, attackers); a.status != 401 {
		t.Errorf("the second link set the attacker's password: %d", a.status)
	}
}

// TestConfirmSignUpBadInputKeepsTheToken: a password or name that is
// refused, or two passwords that differ, answer 400 invalid_request and
// leave the link working.
func TestConfirmSignUpBadInputKeepsTheToken(t *testing.T) {
	ts := MustOpenServer(t)
	token := ts.mustSignUpLinks(t, "dave@example.com", 1)[0]
	for _, tt := range []struct {
		name, contentType, body, mentions string
	}{
		{"short", "application/json", jsonBody("token", token, "password", "short"), "at least 8"},
		{"common", "application/json", jsonBody("token", token, "password", "password123"), "too common"},
		{"no password", "application/json", jsonBody("token", token), `\"password\" is required`},
		{"control in password", "application/json", jsonBody("token", token, "password", "long enough\x01pass"), "control"},
		{"control in name", "application/json", jsonBody("token", token, "password", goodPassword, "name", "Dave\nBcc: x"), "control"},
		{"bidi override in name", "application/json", jsonBody("token", token, "password", goodPassword, "name", "Dave\u202e"), "not allowed"},
		{"long name", "application/json", jsonBody("token", token, "password", goodPassword, "name", strings.Repeat("d", 65)), "64"},
		{"form: passwords differ", formType, confirmForm(token, goodPassword, goodPassword+"!", "Dave"), "do not match"},
		{"form: short", formType, confirmForm(token, "short", "short", ""), "at least 8"},
		{"form: no second password", formType, url.Values{"token": {token}, "password": {goodPassword}}.Encode(), "password_confirm"},
	} {
		path := "/api/signup/confirm"
		if tt.contentType == formType {
			path = "/signup/confirm"
		}
		a := ts.do(t, "POST", path, tt.contentType, tt.body)
		if a.status != 400 || !strings.Contains(a.body, tt.mentions) || strings.Contains(a.body, "invalid_token") {
			t.Errorf("%s: %d %s; want 400 mentioning %q", tt.name, a.status, a.body, tt.mentions)
		}
		if a.header.Get("Set-Cookie") != "" {
			t.Errorf("%s: a refused confirmation set a cookie", tt.name)
		}
		if tt.contentType == formType && !strings.Contains(a.body, `value="`+token+`"`) {
			t.Errorf("%s: the form came back without its token", tt.name)
		}
	}
	if a := ts.loginJSON(t, "dave@example.com", goodPassword); a.status != 401 {
		t.Fatalf("a refused confirmation made the account: %d", a.status)
	}
	if a := ts.do(t, "POST", "/api/signup/confirm", "application/json", jsonBody("token", token, "password", goodPassword, "name", "Dave")); a.status != 200 {
		t.Fatalf("the link after refused attempts: %d %s, want 200", a.status, a.body)
	}
}

// TestSignUpLinksForOneAddress: of several pending sign-ups for one
// address, any link works until one has made the account; then the
// others answer exactly what an unknown token does. Links raced at once
// make one account.
func TestSignUpLinksForOneAddress(t *testing.T) {
	ts := MustOpenServer(t)
	tokens := ts.mustSignUpLinks(t, "dup@example.com", 3)
	// The last link mailed works first: links are not ordered.
	if a := ts.do(t, "POST", "/api/signup/confirm", "application/json", jsonBody("token", tokens[2], "password", goodPassword)); a.status != 200 {
		t.Fatalf("confirm: %d %s", a.status, a.body)
	}
	unknown := ts.do(t, "POST", "/api/signup/confirm", "application/json", jsonBody("token", strings.Repeat("A", 43), "password", goodPassword))
	if unknown.status != 400 {
		t.Fatalf("an unknown token: %d %s", unknown.status, unknown.body)
	}
	for _, tok := range tokens[:2] {
		if d := diffAnswers(ts.do(t, "POST", "/api/signup/confirm", "application/json", jsonBody("token", tok, "password", goodPassword)), unknown); d != "" {
			t.Errorf("another link for a taken address differs from an unknown token: %s", d)
		}
	}
	// A sign-up after the account exists mails the notice, not a link.
	ts.do(t, "POST", "/api/signup", "application/json", jsonBody("email", "dup@example.com"))
	if m := ts.drain(t); len(m) != 1 || linkRE.MatchString(m[0].Text) {
		t.Errorf("sign-up for the now taken address mailed %v, want one notice without a link", m)
	}

	raced := ts.mustSignUpLinks(t, "race@example.com", 2)
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			statuses[i] = ts.do(t, "POST", "/api/signup/confirm", "application/json", jsonBody("token", raced[i%2], "password", goodPassword)).status
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		if st == 200 {
			ok++
		} else if st != 400 {
			t.Errorf("a raced confirmation answered %d", st)
		}
	}
	accounts, err := ts.service.ListAccounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ok != 1 || len(accounts) != 2 {
		t.Errorf("%d racing confirmations over two links: %d succeeded, %d accounts; want 1 and 2", n, ok, len(accounts))
	}
}

// TestConfirmSignUpAnswers: the API's confirmation failures
// are one answer whatever made the token bad, and the golden file pins
// it and the success's shape.
func TestConfirmSignUpAnswers(t *testing.T) {
	ts := MustOpenServer(t)
	token := ts.mustSignUpLinks(t, "erin@example.com", 1)[0]
	bad := ts.do(t, "POST", "/api/signup/confirm", "application/json", jsonBody("token", strings.Repeat("B", 43), "password", goodPassword))
	golden(t, "signup_confirm_invalid.json.golden", dump(bad))
	ok := ts.do(t, "POST", "/api/signup/confirm", "application/json", jsonBody("token", token, "password", goodPassword, "name", "Erin"))
	if ok.status != 200 {
		t.Fatalf("confirm: %d %s", ok.status, ok.body)
	}
	if d := diffAnswers(ts.do(t, "POST", "/api/signup/confirm", "application/json", jsonBody("token", token, "password", goodPassword)), bad); d != "" {
		t.Errorf("a spent token's answer differs from an unknown one's: %s", d)
	}
}

// TestConfirmSignUpLeavesDeviceCookie: the browser that confirmed a
// sign-up proved the mailbox and chose the password, as much as a sign-in
// does, so it gets the device cookie that lets it past a lockout a
// stranger causes before its owner ever signed in again.
func TestConfirmSignUpLeavesDeviceCookie(t *testing.T) {
	ts := MustOpenThrottledServer(t)
	token := ts.mustSignUpLinks(t, "fay@example.com", 1)[0]
	confirm := ts.do(t, "POST", "/api/signup/confirm", "application/json", jsonBody("token", token, "password", goodPassword), "X-Forwarded-For", "198.51.100.8")
	device := cookieNamed(confirm, "veil_device")
	if confirm.status != 200 || device == "" || cookieNamed(confirm, "veil_session") == "" {
		t.Fatalf("confirm: %d %v, want a session and a device cookie", confirm.status, confirm.header.Values("Set-Cookie"))
	}
	for i := range 6 {
		ts.attempt(t, false, "203.0.113.67", "fay@example.com", "guess number "+string(rune('a'+i)), "")
	}
	if a := ts.attempt(t, false, "198.51.100.8", "fay@example.com", goodPassword, ""); a.status != 429 {
		t.Fatalf("without the device cookie: %d, want the identifier blocked (429)", a.status)
	}
	if a := ts.attempt(t, false, "198.51.100.8", "fay@example.com", goodPassword, "", device); a.status != 200 {
		t.Errorf("with the device cookie of the confirmation: %d %s, want 200", a.status, a.body)
	}
}

// TestConfirmSignUpEndsPriorSession: the session a browser held before it
// confirmed (one an attacker may have planted) ends, as on a sign-in.
func TestConfirmSignUpEndsPriorSession(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "planted@example.com", goodPassword)
	planted := cookieNamed(ts.loginJSON(t, "planted@example.com", goodPassword), "veil_session")
	if planted == "" {
		t.Fatal("no session cookie from the sign-in")
	}
	token := ts.mustSignUpLinks(t, "hal@example.com", 1)[0]
	confirm := ts.do(t, "POST", "/api/signup/confirm", "application/json", jsonBody("token", token, "password", goodPassword), "Cookie", planted)
	if confirm.status != 200 || !strings.Contains(confirm.body, `"email":"hal@example.com"`) {
		t.Fatalf("confirm: %d %s", confirm.status, confirm.body)
	}
	if a := ts.do(t, "GET", "/api/session", "", "", "Cookie", planted); a.status != 401 {
		t.Errorf("the session held before confirming still works: %d %s", a.status, a.body)
	}
}
