package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/web"
)

// recordingReset remembers what the admin listener asked to reset.
type recordingReset struct{ identifier, addr string }

func (r *recordingReset) ResetThrottle(_ context.Context, identifier, addr string) error {
	if identifier == "not an address" {
		return veil.Errorf(veil.EINVALID, "That is not an email address.")
	}
	r.identifier, r.addr = identifier, addr
	return nil
}

// TestAdminThrottleReset: POST /throttle/reset takes JSON from the same
// origin only, reduces an IPv6 address to the /64 the throttle counts, and
// answers bad input with 400.
func TestAdminThrottleReset(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		header                  map[string]string
		wantStatus              int
		wantIdentifier          string
		wantAddr                string
	}{
		{"identifier", "application/json", `{"identifier":"alice@example.com"}`, nil, 200, "alice@example.com", ""},
		{"IPv4 address", "application/json", `{"address":"192.0.2.7"}`, nil, 200, "", "192.0.2.7"},
		{"IPv6 address", "application/json", `{"address":"2001:db8:1:2:3:4:5:6"}`, nil, 200, "", "2001:db8:1:2::/64"},
		{"bad address", "application/json", `{"address":"300.0.0.1"}`, nil, 400, "", ""},
		{"bad identifier", "application/json", `{"identifier":"not an address"}`, nil, 400, "", ""},
		{"not JSON", "application/x-www-form-urlencoded", "identifier=alice%40example.com", nil, 400, "", ""},
		{"unknown field", "application/json", `{"email":"alice@example.com"}`, nil, 400, "", ""},
		{"cross-site", "application/json", `{"identifier":"alice@example.com"}`, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingReset{}
			h := web.NewAdminHandler(web.AdminConfig{Metrics: http.NotFoundHandler(), Throttle: rec, Listen: "127.0.0.1:9091"})
			req := httptest.NewRequest("POST", "http://127.0.0.1:9091/throttle/reset", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.wantStatus || rec.identifier != tt.wantIdentifier || rec.addr != tt.wantAddr {
				t.Errorf("status %d, reset %q/%q; want %d, %q/%q\n%s", w.Code, rec.identifier, rec.addr, tt.wantStatus, tt.wantIdentifier, tt.wantAddr, w.Body)
			}
		})
	}
}

// countingEvents counts the audit log reads that reached it.
type countingEvents struct{ reads int }

func (c *countingEvents) ListEvents(context.Context, int) ([]*veil.Event, error) {
	c.reads++
	return []*veil.Event{{Kind: veil.EventLogin, Outcome: veil.OutcomeFailure, Reason: veil.ReasonUnknownIdentifier}}, nil
}

// TestAdminHosts: the admin listener answers only for the host it is
// bound to (and loopback's names, and configured ones). A page whose name
// an attacker rebinds to 127.0.0.1 — the browser then sends its own name
// in Host — gets 421 and reaches neither the audit log nor the throttle.
func TestAdminHosts(t *testing.T) {
	tests := []struct {
		listen string
		hosts  []string
		host   string
		want   int
	}{
		{"127.0.0.1:9091", nil, "127.0.0.1:9091", 200},
		{"127.0.0.1:9091", nil, "localhost:9091", 200},
		{"127.0.0.1:9091", nil, "LocalHost.:9091", 200},
		{"127.0.0.1:9091", nil, "[::1]:9091", 200},
		{"127.0.0.1:9091", nil, "rebind.attacker.example:9091", 421},
		{"127.0.0.1:9091", nil, "rebind.attacker.example", 421},
		{"127.0.0.1:9091", nil, "127.0.0.1.attacker.example:9091", 421},
		{"127.0.0.1:9091", nil, "localhost.attacker.example", 421},
		{"127.0.0.1:9091", nil, "", 421},
		{"127.0.0.1:9091", nil, "192.0.2.1:9091", 421},
		{"localhost:9091", nil, "127.0.0.1:9091", 200},
		{"localhost:9091", nil, "evil.example", 421},
		{"[::1]:9091", nil, "[::1]:9091", 200},
		{"10.0.0.5:9091", nil, "10.0.0.5:9091", 200},
		{"10.0.0.5:9091", nil, "127.0.0.1:9091", 421},
		{"10.0.0.5:9091", []string{"veil-admin.internal"}, "VEIL-admin.internal:9091", 200},
		{"10.0.0.5:9091", []string{"veil-admin.internal"}, "rebind.attacker.example:9091", 421},
		{"0.0.0.0:9091", nil, "10.0.0.5:9091", 200},
		{"0.0.0.0:9091", nil, "[2001:db8::5]:9091", 200},
		{"0.0.0.0:9091", nil, "localhost:9091", 200},
		{"0.0.0.0:9091", nil, "rebind.attacker.example:9091", 421},
		{":9091", nil, "rebind.attacker.example:9091", 421},
		{"admin.internal:9091", nil, "admin.internal:9091", 200},
		{"admin.internal:9091", nil, "localhost:9091", 421},
	}
	for _, tt := range tests {
		audit, rec := &countingEvents{}, &recordingReset{}
		h := web.NewAdminHandler(web.AdminConfig{Audit: audit, Metrics: http.NotFoundHandler(), Throttle: rec, Listen: tt.listen, Hosts: tt.hosts})
		for _, path := range []string{"/audit", "/throttle/reset"} {
			method, body := "GET", ""
			if path == "/throttle/reset" {
				method, body = "POST", `{"identifier":"alice@example.com"}`
			}
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			req.Host = tt.host
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.want {
				t.Errorf("listen %s, Host %q: %s %s = %d, want %d\n%s", tt.listen, tt.host, method, path, w.Code, tt.want, w.Body)
			}
			if tt.want == 421 && !strings.Contains(w.Body.String(), "misdirected_request") {
				t.Errorf("listen %s, Host %q: 421 body %q, want misdirected_request", tt.listen, tt.host, w.Body)
			}
		}
		if reached := audit.reads > 0 || rec.identifier != ""; reached != (tt.want == 200) {
			t.Errorf("listen %s, Host %q: audit read %d times, reset %q", tt.listen, tt.host, audit.reads, rec.identifier)
		}
	}
}

// TestAdminToken: with a token, every admin route needs it as a bearer
// token; without one configured, none asks.
func TestAdminToken(t *testing.T) {
	const token = "s3cret-admin-token-0123456789"
	tests := []struct {
		name, token, auth string
		want              int
	}{
		{"no token configured", "", "", 200},
		{"right token", token, "Bearer " + token, 200},
		{"scheme in any case", token, "bearer " + token, 200},
		{"no Authorization", token, "", 401},
		{"wrong token", token, "Bearer " + token + "x", 401},
		{"prefix of the token", token, "Bearer " + token[:10], 401},
		{"empty bearer", token, "Bearer ", 401},
		{"basic auth", token, "Basic " + token, 401},
		{"token without scheme", token, token, 401},
	}
	for _, tt := range tests {
		audit := &countingEvents{}
		h := web.NewAdminHandler(web.AdminConfig{Audit: audit, Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
			Throttle: &recordingReset{}, Listen: "127.0.0.1:9091", Token: tt.token})
		for _, path := range []string{"/audit", "/metrics", "/healthz", "/throttle/reset"} {
			method := "GET"
			if path == "/throttle/reset" {
				method = "POST"
			}
			req := httptest.NewRequest(method, "http://127.0.0.1:9091"+path, strings.NewReader(`{"identifier":"alice@example.com"}`))
			req.Header.Set("Content-Type", "application/json")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.want {
				t.Errorf("%s: %s %s = %d, want %d\n%s", tt.name, method, path, w.Code, tt.want, w.Body)
			}
			if tt.want == 401 && (w.Header().Get("WWW-Authenticate") == "" || strings.Contains(w.Body.String(), token)) {
				t.Errorf("%s: %s %s: 401 without WWW-Authenticate, or with the token in the body", tt.name, method, path)
			}
		}
		if tt.want == 401 && audit.reads != 0 {
			t.Errorf("%s: the audit log was read without the token", tt.name)
		}
	}
}
