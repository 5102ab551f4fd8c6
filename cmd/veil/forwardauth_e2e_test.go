package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// caddyPath finds Caddy; without it the proxy tests skip locally and fail
// in CI, which installs it.
func caddyPath(tb testing.TB) string {
	tb.Helper()
	if p, err := exec.LookPath("caddy"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("Caddy is not installed; CI must install the caddy package")
	}
	tb.Skip("Caddy is not installed (apt-get install caddy); skipping the forward-auth test through Caddy")
	return ""
}

// startCaddy runs a real Caddy with the given Caddyfile until the end of
// the test and waits until it answers on addr.
func startCaddy(tb testing.TB, caddyfile, addr string) {
	tb.Helper()
	bin := caddyPath(tb)
	dir := tb.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Env = []string{"HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if tb.Failed() {
			tb.Logf("caddy's output:\n%s", out.String())
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			exited <- err
			tb.Fatalf("caddy exited (%v) before listening on %s", err, addr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("caddy did not listen on %s within 15s", addr)
		}
	}
}

// proxiedSetup is veil behind Caddy's forward_auth on loopback: two apps
// (app. and wiki.veil.localhost) that need a session, veil itself at
// auth.veil.localhost, one session cookie for veil.localhost.
type proxiedSetup struct {
	veil                *runningVeil
	caddyAddr           string
	app, wiki, authHost string // http://name:port
	accountID           string
}

const proxiedPassword = "correct horse battery staple"

func startProxiedSetup(t *testing.T) *proxiedSetup {
	t.Helper()
	caddyPath(t)
	port := freePort(t)
	p := &proxiedSetup{caddyAddr: "127.0.0.1:" + strconv.Itoa(port)}
	host := func(name string) string { return "http://" + name + ".veil.localhost:" + strconv.Itoa(port) }
	p.app, p.wiki, p.authHost = host("app"), host("wiki"), host("auth")
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><title>app</title><p id=who>%s at %s%s</p>", r.Header.Get("Remote-User"), r.Host, r.URL.RequestURI())
	}))
	t.Cleanup(upstream.Close)

	dir := t.TempDir()
	envList := smtpEnv(freePort(t), // no mail is sent here; nothing listens
		"VEIL_SERVER_PUBLIC_URL="+p.authHost,
		"VEIL_SERVER_TRUSTED_PROXIES=127.0.0.1",
		"VEIL_FORWARD_AUTH_RETURN_DOMAINS=app.veil.localhost:"+strconv.Itoa(port)+",wiki.veil.localhost:"+strconv.Itoa(port),
		"VEIL_SESSION_COOKIE_DOMAIN=veil.localhost")
	vars := map[string]string{}
	for _, kv := range envList {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	env := testEnv(vars)
	code, out, errOut := runMain(t, env, proxiedPassword+"\n", "user", "add", "--data-dir", dir, "alice@example.com")
	if code != 0 {
		t.Fatalf("user add: %d %s %s", code, out, errOut)
	}
	p.veil = MustRunMain(t, env, dir)
	veilAddr := strings.TrimPrefix(p.veil.url, "http://")
	startCaddy(t, fmt.Sprintf(`{
	admin off
	auto_https off
	http_port %[1]d
}
http://app.veil.localhost:%[1]d, http://wiki.veil.localhost:%[1]d {
	bind 127.0.0.1
	forward_auth %[2]s {
		uri /api/forward-auth
		copy_headers Remote-User Remote-Name
	}
	reverse_proxy %[3]s
}
http://auth.veil.localhost:%[1]d {
	bind 127.0.0.1
	reverse_proxy %[2]s
}
`, port, veilAddr, strings.TrimPrefix(upstream.URL, "http://")), p.caddyAddr)
	return p
}

// client is a cookie-keeping client that reaches every *.veil.localhost
// name through Caddy (Go's resolver does not know them) and follows no
// redirect, so each step can be looked at.
func (p *proxiedSetup) client(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Jar:           jar,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, p.caddyAddr)
		}},
	}
}

func send(t *testing.T, c *http.Client, method, target, accept, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

const htmlAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// TestForwardAuthThroughCaddy runs the whole round through a real Caddy:
// an unauthenticated browser is sent by Caddy's forward_auth to veil's
// sign-in page with the URL it wanted, an API client gets the 401, signing
// in lands on the original URL, the second app is entered without signing
// in again, and signing out ends access to both.
func TestForwardAuthThroughCaddy(t *testing.T) {
	p := startProxiedSetup(t)
	c := p.client(t)
	want := p.app + "/page?x=1"

	res, _ := send(t, c, "GET", want, htmlAccept, "", "")
	wantLogin := p.authHost + "/login?rd=" + url.QueryEscape(want)
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != wantLogin {
		t.Fatalf("unauthenticated browser: %d, Location %q; want 302 to %q", res.StatusCode, res.Header.Get("Location"), wantLogin)
	}
	if res, body := send(t, c, "GET", want, "application/json", "", ""); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"unauthorized"`) {
		t.Fatalf("unauthenticated API client: %d %s; want the JSON 401", res.StatusCode, body)
	}

	page, body := send(t, c, "GET", wantLogin, htmlAccept, "", "")
	if page.StatusCode != http.StatusOK || !strings.Contains(body, `name="rd" value="`+want+`"`) {
		t.Fatalf("sign-in page: %d, hidden rd missing:\n%s", page.StatusCode, body)
	}
	form := url.Values{"identifier": {"alice@example.com"}, "password": {proxiedPassword}, "rd": {want}}.Encode()
	res, body = send(t, c, "POST", p.authHost+"/login", htmlAccept, "application/x-www-form-urlencoded", form)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
		t.Fatalf("sign-in: %d, Location %q; want 303 to %q\n%s", res.StatusCode, res.Header.Get("Location"), want, body)
	}
	if ck := res.Header.Get("Set-Cookie"); !strings.Contains(ck, "Domain=veil.localhost") {
		t.Errorf("session cookie %q, want Domain=veil.localhost", ck)
	}
	for _, u := range []string{want, p.wiki + "/"} {
		res, body := send(t, c, "GET", u, htmlAccept, "", "")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "<p id=who>") || strings.Contains(body, "<p id=who> at") {
			t.Fatalf("signed in, %s: %d %s; want the app with Remote-User", u, res.StatusCode, body)
		}
	}

	if res, _ := send(t, c, "POST", p.authHost+"/logout", htmlAccept, "application/x-www-form-urlencoded", ""); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d, want 303", res.StatusCode)
	}
	for _, u := range []string{want, p.wiki + "/"} {
		if res, _ := send(t, c, "GET", u, htmlAccept, "", ""); res.StatusCode != http.StatusFound {
			t.Errorf("after sign-out, %s: %d, want 302 to sign in", u, res.StatusCode)
		}
	}
}
