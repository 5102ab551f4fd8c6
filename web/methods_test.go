package web_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// publicRoutes is every route of the public listener with sign-up and
// recovery on, and the methods it takes.
var publicRoutes = []struct {
	path  string
	allow string
}{
	{"/api/login", "POST"},
	{"/api/logout", "POST"},
	{"/api/session", "GET, HEAD"},
	{"/api/forward-auth", "GET, HEAD"},
	{"/api/signup", "POST"},
	{"/api/signup/confirm", "POST"},
	{"/api/recover", "POST"},
	{"/api/recover/confirm", "POST"},
	{"/healthz", "GET, HEAD"},
	{"/login", "GET, HEAD, POST"},
	{"/logout", "POST"},
	{"/signup", "GET, HEAD, POST"},
	{"/signup/confirm", "GET, HEAD, POST"},
	{"/recover", "GET, HEAD, POST"},
	{"/recover/confirm", "GET, HEAD, POST"},
	{"/", "GET, HEAD"},
	{"/static/pow.js", "GET, HEAD"},
}

// TestWrongMethods: every route answers a method it does not take with
// 405, an Allow header listing the ones it does, and a JSON error; the
// methods it takes (HEAD wherever GET is) reach the route; a path with no
// route is a 404 whatever the method.
func TestWrongMethods(t *testing.T) {
	ts := MustOpenServer(t)
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	for _, rt := range publicRoutes {
		allowed := strings.Split(rt.allow, ", ")
		for _, m := range methods {
			a := ts.do(t, m, rt.path, "application/json", "{}")
			if slices.Contains(allowed, m) {
				if a.status == http.StatusNotFound || a.status == http.StatusMethodNotAllowed {
					t.Errorf("%s %s = %d, want the route to answer", m, rt.path, a.status)
				}
				continue
			}
			if a.status != http.StatusMethodNotAllowed || a.header.Get("Allow") != rt.allow {
				t.Errorf("%s %s = %d, Allow %q; want 405, Allow %q", m, rt.path, a.status, a.header.Get("Allow"), rt.allow)
				continue
			}
			if m == "HEAD" {
				continue
			}
			var body struct{ Error, Message string }
			if err := json.Unmarshal([]byte(a.body), &body); err != nil || body.Error != "method_not_allowed" || body.Message == "" ||
				!strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
				t.Errorf("%s %s: body %q (%s), want a JSON method_not_allowed error with a message", m, rt.path, a.body, a.header.Get("Content-Type"))
			}
		}
	}
	for _, m := range methods {
		if a := ts.do(t, m, "/api/nothing-here", "", ""); a.status != http.StatusNotFound || a.header.Get("Allow") != "" {
			t.Errorf("%s /api/nothing-here = %d, Allow %q; want 404 without Allow", m, a.status, a.header.Get("Allow"))
		}
	}
}
