package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFailedFormsKeepTheAddress: a failed sign-in puts the typed address
// back into the form and never the password; a sign-up or recovery that
// fails on its input keeps the address too.
func TestFailedFormsKeepTheAddress(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	const typed = ` Alice+x@Example.com `
	a := ts.loginForm(t, typed, wrongPassword)
	if a.status != http.StatusUnauthorized || !strings.Contains(a.body, `value=" Alice&#43;x@Example.com "`) {
		t.Errorf("failed sign-in: %d, the address not kept (escaped):\n%s", a.status, a.body)
	}
	if strings.Contains(a.body, wrongPassword) || strings.Contains(a.body, url.QueryEscape(wrongPassword)) {
		t.Errorf("the failed sign-in page holds the password")
	}
	for _, path := range []string{"/signup", "/recover"} {
		a := ts.do(t, "POST", path, formType, url.Values{"email": {"no-at-sign.example.com"}}.Encode())
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, `value="no-at-sign.example.com"`) {
			t.Errorf("%s with a malformed address: %d, address not kept:\n%s", path, a.status, a.body)
		}
	}
	// Control characters or absurd lengths are not put back.
	for _, bad := range []string{"a\x01@example.com", strings.Repeat("a", 400) + "@example.com"} {
		if a := ts.loginForm(t, bad, wrongPassword); strings.Contains(a.body, `name="identifier" type="email" autocomplete="username" required maxlength="320" value=`) {
			t.Errorf("sign-in with %q put it back", bad[:10])
		}
	}
}

// TestCheckYourEmailNamesTheAddress: "check your email" names the typed
// address and offers to send again with a form that posts the same
// address to the same, throttled, endpoint.
func TestCheckYourEmailNamesTheAddress(t *testing.T) {
	ts := MustOpenServer(t)
	for _, c := range []struct{ path, says string }{
		{"/signup", "We have sent a message to carol@example.com."},
		{"/recover", "If carol@example.com can receive mail"},
	} {
		a := ts.do(t, "POST", c.path, formType, "email=carol%40example.com")
		if a.status != http.StatusAccepted {
			t.Fatalf("%s: %d", c.path, a.status)
		}
		for _, want := range []string{c.says, `<form method="post" action="` + c.path + `">`, `<input type="hidden" name="email" value="carol@example.com">`, "Send again", "<title>Check your email"} {
			if !strings.Contains(a.body, want) {
				t.Errorf("%s answer lacks %q:\n%s", c.path, want, a.body)
			}
		}
	}
	ts.drain(t)
}

// TestDeadLinksOfferANewOne: a link that is cut off, used or expired
// leads to "request a new link", not to a form that cannot succeed.
func TestDeadLinksOfferANewOne(t *testing.T) {
	ts := MustOpenServer(t)
	tokens := ts.mustSignUpLinks(t, "dave@example.com", 1)
	const wellFormedUnknown = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	for _, c := range []struct{ path, newLink string }{{"/signup/confirm", "/signup"}, {"/recover/confirm", "/recover"}} {
		for _, q := range []string{"", "?token=", "?token=cut-off", "?token=" + strings.Repeat("x", 100)} {
			a := ts.do(t, "GET", c.path+q, "", "")
			if a.status != http.StatusOK || !strings.Contains(a.body, `href="`+c.newLink+`">Request a new link`) || strings.Contains(a.body, `type="password"`) {
				t.Errorf("GET %s%s: %d, want the way to a new link and no form:\n%s", c.path, q, a.status, a.body)
			}
		}
		if a := ts.do(t, "GET", c.path+"?token="+wellFormedUnknown, "", ""); !strings.Contains(a.body, `type="password"`) {
			t.Errorf("GET %s with a well-formed token: no form (the page must not look the token up)", c.path)
		}
		body := url.Values{"token": {wellFormedUnknown}, "password": {goodPassword}, "password_confirm": {goodPassword}}
		if c.path == "/recover/confirm" {
			body.Del("password_confirm")
		}
		a := ts.do(t, "POST", c.path, formType, body.Encode())
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, `href="`+c.newLink+`">Request a new link`) || strings.Contains(a.body, `type="password"`) {
			t.Errorf("POST %s with an unknown token: %d, want 400 with the way to a new link:\n%s", c.path, a.status, a.body)
		}
	}
	// A used link: the second confirmation gets the way on.
	form := confirmForm(tokens[0], goodPassword, goodPassword, "")
	if a := ts.do(t, "POST", "/signup/confirm", formType, form); a.status != http.StatusSeeOther {
		t.Fatalf("first confirmation: %d", a.status)
	}
	if a := ts.do(t, "POST", "/signup/confirm", formType, form); a.status != http.StatusBadRequest || !strings.Contains(a.body, "Request a new link") {
		t.Errorf("used link: %d\n%s", a.status, a.body)
	}
	// A mistyped password keeps the form and the token.
	a := ts.do(t, "POST", "/signup/confirm", formType, confirmForm(wellFormedUnknown, "short", "short", ""))
	if !strings.Contains(a.body, `type="password"`) || strings.Contains(a.body, "Request a new link") {
		t.Errorf("a short password lost the form:\n%s", a.body)
	}
}

// TestSignOutSaysSo: signing out lands on the sign-in page with a notice.
func TestSignOutSaysSo(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	in := ts.loginForm(t, "alice@example.com", goodPassword)
	out := ts.do(t, "POST", "/logout", formType, "", "Cookie", cookieHeader(in))
	if out.status != http.StatusSeeOther || out.header.Get("Location") != "/login?signed_out=1" {
		t.Fatalf("sign-out: %d, Location %q", out.status, out.header.Get("Location"))
	}
	page := ts.do(t, "GET", out.header.Get("Location"), "", "", "Accept-Language", "de")
	if !strings.Contains(page.body, `<p class="notice" role="status">Sie haben sich abgemeldet.</p>`) {
		t.Errorf("the page after sign-out has no notice:\n%s", page.body)
	}
	if plain := ts.do(t, "GET", "/login", "", ""); strings.Contains(plain.body, `class="notice"`) {
		t.Errorf("the plain sign-in page has a notice")
	}
}

// TestNoScriptWording: without JavaScript a challenged page does not claim
// the browser is working on anything: the status line is hidden until
// pow.js shows it, and the <noscript> text says how long to wait.
func TestNoScriptWording(t *testing.T) {
	ts := MustOpenThrottledServer(t)
	var a answer
	for range 4 {
		a = ts.attempt(t, true, "192.0.2.60", "nobody@example.com", wrongPassword, "")
	}
	if a.status != http.StatusTooManyRequests {
		t.Fatalf("status %d", a.status)
	}
	if !strings.Contains(a.body, `id="pow-status" role="status" hidden`) {
		t.Errorf("the script's status line is not hidden:\n%s", a.body)
	}
	if !strings.Contains(a.body, "<noscript><p class=\"pow\">Please wait 15 seconds, then send the form once.") {
		t.Errorf("the noscript text does not say how long to wait:\n%s", a.body)
	}
	if strings.Contains(a.body, "puzzle") {
		t.Errorf("the page still talks of a puzzle:\n%s", a.body)
	}
}
