package oidc_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"golang.org/x/oauth2"
)

const redirectURI = "http://127.0.0.1:1/callback"

// relyingParty is an application signing its users in with veil, built from
// go-oidc and x/oauth2 as an application would.
type relyingParty struct {
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	conf     oauth2.Config
}

func newRelyingParty(t testing.TB, issuer, clientID, secret string, scopes ...string) *relyingParty {
	t.Helper()
	p, err := gooidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &relyingParty{
		provider: p,
		verifier: p.Verifier(&gooidc.Config{ClientID: clientID, SupportedSigningAlgs: []string{"ES256", "EdDSA", "RS256"}}),
		conf: oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: redirectURI,
			Scopes: append([]string{gooidc.ScopeOpenID}, scopes...)},
	}
}

func randomString() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// flow is one authorization request as the relying party makes it.
type flow struct {
	state, nonce, verifier string
}

func (rp *relyingParty) authURL(f *flow, extra ...oauth2.AuthCodeOption) string {
	f.state, f.nonce, f.verifier = randomString(), randomString(), oauth2.GenerateVerifier()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier), gooidc.Nonce(f.nonce)}, extra...)
	return rp.conf.AuthCodeURL(f.state, opts...)
}

// code checks the redirect back to the client and returns its code.
func (f *flow) code(t testing.TB, back *url.URL) string {
	t.Helper()
	q := back.Query()
	if got := back.Scheme + "://" + back.Host + back.Path; got != redirectURI {
		t.Fatalf("sent to %s, want %s", back, redirectURI)
	}
	if q.Get("state") != f.state {
		t.Fatalf("state = %q, want %q", q.Get("state"), f.state)
	}
	if q.Get("error") != "" || q.Get("code") == "" {
		t.Fatalf("no code: %s", back)
	}
	return q.Get("code")
}

// exchange redeems a code and verifies the ID token.
func (rp *relyingParty) exchange(t testing.TB, f *flow, code string) (*oauth2.Token, *gooidc.IDToken) {
	t.Helper()
	tok, err := rp.conf.Exchange(context.Background(), code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := rp.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if id.Nonce != f.nonce {
		t.Errorf("nonce = %q, want %q", id.Nonce, f.nonce)
	}
	return tok, id
}

type claims struct {
	Subject       string   `json:"sub"`
	Name          string   `json:"name"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	AuthTime      int64    `json:"auth_time"`
	ACR           string   `json:"acr"`
	AMR           []string `json:"amr"`
}

func TestCodeFlowWithGoOIDC(t *testing.T) {
	for _, alg := range []string{oidc.ES256, oidc.EdDSA, oidc.RS256} {
		t.Run(alg, func(t *testing.T) {
			s := oidctest.Start(t, sqlitetest.MustOpen(t), oidctest.Options{Algorithm: alg})
			acct := s.AddAccount(t, "ada@example.com", "Ada Lovelace", "correct horse battery")
			c := &oidc.Client{RedirectURIs: []string{redirectURI}, FirstParty: true, AllowEmail: true}
			secret := s.AddClient(t, c)
			rp := newRelyingParty(t, s.Issuer, c.ID, secret, "profile", "email")

			b := oidctest.NewBrowser(t)
			var f flow
			login := b.Get(rp.authURL(&f))
			before := time.Now().Add(-time.Second)
			back := b.SignInForm(login, "ada@example.com", "correct horse battery").RedirectedTo(t)
			tok, id := rp.exchange(t, &f, f.code(t, back))
			var cl claims
			if err := id.Claims(&cl); err != nil {
				t.Fatal(err)
			}
			if cl.Subject == acct.ID || len(cl.Subject) < 40 {
				t.Errorf("sub = %q: want a pairwise subject, not the account ID", cl.Subject)
			}
			if cl.Name != "Ada Lovelace" || cl.Email != "ada@example.com" || !cl.EmailVerified {
				t.Errorf("claims = %+v", cl)
			}
			if at := time.Unix(cl.AuthTime, 0); at.Before(before) || at.After(time.Now().Add(time.Second)) {
				t.Errorf("auth_time = %v, want about now", at)
			}
			if !slices.Equal(cl.AMR, []string{"pwd"}) || cl.ACR == "" {
				t.Errorf("acr, amr = %q, %q", cl.ACR, cl.AMR)
			}
			ui, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("UserInfo: %v", err)
			}
			if ui.Subject != cl.Subject || ui.Email != "ada@example.com" {
				t.Errorf("userinfo = %+v, want sub %q", ui, cl.Subject)
			}
			if tok.RefreshToken != "" {
				t.Errorf("a refresh token without offline_access")
			}
		})
	}
}

// TestSignedInBrowserPassesThrough: a second client, or the same one again,
// gets a code without the sign-in page (SSO).
func TestSignedInBrowserPassesThrough(t *testing.T) {
	s := oidctest.Start(t, sqlitetest.MustOpen(t), oidctest.Options{})
	s.AddAccount(t, "ada@example.com", "Ada", "correct horse battery")
	c1 := &oidc.Client{RedirectURIs: []string{redirectURI}, FirstParty: true}
	c2 := &oidc.Client{RedirectURIs: []string{redirectURI}, FirstParty: true}
	rp1 := newRelyingParty(t, s.Issuer, c1.ID, s.AddClient(t, c1))
	rp2 := newRelyingParty(t, s.Issuer, c2.ID, s.AddClient(t, c2))
	b := oidctest.NewBrowser(t)
	var f1, f2 flow
	_, id1 := rp1.exchange(t, &f1, f1.code(t, b.SignInForm(b.Get(rp1.authURL(&f1)), "ada@example.com", "correct horse battery").RedirectedTo(t)))
	_, id2 := rp2.exchange(t, &f2, f2.code(t, b.Get(rp2.authURL(&f2)).RedirectedTo(t)))
	if id1.Subject == id2.Subject {
		t.Errorf("two clients got one subject %q: pairwise subjects must differ", id1.Subject)
	}
}

func TestConfidentialClientNeedsItsSecret(t *testing.T) {
	s := oidctest.Start(t, sqlitetest.MustOpen(t), oidctest.Options{})
	s.AddAccount(t, "ada@example.com", "Ada", "correct horse battery")
	c := &oidc.Client{RedirectURIs: []string{redirectURI}, FirstParty: true}
	s.AddClient(t, c)
	rp := newRelyingParty(t, s.Issuer, c.ID, "not the secret")
	b := oidctest.NewBrowser(t)
	var f flow
	code := f.code(t, b.SignInForm(b.Get(rp.authURL(&f)), "ada@example.com", "correct horse battery").RedirectedTo(t))
	_, err := rp.conf.Exchange(context.Background(), code, oauth2.VerifierOption(f.verifier))
	var re *oauth2.RetrieveError
	if !asRetrieveError(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Exchange with a wrong secret: %v, want invalid_client 401", err)
	}
}

// TestClientSigningAlgorithm: a client configured for RS256 gets RS256 ID
// tokens while the provider signs with ES256 for the others, and both keys
// are in the key set.
func TestClientSigningAlgorithm(t *testing.T) {
	s := oidctest.Start(t, sqlitetest.MustOpen(t), oidctest.Options{})
	s.AddAccount(t, adaEmail, "Ada", adaPass)
	for _, alg := range []string{oidc.RS256, ""} {
		c := &oidc.Client{RedirectURIs: []string{redirectURI}, FirstParty: true, SigningAlgorithm: alg}
		rp := newRelyingParty(t, s.Issuer, c.ID, s.AddClient(t, c))
		b := oidctest.NewBrowser(t)
		f := &flow{}
		tok, _ := rp.exchange(t, f, f.code(t, b.SignInForm(b.Get(rp.authURL(f)), adaEmail, adaPass).RedirectedTo(t)))
		head, _, _ := strings.Cut(tok.Extra("id_token").(string), ".")
		var h struct{ Alg string }
		decodeSegment(t, head, &h)
		if want := cmp.Or(alg, oidc.ES256); h.Alg != want {
			t.Errorf("client for %q: ID token signed with %q, want %s", alg, h.Alg, want)
		}
	}
}
