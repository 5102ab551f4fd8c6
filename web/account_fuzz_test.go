package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzAccountRequests throws arbitrary bodies at every account endpoint,
// JSON and forms, from a signed-in browser, over the real core and
// SQLite: the answer is a success, a redirect, a 401 or a 400 with a
// message — never a 500 or a panic.
func FuzzAccountRequests(f *testing.F) {
	paths := []string{
		"/api/account/name", "/account/name", "/api/account/password", "/account/password",
		"/api/account/email", "/account/email", "/api/account/email/confirm", "/account/email/confirm",
		"/api/account/email/undo", "/account/email/undo", "/api/account/delete", "/account/delete",
		"/api/login/code", "/login/code", "/api/login/code/confirm", "/login/code/confirm",
		"/account/sessions/end", "/account/sessions/end-others",
	}
	seeds := []struct{ ct, body string }{
		{"application/json", `{"name":"Zo\u00eb"}`},
		{"application/json", `{"name":"\u202e"}`},
		{"application/json", `{"current_password":"x","password":"long enough pass"}`},
		{"application/json", `{"email":"b@example.com","password":"wrong password"}`},
		{"application/json", `{"token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`},
		{"application/json", `{"email":"a@example.com","code":"1234-5678"}`},
		{"application/json", `{"email":"a@example.com","code":"12345678","token":""}`},
		{"application/json", `{"password":["x"]}`},
		{"application/x-www-form-urlencoded", "name=Zo%C3%AB"},
		{"application/x-www-form-urlencoded", "id=aaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{"application/x-www-form-urlencoded", "current_password=x&password=long+enough+pass&password_confirm=long+enough+pass"},
		{"application/x-www-form-urlencoded", "email=a%40example.com&code=%00"},
		{"application/x-www-form-urlencoded", "token=%ff"},
	}
	for i, s := range seeds {
		f.Add(uint8(i), s.ct, s.body)
	}
	ts := MustOpenServer(f)
	ts.mustAddAccount(f, "alice@example.com", goodPassword)
	cookie := ts.mustSignIn(f, "alice@example.com", goodPassword)
	handler := ts.Config.Handler
	f.Fuzz(func(t *testing.T, which uint8, contentType, body string) {
		path := paths[int(which)%len(paths)]
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusAccepted, http.StatusSeeOther, http.StatusUnauthorized:
		case http.StatusBadRequest:
			if !strings.Contains(rec.Body.String(), "invalid_") && !strings.Contains(rec.Body.String(), `role="alert"`) {
				t.Fatalf("400 without a message: %s", rec.Body)
			}
		default:
			t.Fatalf("POST %s %q %q: status %d %s", path, contentType, body, rec.Code, rec.Body)
		}
	})
}
