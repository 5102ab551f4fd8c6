package web_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/veiltest"
)

// countingTokens is the real token store, counting the rows written.
type countingTokens struct {
	veil.TokenStore
	created atomic.Int64
}

func (c *countingTokens) CreateToken(ctx context.Context, t *veil.Token) error {
	c.created.Add(1)
	return c.TokenStore.CreateToken(ctx, t)
}

func withCountingTokens(c *countingTokens) serverOption {
	return func(_ *webConfig, _ *password.Config, sc *veil.ServiceConfig) {
		c.TokenStore = sc.Tokens
		sc.Tokens = c
	}
}

// TestPasskeyOptionsSprayWritesNothing sprays passkey options for many
// identifiers, unknown and existing, and discoverable ones: no options
// answer may write a row, or a client spraying identifiers would grow
// the tokens table without bound. Before, each wrote its challenge (400
// rows here); now the challenge is signed, and the finish step alone,
// which the throttle counts, records it spent.
func TestPasskeyOptionsSprayWritesNothing(t *testing.T) {
	tokens := &countingTokens{}
	ts := MustOpenServer(t, withPasskeys(t), withCountingTokens(tokens))
	ts.mustStorePasskey(t, ts.mustAddAccount(t, "kay@example.com", goodPassword), "sixteen-byte-id!")
	const n = 200
	for i := range n {
		for _, body := range []string{jsonBody("identifier", fmt.Sprintf("spray%d@example.com", i)), jsonBody("identifier", "kay@example.com")} {
			if a := ts.do(t, "POST", "/api/passkey/login/options", "application/json", body); a.status != http.StatusOK {
				t.Fatalf("options %s: %d %s", body, a.status, a.body)
			}
		}
	}
	if got := tokens.created.Load(); got != 0 {
		t.Errorf("%d passkey options requests wrote %d token rows, want 0", 2*n, got)
	}
}

// passkeyAttempt is a passkey sign-in's two steps, from a fresh client.
type passkeyAttempt struct {
	ts *testServer
}

// challenge asks for the options of identifier ("": discoverable) and
// returns their challenge.
func (p passkeyAttempt) challenge(tb testing.TB, identifier string) string {
	tb.Helper()
	body := "{}"
	if identifier != "" {
		body = jsonBody("identifier", identifier)
	}
	opts := p.ts.do(tb, "POST", "/api/passkey/login/options", "application/json", body)
	c := strings.TrimSuffix(strings.TrimPrefix(challengeRE.FindString(opts.body), `"challenge":"`), `"`)
	if c == "" {
		tb.Fatalf("options carry no challenge: %d %s", opts.status, opts.body)
	}
	return c
}

func (p passkeyAttempt) finish(tb testing.TB, challenge string) answer {
	tb.Helper()
	return p.ts.do(tb, "POST", "/api/passkey/login/finish", "application/json", forgedAssertion(challenge, []byte("sixteen-byte-id!")))
}

// lastReasons returns the reasons of the n latest audit events, oldest first.
func (ts *testServer) lastReasons(tb testing.TB, n int) []string {
	tb.Helper()
	evs, err := ts.db.ListEvents(context.Background(), n)
	if err != nil {
		tb.Fatal(err)
	}
	reasons := make([]string, len(evs))
	for i, e := range evs {
		reasons[len(evs)-1-i] = e.Reason
	}
	return reasons
}

// TestPasskeyChallengeWorksOnce sends forged assertions for a real
// credential ID on challenges veil signed, spent, altered and expired:
// only a fresh challenge of veil's reaches the signature check (audited
// wrong_passkey); a replay, a concurrent replay, a forged MAC, another
// spelling of the same bytes and an expired one are refused before it
// (invalid_token). Every answer is the one 401.
func TestPasskeyChallengeWorksOnce(t *testing.T) {
	clock := veiltest.NewClock(time.Now())
	ts := MustOpenServer(t, withPasskeys(t), func(_ *webConfig, _ *password.Config, sc *veil.ServiceConfig) { sc.Clock = clock })
	ts.mustStorePasskey(t, ts.mustAddAccount(t, "kay@example.com", goodPassword), "sixteen-byte-id!")
	p := passkeyAttempt{ts}
	want := p.finish(t, p.challenge(t, "kay@example.com"))
	if want.status != http.StatusUnauthorized {
		t.Fatalf("forged assertion on a fresh challenge: %d %s", want.status, want.body)
	}
	if got := ts.lastReasons(t, 1); got[0] != veil.ReasonWrongPasskey {
		t.Fatalf("a fresh challenge was audited %v, want %s", got, veil.ReasonWrongPasskey)
	}
	c := p.challenge(t, "nobody@example.com")
	raw, _ := base64.RawURLEncoding.DecodeString(c)
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-1] ^= 1
	expired := p.challenge(t, "kay@example.com")
	cases := []struct{ name, challenge string }{
		{"fresh", c},
		{"replayed", c},
		{"altered MAC", base64.RawURLEncoding.EncodeToString(flipped)},
		{"padded spelling", base64.URLEncoding.EncodeToString(raw)},
		{"not veil's", "bm90LWEtY2hhbGxlbmdl"},
	}
	for _, tc := range cases {
		if got := p.finish(t, tc.challenge); diffAnswers(got, want) != "" {
			t.Errorf("%s challenge: the answer differs: %s", tc.name, diffAnswers(got, want))
		}
	}
	clock.Add(veil.PasskeyChallengeTTL)
	if got := p.finish(t, expired); diffAnswers(got, want) != "" {
		t.Errorf("expired challenge: the answer differs: %s", diffAnswers(got, want))
	}
	wantReasons := []string{veil.ReasonWrongPasskey, veil.ReasonInvalidToken, veil.ReasonInvalidToken, veil.ReasonInvalidToken, veil.ReasonInvalidToken, veil.ReasonInvalidToken}
	if got := ts.lastReasons(t, len(wantReasons)); fmt.Sprint(got) != fmt.Sprint(wantReasons) {
		t.Errorf("audited reasons %v, want %v", got, wantReasons)
	}

	// Eight finishes on one challenge released together: one spends it.
	c = p.challenge(t, "kay@example.com")
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { <-start; p.finish(t, c) })
	}
	close(start)
	wg.Wait()
	reached := 0
	for _, r := range ts.lastReasons(t, 8) {
		if r == veil.ReasonWrongPasskey {
			reached++
		}
	}
	if reached != 1 {
		t.Errorf("8 concurrent finishes on one challenge: %d reached the signature check, want 1", reached)
	}
}
