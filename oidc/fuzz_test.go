package oidc_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
	"github.com/veil-id/veil/sqlite/sqlitetest"
)

// FuzzParameters sends arbitrary parameters to every endpoint that decodes
// them: none may crash, answer 5xx, or name an internal cause.
func FuzzParameters(f *testing.F) {
	s := oidctest.Start(f, sqlitetest.MustOpen(f), oidctest.Options{})
	c := &oidc.Client{ID: "app", RedirectURIs: []string{redirectURI}, FirstParty: true}
	s.AddClient(f, c)
	s.AddClient(f, &oidc.Client{ID: "jwt-app", RedirectURIs: []string{redirectURI}, FirstParty: true,
		JWKS: []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}]}`)})
	for _, seed := range []string{
		"",
		"client_id=app&redirect_uri=" + redirectURI + "&response_type=code&scope=openid&code_challenge=" + strings.Repeat("a", 43) + "&code_challenge_method=S256",
		"client_id=app&redirect_uri=" + redirectURI + "&response_type=code&scope=openid&prompt=none&max_age=-1",
		"client_id=app&redirect_uri=" + redirectURI + "&response_type=token&scope=openid&id_token_hint=a.b.c&login_hint=ada%40example.com",
		"grant_type=authorization_code&code=abc&client_id=app&client_secret=x&redirect_uri=" + redirectURI,
		"grant_type=refresh_token&refresh_token=abc&client_id=app",
		"client_id=%ff%fe&scope=%00&max_age=99999999999999999999&prompt=login%20none",
		"id=%zz&id=2&decision=allow",
		"request=eyJhbGciOiJub25lIn0.e30.&client_id=app",
		"grant_type=authorization_code&code=abc&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer" +
			"&client_assertion=eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJpc3MiOiJqd3QtYXBwIiwic3ViIjoiand0LWFwcCIsImF1ZCI6IngiLCJqdGkiOiIxIiwiZXhwIjo5OTk5OTk5OTk5fQ.c2ln",
	} {
		f.Add(seed)
	}
	h := s.Config.Handler
	f.Fuzz(func(t *testing.T, raw string) {
		for _, req := range []*http.Request{
			httptest.NewRequest(http.MethodGet, "/oidc/authorize?"+safeQuery(raw), nil),
			httptest.NewRequest(http.MethodGet, "/oidc/authorize/continue?"+safeQuery(raw), nil),
			httptest.NewRequest(http.MethodGet, "/oidc/authorize/callback?"+safeQuery(raw), nil),
			httptest.NewRequest(http.MethodGet, "/oidc/end_session?"+safeQuery(raw), nil),
			form(http.MethodPost, "/oidc/token", raw),
			form(http.MethodPost, "/oidc/authorize/consent", raw),
			form(http.MethodPost, "/oidc/userinfo", raw),
			form(http.MethodPost, "/oidc/revoke", raw),
			form(http.MethodPost, "/oidc/introspect", raw),
		} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Errorf("%s %s: %d\n%s", req.Method, req.URL.Path, rec.Code, rec.Body)
			}
			if b := rec.Body.String(); strings.Contains(b, "Parent=") || strings.Contains(b, "sqlstore") || strings.Contains(b, "goroutine") {
				t.Errorf("%s %s: the answer names an internal cause:\n%s", req.Method, req.URL.Path, b)
			}
		}
	})
}

// safeQuery keeps a fuzzed query from breaking the request line itself.
func safeQuery(raw string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == '#' || r >= 0x7f {
			return '_'
		}
		return r
	}, raw)
}

func form(method, path, body string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}
