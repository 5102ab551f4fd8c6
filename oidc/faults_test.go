package oidc_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
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
