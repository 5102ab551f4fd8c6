package web_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/web"
)

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"

// withForwardAuth trusts the test client (on loopback) as the proxy and
// allows return URLs under apps.example.com.
func withForwardAuth(loginURL string, trust bool) serverOption {
	return func(w *web.Config, _ *password.Config, _ *veil.ServiceConfig) {
		w.ReturnDomains = []string{"*.apps.example.com", "app.localhost:8081"}
		w.LoginURL = loginURL
		if trust {
			w.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		}
	}
}

// TestForwardAuthSendsBrowsersToSignIn: an unauthenticated browser is sent
// to /login with the URL it wanted — a 302 for Caddy and Traefik, a 401 with
// the same Location for nginx — while API clients keep the JSON 401, and
// the URL is believed only from a trusted proxy and only on a return domain.
func TestForwardAuthSendsBrowsersToSignIn(t *testing.T) {
	caddy := []string{"X-Forwarded-Method", "GET", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "wiki.apps.example.com", "X-Forwarded-Uri", "/page?a=b"}
	nginx := []string{"X-Original-URL", "https://wiki.apps.example.com/page?a=b"}
	const rd = "?rd=" + "https%3A%2F%2Fwiki.apps.example.com%2Fpage%3Fa%3Db"
	cases := []struct {
		name         string
		trust        bool
		loginURL     string
		accept       string
		headers      []string
		wantStatus   int
		wantLocation string
	}{
		{"caddy/traefik, browser", true, "", browserAccept, caddy, http.StatusFound, "/login" + rd},
		{"caddy/traefik, veil on its own host", true, "https://auth.example.com/login", browserAccept, caddy, http.StatusFound, "https://auth.example.com/login" + rd},
		{"nginx, browser", true, "", browserAccept, nginx, http.StatusUnauthorized, "/login" + rd},
		{"caddy, loopback app with a port", true, "", "text/html", []string{"X-Forwarded-Proto", "http", "X-Forwarded-Host", "app.localhost:8081", "X-Forwarded-Uri", "/x"}, http.StatusFound, "/login?rd=http%3A%2F%2Fapp.localhost%3A8081%2Fx"},
		{"caddy, browser, untrusted peer", false, "", browserAccept, caddy, http.StatusFound, "/login"},
		{"nginx, browser, untrusted peer", false, "", browserAccept, nginx, http.StatusUnauthorized, "/login"},
		{"caddy, host not a return domain", true, "", browserAccept, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.com", "X-Forwarded-Uri", "/"}, http.StatusFound, "/login"},
		{"caddy, userinfo in the host", true, "", browserAccept, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "wiki.apps.example.com@evil.com", "X-Forwarded-Uri", "/"}, http.StatusFound, "/login"},
		{"caddy, scheme-relative uri", true, "", browserAccept, []string{"X-Forwarded-Proto", "javascript", "X-Forwarded-Host", "wiki.apps.example.com", "X-Forwarded-Uri", "/"}, http.StatusFound, "/login"},
		{"nginx, open redirect", true, "", browserAccept, []string{"X-Original-URL", "//evil.com/"}, http.StatusUnauthorized, "/login"},
		{"api client", true, "", "application/json", caddy, http.StatusUnauthorized, ""},
		{"no accept", true, "", "", caddy, http.StatusUnauthorized, ""},
		{"html and json", true, "", "text/html, application/json", caddy, http.StatusUnauthorized, ""},
		{"html refused", true, "", "text/html;q=0, */*", caddy, http.StatusUnauthorized, ""},
		{"nginx, api client", true, "", "application/json", nginx, http.StatusUnauthorized, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := MustOpenServer(t, withForwardAuth(c.loginURL, c.trust))
			hdr := append([]string{"Accept", c.accept}, c.headers...)
			got := ts.do(t, "GET", "/api/forward-auth", "", "", hdr...)
			if got.status != c.wantStatus || got.header.Get("Location") != c.wantLocation {
				t.Fatalf("forward-auth = %d, Location %q; want %d, %q\n%s", got.status, got.header.Get("Location"), c.wantStatus, c.wantLocation, got.body)
			}
			if got.status == http.StatusUnauthorized && !strings.Contains(got.body, `"error":"unauthorized"`) {
				t.Errorf("401 body = %s, want the JSON 401", got.body)
			}
			if !strings.Contains(got.header.Get("Vary"), "Accept") {
				t.Errorf("Vary = %q, want Accept", got.header.Get("Vary"))
			}
		})
	}
}

// TestForwardAuthSignedInBrowser: a browser with a valid session passes,
// whatever headers the proxy adds.
func TestForwardAuthSignedInBrowser(t *testing.T) {
	ts := MustOpenServer(t, withForwardAuth("", true))
	acct := ts.mustAddAccount(t, "alice@example.com", goodPassword)
	cookie := cookieNamed(ts.loginJSON(t, "alice@example.com", goodPassword), "veil_session")
	got := ts.do(t, "GET", "/api/forward-auth", "", "", "Cookie", cookie, "Accept", browserAccept, "X-Original-URL", "https://wiki.apps.example.com/")
	if got.status != http.StatusOK || got.header.Get("Remote-User") != acct.ID || got.header.Get("Location") != "" {
		t.Fatalf("forward-auth = %d, Remote-User %q, Location %q; want 200 for %s", got.status, got.header.Get("Remote-User"), got.header.Get("Location"), acct.ID)
	}
}

// TestLoginReturnsToTheApp: the sign-in page reached through forward-auth
// carries the return URL in a hidden field, allows the form to be
// redirected to its origin, and the form (303) and the API (return_to) send
// the browser back there; a URL outside the return domains silently
// becomes "/" and leaves the page exactly as it is without one.
func TestLoginReturnsToTheApp(t *testing.T) {
	ts := MustOpenServer(t, withForwardAuth("", true))
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	const good = "https://wiki.apps.example.com/page?a=b"

	page := ts.do(t, "GET", "/login?rd="+url.QueryEscape(good), "", "")
	if !strings.Contains(page.body, `<input type="hidden" name="rd" value="https://wiki.apps.example.com/page?a=b">`) {
		t.Errorf("login page with rd lacks the hidden field:\n%s", page.body)
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://wiki.apps.example.com;") {
		t.Errorf("CSP = %q, want form-action to allow the return origin", csp)
	}
	plain := ts.do(t, "GET", "/login", "", "")
	for _, bad := range []string{"https://evil.com/", "//evil.com", "javascript:alert(1)", "https://wiki.apps.example.com@evil.com/"} {
		if d := diffAnswers(ts.do(t, "GET", "/login?rd="+url.QueryEscape(bad), "", ""), plain); d != "" {
			t.Errorf("login page with rd=%q differs from the plain one: %s", bad, d)
		}
	}

	for _, c := range []struct{ rd, want string }{{good, good}, {"https://evil.com/", "/"}, {"/\\evil.com", "/"}} {
		form := ts.do(t, "POST", "/login", "application/x-www-form-urlencoded",
			url.Values{"identifier": {"alice@example.com"}, "password": {goodPassword}, "rd": {c.rd}}.Encode())
		if form.status != http.StatusSeeOther || form.header.Get("Location") != c.want {
			t.Errorf("form sign-in with rd=%q = %d, Location %q; want 303, %q", c.rd, form.status, form.header.Get("Location"), c.want)
		}
		api := ts.do(t, "POST", "/api/login", "application/json", jsonBody("identifier", "alice@example.com", "password", goodPassword, "return_to", c.rd))
		if api.status != http.StatusOK || !strings.Contains(api.body, `"return_to":`+quote(c.want)) {
			t.Errorf("API sign-in with return_to=%q = %d %s; want 200 and return_to %q", c.rd, api.status, api.body, c.want)
		}
	}
	if api := ts.loginJSON(t, "alice@example.com", goodPassword); strings.Contains(api.body, "return_to") {
		t.Errorf("API sign-in without return_to answers one: %s", api.body)
	}
	dup := ts.do(t, "POST", "/login", "application/x-www-form-urlencoded",
		url.Values{"identifier": {"alice@example.com"}, "password": {goodPassword}, "rd": {good, good}}.Encode())
	if dup.status != http.StatusBadRequest {
		t.Errorf("form with rd twice = %d, want 400", dup.status)
	}
}

// TestLoginFailuresWithReturnURLAreIdentical is the pair test for sign-in
// reached through forward-auth: with a return URL, every account state
// fails with the same bytes as an unknown identifier, through the form
// (whose failure page carries the return URL again) and the API.
func TestLoginFailuresWithReturnURLAreIdentical(t *testing.T) {
	ts := MustOpenServer(t, withForwardAuth("", true))
	states := accountStates(t, ts)
	const good = "https://wiki.apps.example.com/page"
	for _, rd := range []string{good, "https://evil.com/"} {
		for _, via := range []struct {
			name  string
			login func(id, pw string) answer
		}{
			{"json", func(id, pw string) answer {
				return ts.do(t, "POST", "/api/login", "application/json", jsonBody("identifier", id, "password", pw, "return_to", rd))
			}},
			{"form", func(id, pw string) answer {
				return ts.do(t, "POST", "/login", "application/x-www-form-urlencoded", url.Values{"identifier": {id}, "password": {pw}, "rd": {rd}}.Encode())
			}},
		} {
			t.Run(via.name+" "+rd, func(t *testing.T) {
				want := via.login(states[0].identifier, states[0].password)
				if want.status != http.StatusUnauthorized || len(want.header.Values("Set-Cookie")) != 0 {
					t.Fatalf("unknown identifier: %d, cookies %q; want 401 and none", want.status, want.header.Values("Set-Cookie"))
				}
				if hidden := strings.Contains(want.body, `name="rd" value="`+good+`"`); via.name == "form" && hidden != (rd == good) {
					t.Errorf("failure page carries the return URL: %v, want %v", hidden, rd == good)
				}
				for _, st := range states[1:] {
					if d := diffEchoing(t, via.login(st.identifier, st.password), st.identifier, want, states[0].identifier); d != "" {
						t.Errorf("%s: answer differs from an unknown identifier's: %s", st.name, d)
					}
				}
			})
		}
	}
}

// TestSessionCookieAttributes: without session.cookie_domain the cookie is
// host-only (__Host- when Secure); with it, Domain is set and the prefix is
// __Secure-; logout clears the same cookie on the same domain.
func TestSessionCookieAttributes(t *testing.T) {
	cases := []struct {
		secure     bool
		domain     string
		wantName   string
		wantDomain string
	}{
		{false, "", "veil_session", ""},
		{true, "", "__Host-veil_session", ""},
		{false, "example.com", "veil_session", "example.com"},
		{true, "example.com", "__Secure-veil_session", "example.com"},
	}
	for _, c := range cases {
		t.Run(c.wantName+" "+c.domain, func(t *testing.T) {
			ts := MustOpenServer(t, func(w *web.Config, _ *password.Config, _ *veil.ServiceConfig) {
				w.SecureCookies, w.CookieDomain = c.secure, c.domain
			})
			ts.mustAddAccount(t, "alice@example.com", goodPassword)
			signin := ts.loginJSON(t, "alice@example.com", goodPassword)
			set := sessionCookie(t, signin, c.wantName)
			checkCookie(t, "sign-in", set, c.secure, c.wantDomain)
			if set.MaxAge <= 0 || set.Value == "" {
				t.Errorf("sign-in cookie MaxAge %d, value %q; want a live session", set.MaxAge, set.Value)
			}
			for _, logout := range []struct{ method, path string }{{"POST", "/api/logout"}, {"POST", "/logout"}} {
				out := ts.do(t, logout.method, logout.path, "", "", "Cookie", set.Name+"="+set.Value)
				clear := sessionCookie(t, out, c.wantName)
				checkCookie(t, logout.path, clear, c.secure, c.wantDomain)
				if clear.MaxAge >= 0 || clear.Value != "" {
					t.Errorf("%s: MaxAge %d, value %q; want the cookie deleted", logout.path, clear.MaxAge, clear.Value)
				}
			}
		})
	}
	if _, err := web.NewServer(web.Config{CookieDomain: ".example.com"}); err == nil {
		t.Errorf("NewServer accepted the cookie domain .example.com")
	}
}

func sessionCookie(tb testing.TB, a answer, name string) *http.Cookie {
	tb.Helper()
	for _, line := range a.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			tb.Fatalf("Set-Cookie %q: %v", line, err)
		}
		if c.Name == name {
			return c
		}
		if strings.HasSuffix(c.Name, "veil_session") {
			tb.Fatalf("session cookie named %q, want %q", c.Name, name)
		}
	}
	tb.Fatalf("no %s cookie in %d answer: %q", name, a.status, a.header.Values("Set-Cookie"))
	return nil
}

func checkCookie(tb testing.TB, what string, c *http.Cookie, secure bool, domain string) {
	tb.Helper()
	if c.Domain != domain || c.Secure != secure || c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		tb.Errorf("%s: cookie %s: Domain %q Secure %v Path %q HttpOnly %v SameSite %v; want Domain %q Secure %v Path / HttpOnly Lax",
			what, c.Name, c.Domain, c.Secure, c.Path, c.HttpOnly, c.SameSite, domain, secure)
	}
}
