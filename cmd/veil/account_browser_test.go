package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserManageAccount drives the account pages in headless Chromium,
// with mail read from the dev mailbox: sign up (by asking for a sign-in
// code for a new address, with account.login_code_signup on), choose a
// name afterwards, change the password, end another session, try to move
// to an address that has an account (nothing changes; its owner is told),
// move to a free one by its link and undo it by the link mailed to the
// old address, sign in with a mailed code, and delete the account without
// the password, having just signed in.
func TestBrowserManageAccount(t *testing.T) {
	ctx := newBrowser(t)
	dir := t.TempDir()
	env := testEnv(map[string]string{"VEIL_ACCOUNT_LOGIN_CODE_SIGNUP": "true"})
	const taken = "taken@example.com"
	if code, out, errOut := runMain(t, env, "a taken account passphrase\n", "user", "add", "--data-dir", dir, taken); code != 0 {
		t.Fatalf("user add: %s%s", out, errOut)
	}
	v := MustRunMain(t, env, dir)
	const email, pw, newPw = "manage@example.com", "a long browser passphrase", "another long passphrase"

	b := browserSteps{t, ctx}
	steps, text := b.do, b.text
	status := func(what, want string) {
		t.Helper()
		if msg := text(`[role="status"]`); !strings.Contains(msg, want) {
			t.Fatalf("after %s the page says %q, want %q", what, msg, want)
		}
	}
	submit := chromedp.Click(chromedp.CSS(`button[type="submit"]`))
	account := func() string { t.Helper(); return text("dl") }

	// A code asked for an address without an account: the sign-up link.
	steps("signing up by asking for a code", chromedp.Navigate(v.url+"/login/code"), chromedp.SendKeys(chromedp.CSS("#email"), email), submit)
	status("asking for a code for a new address", "Check your email")
	steps("choosing the password",
		chromedp.Navigate(v.url+waitForMailLink(t, v, email, "/signup/confirm")),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), pw),
		submit)

	// A name, chosen after signing up.
	steps("choosing a name",
		chromedp.Click(chromedp.CSS(`a[href="/account/name"]`)),
		chromedp.SendKeys(chromedp.CSS("#name"), "Manage Person"),
		submit, chromedp.WaitVisible(chromedp.CSS("dl")))
	if got := account(); !strings.Contains(got, "Manage Person") || !strings.Contains(got, email) {
		t.Fatalf("account page after choosing a name: %q", got)
	}

	// Another session, from another client; the password change ends it.
	other := mustSessionCookie(t, v.url, email, pw)
	steps("changing the password",
		chromedp.Navigate(v.url+"/account/password"),
		chromedp.SendKeys(chromedp.CSS("#current_password"), pw),
		chromedp.SendKeys(chromedp.CSS("#password"), newPw),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), newPw),
		submit)
	status("changing the password", "password has been changed")
	if res, _ := httpDo(t, "GET", v.url+"/api/session", "", "", other); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("another session after the password change: %d, want 401", res.StatusCode)
	}
	waitForMail(t, v, email, "password was changed")

	// Ending another session from the sessions page.
	other = mustSessionCookie(t, v.url, email, newPw)
	steps("listing sessions", chromedp.Navigate(v.url+"/account/sessions"), chromedp.WaitVisible(chromedp.CSS("table")))
	if rows := text("tbody"); !strings.Contains(rows, "This session") || !strings.Contains(rows, "Chrome") {
		t.Fatalf("sessions page: %q", rows)
	}
	// The page it comes back to has no other session to end.
	steps("ending the other session",
		chromedp.Click(chromedp.CSS(`form[action="/account/sessions/end"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action="/account/sessions/end"]`)),
		chromedp.WaitVisible(chromedp.CSS("table")))
	if res, _ := httpDo(t, "GET", v.url+"/api/session", "", "", other); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the ended session: %d, want 401", res.StatusCode)
	}
	if n := strings.Count(text("tbody"), "\n") + 1; n != 1 {
		t.Errorf("sessions page after ending the other: %d rows, want 1: %q", n, text("tbody"))
	}

	changeEmail := func(to string) {
		t.Helper()
		steps("changing the address to "+to,
			chromedp.Navigate(v.url+"/account/email"),
			chromedp.SendKeys(chromedp.CSS("#email"), to),
			chromedp.SendKeys(chromedp.CSS("#password"), newPw),
			submit)
		status("changing the address", "Check the new address")
	}
	// To a taken address: the same page; its owner is told; nothing changes.
	changeEmail(taken)
	waitForMail(t, v, taken, "already has")
	steps("back to the account", chromedp.Navigate(v.url+"/"), chromedp.WaitVisible(chromedp.CSS("dl")))
	if got := account(); !strings.Contains(got, email) {
		t.Fatalf("account page after asking for a taken address: %q", got)
	}

	// To a free address, by its link; then undone from the old address.
	const moved = "moved@example.com"
	changeEmail(moved)
	steps("confirming the new address", chromedp.Navigate(v.url+waitForMailLink(t, v, moved, "/account/email/confirm")), submit)
	status("confirming the new address", "has been changed")
	steps("back to the account", chromedp.Navigate(v.url+"/"), chromedp.WaitVisible(chromedp.CSS("dl")))
	if got := account(); !strings.Contains(got, moved) {
		t.Fatalf("account page after confirming: %q", got)
	}
	steps("undoing the change", chromedp.Navigate(v.url+waitForMailLink(t, v, email, "/account/email/undo")), submit)
	status("undoing the change", "previous email address is back")
	steps("opening the account", chromedp.Navigate(v.url+"/"), chromedp.WaitVisible(chromedp.CSS("#identifier")))

	// Sign in with a mailed code: the undo signed everyone out.
	steps("asking for a code",
		chromedp.Click(chromedp.CSS(`a[href="/login/code"]`)),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		submit)
	status("asking for a code", "Check your email")
	code := waitForMailCode(t, v, email)
	steps("signing in with the code",
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		submit, chromedp.WaitVisible(chromedp.CSS("dl")))
	if got := account(); !strings.Contains(got, email) || !strings.Contains(got, "Manage Person") {
		t.Fatalf("account page after signing in with a code: %q", got)
	}

	// Signed in a moment ago (account.recent_sign_in): no password asked.
	steps("opening the delete page", chromedp.Navigate(v.url+"/account/delete"), chromedp.WaitVisible(chromedp.CSS("form")))
	if got := text("form"); !strings.Contains(got, "password is not needed") {
		t.Fatalf("the delete page right after signing in: %q", got)
	}
	steps("deleting the account", submit)
	status("deleting the account", "has been deleted")
	waitForMail(t, v, email, "has been deleted")
	if res, _ := httpDo(t, "POST", v.url+"/api/login", "application/json", `{"identifier":"`+email+`","password":"`+newPw+`"}`, ""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("sign-in after deletion: %d, want 401", res.StatusCode)
	}
	steps("opening the account", chromedp.Navigate(v.url+"/"), chromedp.WaitVisible(chromedp.CSS("#identifier")))
}

// waitForMail polls the dev mailbox until a mail to `to` has a subject
// holding subject, and returns its text.
func waitForMail(tb testing.TB, v *runningVeil, to, subject string) string {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range devMails(tb, v) {
			if m.To == to && strings.Contains(m.Subject, subject) {
				return m.Text
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("no mail to %s about %q within 20s", to, subject)
	return ""
}

var mailCodeRE = regexp.MustCompile(`\n\s+(\d{8})\n`)

// waitForMailCode returns the sign-in code mailed to `to`.
func waitForMailCode(tb testing.TB, v *runningVeil, to string) string {
	tb.Helper()
	m := mailCodeRE.FindStringSubmatch(waitForMail(tb, v, to, "sign-in code"))
	if m == nil {
		tb.Fatalf("no code in the sign-in code mail to %s", to)
	}
	return m[1]
}
