package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/veil-id/veil"
)

// addVirtualAuthenticator gives the browser a platform authenticator that
// holds passkeys and verifies its user at once (DevTools' WebAuthn domain).
func addVirtualAuthenticator(tb testing.TB, ctx context.Context) {
	tb.Helper()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		}})
		return err
	}))
	if err != nil {
		tb.Fatalf("adding a virtual authenticator: %v", err)
	}
}

// TestBrowserFactors drives second factors and passkeys in headless
// Chromium with a virtual authenticator: register a passkey (which hands
// out recovery codes), sign out, sign in with it discoverably and
// identifier-first; the password then asks for a second factor, met with
// a recovery code and with the passkey; set up an authenticator app and
// sign in with a code computed here.
func TestBrowserFactors(t *testing.T) {
	ctx := newBrowser(t)
	dir := t.TempDir()
	env := testEnv(nil)
	const email, pw = "factors@example.com", "a long browser passphrase"
	if code, out, errOut := runMain(t, env, pw+"\n", "user", "add", email, "--data-dir", dir); code != 0 {
		t.Fatalf("user add: %s%s", out, errOut)
	}
	v := MustRunMain(t, env, dir)
	// WebAuthn binds passkeys to a host name, never an IP address.
	base := strings.Replace(v.url, "127.0.0.1", "localhost", 1)
	addVirtualAuthenticator(t, ctx)

	steps := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s in the browser: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}
	signedIn := func(what string) {
		t.Helper()
		steps(what, chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)))
		if got := text("dd"); got != email {
			t.Fatalf("%s: the account page shows %q, want %q", what, got, email)
		}
	}
	signOut := func() {
		t.Helper()
		steps("signing out", chromedp.Navigate(base+"/"), chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
			chromedp.WaitVisible(chromedp.CSS("#identifier")))
	}
	password := func() {
		t.Helper()
		steps("signing in with the password", chromedp.Navigate(base+"/login"),
			chromedp.SendKeys(chromedp.CSS("#identifier"), email), chromedp.SendKeys(chromedp.CSS("#password"), pw),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)))
	}

	password()
	signedIn("signing in without factors")
	steps("adding a passkey", chromedp.Navigate(base+"/account/security"),
		chromedp.SendKeys(chromedp.CSS("#passkey-name"), "Virtual key"),
		chromedp.Click(chromedp.CSS("#passkey-add")))
	waitFor(t, ctx, "#passkey-recovery")
	codes := strings.Fields(text("#passkey-recovery-codes"))
	if len(codes) != veil.RecoveryCodeCount {
		t.Fatalf("after adding a passkey: recovery codes %q, want %d", codes, veil.RecoveryCodeCount)
	}
	steps("reloading the security page", chromedp.Navigate(base+"/account/security"), chromedp.WaitVisible(chromedp.CSS("#passkeys")))
	if got := text("#passkeys"); !strings.Contains(got, "Virtual key") {
		t.Errorf("security page lists %q, want the new passkey", got)
	}

	// Discoverable through autofill (conditional mediation): the sign-in
	// page asks on load, and the virtual authenticator answers at once.
	signOut()
	signedIn("passkey sign-in through autofill")

	// As in a browser without autofill for passkeys: the button,
	// discoverable (no identifier typed).
	steps("turning autofill off", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: "if (window.PublicKeyCredential) { PublicKeyCredential.isConditionalMediationAvailable = undefined; }"})
		return err
	}))
	signOut()
	steps("signing in with a passkey", chromedp.WaitVisible(chromedp.CSS("#passkey-login")), chromedp.Click(chromedp.CSS("#passkey-login")))
	signedIn("discoverable passkey sign-in")

	// Identifier-first.
	signOut()
	steps("signing in with a passkey for an address", chromedp.SendKeys(chromedp.CSS("#identifier"), email),
		chromedp.WaitVisible(chromedp.CSS("#passkey-login")), chromedp.Click(chromedp.CSS("#passkey-login")))
	signedIn("identifier-first passkey sign-in")

	// The password alone no longer signs in: a recovery code, then the
	// passkey, as the second factor.
	signOut()
	password()
	steps("using a recovery code", chromedp.WaitVisible(chromedp.CSS(`form[action="/login/second-factor"]`)),
		chromedp.Click(chromedp.CSS("details summary")),
		chromedp.SendKeys(chromedp.CSS("#recovery_code"), codes[0]),
		chromedp.Click(chromedp.CSS(`#recovery_code ~ button, details button[type="submit"]`)))
	signedIn("second factor: recovery code")
	signOut()
	password()
	steps("using the passkey as a second factor", chromedp.WaitVisible(chromedp.CSS("#passkey-second-factor")),
		chromedp.Click(chromedp.CSS("#passkey-second-factor")))
	signedIn("second factor: passkey")

	// An authenticator app, with codes computed here.
	steps("setting up an authenticator app", chromedp.Navigate(base+"/account/security"),
		chromedp.Click(chromedp.CSS(`form[action="/account/security/totp"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#totp-secret")))
	secret := text("#totp-secret")
	code, err := veil.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	steps("confirming the app", chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS(`form[action="/account/security/totp/confirm"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/account/security/totp/remove"]`)))
	signOut()
	password()
	// The step after the one that confirmed: a code is good once.
	next, _ := veil.TOTPCode(secret, time.Now().Add(30*time.Second))
	steps("entering a code", chromedp.WaitVisible(chromedp.CSS("#code")), chromedp.SendKeys(chromedp.CSS("#code"), next),
		chromedp.Click(chromedp.CSS(`form[action="/login/second-factor"] button[type="submit"]`)))
	signedIn("second factor: authenticator app")
}

// waitFor waits for sel to be visible, and on a timeout says what the
// passkey script reported.
func waitFor(tb testing.TB, ctx context.Context, sel string) {
	tb.Helper()
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("passkey-status")||{}).textContent||""`))
		url, _ := chromedp.Run(ctx, chromedp.Location())
		tb.Fatalf("waiting for %s at %s: %v; the page says %q", sel, url, err, status)
	}
}
