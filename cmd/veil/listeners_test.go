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
