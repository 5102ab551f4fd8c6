package main

import (
	"strings"
	"testing"
)

// TestForwardAuthConfig: return domains and the cookie domain are checked
// when the configuration is read, and the cookie domain must cover veil's
// own public host, or the cookie would never come back to it.
func TestForwardAuthConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // "" for accepted
	}{
		{"return domains", map[string]string{"VEIL_FORWARD_AUTH_RETURN_DOMAINS": "app.example.com, *.example.com,app.localhost:8081"}, ""},
		{"return domain with a scheme", map[string]string{"VEIL_FORWARD_AUTH_RETURN_DOMAINS": "https://app.example.com"}, "forward_auth.return_domains"},
		{"return domain wildcard in the middle", map[string]string{"VEIL_FORWARD_AUTH_RETURN_DOMAINS": "a.*.example.com"}, "forward_auth.return_domains"},
		{"cookie domain", map[string]string{"VEIL_SESSION_COOKIE_DOMAIN": "example.com", "VEIL_SERVER_PUBLIC_URL": "https://auth.example.com"}, ""},
		{"cookie domain is the public host", map[string]string{"VEIL_SESSION_COOKIE_DOMAIN": "example.com", "VEIL_SERVER_PUBLIC_URL": "https://example.com/"}, ""},
		{"cookie domain with a dot", map[string]string{"VEIL_SESSION_COOKIE_DOMAIN": ".example.com"}, "session.cookie_domain"},
		{"cookie domain a TLD", map[string]string{"VEIL_SESSION_COOKIE_DOMAIN": "com"}, "session.cookie_domain"},
		{"cookie domain elsewhere", map[string]string{"VEIL_SESSION_COOKIE_DOMAIN": "example.com", "VEIL_SERVER_PUBLIC_URL": "https://auth.example.org"}, "does not cover"},
		{"cookie domain suffix only", map[string]string{"VEIL_SESSION_COOKIE_DOMAIN": "example.com", "VEIL_SERVER_PUBLIC_URL": "https://authexample.com"}, "does not cover"},
	}
	for _, tt := range tests {
		env := func(k string) string { return tt.env[k] }
		code, _, errOut := runMain(t, env, "", "config", "print")
		if tt.want == "" && code != 0 || tt.want != "" && (code == 0 || !strings.Contains(errOut, tt.want)) {
			t.Errorf("%s: exit %d, stderr %q; want %q", tt.name, code, errOut, tt.want)
		}
	}
	cfg := DefaultConfig()
	if got := cfg.loginURL(); got != "/login" {
		t.Errorf("loginURL() without public_url = %q, want /login", got)
	}
	cfg.Server.PublicURL = "https://auth.example.com/"
	if got := cfg.loginURL(); got != "https://auth.example.com/login" {
		t.Errorf("loginURL() = %q, want https://auth.example.com/login", got)
	}
}
