package web_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/web"
)

// withUniformFloor is the automatic floor while every stored hash is
// current: no answer floor, a lookup floor. Routes whose account work has
// no hash must still be held, or their lookups would show.
func withUniformFloor(wc *webConfig, _ *password.Config, _ *veil.ServiceConfig) {
	f := web.NewFloor(0)
	f.SetLookup(250 * time.Microsecond)
	wc.Floor = f
}

// TestNoHashRoutesHeldWithoutAnAnswerFloor sends, for an account and for
// an unknown address, each request whose account work is lookups without a
// hash — a mailed sign-in code (JSON and form) and identifier-first passkey
// options — under the floor of a store whose hashes are all current: every
// answer must wait web.NoHashFloor, so that what the lookups cost is not
// what the answer's timing says.
func TestNoHashRoutesHeldWithoutAnAnswerFloor(t *testing.T) {
	ts := MustOpenServer(t, withUniformFloor, withPasskeys(t))
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	requests := []struct {
		name, path, contentType string
		body                    func(email string) string
	}{
		{"code, json", "/api/login/code/confirm", "application/json", func(e string) string { return jsonBody("email", e, "code", "12345678") }},
		{"code, form", "/login/code/confirm", formType, func(e string) string { return url.Values{"email": {e}, "code": {"12345678"}}.Encode() }},
		{"passkey options", "/api/passkey/login/options", "application/json", func(e string) string { return jsonBody("identifier", e) }},
	}
	for _, rq := range requests {
		for _, email := range []string{"alice@example.com", "nobody@example.com"} {
			start := time.Now()
			a := ts.do(t, "POST", rq.path, rq.contentType, rq.body(email))
			took := time.Since(start)
			if a.status >= http.StatusInternalServerError {
				t.Fatalf("%s for %s: %d %s", rq.name, email, a.status, a.body)
			}
			if took < web.NoHashFloor {
				t.Errorf("%s for %s answered after %v, before web.NoHashFloor (%v): the lookups' cost shows", rq.name, email, took, web.NoHashFloor)
			}
		}
	}
}
