package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
	"github.com/veil-id/veil/sqlite/sqlitetest"
)

// keyIDs returns the key IDs of the provider's JWKS.
func keyIDs(t *testing.T, s *oidctest.Stack) []string {
	t.Helper()
	res, err := http.Get(s.URL + "/oidc/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set struct{ Keys []struct{ Kid, Alg string } }
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range set.Keys {
		ids = append(ids, k.Kid)
	}
	return ids
}

// TestRotateKeys: after a rotation new tokens are signed with a new key,
// and the old key stays in the key set, so tokens it signed still verify.
func TestRotateKeys(t *testing.T) {
	fx := newFixture(t, &oidc.Client{FirstParty: true})
	_, tok, _ := fx.signIn(t)
	oldKid := kidOf(t, tok.Extra("id_token").(string))
	if before := keyIDs(t, fx.s); len(before) != 3 || !slices.Contains(before, oldKid) {
		t.Fatalf("key set %v: want one key per algorithm, with %s", before, oldKid)
	}
	k, err := fx.s.Provider.RotateKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	after := keyIDs(t, fx.s)
	if len(after) != 6 || !slices.Contains(after, oldKid) || !slices.Contains(after, k.ID) {
		t.Errorf("key set after rotation %v: want the 3 old and 3 new keys", after)
	}
	_, tok2, _ := fx.signIn(t)
	if kid := kidOf(t, tok2.Extra("id_token").(string)); kid != k.ID {
		t.Errorf("after rotation a token is signed with %s, want the new key %s", kid, k.ID)
	}
	if _, err := fx.rp.verifier.Verify(context.Background(), tok.Extra("id_token").(string)); err != nil {
		t.Errorf("a token signed before the rotation no longer verifies: %v", err)
	}
}

func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	var h struct{ Kid string }
	decodeSegment(t, strings.SplitN(jwt, ".", 2)[0], &h)
	return h.Kid
}

// TestWrongKeyEncryptionKeyRefusesToStart: an instance with another
// oidc.key_file cannot read the stored keys and says so, rather than
// signing with keys of its own that the other instances do not publish.
func TestWrongKeyEncryptionKeyRefusesToStart(t *testing.T) {
	db := sqlitetest.MustOpen(t)
	oidctest.Start(t, db, oidctest.Options{})
	_, err := oidc.New(context.Background(), oidc.Config{
		Issuer: "https://id.example.com", Store: db, Secrets: db,
		KeyEncryptionKey: []byte("another key, of thirty-two bytes"),
	})
	if err == nil || !strings.Contains(err.Error(), "key_file") {
		t.Errorf("New with another key encryption key: %v, want an error naming oidc.key_file", err)
	}
}
