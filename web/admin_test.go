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
			h := web.NewAdminHandler(web.AdminConfig{Metrics: http.NotFoundHandler(), Throttle: rec})
			req := httptest.NewRequest("POST", "/throttle/reset", strings.NewReader(tt.body))
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
