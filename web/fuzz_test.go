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

func (syntaxOnlyAccounts) SignUp(ctx context.Context, req veil.SignUpRequest) error {
	_, err := veil.NormalizeIdentifier(req.Email)
	return err
}

func (syntaxOnlyAccounts) ConfirmSignUp(ctx context.Context, req veil.ConfirmSignUpRequest) (*veil.LoginResult, error) {
	if err := veil.CheckNewPassword(req.Password); err != nil {
		return nil, err
	}
	if _, err := veil.NormalizeDisplayName(req.DisplayName); err != nil {
		return nil, err
	}
	return nil, checkTokenSyntax(req.Token)
}

// checkTokenSyntax fails every token: for its shape, or as unknown.
func checkTokenSyntax(token string) error {
	_, err := veil.ParseToken(token)
	if err == nil {
		err = veil.Errorf(veil.EINVALID, "unknown token")
	}
	return err
}

func (syntaxOnlyAccounts) Recover(ctx context.Context, req veil.RecoverRequest) error {
	_, err := veil.NormalizeIdentifier(req.Email)
	return err
}

func (syntaxOnlyAccounts) ResetPassword(ctx context.Context, token, pw string, c veil.Client) error {
	if err := veil.CheckNewPassword(pw); err != nil {
		return err
	}
	return checkTokenSyntax(token)
}

// FuzzMailFlowRequests throws arbitrary bodies at the sign-up and recovery
// endpoints, JSON and forms: 202, 200 or 400 with a message, never a 500.
// No sign-up confirmation can succeed here (every token is unknown), so a
// 200 or a redirect from one is a failure too.
func FuzzMailFlowRequests(f *testing.F) {
	paths := []string{"/api/signup", "/signup", "/api/recover", "/recover", "/api/signup/confirm", "/signup/confirm", "/api/recover/confirm", "/recover/confirm"}
	seeds := []struct{ ct, body string }{
		{"application/json", `{"email":"a@example.com","password":"long enough pass"}`},
		{"application/json", `{"email":"a@example.com"}`},
		{"application/json", `{"email":"a@example.com."}`},
		{"application/json", `{"token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","password":"long enough pass"}`},
		{"application/json", `{"token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","password":"long enough pass","name":"Zo\u00eb\u202e"}`},
		{"application/json", `{"email":["a"]}`},
		{"application/x-www-form-urlencoded", "email=a%40example.com&password=long+enough+pass"},
		{"application/x-www-form-urlencoded", "token=%00&password="},
		{"application/x-www-form-urlencoded", "token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&password=long+enough+pass&password_confirm=long+enough+pass&name=Zo%C3%AB"},
		{"application/x-www-form-urlencoded", "token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&password=long+enough+pass&password_confirm=other&name=%E2%80%A8"},
	}
	for i, s := range seeds {
		f.Add(uint8(i), s.ct, s.body)
	}
	srv, err := web.NewServer(web.Config{Accounts: syntaxOnlyAccounts{}, MailFlows: syntaxOnlyAccounts{}, Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, which uint8, contentType, body string) {
		path := paths[int(which)%len(paths)]
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusAccepted, http.StatusOK:
			if strings.HasPrefix(path, "/api/signup/confirm") || strings.HasPrefix(path, "/signup/confirm") || rec.Header().Get("Set-Cookie") != "" {
				t.Fatalf("POST %s %q %q: status %d with an unknown token", path, contentType, body, rec.Code)
			}
		case http.StatusBadRequest:
			if !strings.Contains(rec.Body.String(), "invalid_") && !strings.Contains(rec.Body.String(), `role="alert"`) {
				t.Fatalf("400 without a message: %s", rec.Body)
			}
		default:
			t.Fatalf("POST %s %q %q: status %d", path, contentType, body, rec.Code)
		}
	})
}

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
