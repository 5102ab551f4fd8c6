package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"golang.org/x/oauth2"
)

const (
	adaEmail = "ada@example.com"
	adaPass  = "correct horse battery"
)

// fixture is a stack with Ada's account and one client.
type fixture struct {
	s      *oidctest.Stack
	client *oidc.Client
	rp     *relyingParty
}

func newFixture(t *testing.T, c *oidc.Client, scopes ...string) *fixture {
	t.Helper()
	s := oidctest.Start(t, sqlitetest.MustOpen(t), oidctest.Options{})
	s.AddAccount(t, adaEmail, "Ada", adaPass)
	if c.RedirectURIs == nil {
		c.RedirectURIs = []string{redirectURI}
	}
	secret := s.AddClient(t, c)
	if c.Public {
		secret = ""
	}
	return &fixture{s: s, client: c, rp: newRelyingParty(t, s.Issuer, c.ID, secret, scopes...)}
}

// signIn runs the whole flow in a new browser and returns the browser, the
// tokens and the flow.
func (fx *fixture) signIn(t *testing.T) (*oidctest.Browser, *oauth2.Token, *flow) {
	t.Helper()
	b := oidctest.NewBrowser(t)
	f := &flow{}
	back := b.SignInForm(b.Get(fx.rp.authURL(f)), adaEmail, adaPass).RedirectedTo(t)
	tok, _ := fx.rp.exchange(t, f, f.code(t, back))
	return b, tok, f
}

func wantOAuthError(t *testing.T, what string, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !asRetrieveError(err, &re) || re.ErrorCode != code {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

func (rp *relyingParty) refresh(rt string) (*oauth2.Token, error) {
	return rp.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: rt}).Token()
}

func TestRefreshRotationAndReuse(t *testing.T) {
	fx := newFixture(t, &oidc.Client{FirstParty: true}, "offline_access")
	_, tok, _ := fx.signIn(t)
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}
	second, err := fx.rp.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if second.RefreshToken == "" || second.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh gave refresh token %q: want a new one", second.RefreshToken)
	}
	if _, err := fx.rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(second)); err != nil {
		t.Fatalf("userinfo with the refreshed access token: %v", err)
	}
	// The first token again: reuse. It fails, and so does everything of
	// its family from then on.
	_, err = fx.rp.refresh(tok.RefreshToken)
	wantOAuthError(t, "reusing a rotated refresh token", err, "invalid_grant")
	_, err = fx.rp.refresh(second.RefreshToken)
	wantOAuthError(t, "the current token after reuse", err, "invalid_grant")
	if _, err := fx.rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(second)); err == nil {
		t.Error("the family's access token still works after reuse")
	}
}

// TestCodeIsUsedOnce: a code redeemed twice fails the second time, and
// ends what the first exchange granted (RFC 6749, 4.1.2): someone else
// holds the code too.
func TestCodeIsUsedOnce(t *testing.T) {
	fx := newFixture(t, &oidc.Client{FirstParty: true}, "offline_access")
	b := oidctest.NewBrowser(t)
	f := &flow{}
	code := f.code(t, b.SignInForm(b.Get(fx.rp.authURL(f)), adaEmail, adaPass).RedirectedTo(t))
	tok, _ := fx.rp.exchange(t, f, code)
	_, err := fx.rp.conf.Exchange(context.Background(), code, oauth2.VerifierOption(f.verifier))
	wantOAuthError(t, "a second exchange of one code", err, "invalid_grant")
	_, err = fx.rp.refresh(tok.RefreshToken)
	wantOAuthError(t, "the refresh token of a code used twice", err, "invalid_grant")
	if _, err := fx.rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("the access token of a code used twice still works")
	}
}

func TestPKCEVerifierMustMatch(t *testing.T) {
	fx := newFixture(t, &oidc.Client{FirstParty: true})
	b := oidctest.NewBrowser(t)
	f := &flow{}
	code := f.code(t, b.SignInForm(b.Get(fx.rp.authURL(f)), adaEmail, adaPass).RedirectedTo(t))
	_, err := fx.rp.conf.Exchange(context.Background(), code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	wantOAuthError(t, "exchange with another verifier", err, "invalid_grant")
}

func TestPublicClientNeedsS256(t *testing.T) {
	fx := newFixture(t, &oidc.Client{Public: true, FirstParty: true})
	b := oidctest.NewBrowser(t)
	for _, tc := range []struct{ name, extra string }{
		{"no challenge", ""},
		{"plain", "&code_challenge=" + strings.Repeat("a", 43) + "&code_challenge_method=plain"},
	} {
		u := fx.rp.conf.AuthCodeURL("st") + tc.extra
		back := b.Get(u).RedirectedTo(t)
		if got := back.Query().Get("error"); got != "invalid_request" {
			t.Errorf("%s: error = %q, want invalid_request", tc.name, got)
		}
	}
	// With S256 a public client signs in without a secret.
	f := &flow{}
	fx.rp.exchange(t, f, f.code(t, b.SignInForm(b.Get(fx.rp.authURL(f)), adaEmail, adaPass).RedirectedTo(t)))
}

func TestRedirectURIMustMatchExactly(t *testing.T) {
	fx := newFixture(t, &oidc.Client{FirstParty: true})
	b := oidctest.NewBrowser(t)
	for _, uri := range []string{redirectURI + "/x", redirectURI + "?a=b", "http://127.0.0.1:1/Callback", "https://evil.example/callback"} {
		u := strings.Replace(fx.rp.authURL(&flow{}), url.QueryEscape(redirectURI), url.QueryEscape(uri), 1)
		p := b.Get(u)
		if p.Status != http.StatusBadRequest || p.Header.Get("Location") != "" {
			t.Errorf("redirect_uri %s: %d to %q, want 400 and no redirect", uri, p.Status, p.Header.Get("Location"))
		}
		if strings.Contains(p.Body, "Parent=") {
			t.Errorf("redirect_uri %s: the answer names an internal cause:\n%s", uri, p.Body)
		}
	}
}

func TestPromptAndMaxAge(t *testing.T) {
	fx := newFixture(t, &oidc.Client{FirstParty: true})
	// prompt=none without a session: login_required, back at the client.
	fresh := oidctest.NewBrowser(t)
	f := &flow{}
	back := fresh.Get(fx.rp.authURL(f, oauth2.SetAuthURLParam("prompt", "none"))).RedirectedTo(t)
	if back.Query().Get("error") != "login_required" || back.Query().Get("state") != f.state {
		t.Errorf("prompt=none without a session: %s, want error=login_required with the state", back)
	}
	b, _, _ := fx.signIn(t)
	// prompt=none with a session passes.
	f = &flow{}
	fx.rp.exchange(t, f, f.code(t, b.Get(fx.rp.authURL(f, oauth2.SetAuthURLParam("prompt", "none"))).RedirectedTo(t)))
	// max_age large enough passes too.
	f = &flow{}
	fx.rp.exchange(t, f, f.code(t, b.Get(fx.rp.authURL(f, oauth2.SetAuthURLParam("max_age", "3600"))).RedirectedTo(t)))
	// prompt=login and max_age=0 ask for the password again.
	for _, p := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0")} {
		f = &flow{}
		page := b.Get(fx.rp.authURL(f, p))
		if page.URL.Path != "/login" {
			t.Fatalf("a signed-in browser with prompt=login or max_age=0 went to %s, want /login", page.URL)
		}
		fx.rp.exchange(t, f, f.code(t, b.SignInForm(page, adaEmail, adaPass).RedirectedTo(t)))
	}
}

func TestConsent(t *testing.T) {
	fx := newFixture(t, &oidc.Client{Name: "Third Party"}, "profile")
	b := oidctest.NewBrowser(t)
	f := &flow{}
	page := b.SignInForm(b.Get(fx.rp.authURL(f)), adaEmail, adaPass)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Third Party") || !strings.Contains(page.Body, "<li>profile</li>") {
		t.Fatalf("no consent page listing the scopes: %d\n%s", page.Status, page.Body)
	}
	id := page.Body[strings.Index(page.Body, `name="id" value="`)+len(`name="id" value="`):]
	id = id[:strings.Index(id, `"`)]
	consentURL := fx.s.URL + "/oidc/authorize/consent"
	back := b.PostForm(consentURL, url.Values{"id": {id}, "decision": {"allow"}}).RedirectedTo(t)
	fx.rp.exchange(t, f, f.code(t, back))
	// Consent is remembered: the next request passes straight through.
	f = &flow{}
	fx.rp.exchange(t, f, f.code(t, b.Get(fx.rp.authURL(f)).RedirectedTo(t)))
	// prompt=consent asks again although the scopes are covered.
	if page := b.Get(fx.rp.authURL(&flow{}, oauth2.SetAuthURLParam("prompt", "consent"))); !strings.Contains(page.Body, `name="decision"`) {
		t.Errorf("prompt=consent did not show the consent page: %d %s", page.Status, page.URL)
	}
	// More scopes than consented to ask again; with prompt=none that is
	// consent_required, and deny is access_denied.
	f = &flow{}
	more := fx.rp.authURL(f, oauth2.SetAuthURLParam("scope", "openid profile email"), oauth2.SetAuthURLParam("prompt", "none"))
	if got := b.Get(more).RedirectedTo(t).Query().Get("error"); got != "consent_required" {
		t.Errorf("prompt=none without consent: error %q, want consent_required", got)
	}
	page = b.Get(fx.rp.authURL(f, oauth2.SetAuthURLParam("scope", "openid profile email")))
	id = page.Body[strings.Index(page.Body, `name="id" value="`)+len(`name="id" value="`):]
	id = id[:strings.Index(id, `"`)]
	back = b.PostForm(consentURL, url.Values{"id": {id}, "decision": {"deny"}}).RedirectedTo(t)
	if back.Query().Get("error") != "access_denied" || back.Query().Get("state") != f.state {
		t.Errorf("deny: %s, want error=access_denied with the state", back)
	}
	// A cross-site post of the consent form is refused.
	req, _ := http.NewRequest(http.MethodPost, consentURL, strings.NewReader(url.Values{"id": {id}, "decision": {"allow"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site consent post: %d, want 403", res.StatusCode)
	}
}

func TestEmailOnlyForAllowedClients(t *testing.T) {
	fx := newFixture(t, &oidc.Client{FirstParty: true}, "email", "profile")
	b := oidctest.NewBrowser(t)
	f := &flow{}
	_, id := fx.rp.exchange(t, f, f.code(t, b.SignInForm(b.Get(fx.rp.authURL(f)), adaEmail, adaPass).RedirectedTo(t)))
	var cl claims
	id.Claims(&cl)
	if cl.Email != "" || cl.Name != "Ada" {
		t.Errorf("claims for a client not allowed the email: %+v", cl)
	}
}

func TestLogout(t *testing.T) {
	const after = "http://127.0.0.1:1/signed-out"
	fx := newFixture(t, &oidc.Client{FirstParty: true, PostLogoutRedirectURIs: []string{after}})
	b, tok, _ := fx.signIn(t)
	idToken := tok.Extra("id_token").(string)
	var disc struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := fx.rp.provider.Claims(&disc); err != nil || disc.EndSession == "" {
		t.Fatalf("no end_session_endpoint in discovery: %v", err)
	}
	signedIn := func() bool {
		p := b.Get(fx.s.URL + "/api/session")
		return p.Status == http.StatusOK
	}
	// An unregistered post-logout URI is refused and ends nothing.
	p := b.Get(disc.EndSession + "?" + url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {after + "/x"}}.Encode())
	if p.Status != http.StatusBadRequest || !signedIn() {
		t.Errorf("logout to an unregistered URI: %d, signed in %v; want 400 and still signed in", p.Status, signedIn())
	}
	// Without an ID token anyone's page could ask: the browser goes to
	// veil's account page, still signed in.
	p = b.Get(disc.EndSession + "?" + url.Values{"client_id": {fx.client.ID}, "post_logout_redirect_uri": {after}}.Encode())
	if p.URL.Path != "/" || !signedIn() {
		t.Errorf("logout without id_token_hint went to %s, signed in %v; want veil's account page, still signed in", p.URL, signedIn())
	}
	back := b.Get(disc.EndSession + "?" + url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {after}, "state": {"s1"}}.Encode()).RedirectedTo(t)
	if back.Scheme+"://"+back.Host+back.Path != after || back.Query().Get("state") != "s1" {
		t.Errorf("logout sent the browser to %s, want %s?state=s1", back, after)
	}
	if signedIn() {
		t.Error("still signed in to veil after RP-initiated logout")
	}
}

// TestCORSWithoutCredentials: browser apps of any origin may call the
// endpoints, but no page may read an answer made with the visitor's cookie.
func TestCORSWithoutCredentials(t *testing.T) {
	fx := newFixture(t, &oidc.Client{FirstParty: true})
	for _, path := range []string{"/.well-known/openid-configuration", "/oidc/keys", "/oidc/authorize/callback?id=x"} {
		req, _ := http.NewRequest(http.MethodGet, fx.s.URL+path, nil)
		req.Header.Set("Origin", "https://evil.example")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Access-Control-Allow-Credentials"); got != "" {
			t.Errorf("%s: Access-Control-Allow-Credentials %q for another origin", path, got)
		}
	}
}

// TestIDTokenHint: with prompt=none, a hint naming someone else than the
// signed-in person is login_required; naming her, it passes.
func TestIDTokenHint(t *testing.T) {
	fx := newFixture(t, &oidc.Client{FirstParty: true})
	fx.s.AddAccount(t, "bob@example.com", "Bob", adaPass)
	ada, tok, _ := fx.signIn(t)
	hint := oauth2.SetAuthURLParam("id_token_hint", tok.Extra("id_token").(string))
	none := oauth2.SetAuthURLParam("prompt", "none")
	bob := oidctest.NewBrowser(t)
	f := &flow{}
	bob.SignInForm(bob.Get(fx.rp.authURL(f)), "bob@example.com", adaPass)
	if got := bob.Get(fx.rp.authURL(&flow{}, none, hint)).RedirectedTo(t).Query().Get("error"); got != "login_required" {
		t.Errorf("Ada's hint in Bob's browser: error %q, want login_required", got)
	}
	f = &flow{}
	fx.rp.exchange(t, f, f.code(t, ada.Get(fx.rp.authURL(f, none, hint)).RedirectedTo(t)))
}
