package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/veil-id/veil/veiltest"
)

// chromiumPath finds Debian's Chromium; without it the browser test skips
// locally and fails in CI, which installs it.
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	veiltest.Missing(tb, "Chromium is not installed (apt-get install chromium); the browser test needs it")
	return ""
}

// newBrowser starts headless Chromium with a fresh profile, cut off from
// the network beyond loopback, for 90 seconds.
func newBrowser(tb testing.TB) context.Context {
	tb.Helper()
	return newBrowserFor(tb, 90*time.Second)
}

// newBrowserFor is newBrowser for a test that needs the browser for
// longer.
func newBrowserFor(tb testing.TB, d time.Duration) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(tb)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(tb.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, d)
	tb.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// browserSteps runs steps in a browser and fails the test when one fails.
type browserSteps struct {
	tb  testing.TB
	ctx context.Context
}

// do runs actions, what they do named for the failure.
func (b browserSteps) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.tb.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.tb.Fatalf("%s in the browser: %v", what, err)
	}
}

// text returns the text of the first element sel matches, waiting for one.
func (b browserSteps) text(sel string) string {
	b.tb.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.tb.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// TestBrowserSignUpConfirmSignInOut drives the HTML pages in a real browser:
// sign up with the address alone, follow the mailed link from the dev
// mailbox, choose the password and name there (which signs in), sign out,
// sign in with the chosen password, sign out.
func TestBrowserSignUpConfirmSignInOut(t *testing.T) {
	ctx := newBrowser(t)
	v := MustRunMain(t, testEnv(nil), t.TempDir())
	const email, pw = "browser@example.com", "a long browser passphrase"

	b := browserSteps{t, ctx}
	steps, text := b.do, b.text
	submit := chromedp.Click(chromedp.CSS(`button[type="submit"]`))
	signOut := func() {
		t.Helper()
		steps("signing out",
			chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
			chromedp.WaitVisible(chromedp.CSS("#identifier")))
		title, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil || !strings.HasPrefix(title, "Sign in") {
			t.Errorf("after sign-out the title is %q (%v), want the sign-in page", title, err)
		}
	}

	steps("signing up",
		chromedp.Navigate(v.url+"/signup"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		submit)
	if msg := text(`[role="status"]`); !strings.Contains(msg, email) {
		t.Fatalf("after sign-up the page says %q", msg)
	}

	link := waitForMailLink(t, v, email, "/signup/confirm")
	steps("choosing the password",
		chromedp.Navigate(v.url+link),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), pw),
		chromedp.SendKeys(chromedp.CSS("#name"), "Browser Person"),
		submit)
	if account := text("dd"); account != email {
		t.Fatalf("after confirming, the account page shows %q, want %q (signed in)", account, email)
	}
	signOut()

	steps("signing in",
		chromedp.Navigate(v.url+"/login"),
		chromedp.SendKeys(chromedp.CSS("#identifier"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		submit)
	if account := text("dd"); account != email {
		t.Errorf("the account page shows %q, want %q", account, email)
	}
	signOut()
}

var tokenLinkRE = regexp.MustCompile(`https?://[^\s"<>/]+(/[a-z/]+\?token=[A-Za-z0-9_-]+)`)

// devMail is one mail in the dev mailbox.
type devMail struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// devMails returns the mail in the dev mailbox of v.
func devMails(tb testing.TB, v *runningVeil) []devMail {
	tb.Helper()
	_, body := httpDo(tb, "GET", v.url+"/dev/mail?format=json", "", "", "")
	var mails []devMail
	if err := json.Unmarshal([]byte(body), &mails); err != nil {
		tb.Fatalf("dev mailbox JSON: %v\n%s", err, body)
	}
	return mails
}

// waitForMailLink polls the dev mailbox until a mail to `to` holds a link
// to path, and returns the link's path and query.
func waitForMailLink(tb testing.TB, v *runningVeil, to, path string) string {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range devMails(tb, v) {
			if m.To != to {
				continue
			}
			if match := tokenLinkRE.FindStringSubmatch(m.Text); match != nil && strings.HasPrefix(match[1], path) {
				u, err := url.Parse(match[1])
				if err != nil {
					tb.Fatal(err)
				}
				return u.Path + "?" + u.RawQuery
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("no mail to %s with a %s link within 20s", to, path)
	return ""
}

// TestBrowserProofOfWork signs in through the throttle's proof of work in
// a real browser: after a failure the sign-in page carries a challenge,
// /static/pow.js solves it under the page's CSP and the form posts the
// proof, round after round, until the right password signs in. It logs
// the browser's solve times at the default difficulty (the closing
// note's figure); it checks only that every attempt went through on a
// proof, never in the slow lane.
func TestBrowserProofOfWork(t *testing.T) {
	ctx := newBrowser(t)
	vars := map[string]string{}
	for k, v := range lenientThrottle {
		vars[k] = v
	}
	vars["VEIL_THROTTLE_IDENTIFIER_CHALLENGE_AFTER"] = "1" // every attempt after the first failure
	env := testEnv(vars)
	dir := t.TempDir()
	const email, pw = "pow@example.com", "a long browser passphrase"
	if code, out, errOut := runMain(t, env, pw+"\n", "user", "add", "--data-dir", dir, email); code != 0 {
		t.Fatalf("user add: %s%s", out, errOut)
	}
	v := MustRunMain(t, env, dir)

	// signIn fills the form and submits it. The page it leaves is marked,
	// so that nothing below mistakes it for the page that answers.
	signIn := func(what, password string) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.WaitVisible(chromedp.CSS("#identifier")),
			// A failed sign-in kept the address in the field.
			chromedp.Clear(chromedp.CSS("#identifier")),
			chromedp.SendKeys(chromedp.CSS("#identifier"), email),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Evaluate[chromedp.Void]("window.veilLeft = true"),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
		if err != nil {
			t.Fatalf("%s in the browser: %v", what, err)
		}
	}
	// solved waits until pow.js on the new page says the puzzle is solved
	// and returns when that was, in milliseconds since the page's
	// navigation began. A poll does not survive a navigation, so one that
	// the navigation ended is started again (a bounded number of times).
	solved := func(round int) float64 {
		t.Helper()
		const expr = `!window.veilLeft && document.readyState !== "loading" &&
			(document.getElementById("pow-status") || {textContent: ""}).textContent.startsWith("Check finished") && performance.now()`
		var err error
		for range 20 {
			var ms float64
			ms, err = chromedp.Run(ctx, chromedp.Poll[float64](expr, chromedp.WithPollingInterval(time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)))
			if err == nil {
				return ms
			}
			if !strings.Contains(err.Error(), "navigated") && !strings.Contains(err.Error(), "context") {
				break
			}
		}
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("round %d: pow.js did not solve the challenge: %v\npage: %s", round, err, body)
		return 0
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(v.url+"/login")); err != nil {
		t.Fatal(err)
	}
	signIn("the first wrong password", "not the password")
	const rounds = 11
	var ms []float64
	for round := range rounds {
		ms = append(ms, solved(round))
		if round < rounds-1 {
			signIn("a wrong password with a proof", "still not the password")
		}
	}
	signIn("the right password with a proof", pw)
	account, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("dd")))
	if err != nil || account != email {
		t.Fatalf("after the last round the page shows %q (%v), want the account page of %s", account, err, email)
	}
	slices.Sort(ms)
	t.Logf("pow.js in Chromium at difficulty %s: median %.0f ms, min %.0f ms, max %.0f ms over %d challenges (from navigation start)",
		defaultPowDifficulty(), ms[len(ms)/2], ms[0], ms[len(ms)-1], len(ms))

	_, metrics := httpDo(t, "GET", v.adminURL+"/metrics", "", "", "")
	if got := metricValue(metrics, "veil_throttle_proved_total"); got != rounds {
		t.Errorf("veil_throttle_proved_total = %v, want %d: every attempt after the first failure came with a proof", got, rounds)
	}
	if got := metricValue(metrics, "veil_throttle_slow_lane_total"); got != 0 {
		t.Errorf("veil_throttle_slow_lane_total = %v, want 0", got)
	}
}

// defaultPowDifficulty is the configured default, as config print shows it.
func defaultPowDifficulty() string {
	return strconv.Itoa(DefaultConfig().Throttle.PowDifficulty)
}

// metricValue returns the value of an unlabelled metric in a Prometheus
// text exposition, or -1.
func metricValue(exposition, name string) float64 {
	for _, line := range strings.Split(exposition, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}
