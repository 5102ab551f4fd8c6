package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/web"
)

// TestForwardAuthHeaders: forward-auth names the account by its opaque ID
// only, unless the operator opts in to Remote-Email; no header of the
// answer holds the sign-in address otherwise (invariant 7).
func TestForwardAuthHeaders(t *testing.T) {
	for _, optIn := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "email_header"}[optIn], func(t *testing.T) {
			ts := MustOpenServer(t, func(w *web.Config, _ *password.Config, _ *veil.ServiceConfig) { w.ForwardAuthEmail = optIn })
			acct := ts.mustAddAccount(t, "Alice@Example.com", goodPassword)
			signin := ts.loginJSON(t, "alice@example.com", goodPassword)
			cookie := cookieNamed(signin, "veil_session")
			if signin.status != http.StatusOK || cookie == "" {
				t.Fatalf("sign-in: %d %s", signin.status, signin.body)
			}
			a := ts.do(t, "GET", "/api/forward-auth", "", "", "Cookie", cookie)
			if a.status != http.StatusOK || a.header.Get("Remote-User") != acct.ID || strings.Contains(acct.ID, "@") {
				t.Fatalf("forward-auth: %d, Remote-User %q; want 200 and the opaque account ID %q", a.status, a.header.Get("Remote-User"), acct.ID)
			}
			want := ""
			if optIn {
				want = "alice@example.com"
			}
			if got := a.header.Get("Remote-Email"); got != want {
				t.Errorf("Remote-Email = %q, want %q", got, want)
			}
			if optIn {
				return
			}
			for k, vs := range a.header {
				for _, v := range vs {
					if strings.Contains(strings.ToLower(v), "alice@example.com") {
						t.Errorf("header %s: %q holds the sign-in address", k, v)
					}
				}
			}
		})
	}
}
