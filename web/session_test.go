package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSessionLifecycle(t *testing.T) {
	ts := MustOpenServer(t)
	acct := ts.mustAddAccount(t, "alice@example.com", goodPassword)
	c := newClient(t)

	get := func(path string) *http.Response {
		t.Helper()
		res, err := c.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := get("/api/session"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("session before sign-in: %d, want 401", res.StatusCode)
	}
	if res := get("/api/forward-auth"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forward-auth before sign-in: %d, want 401", res.StatusCode)
	}
	res, err := c.Post(ts.URL+"/api/login", "application/json", strings.NewReader(jsonBody("identifier", "alice@example.com", "password", goodPassword)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", res.StatusCode)
	}
	if res := get("/api/session"); res.StatusCode != http.StatusOK {
		t.Fatalf("session after sign-in: %d, want 200", res.StatusCode)
	}
	res = get("/api/forward-auth")
	if res.StatusCode != http.StatusOK || res.Header.Get("Remote-User") != acct.ID || res.Header.Get("Remote-Email") != "" {
		t.Fatalf("forward-auth: %d Remote-User=%q Remote-Email=%q", res.StatusCode, res.Header.Get("Remote-User"), res.Header.Get("Remote-Email"))
	}
	if res := get("/"); res.StatusCode != http.StatusOK {
		t.Fatalf("account page: %d, want 200", res.StatusCode)
	}
	res, err = c.Post(ts.URL+"/api/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d, want 204", res.StatusCode)
	}
	if res := get("/api/session"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("session after logout: %d, want 401", res.StatusCode)
	}
	if res := get("/"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("account page after logout: %d to %q, want 303 to /login", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestLoginRotatesSession checks that a session id held before sign-in is
// ended by it (no session fixation) and that the new one differs.
func TestLoginRotatesSession(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	first := ts.loginJSON(t, "alice@example.com", goodPassword)
	oldCookie := strings.Split(first.header.Get("Set-Cookie"), ";")[0]
	second := ts.do(t, "POST", "/api/login", "application/json",
		jsonBody("identifier", "alice@example.com", "password", goodPassword), "Cookie", oldCookie)
	newCookie := strings.Split(second.header.Get("Set-Cookie"), ";")[0]
	if second.status != http.StatusOK || newCookie == oldCookie {
		t.Fatalf("second sign-in: %d, cookie %q (old %q)", second.status, newCookie, oldCookie)
	}
	if got := ts.do(t, "GET", "/api/session", "", "", "Cookie", oldCookie); got.status != http.StatusUnauthorized {
		t.Errorf("the old session still works after a new sign-in: %d", got.status)
	}
	if got := ts.do(t, "GET", "/api/session", "", "", "Cookie", newCookie); got.status != http.StatusOK {
		t.Errorf("the new session does not work: %d", got.status)
	}
}

func TestDisablingEndsSessions(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	cookie := strings.Split(ts.loginJSON(t, "alice@example.com", goodPassword).header.Get("Set-Cookie"), ";")[0]
	if _, err := ts.service.SetDisabled(t.Context(), "alice@example.com", true); err != nil {
		t.Fatal(err)
	}
	if got := ts.do(t, "GET", "/api/forward-auth", "", "", "Cookie", cookie); got.status != http.StatusUnauthorized {
		t.Errorf("forward-auth for a disabled account: %d, want 401", got.status)
	}
}

func TestFormLoginWorksWithoutJavaScript(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	page := ts.do(t, "GET", "/login", "", "")
	if page.status != 200 || !strings.Contains(page.body, `<form method="post" action="/login"`) || strings.Contains(page.body, "<script") {
		t.Fatalf("login page: %d, want a plain form without scripts:\n%s", page.status, page.body)
	}
	c := newClient(t)
	res, err := c.PostForm(ts.URL+"/login", url.Values{"identifier": {"alice@example.com"}, "password": {goodPassword}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("form sign-in: %d to %q, want 303 to /", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = c.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("account page after form sign-in: %d", res.StatusCode)
	}
}

func TestPageSecurityHeaders(t *testing.T) {
	ts := MustOpenServer(t)
	for _, path := range []string{"/login", "/api/session"} {
		got := ts.do(t, "GET", path, "", "")
		for k, want := range map[string]string{
			"Referrer-Policy":        "no-referrer",
			"X-Content-Type-Options": "nosniff",
			"Cache-Control":          "no-store",
		} {
			if v := got.header.Get(k); v != want {
				t.Errorf("%s: %s = %q, want %q", path, k, v, want)
			}
		}
		if csp := got.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy = %q", path, csp)
		}
	}
}

// TestCrossOriginPostsAreRefused checks that a form posted from another site
// is refused before it reaches the core.
func TestCrossOriginPostsAreRefused(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	for _, path := range []string{"/login", "/logout", "/api/login", "/api/logout"} {
		got := ts.do(t, "POST", path, "application/x-www-form-urlencoded",
			url.Values{"identifier": {"alice@example.com"}, "password": {goodPassword}}.Encode(),
			"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
		if got.status != http.StatusForbidden || got.header.Get("Set-Cookie") != "" {
			t.Errorf("cross-site POST %s: %d (Set-Cookie %q), want 403 without a cookie", path, got.status, got.header.Get("Set-Cookie"))
		}
	}
}
