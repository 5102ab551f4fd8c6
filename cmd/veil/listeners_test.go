package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListenerConfig: the listener keys are read, printed and checked.
func TestListenerConfig(t *testing.T) {
	code, out, errOut := runMain(t, testEnv(map[string]string{"VEIL_SERVER_CLIENT_ADDR_HEADER": "X-Real-IP"}), "", "config", "print")
	if code != 0 || !strings.Contains(out, `client_addr_header = "X-Real-IP"`) {
		t.Errorf("config print: exit %d, want client_addr_header = \"X-Real-IP\":\n%s%s", code, out, errOut)
	}
	code, out, _ = runMain(t, testEnv(nil), "", "config", "print")
	if code != 0 || !strings.Contains(out, `client_addr_header = "X-Forwarded-For"`) {
		t.Errorf("config print: exit %d, want the default client_addr_header = \"X-Forwarded-For\":\n%s", code, out)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown client address header", map[string]string{"VEIL_SERVER_CLIENT_ADDR_HEADER": "X-Client-IP"}, "server.client_addr_header"},
		{"admin token twice", map[string]string{"VEIL_SERVER_ADMIN_TOKEN": "x", "VEIL_SERVER_ADMIN_TOKEN_FILE": "/x"}, "not both"},
	}
	for _, tt := range tests {
		code, _, errOut := runMain(t, testEnv(tt.env), "", "config", "print")
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want an error mentioning %q", tt.name, code, errOut, tt.want)
		}
	}
}

// TestForwardAuthEmailHeader: forward_auth.email_header = true is what
// makes serve add Remote-Email (TestServeEndToEnd sees it absent by
// default).
func TestForwardAuthEmailHeader(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(map[string]string{"VEIL_FORWARD_AUTH_EMAIL_HEADER": "true"})
	if code, out, errOut := runMain(t, env, "correct horse battery staple\n", "user", "add", "--data-dir", dir, "Alice@Example.com"); code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}
	v := MustRunMain(t, env, dir)
	res, body := httpDo(t, "POST", v.url+"/api/login", "application/json", `{"identifier":"alice@example.com","password":"correct horse battery staple"}`, "")
	if res.StatusCode != 200 {
		t.Fatalf("sign-in: %d %s", res.StatusCode, body)
	}
	cookie := strings.Split(res.Header.Get("Set-Cookie"), ";")[0]
	res, _ = httpDo(t, "GET", v.url+"/api/forward-auth", "", "", cookie)
	if res.StatusCode != 200 || res.Header.Get("Remote-Email") != "alice@example.com" || strings.Contains(res.Header.Get("Remote-User"), "@") {
		t.Errorf("forward-auth: %d Remote-User %q Remote-Email %q; want the opaque ID and the address", res.StatusCode, res.Header.Get("Remote-User"), res.Header.Get("Remote-Email"))
	}
}

// TestAdminListenerGuard runs serve with an admin token: every admin
// request needs it, a rebinding Host is refused even with it, config print
// hides it, and veil throttle reset sends it from the configuration (a
// token file here).
func TestAdminListenerGuard(t *testing.T) {
	const token = "admin-token-for-the-test-0123456789"
	dir := t.TempDir()
	file := filepath.Join(dir, "admin.token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withFile := testEnv(map[string]string{"VEIL_SERVER_ADMIN_TOKEN_FILE": file})
	v := MustRunMain(t, testEnv(map[string]string{"VEIL_SERVER_ADMIN_TOKEN": token}), dir)
	get := func(host, auth string) int {
		t.Helper()
		req, err := http.NewRequest("GET", v.adminURL+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	port := v.adminURL[strings.LastIndex(v.adminURL, ":"):]
	for _, tt := range []struct {
		name, host, auth string
		want             int
	}{
		{"no token", "", "", 401},
		{"wrong token", "", "Bearer nope", 401},
		{"token", "", "Bearer " + token, 200},
		{"token, localhost", "localhost" + port, "Bearer " + token, 200},
		{"token, rebinding Host", "rebind.attacker.example" + port, "Bearer " + token, 421},
	} {
		if got := get(tt.host, tt.auth); got != tt.want {
			t.Errorf("%s: GET /metrics = %d, want %d", tt.name, got, tt.want)
		}
	}
	admin := strings.TrimPrefix(v.adminURL, "http://")
	if code, out, errOut := runMain(t, withFile, "", "throttle", "reset", "--admin-listen", admin, "alice@example.com"); code != 0 {
		t.Errorf("throttle reset with the token file: exit %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runMain(t, testEnv(nil), "", "throttle", "reset", "--admin-listen", admin, "alice@example.com"); code == 0 || !strings.Contains(errOut, "401") {
		t.Errorf("throttle reset without the token: exit %d %q, want a 401", code, errOut)
	}
	code, out, _ := runMain(t, testEnv(map[string]string{"VEIL_SERVER_ADMIN_TOKEN": token}), "", "config", "print")
	if code != 0 || strings.Contains(out, token) || !strings.Contains(out, `admin_token = "(set)"`) {
		t.Errorf("config print shows the admin token, or not that it is set:\n%s", out)
	}
}
