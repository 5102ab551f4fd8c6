package main

import (
	"context"
	"fmt"
	"go/build"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/veil-id/veil/veiltest"
)

// oauth2ProxyVersion is the oauth2-proxy the end-to-end test runs; .ci/run
// installs it with go install.
const oauth2ProxyVersion = "v7.15.6"

// oauth2ProxyPath finds oauth2-proxy on PATH or in GOPATH/bin; without it
// the test skips locally and fails in CI, which installs it.
func oauth2ProxyPath(tb testing.TB) string {
	tb.Helper()
	if p, err := exec.LookPath("oauth2-proxy"); err == nil {
		return p
	}
	if p := filepath.Join(build.Default.GOPATH, "bin", "oauth2-proxy"); fileExists(p) {
		return p
	}
	install := "go install github.com/oauth2-proxy/oauth2-proxy/v7@" + oauth2ProxyVersion
	veiltest.Missing(tb, "oauth2-proxy is not installed ("+install+"); the test goes through it")
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// TestBrowserOAuth2Proxy: oauth2-proxy, configured as its README says for
// any OpenID Provider, protects an upstream with veil. Headless Chromium
// opens the upstream, is sent to veil's sign-in, fails once with a wrong
// password (veil's one failure answer), signs in, and lands on the upstream
// as the right person.
func TestBrowserOAuth2Proxy(t *testing.T) {
	bin := oauth2ProxyPath(t)
	ctx := newBrowser(t)
	veilPort, proxyPort := freePort(t), freePort(t)
	issuer := "http://localhost:" + strconv.Itoa(veilPort)
	proxy := "http://127.0.0.1:" + strconv.Itoa(proxyPort)
	dir := t.TempDir()
	env := testEnv(map[string]string{"VEIL_SERVER_PUBLIC_URL": issuer, "VEIL_OIDC_ENABLED": "true"})
	if code, out, errOut := runMain(t, env, proxiedPassword+"\n", "user", "add", "--data-dir", dir, "--name", "Ada Lovelace", "ada@example.com"); code != 0 {
		t.Fatalf("user add: %s%s", out, errOut)
	}
	code, out, errOut := runMain(t, env, "", "client", "add", "--data-dir", dir, "--first-party", "--allow-email",
		"--redirect-uri", proxy+"/oauth2/callback", "oauth2-proxy")
	if code != 0 {
		t.Fatalf("client add: %s%s", out, errOut)
	}
	id, secret := printedValue(t, out, "client_id"), printedValue(t, out, "client_secret")
	mustRunMainOn(t, env, dir, "127.0.0.1:"+strconv.Itoa(veilPort))

	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><title>upstream</title><p id=who>%s</p>", r.Header.Get("X-Forwarded-Email"))
	}))
	t.Cleanup(upstream.Close)
	cmd := exec.Command(bin,
		"--provider=oidc", "--oidc-issuer-url="+issuer, "--client-id="+id, "--client-secret="+secret,
		"--redirect-url="+proxy+"/oauth2/callback", "--upstream="+upstream.URL, "--http-address=127.0.0.1:"+strconv.Itoa(proxyPort),
		"--cookie-secret=0123456789abcdef0123456789abcdef", "--cookie-secure=false", "--email-domain=*",
		"--skip-provider-button=true", "--code-challenge-method=S256", "--pass-user-headers=true")
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	runProxy(t, "oauth2-proxy", cmd, "127.0.0.1:"+strconv.Itoa(proxyPort))

	steps := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s in the browser (at %s): %v", what, loc, err)
		}
	}
	// Each try clears the identifier first: a failure page may keep what
	// was typed.
	signIn := func(pw string, wait string) {
		t.Helper()
		steps("signing in",
			chromedp.WaitVisible(chromedp.CSS("#identifier")),
			chromedp.Clear(chromedp.CSS("#identifier")),
			chromedp.SendKeys(chromedp.CSS("#identifier"), "ada@example.com"),
			chromedp.SendKeys(chromedp.CSS("#password"), pw),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(wait)))
	}

	steps("opening the upstream signed out", chromedp.Navigate(proxy+"/private?x=1"), chromedp.WaitVisible(chromedp.CSS("#identifier")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, issuer+"/login?rd=") {
		t.Errorf("oauth2-proxy sent the browser to %s, want veil's sign-in page", loc)
	}
	signIn("not the password", "#form-error")
	if msg := textOf(t, ctx, "#form-error"); msg != "The email address or password is incorrect." {
		t.Errorf("a wrong password shows %q, want veil's one failure answer", msg)
	}
	signIn(proxiedPassword, "#who")
	if who := textOf(t, ctx, "#who"); who != "ada@example.com" {
		t.Errorf("the upstream sees %q, want ada@example.com", who)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != proxy+"/private?x=1" {
		t.Errorf("after sign-in the browser is at %s, want %s/private?x=1", loc, proxy)
	}
}

// textOf reads the text of the first element sel matches.
func textOf(tb testing.TB, ctx context.Context, sel string) string {
	tb.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.Fatalf("reading %s: %v", sel, err)
	}
	return s
}
