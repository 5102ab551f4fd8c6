package main

import (
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
