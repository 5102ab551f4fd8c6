package oidc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
	"github.com/veil-id/veil/sqlite/sqlitetest"
)

// jwtClient is a client that authenticates with private_key_jwt: its
// private key, and its JWKS as registered.
type jwtClient struct {
	key  *ecdsa.PrivateKey
	kid  string
	jwks []byte
}

func newJWTClient(t *testing.T) *jwtClient {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kid := randomString()
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return &jwtClient{key: key, kid: kid, jwks: jwks}
}

// assertion signs a client assertion (RFC 7523) for clientID to audience.
func (j *jwtClient) assertion(t *testing.T, clientID, audience, jti string, lifetime time.Duration) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: j.key}, (&jose.SignerOptions{}).WithHeader("kid", j.kid).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: clientID, Subject: clientID, Audience: jwt.Audience{audience}, ID: jti,
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(lifetime)),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// exchangeWithAssertion redeems code authenticating with an assertion.
func exchangeWithAssertion(t *testing.T, s *oidctest.Stack, f *flow, code, assertion string) tokenAnswer {
	return post(t, s, "127.0.0.1", "", "", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {f.verifier},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion},
	})
}

// privateKeyJWTFixture is a stack with Ada and a client registered with
// its JWKS and no secret.
func privateKeyJWTFixture(t *testing.T) (*oidctest.Stack, *oidc.Client, *jwtClient, *relyingParty) {
	s := oidctest.Start(t, sqlitetest.MustOpen(t), oidctest.Options{})
	s.AddAccount(t, adaEmail, "Ada", adaPass)
	jc := newJWTClient(t)
	c := &oidc.Client{FirstParty: true, RedirectURIs: []string{redirectURI}, JWKS: jc.jwks}
	s.AddClient(t, c)
	return s, c, jc, newRelyingParty(t, s.Issuer, c.ID, "")
}

func (rp *relyingParty) signedInCode(t *testing.T) (*flow, string) {
	b := oidctest.NewBrowser(t)
	f := &flow{}
	return f, f.code(t, b.SignInForm(b.Get(rp.authURL(f)), adaEmail, adaPass).RedirectedTo(t))
}

// TestPrivateKeyJWT: a client registered with its JWKS redeems a code
// with an assertion it signed; the same assertion again, one signed with
// another key, one without a jti, one for another audience, or a secret
// in its place, are refused with the one invalid_client answer.
func TestPrivateKeyJWT(t *testing.T) {
	s, c, jc, rp := privateKeyJWTFixture(t)
	disc := struct {
		Methods []string `json:"token_endpoint_auth_methods_supported"`
	}{}
	res, err := http.Get(s.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(res.Body).Decode(&disc)
	res.Body.Close()
	if !strings.Contains(strings.Join(disc.Methods, " "), "private_key_jwt") {
		t.Errorf("discovery's token_endpoint_auth_methods_supported = %v, want private_key_jwt", disc.Methods)
	}

	f, code := rp.signedInCode(t)
	assertion := jc.assertion(t, c.ID, s.Issuer, randomString(), 5*time.Minute)
	if a := exchangeWithAssertion(t, s, f, code, assertion); a.status != http.StatusOK || !strings.Contains(a.body, `"id_token"`) {
		t.Fatalf("exchange with a signed assertion: %d %s", a.status, a.body)
	}
	var want tokenAnswer
	for i, tc := range []struct {
		name      string
		assertion string
	}{
		{"the same assertion again", assertion},
		{"another key", newJWTClient(t).assertion(t, c.ID, s.Issuer, randomString(), 5*time.Minute)},
		{"no jti", jc.assertion(t, c.ID, s.Issuer, "", 5*time.Minute)},
		{"another audience", jc.assertion(t, c.ID, "https://elsewhere.example", randomString(), 5*time.Minute)},
		{"expired", jc.assertion(t, c.ID, s.Issuer, randomString(), -time.Minute)},
		{"expiring in a day", jc.assertion(t, c.ID, s.Issuer, randomString(), 24*time.Hour)},
		{"another client's name", jc.assertion(t, oidc.NewClientID(), s.Issuer, randomString(), 5*time.Minute)},
	} {
		f, code := rp.signedInCode(t)
		got := exchangeWithAssertion(t, s, f, code, tc.assertion)
		if got.status != http.StatusUnauthorized || !strings.Contains(got.body, `"invalid_client"`) {
			t.Errorf("%s: %d %s, want 401 invalid_client", tc.name, got.status, got.body)
		}
		if i == 0 {
			want = got
		} else if got.body != want.body {
			t.Errorf("%s: %s, want the same answer as every refused assertion: %s", tc.name, got.body, want.body)
		}
	}
	f, code = rp.signedInCode(t)
	secretForm := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {f.verifier}}
	if a := post(t, s, "127.0.0.1", c.ID, "any-secret", secretForm); a.status != http.StatusUnauthorized || a.body != want.body {
		t.Errorf("a secret for a private_key_jwt client: %d %s, want 401", a.status, a.body)
	}
}

// TestPrivateKeyJWTReplayAtOnce: one assertion sent with eight codes at
// once authenticates one exchange.
func TestPrivateKeyJWTReplayAtOnce(t *testing.T) {
	s, c, jc, rp := privateKeyJWTFixture(t)
	assertion := jc.assertion(t, c.ID, s.Issuer, randomString(), 5*time.Minute)
	type pending struct {
		f    *flow
		code string
	}
	var codes []pending
	for range 8 {
		f, code := rp.signedInCode(t)
		codes = append(codes, pending{f, code})
	}
	got := burst(8, func(i int) tokenAnswer { return exchangeWithAssertion(t, s, codes[i].f, codes[i].code, assertion) })
	if got[http.StatusOK] != 1 || got[http.StatusUnauthorized] != 7 {
		t.Errorf("one assertion with 8 codes at once: %v, want 1 exchange and 7 refusals", got)
	}
}
