package oidc_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
	"github.com/veil-id/veil/sqlite"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"golang.org/x/oauth2"
)

// TestTokenExchangeStoreFaultIsUnavailable: a good code exchanged while
// the store fails gets the one 503 temporarily_unavailable with
// Retry-After, not the invalid_grant op wraps a failed code lookup in,
// which would tell the client to give up on a code that is fine.
func TestTokenExchangeStoreFaultIsUnavailable(t *testing.T) {
	fx := newFixture(t, &oidc.Client{FirstParty: true})
	b := oidctest.NewBrowser(t)
	f := &flow{}
	code := f.code(t, b.SignInForm(b.Get(fx.rp.authURL(f)), adaEmail, adaPass).RedirectedTo(t))
	fx.s.DB.Close()
	_, err := fx.rp.conf.Exchange(context.Background(), code, oauth2.VerifierOption(f.verifier))
	var re *oauth2.RetrieveError
	if !asRetrieveError(err, &re) {
		t.Fatalf("exchange with the store closed: %v, want an OAuth error", err)
	}
	if re.Response.StatusCode != http.StatusServiceUnavailable || re.ErrorCode != "temporarily_unavailable" || re.Response.Header.Get("Retry-After") == "" {
		t.Errorf("exchange with the store closed: %d %q (Retry-After %q), want 503 temporarily_unavailable with Retry-After",
			re.Response.StatusCode, re.ErrorCode, re.Response.Header.Get("Retry-After"))
	}
}

// TestAuthorizeStoreFaultSendsClientBack: an authorization request while
// the store fails sends the browser back to the client with
// temporarily_unavailable (RFC 6749, 4.1.2.1), which tells it to try again
// later, not the server_error that says veil is broken: byte for byte the
// same for someone signed in and someone not, with the client's state and
// no cause. A client the store would have to be asked about has no
// redirect URI anyone checked, so it gets the 503 instead of a redirect.
func TestAuthorizeStoreFaultSendsClientBack(t *testing.T) {
	_, hash := oidc.NewClientSecret()
	configured := &oidc.Client{ID: "wiki", Name: "Wiki", SecretHash: hash, RedirectURIs: []string{redirectURI}, FirstParty: true, FromConfig: true}
	s := oidctest.Start(t, sqlitetest.MustOpen(t), oidctest.Options{Clients: []*oidc.Client{configured}})
	s.AddAccount(t, adaEmail, "Ada", adaPass)
	stored := &oidc.Client{FirstParty: true, RedirectURIs: []string{redirectURI}}
	s.AddClient(t, stored)
	signedIn := signedInBrowser(t, s)
	s.DB.Close()

	var answers []string
	for _, b := range []*oidctest.Browser{signedIn, oidctest.NewBrowser(t)} {
		res, body := rawGet(t, b, authorizeURL(s, configured.ID, ""))
		wantSentBackUnavailable(t, res, body)
		res.Header.Del("Date")
		answers = append(answers, fmt.Sprint(res.StatusCode, res.Header, body))
	}
	if answers[0] != answers[1] {
		t.Errorf("signed in and not, the answers differ:\n%s\n---\n%s", answers[0], answers[1])
	}

	res, body := rawGet(t, oidctest.NewBrowser(t), authorizeURL(s, stored.ID, ""))
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || res.Header.Get("Location") != "" || !strings.Contains(body, `"temporarily_unavailable"`) {
		t.Errorf("authorize for a stored client with the store closed: %d (Location %q, Retry-After %q) %s, want the 503",
			res.StatusCode, res.Header.Get("Location"), res.Header.Get("Retry-After"), body)
	}
}

// signedInBrowser is a browser with Ada's session on s.
func signedInBrowser(t *testing.T, s *oidctest.Stack) *oidctest.Browser {
	t.Helper()
	b := oidctest.NewBrowser(t)
	if p := b.SignInForm(b.Get(s.Issuer+"/login"), adaEmail, adaPass); p.Status != http.StatusOK {
		t.Fatalf("sign-in: %d\n%s", p.Status, p.Body)
	}
	return b
}

// faultState is the state of the authorization requests of the fault
// tests.
const faultState = "st-123"

// authorizeURL is an authorization request of client at s, with
// response_mode mode unless "".
func authorizeURL(s *oidctest.Stack, client, mode string) string {
	q := url.Values{"client_id": {client}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"openid"},
		"state": {faultState}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
	if mode != "" {
		q.Set("response_mode", mode)
	}
	return s.Issuer + "/oidc/authorize?" + q.Encode()
}

// wantSentBackUnavailable wants an authorization request's answer to send
// the browser to the client with temporarily_unavailable, the request's
// state and nothing else.
func wantSentBackUnavailable(t *testing.T, res *http.Response, body string) {
	t.Helper()
	loc, _ := url.Parse(res.Header.Get("Location"))
	want := url.Values{"error": {"temporarily_unavailable"}, "error_description": {"The service is temporarily unavailable."}, "state": {faultState}}
	if res.StatusCode != http.StatusFound || loc == nil || loc.Scheme+"://"+loc.Host+loc.Path != redirectURI || loc.Query().Encode() != want.Encode() {
		t.Errorf("authorize with the store failing: %d to %q\n%s\nwant 302 to %s?%s", res.StatusCode, res.Header.Get("Location"), body, redirectURI, want.Encode())
	}
}

// rawGet is one GET in b, no redirect followed.
func rawGet(t *testing.T, b *oidctest.Browser, target string) (*http.Response, string) {
	t.Helper()
	res, err := b.Client.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// TestAuthorizeLaterStoreFaultSendsClientBack: where the store fails after
// the request is stored — reading the session, the consent, saving the
// code — the signed-in browser goes back to the client with
// temporarily_unavailable too, not to a page of veil's (or, with
// form_post, op's server_error). Each row breaks one table of a real
// SQLite database through a connection of its own.
func TestAuthorizeLaterStoreFaultSendsClientBack(t *testing.T) {
	tests := []struct {
		name       string
		firstParty bool
		mode       string // response_mode
		breakSQL   string
	}{
		{"reading the session", true, "", `DROP TABLE sessions`},
		{"finding consent", false, "", `DROP TABLE oidc_consents`},
		{"saving the code", true, "", `CREATE TRIGGER stall BEFORE UPDATE ON oidc_auth_requests BEGIN SELECT RAISE(FAIL, 'stalled'); END`},
		{"saving the code, form_post", true, "form_post", `CREATE TRIGGER stall BEFORE UPDATE ON oidc_auth_requests BEGIN SELECT RAISE(FAIL, 'stalled'); END`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "veil.db")
			db, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			_, hash := oidc.NewClientSecret()
			c := &oidc.Client{ID: "wiki", Name: "Wiki", SecretHash: hash, RedirectURIs: []string{redirectURI}, FirstParty: tt.firstParty, FromConfig: true}
			s := oidctest.Start(t, db, oidctest.Options{Clients: []*oidc.Client{c}})
			s.AddAccount(t, adaEmail, "Ada", adaPass)
			b := signedInBrowser(t, s)
			raw, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(tt.breakSQL); err != nil {
				t.Fatal(err)
			}
			res, body := rawGet(t, b, authorizeURL(s, c.ID, tt.mode))
			wantSentBackUnavailable(t, res, body)
		})
	}
}
