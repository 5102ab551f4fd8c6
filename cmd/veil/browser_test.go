package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
	if os.Getenv("CI") == "true" {
		tb.Fatal("Chromium is not installed; CI must install the chromium package")
	}
	tb.Skip("Chromium is not installed (apt-get install chromium); skipping the browser test")
	return ""
}

// newBrowser starts headless Chromium with a fresh profile, cut off from
// the network beyond loopback.
func newBrowser(tb testing.TB) context.Context {
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
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	tb.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// TestBrowserSignUpConfirmSignInOut drives the HTML pages in a real browser:
// sign up, follow the mailed link from the dev mailbox, confirm with the
// button, sign in, sign out.
func TestBrowserSignUpConfirmSignInOut(t *testing.T) {
	ctx := newBrowser(t)
	v := MustRunMain(t, testEnv(nil), t.TempDir())
	const email, pw = "browser@example.com", "a long browser passphrase"

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
	submit := chromedp.Click(chromedp.CSS(`button[type="submit"]`))

	steps("signing up",
		chromedp.Navigate(v.url+"/signup"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		submit)
	if msg := text(`[role="status"]`); !strings.Contains(msg, "Check your email") {
		t.Fatalf("after sign-up the page says %q", msg)
	}

	link := waitForMailLink(t, v, email, "/signup/confirm")
	steps("confirming", chromedp.Navigate(v.url+link), submit)
	if msg := text(`[role="status"]`); !strings.Contains(msg, "Your account is ready") {
		t.Fatalf("after confirming the page says %q", msg)
	}

	steps("signing in",
		chromedp.Navigate(v.url+"/login"),
		chromedp.SendKeys(chromedp.CSS("#identifier"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		submit)
	if account := text("dd"); account != email {
		t.Errorf("the account page shows %q, want %q", account, email)
	}
	steps("signing out",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#identifier")))
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || !strings.HasPrefix(title, "Sign in") {
		t.Errorf("after sign-out the title is %q (%v), want the sign-in page", title, err)
	}
}

var tokenLinkRE = regexp.MustCompile(`https?://[^\s"<>]+(/(?:signup|recover)/confirm\?token=[A-Za-z0-9_-]+)`)

// waitForMailLink polls the dev mailbox until a mail to `to` holds a link
// to path, and returns the link's path and query.
func waitForMailLink(tb testing.TB, v *runningVeil, to, path string) string {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, body := httpDo(tb, "GET", v.url+"/dev/mail?format=json", "", "", "")
		var mails []struct {
			To   string `json:"to"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(body), &mails); err != nil {
			tb.Fatalf("dev mailbox JSON: %v\n%s", err, body)
		}
		for _, m := range mails {
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
