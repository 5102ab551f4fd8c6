package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// traefikHeaders are the headers the README's Traefik lines copy from
// veil's answer (authResponseHeaders).
var traefikHeaders = []string{"Remote-User", "Remote-Name", "Remote-Groups", "Remote-Email"}

// traefikForwardAuth is Traefik's documented ForwardAuth contract, since
// Traefik is not packaged here: the auth request is a GET to address with
// the client's headers and X-Forwarded-Method, -Proto, -Host, -Uri and
// -For; a 2xx lets the request through with each authResponseHeaders
// header deleted and then copied from the answer; anything else is the
// answer to the client (status, headers, body).
func traefikForwardAuth(t *testing.T, address string, authResponseHeaders []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequest("GET", address, nil)
		if err != nil {
			t.Error(err)
			return
		}
		for k, v := range r.Header {
			req.Header[k] = v
		}
		req.Header.Set("X-Forwarded-Method", r.Method)
		req.Header.Set("X-Forwarded-Proto", "http")
		req.Header.Set("X-Forwarded-Host", r.Host)
		req.Header.Set("X-Forwarded-Uri", r.URL.RequestURI())
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode < 200 || res.StatusCode > 299 {
			for k, v := range res.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(res.StatusCode)
			w.Write(body)
			return
		}
		for _, h := range authResponseHeaders {
			key := http.CanonicalHeaderKey(h)
			r.Header.Del(key)
			if len(res.Header[key]) > 0 {
				r.Header[key] = append([]string(nil), res.Header[key]...)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TestForwardAuthTraefikContract runs veil behind that contract: a browser
// signed out is redirected to sign in with its URL, an API client gets the
// JSON 401, a member of another group the 403 page, a member enters with
// veil's headers and none of the forged ones.
func TestForwardAuthTraefikContract(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(map[string]string{"VEIL_CONFIG": writeProxyRules(t), "VEIL_SERVER_TRUSTED_PROXIES": "127.0.0.1",
		"VEIL_FORWARD_AUTH_RETURN_DOMAINS": "*.veil.localhost"})
	for _, cmd := range [][]string{
		{"user", "add", "alice@example.com"}, {"user", "add", "otto@example.com"},
		{"user", "group", "add", "alice@example.com", "admins"}, {"user", "group", "add", "otto@example.com", "ops"},
	} {
		if code, out, errOut := runMain(t, env, proxiedPassword+"\n", append(cmd, "--data-dir", dir)...); code != 0 {
			t.Fatalf("%s: %d %s %s", strings.Join(cmd, " "), code, out, errOut)
		}
	}
	v := MustRunMain(t, env, dir)
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range traefikHeaders {
			fmt.Fprintf(w, "%s=%q\n", h, r.Header.Values(h))
		}
	})
	traefik := httptest.NewServer(traefikForwardAuth(t, v.url+"/api/forward-auth", traefikHeaders, upstream))
	t.Cleanup(traefik.Close)
	ask := func(host, accept, cookie string, forged bool) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", traefik.URL+"/page?x=1", nil)
		req.Host = host
		req.Header.Set("Accept", accept)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		for i := 0; forged && i < len(forgedHeaders); i += 2 {
			req.Header.Set(forgedHeaders[i], forgedHeaders[i+1])
		}
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	signIn := func(email string) string {
		res, body := httpDo(t, "POST", v.url+"/api/login", "application/json", loginJSONBody(email, proxiedPassword), "")
		if res.StatusCode != 200 {
			t.Fatalf("sign-in %s: %d %s", email, res.StatusCode, body)
		}
		return strings.Split(res.Header.Get("Set-Cookie"), ";")[0]
	}

	res, _ := ask("admin.veil.localhost", htmlAccept, "", true)
	if want := "/login?rd=" + url.QueryEscape("http://admin.veil.localhost/page?x=1"); res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
		t.Errorf("signed-out browser: %d, Location %q; want 302 to %q", res.StatusCode, res.Header.Get("Location"), want)
	}
	if res, body := ask("admin.veil.localhost", "application/json", "", true); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"error":"unauthorized"`) {
		t.Errorf("signed-out API client: %d %s; want the JSON 401", res.StatusCode, body)
	}
	otto, alice := signIn("otto@example.com"), signIn("alice@example.com")
	if res, body := ask("admin.veil.localhost", htmlAccept, otto, true); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "not open to your account") {
		t.Errorf("ops member on the admins app: %d %s; want veil's 403 page", res.StatusCode, body)
	}
	if res, body := ask("admin.veil.localhost", "application/json", otto, true); res.StatusCode != http.StatusForbidden || !strings.Contains(body, `"error":"forbidden"`) {
		t.Errorf("ops member on the admins app, API: %d %s; want the JSON 403", res.StatusCode, body)
	}
	res, body := ask("admin.veil.localhost", htmlAccept, alice, true)
	if res.StatusCode != http.StatusOK || strings.Contains(body, "orged") || !strings.Contains(body, `Remote-Groups=["admins"]`) ||
		!strings.Contains(body, `Remote-Email=["alice@example.com"]`) || strings.Contains(body, `Remote-User=[""]`) {
		t.Errorf("admins member: %d\n%s\nwant veil's headers only", res.StatusCode, body)
	}
	res, body = ask("app.veil.localhost", htmlAccept, otto, true)
	if res.StatusCode != http.StatusOK || strings.Contains(body, "orged") || !strings.Contains(body, `Remote-Email=[""]`) || !strings.Contains(body, `Remote-Groups=["ops"]`) {
		t.Errorf("ops member on the app: %d\n%s\nwant Remote-Groups ops and no address", res.StatusCode, body)
	}
}
