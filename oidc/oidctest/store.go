package oidctest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/oidc"
)

// RunStoreTests is the conformance suite of oidc.Store: every
// implementation must pass it. open returns a fresh, migrated store.
func RunStoreTests(t *testing.T, open func(testing.TB) oidc.Store) {
	t.Run("Clients", func(t *testing.T) { testClients(t, open(t)) })
	t.Run("AuthRequests", func(t *testing.T) { testAuthRequests(t, open(t)) })
	t.Run("CodeTakenOnce", func(t *testing.T) { testCodeTakenOnce(t, open(t)) })
	t.Run("RefreshRotation", func(t *testing.T) { testRefreshRotation(t, open(t)) })
	t.Run("Grants", func(t *testing.T) { testGrants(t, open(t)) })
	t.Run("SigningKeys", func(t *testing.T) { testSigningKeys(t, open(t)) })
	t.Run("Consent", func(t *testing.T) { testConsent(t, open(t)) })
	t.Run("Expiry", func(t *testing.T) { testExpiry(t, open(t)) })
	t.Run("Assertions", func(t *testing.T) { testAssertions(t, open(t)) })
}

// t0 is a time the store must give back exactly: UTC, microseconds.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := veil.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func testClients(t *testing.T, s oidc.Store) {
	ctx := context.Background()
	c := &oidc.Client{ID: "c1", Name: "App", SecretHash: hashOf("s"), RedirectURIs: []string{"https://a.example/cb", "https://b.example/cb"},
		PostLogoutRedirectURIs: []string{"https://a.example/out"}, FirstParty: true, AllowEmail: true, Sector: "example", SigningAlgorithm: oidc.RS256, CreatedAt: t0}
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "CreateClient twice", s.CreateClient(ctx, c), veil.ECONFLICT)
	pub := &oidc.Client{ID: "c0", Name: "CLI", RedirectURIs: []string{"http://127.0.0.1/cb"}, Public: true, PublicSubject: true, CreatedAt: t0}
	if err := s.CreateClient(ctx, pub); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindClient(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != c.Name || !bytes.Equal(got.SecretHash, c.SecretHash) || !slices.Equal(got.RedirectURIs, c.RedirectURIs) ||
		!slices.Equal(got.PostLogoutRedirectURIs, c.PostLogoutRedirectURIs) || !got.FirstParty || !got.AllowEmail || got.Public ||
		got.Sector != "example" || got.SigningAlgorithm != oidc.RS256 || !got.CreatedAt.Equal(t0) {
		t.Errorf("FindClient = %+v, want %+v", got, c)
	}
	if got, _ := s.FindClient(ctx, "c0"); got == nil || got.SecretHash != nil || !got.Public || !got.PublicSubject || got.PostLogoutRedirectURIs != nil || got.JWKS != nil {
		t.Errorf("FindClient(public) = %+v", got)
	}
	jwks := []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`)
	if err := s.CreateClient(ctx, &oidc.Client{ID: "cj", Name: "JWT", RedirectURIs: []string{"https://j.example/cb"}, JWKS: jwks, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindClient(ctx, "cj"); err != nil || string(got.JWKS) != string(jwks) {
		t.Errorf("FindClient(with a JWKS) = %+v, %v; want its JWKS back", got, err)
	}
	if err := s.DeleteClient(ctx, "cj"); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindClient(ctx, "nope")
	wantCode(t, "FindClient(unknown)", err, veil.ENOTFOUND)
	list, err := s.ListClients(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "c0" || list[1].ID != "c1" {
		t.Errorf("ListClients = %v, %v; want c0, c1", list, err)
	}
	if err := s.ReplaceClientSecret(ctx, "c1", hashOf("t")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FindClient(ctx, "c1"); !bytes.Equal(got.SecretHash, hashOf("t")) {
		t.Error("ReplaceClientSecret did not replace it")
	}
	wantCode(t, "ReplaceClientSecret(unknown)", s.ReplaceClientSecret(ctx, "nope", nil), veil.ENOTFOUND)
	if err := s.DeleteClient(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "DeleteClient twice", s.DeleteClient(ctx, "c1"), veil.ENOTFOUND)
}

func newRequest(id string) *oidc.AuthRequest {
	return &oidc.AuthRequest{
		ID: id, ClientID: "c1", RedirectURI: "https://a.example/cb", State: "st\u00e9", Nonce: "n", Scopes: []string{"openid", "email"},
		ResponseType: "code", CodeChallenge: "ch", CodeChallengeMethod: "S256", Prompt: []string{"login"}, MaxAge: 0,
		HintSubject: "sub", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
	}
}

func testAuthRequests(t *testing.T, s oidc.Store) {
	ctx := context.Background()
	r := newRequest("r1")
	if err := s.CreateAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindAuthRequest(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != r.State || got.Nonce != r.Nonce || !slices.Equal(got.Scopes, r.Scopes) || got.CodeChallenge != "ch" ||
		!slices.Equal(got.Prompt, r.Prompt) || got.MaxAge != 0 || got.HintSubject != "sub" || !got.CreatedAt.Equal(t0) ||
		!got.ExpiresAt.Equal(r.ExpiresAt) || got.Done || got.AccountID != "" || !got.AuthTime.IsZero() {
		t.Errorf("FindAuthRequest = %+v, want %+v", got, r)
	}
	if err := s.IssueAuthCode(ctx, "r1", "acct", t0.Add(time.Minute), []string{"pwd"}, hashOf("code")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "IssueAuthCode(unknown)", s.IssueAuthCode(ctx, "nope", "acct", t0, nil, hashOf("c")), veil.ENOTFOUND)
	wantCode(t, "IssueAuthCode twice", s.IssueAuthCode(ctx, "r1", "other", t0, nil, hashOf("other")), veil.ENOTFOUND)
	got, _ = s.FindAuthRequest(ctx, "r1")
	if !got.Done || got.AccountID != "acct" || !got.AuthTime.Equal(t0.Add(time.Minute)) || !slices.Equal(got.AMR, []string{"pwd"}) {
		t.Errorf("after IssueAuthCode: %+v", got)
	}
	if got, err := s.FindAuthRequestByCode(ctx, hashOf("code")); err != nil || got.ID != "r1" || got.CodeUsed {
		t.Errorf("FindAuthRequestByCode = %v, %v", got, err)
	}
	if err := s.DeleteAuthRequest(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAuthRequest(ctx, "r1"); err != nil {
		t.Errorf("DeleteAuthRequest twice: %v, want nil", err)
	}
	_, err = s.FindAuthRequest(ctx, "r1")
	wantCode(t, "FindAuthRequest after delete", err, veil.ENOTFOUND)
}

// testCodeTakenOnce: of many concurrent takers of one code, exactly one
// gets the request.
func testCodeTakenOnce(t *testing.T, s oidc.Store) {
	ctx := context.Background()
	r := newRequest("r2")
	if err := s.CreateAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.IssueAuthCode(ctx, "r2", "acct", t0, nil, hashOf("code2")); err != nil {
		t.Fatal(err)
	}
	codes := concurrently(8, func(i int) error {
		at := &oidc.AccessToken{ID: fmt.Sprintf("code2-at%d", i), ClientID: "c1", AccountID: "acct", Subject: "sub", Family: "code:r2", ExpiresAt: t0.Add(time.Hour)}
		return s.RedeemAuthCode(ctx, hashOf("code2"), at, newRefresh(fmt.Sprintf("code2-rt%d", i), "code:r2"))
	})
	if won, lost := codes[""], codes[veil.ENOTFOUND]; won != 1 || lost != 7 {
		t.Errorf("8 concurrent RedeemAuthCode: %v; want 1 success and 7 %s", codes, veil.ENOTFOUND)
	}
	if got, err := s.FindAuthRequestByCode(ctx, hashOf("code2")); err != nil || !got.CodeUsed {
		t.Errorf("FindAuthRequestByCode after redeeming = %+v, %v; want the request, its code used", got, err)
	}
	// Only the winner's tokens were stored.
	var stored int
	for i := range 8 {
		_, errAT := s.FindAccessToken(ctx, fmt.Sprintf("code2-at%d", i))
		_, errRT := s.FindRefreshToken(ctx, hashOf(fmt.Sprintf("code2-rt%d", i)))
		if (errAT == nil) != (errRT == nil) {
			t.Errorf("redeemer %d: access token %v, refresh token %v; want both or neither", i, errAT, errRT)
		}
		if errAT == nil {
			stored++
		}
	}
	if stored != 1 {
		t.Errorf("%d redeemers' tokens stored, want 1", stored)
	}
	// A request whose code was used is kept (for reuse detection) until
	// it expires.
	if err := s.DeleteAuthRequest(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindAuthRequest(ctx, "r2"); err != nil {
		t.Errorf("DeleteAuthRequest removed a request whose code was used: %v", err)
	}
	wantCode(t, "RedeemAuthCode(nil)", s.RedeemAuthCode(ctx, nil, &oidc.AccessToken{ID: "x"}, nil), veil.ENOTFOUND)
}

func newRefresh(token, family string) *oidc.RefreshToken {
	return &oidc.RefreshToken{Hash: hashOf(token), Family: family, ClientID: "c1", AccountID: "acct", Subject: "sub",
		Scopes: []string{"openid", "offline_access"}, AuthTime: t0, AMR: []string{"pwd"}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
}

func newAccess(id, family string) *oidc.AccessToken {
	return &oidc.AccessToken{ID: id, ClientID: "c1", AccountID: "acct", Subject: "sub", Family: family, ExpiresAt: t0.Add(time.Hour)}
}

func testRefreshRotation(t *testing.T, s oidc.Store) {
	ctx := context.Background()
	var codes map[string]int
	if err := s.CreateRefreshToken(ctx, newRefresh("rt1", "f1")); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindRefreshToken(ctx, hashOf("rt1"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Family != "f1" || got.Subject != "sub" || !slices.Equal(got.Scopes, []string{"openid", "offline_access"}) ||
		!got.AuthTime.Equal(t0) || !got.UsedAt.IsZero() || !got.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("FindRefreshToken = %+v", got)
	}
	// Concurrent rotations of one token: exactly one wins.
	codes = concurrently(6, func(i int) error {
		return s.RotateRefreshToken(ctx, hashOf("rt1"), newRefresh("rt2-"+string(rune('a'+i)), "f1"), newAccess("rt2-at-"+string(rune('a'+i)), "f1"), t0.Add(time.Minute))
	})
	if won, conflicts := codes[""], codes[veil.ECONFLICT]; won != 1 || conflicts != 5 {
		t.Errorf("6 concurrent rotations: %v; want 1 success and 5 %s", codes, veil.ECONFLICT)
	}
	if got, _ := s.FindRefreshToken(ctx, hashOf("rt1")); got == nil || !got.UsedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("the rotated token: %+v, want used at t0+1m", got)
	}
	wantCode(t, "RotateRefreshToken(unknown)", s.RotateRefreshToken(ctx, hashOf("nope"), newRefresh("x", "f1"), newAccess("x", "f1"), t0), veil.ENOTFOUND)
	var rotatedWith int
	for i := range 6 {
		if _, err := s.FindAccessToken(ctx, "rt2-at-"+string(rune('a'+i))); err == nil {
			rotatedWith++
		}
	}
	if rotatedWith != 1 {
		t.Errorf("%d rotations' access tokens stored, want the winner's alone", rotatedWith)
	}
	if err := s.CreateAccessToken(ctx, &oidc.AccessToken{ID: "at1", ClientID: "c1", AccountID: "acct", Subject: "sub", Family: "f1", ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeTokenFamily(ctx, "f1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindRefreshToken(ctx, hashOf("rt1"))
	wantCode(t, "FindRefreshToken after RevokeTokenFamily", err, veil.ENOTFOUND)
	_, err = s.FindAccessToken(ctx, "at1")
	wantCode(t, "FindAccessToken after RevokeTokenFamily", err, veil.ENOTFOUND)
}

func testGrants(t *testing.T, s oidc.Store) {
	ctx := context.Background()
	at := &oidc.AccessToken{ID: "at2", ClientID: "c1", AccountID: "acct", Subject: "sub", Scopes: []string{"openid"},
		AuthTime: t0, AMR: []string{"pwd"}, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateAccessToken(ctx, at); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindAccessToken(ctx, "at2")
	if err != nil || got.Subject != "sub" || !slices.Equal(got.Scopes, at.Scopes) || !got.AuthTime.Equal(t0) || !got.ExpiresAt.Equal(at.ExpiresAt) {
		t.Errorf("FindAccessToken = %+v, %v", got, err)
	}
	if err := s.DeleteAccessToken(ctx, "at2"); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindAccessToken(ctx, "at2")
	wantCode(t, "FindAccessToken after delete", err, veil.ENOTFOUND)
	s.CreateRefreshToken(ctx, newRefresh("g1", "fa"))
	s.CreateRefreshToken(ctx, newRefresh("g2", "fb"))
	other := newRefresh("g3", "fc")
	other.ClientID = "c2"
	s.CreateRefreshToken(ctx, other)
	if n, err := s.RevokeGrants(ctx, "acct", "c1"); err != nil || n != 2 {
		t.Errorf("RevokeGrants(acct, c1) = %d, %v; want 2", n, err)
	}
	if _, err := s.FindRefreshToken(ctx, hashOf("g3")); err != nil {
		t.Errorf("RevokeGrants for c1 took c2's token: %v", err)
	}
	if n, err := s.RevokeGrants(ctx, "acct", ""); err != nil || n != 1 {
		t.Errorf("RevokeGrants(acct, every client) = %d, %v; want 1", n, err)
	}
}

func testSigningKeys(t *testing.T, s oidc.Store) {
	ctx := context.Background()
	for i, id := range []string{"k1", "k2", "k3"} {
		k := &oidc.SigningKey{ID: id, Algorithm: oidc.ES256, Sealed: []byte("sealed-" + id), CreatedAt: t0.Add(time.Duration(i) * time.Hour)}
		if err := s.CreateSigningKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, "CreateSigningKey twice", s.CreateSigningKey(ctx, &oidc.SigningKey{ID: "k1", Algorithm: oidc.ES256, Sealed: []byte("x"), CreatedAt: t0}), veil.ECONFLICT)
	if err := s.RetireSigningKeys(ctx, oidc.ES256, "k3", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListSigningKeys(ctx)
	if err != nil || len(list) != 3 || list[0].ID != "k3" || list[2].ID != "k1" {
		t.Fatalf("ListSigningKeys = %v, %v; want k3, k2, k1", list, err)
	}
	if !list[0].RetiredAt.IsZero() || !list[1].RetiredAt.Equal(t0.Add(3*time.Hour)) || string(list[2].Sealed) != "sealed-k1" {
		t.Errorf("ListSigningKeys = %+v %+v %+v", list[0], list[1], list[2])
	}
	if n, err := s.DeleteSigningKeysRetiredBefore(ctx, t0.Add(4*time.Hour)); err != nil || n != 2 {
		t.Errorf("DeleteSigningKeysRetiredBefore = %d, %v; want 2", n, err)
	}
	if list, _ := s.ListSigningKeys(ctx); len(list) != 1 || list[0].ID != "k3" {
		t.Errorf("after deleting retired keys: %v, want k3 alone", list)
	}
}

func testConsent(t *testing.T, s oidc.Store) {
	ctx := context.Background()
	if got, err := s.FindConsent(ctx, "acct", "c1"); err != nil || got != nil {
		t.Errorf("FindConsent before any = %v, %v; want nil", got, err)
	}
	s.SaveConsent(ctx, "acct", "c1", []string{"openid"}, t0)
	if err := s.SaveConsent(ctx, "acct", "c1", []string{"openid", "profile"}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FindConsent(ctx, "acct", "c1"); !slices.Equal(got, []string{"openid", "profile"}) {
		t.Errorf("FindConsent = %v, want the latest scopes", got)
	}
	if got, _ := s.FindConsent(ctx, "acct", "c2"); got != nil {
		t.Errorf("FindConsent for another client = %v", got)
	}
}

func testExpiry(t *testing.T, s oidc.Store) {
	ctx := context.Background()
	old := newRequest("old")
	old.ExpiresAt = t0
	s.CreateAuthRequest(ctx, old)
	s.CreateAuthRequest(ctx, newRequest("live"))
	rt := newRefresh("old-rt", "fx")
	rt.ExpiresAt = t0
	s.CreateRefreshToken(ctx, rt)
	s.CreateAccessToken(ctx, &oidc.AccessToken{ID: "old-at", ClientID: "c1", AccountID: "a", Subject: "s", ExpiresAt: t0})
	n, err := s.DeleteExpiredOIDC(ctx, t0.Add(time.Second))
	if err != nil || n != 3 {
		t.Errorf("DeleteExpiredOIDC = %d, %v; want 3", n, err)
	}
	if _, err := s.FindAuthRequest(ctx, "live"); err != nil {
		t.Errorf("a live request went: %v", err)
	}
}

// testAssertions: of concurrent claims of one jti, one wins; another
// client's jti of the same value is its own; expired ones go.
func testAssertions(t *testing.T, s oidc.Store) {
	ctx := context.Background()
	codes := concurrently(8, func(int) error { return s.ClaimAssertion(ctx, "c1", "jti-1", t0.Add(time.Minute)) })
	if codes[""] != 1 || codes[veil.ECONFLICT] != 7 {
		t.Errorf("8 concurrent claims of one jti: %v; want 1 success and 7 %s", codes, veil.ECONFLICT)
	}
	if err := s.ClaimAssertion(ctx, "c2", "jti-1", t0.Add(time.Minute)); err != nil {
		t.Errorf("another client's jti of the same value: %v", err)
	}
	s.ClaimAssertion(ctx, "c1", "jti-old", t0)
	if n, err := s.DeleteExpiredOIDC(ctx, t0.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("DeleteExpiredOIDC = %d, %v; want the expired assertion alone", n, err)
	}
	if err := s.ClaimAssertion(ctx, "c1", "jti-old", t0.Add(time.Hour)); err != nil {
		t.Errorf("claiming an expired, deleted jti again: %v", err)
	}
}

// concurrently runs fn n times at once, behind a barrier, and counts the
// error codes it returned ("" for success).
func concurrently(n int, fn func(i int) error) map[string]int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	codes := map[string]int{}
	for i := range n {
		wg.Go(func() {
			<-start
			code := veil.ErrorCode(fn(i))
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return codes
}
