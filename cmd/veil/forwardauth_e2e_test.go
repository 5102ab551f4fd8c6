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
	"syscall"
	"testing"
	"time"

	"github.com/veil-id/veil/veiltest"
)

// installedProxy finds a proxy's binary; without it the proxy tests skip
// locally and fail in CI, which installs the package.
func installedProxy(tb testing.TB, pkg string, names ...string) string {
	tb.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	veiltest.Missing(tb, fmt.Sprintf("%s is not installed (apt-get install %s); the forward-auth test goes through it", pkg, pkg))
	return ""
}

func caddyPath(tb testing.TB) string { tb.Helper(); return installedProxy(tb, "caddy", "caddy") }

func nginxPath(tb testing.TB) string {
	tb.Helper()
	return installedProxy(tb, "nginx", "nginx", "/usr/sbin/nginx")
}

// startCaddy runs a real Caddy with the given Caddyfile.
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
	runProxy(tb, "caddy", cmd, addr)
}

// runProxy starts a proxy's process until the end of the test and waits
// until it answers on addr.
func runProxy(tb testing.TB, name string, cmd *exec.Cmd, addr string) {
	tb.Helper()
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that stopping it stops nginx's workers
	// too; SIGTERM first, which both proxies take as "stop now".
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if tb.Failed() {
			tb.Logf("%s's output:\n%s", name, out.String())
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
			tb.Fatalf("%s exited (%v) before listening on %s", name, err, addr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s did not listen on %s within 15s", name, addr)
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
	admin               string // http://admin.veil.localhost:port, for the admins group alone
	accountID           string
}

const proxiedPassword = "correct horse battery staple"

// startProxy starts a proxy on 127.0.0.1:port in front of veil and the
// upstream app (both host:port).
type startProxy func(t *testing.T, port int, veilAddr, upstreamAddr string)

func startProxiedSetup(t *testing.T, proxy startProxy) *proxiedSetup {
	t.Helper()
	port := freePort(t)
	p := &proxiedSetup{caddyAddr: "127.0.0.1:" + strconv.Itoa(port)}
	host := func(name string) string { return "http://" + name + ".veil.localhost:" + strconv.Itoa(port) }
	p.app, p.wiki, p.authHost, p.admin = host("app"), host("wiki"), host("auth"), host("admin")
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><title>app</title><p id=who>%s at %s%s</p>", r.Header.Get("Remote-User"), r.Host, r.URL.RequestURI())
		fmt.Fprintf(w, "<p id=headers>%q</p>", r.Header.Values("Remote-User"))
		for _, h := range []string{"Remote-Name", "Remote-Groups", "Remote-Email"} {
			fmt.Fprintf(w, "<p>%s=%q</p>", h, r.Header.Values(h))
		}
	}))
	t.Cleanup(upstream.Close)

	dir := t.TempDir()
	envList := smtpEnv(freePort(t), // no mail is sent here; nothing listens
		"VEIL_SERVER_PUBLIC_URL="+p.authHost,
		"VEIL_SERVER_TRUSTED_PROXIES=127.0.0.1",
		"VEIL_FORWARD_AUTH_RETURN_DOMAINS=app.veil.localhost:"+strconv.Itoa(port)+",wiki.veil.localhost:"+strconv.Itoa(port)+",admin.veil.localhost:"+strconv.Itoa(port),
		"VEIL_CONFIG="+writeProxyRules(t),
		"VEIL_SESSION_COOKIE_DOMAIN=veil.localhost")
	vars := map[string]string{}
	for _, kv := range envList {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	env := testEnv(vars)
	for _, cmd := range [][]string{
		{"user", "add", "alice@example.com"}, {"user", "add", "otto@example.com"},
		{"user", "group", "add", "alice@example.com", "admins"}, {"user", "group", "add", "otto@example.com", "ops"},
	} {
		if code, out, errOut := runMain(t, env, proxiedPassword+"\n", append(cmd, "--data-dir", dir)...); code != 0 {
			t.Fatalf("%s: %d %s %s", strings.Join(cmd, " "), code, out, errOut)
		}
	}
	p.veil = MustRunMain(t, env, dir)
	proxy(t, port, strings.TrimPrefix(p.veil.url, "http://"), strings.TrimPrefix(upstream.URL, "http://"))
	return p
}

// caddyForwardAuth is Caddy with the README's forward_auth lines.
func caddyForwardAuth(t *testing.T, port int, veilAddr, upstreamAddr string) {
	t.Helper()
	startCaddy(t, fmt.Sprintf(`{
	admin off
	auto_https off
	http_port %[1]d
}
http://app.veil.localhost:%[1]d, http://wiki.veil.localhost:%[1]d, http://admin.veil.localhost:%[1]d {
	bind 127.0.0.1
	route {
		request_header -Remote-User
		request_header -Remote-Name
		request_header -Remote-Groups
		request_header -Remote-Email
		forward_auth %[2]s {
			uri /api/forward-auth
			copy_headers Remote-User Remote-Name Remote-Groups Remote-Email
		}
		reverse_proxy %[3]s
	}
}
http://auth.veil.localhost:%[1]d {
	bind 127.0.0.1
	reverse_proxy %[2]s
}
`, port, veilAddr, upstreamAddr), "127.0.0.1:"+strconv.Itoa(port))
}

// nginxAuthRequest is nginx with the README's auth_request lines, read
// from the README itself so that what users copy is what runs: veil
// (127.0.0.1:8080 there) and the app (http://app) are put in.
func nginxAuthRequest(t *testing.T, port int, veilAddr, upstreamAddr string) {
	t.Helper()
	lines := strings.NewReplacer("http://127.0.0.1:8080", "http://"+veilAddr, "http://app;", "http://"+upstreamAddr+";").Replace(readmeNginx(t))
	startNginx(t, port, fmt.Sprintf(`
	server {
		listen 127.0.0.1:%[1]d;
		server_name app.veil.localhost wiki.veil.localhost admin.veil.localhost;
%[3]s
	}
	server {
		listen 127.0.0.1:%[1]d;
		server_name auth.veil.localhost;
		location / { proxy_pass http://%[2]s; proxy_set_header Host $http_host;
		             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }
	}
`, port, veilAddr, lines))
}

// readmeNginx returns the README's nginx lines for forward-auth: the
// first nginx block with auth_request.
func readmeNginx(tb testing.TB) string {
	tb.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		tb.Fatal(err)
	}
	for _, block := range strings.Split(string(readme), "```nginx\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if strings.Contains(block, "auth_request /_veil;") {
			return block
		}
	}
	tb.Fatal("the README has no nginx block with auth_request")
	return ""
}

// startNginx runs a real nginx on 127.0.0.1:port, in a directory of its
// own, with servers as the http block's content.
func startNginx(tb testing.TB, port int, servers string) {
	tb.Helper()
	dir := tb.TempDir()
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
%[2]s
}
`, dir, servers)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	runProxy(tb, "nginx", exec.Command(nginxPath(tb), "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log")), "127.0.0.1:"+strconv.Itoa(port))
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

// TestForwardAuthThroughCaddy runs the whole round through a real Caddy's
// forward_auth, which passes veil's 302 to the browser:
// an unauthenticated browser is sent by Caddy's forward_auth to veil's
// sign-in page with the URL it wanted, an API client gets the 401, signing
// in lands on the original URL, the second app is entered without signing
// in again, and signing out ends access to both.
func TestForwardAuthThroughCaddy(t *testing.T) {
	caddyPath(t)
	p := startProxiedSetup(t, caddyForwardAuth)
	p.round(t, true)
	p.rulesRound(t, true) // forwardauth_rules_e2e_test.go
}

// TestForwardAuthThroughNginx is the same round through nginx's
// auth_request, which passes on only veil's 401 and 403, without their
// bodies: the README's lines turn the 401's Location into the redirect,
// and give an API client veil's JSON 401 and a refused browser veil's
// page, not nginx's.
func TestForwardAuthThroughNginx(t *testing.T) {
	nginxPath(t)
	p := startProxiedSetup(t, nginxAuthRequest)
	p.round(t, true)
	p.rulesRound(t, true)
}

// round signs in through the proxy and out again. The API client's 401
// is veil's JSON where the proxy passes it on (jsonAPI).
func (p *proxiedSetup) round(t *testing.T, jsonAPI bool) {
	t.Helper()
	c := p.client(t)
	want := p.app + "/page?x=1"

	res, _ := send(t, c, "GET", want, htmlAccept, "", "")
	wantLogin := p.authHost + "/login?rd=" + url.QueryEscape(want)
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != wantLogin {
		t.Fatalf("unauthenticated browser: %d, Location %q; want 302 to %q", res.StatusCode, res.Header.Get("Location"), wantLogin)
	}
	if res, body := send(t, c, "GET", want, "application/json", "", ""); res.StatusCode != http.StatusUnauthorized || jsonAPI && !strings.Contains(body, `"unauthorized"`) {
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
