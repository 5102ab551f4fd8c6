package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestServeEndToEnd runs the real `veil serve`, adds a user through the CLI
// code path, signs in over HTTP, and checks what the admin listener saw.
func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(nil)
	v := MustRunMain(t, env, dir)
	for _, want := range []string{"veil is listening on http://127.0.0.1:", "data directory: " + dir, "sign in at:     " + v.url + "/login", "add an account: veil user add --data-dir " + dir} {
		if !strings.Contains(v.stdout.String(), want) {
			t.Errorf("serve did not print %q:\n%s", want, v.stdout.String())
		}
	}

	code, out, errOut := runMain(t, env, "correct horse battery staple\n", "user", "add", "--data-dir", dir, "--name", "Alice", "Alice@Example.com")
	if code != 0 || !strings.Contains(out, "added: alice@example.com") {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}

	login := func(id, pw string) (*http.Response, string) {
		return httpDo(t, "POST", v.url+"/api/login", "application/json",
			`{"identifier":"`+id+`","password":"`+pw+`"}`, "")
	}
	if res, body := login("alice@example.com", "wrong password!"); res.StatusCode != 401 || !strings.Contains(body, "invalid_credentials") {
		t.Fatalf("wrong password: %d %s", res.StatusCode, body)
	}
	if res, _ := login("nobody@example.com", "wrong password!"); res.StatusCode != 401 {
		t.Fatalf("unknown identifier: %d", res.StatusCode)
	}
	res, body := login("alice@example.com", "correct horse battery staple")
	if res.StatusCode != 200 {
		t.Fatalf("sign-in: %d %s", res.StatusCode, body)
	}
	cookie := strings.Split(res.Header.Get("Set-Cookie"), ";")[0]
	res, _ = httpDo(t, "GET", v.url+"/api/forward-auth", "", "", cookie)
	if res.StatusCode != 200 || res.Header.Get("Remote-Email") != "" || res.Header.Get("Remote-Name") != "Alice" {
		t.Fatalf("forward-auth: %d %v", res.StatusCode, res.Header)
	}

	res, metrics := httpDo(t, "GET", v.adminURL+"/metrics", "", "", "")
	for _, want := range []string{
		`veil_events_total{kind="login",outcome="failure",reason="unknown_identifier"} 1`,
		`veil_events_total{kind="login",outcome="failure",reason="wrong_password"} 1`,
		`veil_events_total{kind="login",outcome="success",reason="none"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("admin /metrics lacks %s", want)
		}
	}
	if res, pub := httpDo(t, "GET", v.url+"/metrics", "", "", ""); res.StatusCode != 404 || strings.Contains(pub, "veil_events_total") {
		t.Errorf("the public listener serves metrics: %d", res.StatusCode)
	}

	code, out, _ = runMain(t, env, "", "audit", "--data-dir", dir)
	for _, want := range []string{"unknown_identifier", "wrong_password", "success"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("veil audit (exit %d) lacks %s:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, "nobody@example.com") || strings.Contains(v.stdout.String(), "nobody@example.com") {
		t.Errorf("an identifier appears in clear in the audit output or the log")
	}

	code, out, _ = runMain(t, env, "", "session", "list", "--data-dir", dir)
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("session list: exit %d, want one session:\n%s", code, out)
	}
	code, _, _ = runMain(t, env, "", "session", "revoke", "--data-dir", dir, "--account", "alice@example.com")
	if res, _ := httpDo(t, "GET", v.url+"/api/session", "", "", cookie); code != 0 || res.StatusCode != 401 {
		t.Errorf("after session revoke (exit %d) the session answers %d, want 401", code, res.StatusCode)
	}
	if code := v.stop(); code != 0 {
		t.Errorf("serve exited with %d after a graceful stop:\n%s", code, v.stdout.String())
	}
}
