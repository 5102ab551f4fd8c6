package oidc_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
	"github.com/veil-id/veil/postgres"
	"github.com/veil-id/veil/postgres/postgrestest"
	"github.com/veil-id/veil/sqlstore"
	"golang.org/x/oauth2"
)

func openPostgres(t *testing.T, dsn string) *sqlstore.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestTwoInstancesOnOnePostgreSQL: two veils behind one name share every
// flow: authorize and sign in on one, exchange the code on the other,
// refresh on the first, read userinfo on the second, and a browser signed
// in on one passes straight through on the other.
func TestTwoInstancesOnOnePostgreSQL(t *testing.T) {
	schema := postgrestest.MustCreate(t)
	dbA, dbB := openPostgres(t, schema.DSN), openPostgres(t, schema.DSN)
	if err := dbA.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := oidctest.Start(t, dbA, oidctest.Options{})
	b := oidctest.Start(t, dbB, oidctest.Options{Issuer: a.Issuer})
	a.AddAccount(t, adaEmail, "Ada", adaPass)
	c := &oidc.Client{FirstParty: true, RedirectURIs: []string{redirectURI}}
	secret := a.AddClient(t, c)
	rpA := newRelyingParty(t, a.Issuer, c.ID, secret, "offline_access", "profile")
	rpB := *rpA
	rpB.conf.Endpoint = oauth2.Endpoint{AuthURL: b.URL + "/oidc/authorize", TokenURL: b.URL + "/oidc/token"}

	browser := oidctest.NewBrowser(t)
	f := &flow{}
	back := browser.SignInForm(browser.Get(rpA.authURL(f)), adaEmail, adaPass).RedirectedTo(t)
	tok, idA := rpB.exchange(t, f, f.code(t, back)) // issued by B, verified with the key set A publishes
	again, err := rpA.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh on A of B's token: %v", err)
	}
	if _, err := userinfoAt(b.URL, again.AccessToken); err != nil {
		t.Errorf("userinfo on B with A's access token: %v", err)
	}
	if _, err := rpB.refresh(tok.RefreshToken); err == nil {
		t.Error("B took a refresh token A had rotated")
	}
	f = &flow{}
	back = browser.Get(rpB.authURL(f)).RedirectedTo(t) // signed in on A, passes through B
	_, idB := rpA.exchange(t, f, f.code(t, back))
	if idA.Subject != idB.Subject {
		t.Errorf("one person, one client, two instances: subjects %q and %q", idA.Subject, idB.Subject)
	}
}

// userinfoAt reads the userinfo endpoint of one instance.
func userinfoAt(base, accessToken string) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, base+"/oidc/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("userinfo: %d %s", res.StatusCode, body)
	}
	return string(body), nil
}
