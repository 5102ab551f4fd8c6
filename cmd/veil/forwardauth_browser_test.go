package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserForwardAuthThroughCaddy is TestForwardAuthThroughCaddy in a
// real Chromium: the redirects, the cookie on the domain and the sign-in
// form's redirect to another origin (which a form-action CSP would stop)
// are the browser's own doing.
func TestBrowserForwardAuthThroughCaddy(t *testing.T) {
	ctx := newBrowser(t)
	caddyPath(t)
	p := startProxiedSetup(t, caddyForwardAuth)
	want := p.app + "/page?x=1"
	steps := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s in the browser: %v", what, err)
		}
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	who := func(what, page string) {
		t.Helper()
		steps(what, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#who")))
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#who")))
		if err != nil || strings.HasPrefix(text, " at") || !strings.Contains(text, " at ") {
			t.Fatalf("%s: the app shows %q (%v), want the account's Remote-User", what, text, err)
		}
	}

	steps("opening the app signed out", chromedp.Navigate(want), chromedp.WaitVisible(chromedp.CSS("#identifier")))
	if got, wantLogin := location(), p.authHost+"/login?rd="+url.QueryEscape(want); got != wantLogin {
		t.Errorf("sent to %q, want %q", got, wantLogin)
	}
	steps("signing in",
		chromedp.SendKeys(chromedp.CSS("#identifier"), "alice@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), proxiedPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#who")))
	if got := location(); got != want {
		t.Errorf("after sign-in the browser is at %q, want %q", got, want)
	}
	who("the app after sign-in", want)
	who("the second app, without signing in again", p.wiki+"/")

	steps("signing out",
		chromedp.Navigate(p.authHost+"/"),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#identifier")))
	for _, u := range []string{want, p.wiki + "/"} {
		steps("opening "+u+" after sign-out", chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("#identifier")))
		if got := location(); !strings.HasPrefix(got, p.authHost+"/login?rd=") {
			t.Errorf("after sign-out, %s went to %q, want the sign-in page", u, got)
		}
	}
}
