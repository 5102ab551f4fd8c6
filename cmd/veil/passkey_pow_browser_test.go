package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/veil-id/veil/veiltest"
)

// TestBrowserChallengedPasskeySignIn signs in with a passkey in headless
// Chromium, identifier-first, from a browser without a device cookie,
// while the throttle asks both steps for a proof of work and someone
// else has taken their slow-lane turns: a wrong password has the
// identifier challenged and two forged assertions the credential, and
// the test's own options request and second forgery took the turns.
// Each step is answered 429 with a challenge; passkey.js must solve it
// with pow.js's solver and send the step again with the proof. The
// admin metrics say both steps came in on proofs, none in the slow lane
// (before, the options' 429 ended the sign-in with its message).
func TestBrowserChallengedPasskeySignIn(t *testing.T) {
	ctx := newBrowser(t)
	vars := maps.Clone(lenientThrottle)
	vars["VEIL_THROTTLE_IDENTIFIER_CHALLENGE_AFTER"] = "1" // identifiers and credentials alike
	env := testEnv(vars)
	dir := t.TempDir()
	const email, pw = "challenged@example.com", "a long browser passphrase"
	if code, out, errOut := runMain(t, env, pw+"\n", "user", "add", email, "--data-dir", dir); code != 0 {
		t.Fatalf("user add: %s%s", out, errOut)
	}
	v := MustRunMain(t, env, dir)
	base := strings.Replace(v.url, "127.0.0.1", "localhost", 1) // WebAuthn needs a host name
	addVirtualAuthenticator(t, ctx)
	b := browserSteps{t, ctx}

	b.do("registering a passkey", chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS("#identifier"), email), chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)),
		chromedp.Navigate(base+"/account/security"),
		chromedp.SendKeys(chromedp.CSS("#passkey-name"), "Virtual key"),
		chromedp.Click(chromedp.CSS("#passkey-add")))
	waitFor(t, ctx, "#passkey-recovery")
	// A stranger's browser from here on: no session, no device cookie,
	// and the button rather than autofill, so that the sign-in is
	// identifier-first.
	b.do("forgetting the browser", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: "if (window.PublicKeyCredential) { PublicKeyCredential.isConditionalMediationAvailable = undefined; }"})
		return err
	}))

	post := func(path, body string) (int, string) {
		t.Helper()
		res, out := httpDo(t, "POST", v.url+path, "application/json", body, "")
		return res.StatusCode, out
	}
	if st, out := post("/api/login", `{"identifier":"`+email+`","password":"not the password"}`); st != 401 {
		t.Fatalf("a wrong password: %d %s", st, out)
	}
	st, out := post("/api/passkey/login/options", `{"identifier":"`+email+`"}`)
	var opts struct {
		PublicKey struct {
			Challenge        string                `json:"challenge"`
			AllowCredentials []struct{ ID string } `json:"allowCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(out), &opts); st != 200 || err != nil || len(opts.PublicKey.AllowCredentials) != 1 {
		t.Fatalf("options on the slow lane's turn: %d %s (%v), want 200 with her passkey", st, out, err)
	}
	credID, err := base64.RawURLEncoding.DecodeString(opts.PublicKey.AllowCredentials[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // a failure, then the slow lane's turn
		_, disc := post("/api/passkey/login/options", `{}`)
		var d struct{ PublicKey struct{ Challenge string } }
		json.Unmarshal([]byte(disc), &d)
		if st, out := post("/api/passkey/login/finish", veiltest.ForgedPasskeyAssertion(base, d.PublicKey.Challenge, credID)); st != 401 {
			t.Fatalf("forged assertion %d: %d %s, want 401", i, st, out)
		}
	}

	b.do("signing in with the passkey", chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS("#identifier"), email),
		chromedp.WaitVisible(chromedp.CSS("#passkey-login")), chromedp.Click(chromedp.CSS("#passkey-login")))
	waitFor(t, ctx, `form[action="/logout"]`)
	if got := b.text("dd"); got != email {
		t.Fatalf("after the challenged passkey sign-in the account page shows %q, want %q", got, email)
	}
	_, m := httpDo(t, "GET", v.adminURL+"/metrics", "", "", "")
	if got := metricValue(m, "veil_throttle_proved_total"); got != 2 {
		t.Errorf("veil_throttle_proved_total = %v, want 2: the options and the finish step, each on its proof", got)
	}
	if got := metricValue(m, "veil_throttle_slow_lane_total"); got != 2 {
		t.Errorf("veil_throttle_slow_lane_total = %v, want 2: the test's options and its second forgery, not the browser's steps", got)
	}
}
