package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// forwardAuthAt asks v's forward-auth about url (as nginx names it) with
// cookie, and returns the answer, its body read.
func forwardAuthAt(tb testing.TB, v *runningVeil, cookie, url string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest("GET", v.url+"/api/forward-auth", nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Cookie", cookie)
	req.Header.Set("X-Original-URL", url)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	res.Body.Close()
	return res
}

// TestIdentityCacheBound: two instances on one database, each with a
// forward-auth cache of one second. Signing out through one ends access
// there at once and on the other within the bound; so do a revocation and
// a group change made with the CLI, which neither instance hears of.
func TestIdentityCacheBound(t *testing.T) {
	const ttl = time.Second
	dir := t.TempDir()
	env := testEnv(map[string]string{"VEIL_CONFIG": writeRules(t), "VEIL_FORWARD_AUTH_CACHE_TTL": ttl.String(),
		"VEIL_SERVER_TRUSTED_PROXIES": "127.0.0.1"})
	run := func(stdin string, args ...string) {
		t.Helper()
		if code, out, errOut := runMain(t, env, stdin, append(args, "--data-dir", dir)...); code != 0 {
			t.Fatalf("veil %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
	run(proxiedPassword+"\n", "user", "add", "ada@example.com")
	run("", "user", "group", "add", "ada@example.com", "admins")
	a, b := MustRunMain(t, env, dir), MustRunMain(t, env, dir)
	check := func(v *runningVeil, cookie string) int {
		t.Helper()
		return forwardAuthAt(t, v, cookie, "https://admin.example.com/").StatusCode
	}
	signIn := func() string {
		t.Helper()
		res, body := httpDo(t, "POST", a.url+"/api/login", "application/json", loginJSONBody("ada@example.com", proxiedPassword), "")
		if res.StatusCode != 200 {
			t.Fatalf("sign-in: %d %s", res.StatusCode, body)
		}
		cookie := strings.Split(res.Header.Get("Set-Cookie"), ";")[0]
		for _, v := range []*runningVeil{a, b} {
			if got := check(v, cookie); got != 200 {
				t.Fatalf("signed in: forward-auth %d, want 200", got)
			}
		}
		return cookie
	}
	// within waits until every instance answers want, and fails if that
	// takes longer than the bound (generously: the machine is shared).
	within := func(what, cookie string, want int, vs ...*runningVeil) {
		t.Helper()
		start := time.Now()
		for _, v := range vs {
			for check(v, cookie) != want {
				if time.Since(start) > ttl+2*time.Second {
					t.Fatalf("%s: still not %d after %v (cache_ttl %v)", what, want, time.Since(start), ttl)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		t.Logf("%s: %d everywhere after %v", what, want, time.Since(start).Round(time.Millisecond))
	}

	cookie := signIn()
	if res, _ := httpDo(t, "POST", a.url+"/api/logout", "", "", cookie); res.StatusCode != 204 {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if got := check(a, cookie); got != 401 {
		t.Errorf("right after logout, the instance that signed out answers %d, want 401", got)
	}
	within("logout through the other instance", cookie, 401, b)

	cookie = signIn()
	run("", "session", "revoke", "--account", "ada@example.com")
	within("veil session revoke", cookie, 401, a, b)

	cookie = signIn()
	run("", "user", "group", "remove", "ada@example.com", "admins")
	within("veil user group remove", cookie, 403, a, b)
}
