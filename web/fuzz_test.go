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

// syntaxOnlyAccounts checks input like the core does and then fails every
// sign-in, so the fuzzer exercises decoding without a database.
type syntaxOnlyAccounts struct{}

func (syntaxOnlyAccounts) Login(ctx context.Context, req veil.LoginRequest) (*veil.LoginResult, error) {
	if _, err := veil.NormalizeIdentifier(req.Identifier); err != nil {
		return nil, err
	}
	if err := veil.CheckPassword(req.Password); err != nil {
		return nil, err
	}
	return nil, veil.Errorf(veil.EUNAUTHORIZED, "The email address or password is incorrect.")
}

func (syntaxOnlyAccounts) Authenticate(context.Context, string) (*veil.Account, *veil.Session, error) {
	return nil, nil, veil.Errorf(veil.EUNAUTHORIZED, "Not signed in.")
}

func (syntaxOnlyAccounts) Logout(context.Context, string, veil.Client) error { return nil }

// FuzzLoginRequest throws arbitrary bodies and content types at both sign-in
// entry points: the answer must be 400 or 401, never a 500 or a panic, and
// a 400 must carry a message.
func FuzzLoginRequest(f *testing.F) {
	seeds := []struct{ ct, body string }{
		{"application/json", `{"identifier":"alice@example.com","password":"x"}`},
		{"application/json", `{"identifier":"alice@example.com","password":"x","extra":1}`},
		{"application/json", `{"identifier":null,"password":"x"}`},
		{"application/json; charset=UTF-8", `{"identifier":"a\u0000@b.c","password":"x"}`},
		{"application/json", `[]`},
		{"application/x-www-form-urlencoded", "identifier=alice%40example.com&password=x"},
		{"application/x-www-form-urlencoded", "identifier=%ff&password="},
		{"text/plain", "hello"},
	}
	for _, s := range seeds {
		f.Add(s.ct, s.body, false)
		f.Add(s.ct, s.body, true)
	}
	srv, err := web.NewServer(web.Config{Accounts: syntaxOnlyAccounts{}, Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, contentType, body string, form bool) {
		path := "/api/login"
		if form {
			path = "/login"
		}
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusBadRequest:
			if !strings.Contains(rec.Body.String(), "invalid_request") && !strings.Contains(rec.Body.String(), `role="alert"`) {
				t.Fatalf("400 without a message: %s", rec.Body)
			}
		case http.StatusUnauthorized:
		default:
			t.Fatalf("POST %s %q %q: status %d, want 400 or 401", path, contentType, body, rec.Code)
		}
	})
}
