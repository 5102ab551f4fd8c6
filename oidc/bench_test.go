package oidc_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"golang.org/x/oauth2"
)

// benchFixture is a stack with Ada's account, a client and a browser.
func benchFixture(b testing.TB, params *password.Params, scopes ...string) (*oidctest.Stack, *relyingParty, *oidctest.Browser) {
	b.Helper()
	s := oidctest.Start(b, sqlitetest.MustOpen(b), oidctest.Options{Params: params})
	s.AddAccount(b, adaEmail, "Ada", adaPass)
	c := &oidc.Client{FirstParty: true, RedirectURIs: []string{redirectURI}}
	secret := s.AddClient(b, c)
	return s, newRelyingParty(b, s.Issuer, c.ID, secret, scopes...), oidctest.NewBrowser(b)
}

// BenchmarkCodeExchange measures the token endpoint alone: redeeming a
// code (client authentication, PKCE, the ID token signed with ES256, an
// access token stored). The codes are made outside the timer by a browser
// that is signed in.
func BenchmarkCodeExchange(b *testing.B) {
	_, rp, browser := benchFixture(b, nil)
	f := &flow{}
	rp.exchange(b, f, f.code(b, browser.SignInForm(browser.Get(rp.authURL(f)), adaEmail, adaPass).RedirectedTo(b)))
	for b.Loop() {
		b.StopTimer()
		f := &flow{}
		code := f.code(b, browser.Get(rp.authURL(f)).RedirectedTo(b))
		b.StartTimer()
		if _, err := rp.conf.Exchange(context.Background(), code, oauth2.VerifierOption(f.verifier)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
}

// BenchmarkRefresh measures one refresh with rotation: the old token used
// up, a new one and an access token stored, an ID token signed.
func BenchmarkRefresh(b *testing.B) {
	_, rp, browser := benchFixture(b, nil, "offline_access")
	f := &flow{}
	tok, _ := rp.exchange(b, f, f.code(b, browser.SignInForm(browser.Get(rp.authURL(f)), adaEmail, adaPass).RedirectedTo(b)))
	rt := tok.RefreshToken
	for b.Loop() {
		next, err := rp.refresh(rt)
		if err != nil {
			b.Fatal(err)
		}
		rt = next.RefreshToken
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
}

// BenchmarkAuthorizeRoundTrip is a whole sign-in of an application's user
// with veil's default argon2id parameters: authorize, the sign-in page, the
// password form, the code, the exchange and ID token verification. Each
// round trip is followed by one argon2id hash of the same parameters,
// outside the timer. It reports the round trip in units of that hash
// (hashes/op) and what is beyond the hash in percent of it (%beyond-hash),
// as medians of each round trip over the hash right after it: a
// neighbour's burst on a shared machine slows both of a pair, and moves
// the median little. %veil-beyond-hash counts veil's own time alone (its
// handlers', the hash included), without the relying party's and the
// browser's.
func BenchmarkAuthorizeRoundTrip(b *testing.B) {
	params := password.Params{Memory: 19456, Iterations: 2, Parallelism: 1}
	s, rp, _ := benchFixture(b, &params)
	trips, serving, hashes := roundTrips(b, s, rp, params)
	ratio := medianRatio(trips, hashes)
	b.ReportMetric(ratio, "hashes/op")
	b.ReportMetric(100*(ratio-1), "%beyond-hash")
	b.ReportMetric(100*(medianRatio(serving, hashes)-1), "%veil-beyond-hash")
}

// BenchmarkAuthorizeRoundTripCheapHash is the round trip with a hash of
// 1 MiB and one pass: what the round trip costs besides the hash.
func BenchmarkAuthorizeRoundTripCheapHash(b *testing.B) {
	s, rp, _ := benchFixture(b, nil)
	roundTrips(b, s, rp, oidctest.TestParams)
}

// roundTrips signs in b.N times in new browsers and returns how long each
// took, how long of it the server spent, and how long hashing the
// password once took after each, outside the timer.
func roundTrips(b *testing.B, s *oidctest.Stack, rp *relyingParty, params password.Params) (trips, serving, hashes []time.Duration) {
	hasher, err := password.New(password.Config{Params: params, Concurrency: 1})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		start, served := time.Now(), s.Serving()
		browser := oidctest.NewBrowser(b)
		f := &flow{}
		back := browser.SignInForm(browser.Get(rp.authURL(f)), adaEmail, adaPass).RedirectedTo(b)
		rp.exchange(b, f, f.code(b, back))
		trips = append(trips, time.Since(start))
		serving = append(serving, s.Serving()-served)
		b.StopTimer()
		start = time.Now()
		if _, err := hasher.HashPassword(context.Background(), adaPass); err != nil {
			b.Fatal(err)
		}
		hashes = append(hashes, time.Since(start))
		b.StartTimer()
	}
	return trips, serving, hashes
}

// medianRatio is the median of a[i]/b[i].
func medianRatio(a, b []time.Duration) float64 {
	r := make([]float64, len(a))
	for i := range a {
		r[i] = float64(a[i]) / float64(b[i])
	}
	slices.Sort(r)
	return r[len(r)/2]
}
