package oidc_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"golang.org/x/oauth2"
)

// testAddrHeader names the address a test's token request counts under.
const testAddrHeader = "X-Test-Client-Addr"

var smallTokenPolicy = oidc.TokenPolicy{AddressBlockAfter: 6, ClientBlockAfter: 3, BlockFor: 60e9, BlockMax: 3600e9, ForgetAfter: 3600e9}

// throttled is a stack whose token endpoint counts under the address a
// request names, with Ada, a confidential client and its relying party.
func throttled(t *testing.T) (*oidctest.Stack, *oidc.Client, string, *relyingParty) {
	t.Helper()
	s := oidctest.Start(t, sqlitetest.MustOpen(t), oidctest.Options{
		TokenPolicy: smallTokenPolicy,
		ClientAddr:  func(r *http.Request) string { return r.Header.Get(testAddrHeader) },
	})
	s.AddAccount(t, adaEmail, "Ada", adaPass)
	c := &oidc.Client{FirstParty: true, RedirectURIs: []string{redirectURI}}
	secret := s.AddClient(t, c)
	return s, c, secret, newRelyingParty(t, s.Issuer, c.ID, secret)
}

type tokenAnswer struct {
	status     int
	retryAfter string
	body       string
	header     string // every header but Date
}

// postToken sends a code exchange from addr with the given credentials:
// op checks the code before the client.
func postToken(t *testing.T, s *oidctest.Stack, addr, clientID, secret, code string) tokenAnswer {
	return post(t, s, addr, clientID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {strings.Repeat("v", 43)}})
}

// postRefresh sends a refresh from addr: op checks the client first, so a
// wrong secret is invalid_client.
func postRefresh(t *testing.T, s *oidctest.Stack, addr, clientID, secret string) tokenAnswer {
	return post(t, s, addr, clientID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"not-a-refresh-token"}})
}

func post(t *testing.T, s *oidctest.Stack, addr, clientID, secret string, form url.Values) tokenAnswer {
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oidc/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(testAddrHeader, addr)
	if clientID != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return tokenAnswer{}
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	res.Header.Del("Date")
	var h strings.Builder
	res.Header.Write(&h)
	return tokenAnswer{res.StatusCode, res.Header.Get("Retry-After"), string(body), h.String()}
}

// burst sends n requests at once, behind a barrier, and counts the
// statuses.
func burst(n int, send func(i int) tokenAnswer) map[int]int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	got := map[int]int{}
	for i := range n {
		wg.Go(func() {
			<-start
			a := send(i)
			mu.Lock()
			got[a.status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return got
}

// TestTokenThrottleHoldsAnAddress: of 30 bad codes sent at once from one
// address, no more than the policy's 6 are checked; the rest, and the next
// request, get 429 with Retry-After.
func TestTokenThrottleHoldsAnAddress(t *testing.T) {
	s, c, secret, _ := throttled(t)
	got := burst(30, func(i int) tokenAnswer { return postToken(t, s, "198.51.100.1", c.ID, secret, "bad-code") })
	if got[http.StatusBadRequest] > smallTokenPolicy.AddressBlockAfter || got[http.StatusTooManyRequests] < 30-smallTokenPolicy.AddressBlockAfter {
		t.Errorf("30 bad codes at once: %v; want at most %d checked, the rest 429", got, smallTokenPolicy.AddressBlockAfter)
	}
	if a := postToken(t, s, "198.51.100.1", c.ID, secret, "bad-code"); a.status != http.StatusTooManyRequests || a.retryAfter == "" {
		t.Errorf("after the burst: %d, Retry-After %q; want 429 with Retry-After", a.status, a.retryAfter)
	}
	if a := postToken(t, s, "198.51.100.2", c.ID, secret, "bad-code"); a.status != http.StatusBadRequest {
		t.Errorf("another address after the burst: %d %s, want 400", a.status, a.body)
	}
}

// TestTokenThrottleBlindToClient: wrong secrets for a registered client
// and for a client_id nobody registered get the same answers, in the same
// order, held back alike: from each address one free try, then counted
// against the client_id until it is held.
func TestTokenThrottleBlindToClient(t *testing.T) {
	run := func(known bool) []tokenAnswer {
		s, c, _, _ := throttled(t)
		id := c.ID
		if !known {
			id = oidc.NewClientID()
		}
		var out []tokenAnswer
		for i := range 3 {
			for range 5 {
				out = append(out, postRefresh(t, s, "203.0.113."+string(rune('1'+i)), id, "wrong-secret"))
			}
		}
		return out
	}
	known, unknown := run(true), run(false)
	var statuses []int
	for i := range known {
		statuses = append(statuses, known[i].status)
		if known[i] != unknown[i] {
			t.Errorf("answer %d: registered client %+v, unknown client %+v", i, known[i], unknown[i])
		}
	}
	// 401 from a clean address, three counted 401s, then 429; each next
	// address has its one free try.
	want := []int{401, 401, 401, 401, 429, 401, 429, 429, 429, 429, 401, 429, 429, 429, 429}
	if !slices.Equal(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
}

// TestTokenThrottleSparesTheRealClient: wrong secrets and bad codes under
// a real client's ID, sent at once from many addresses, hold back the
// guessers but not the client itself, which exchanges its code and
// refreshes as usual from its own address.
func TestTokenThrottleSparesTheRealClient(t *testing.T) {
	s, c, secret, rp := throttled(t)
	checked := 0
	for i := range 4 {
		addr := "192.0.2." + string(rune('1'+i))
		postToken(t, s, addr, c.ID, secret, "bad-code") // the address has failed before
		got := burst(10, func(j int) tokenAnswer {
			if j%2 == 0 {
				return postRefresh(t, s, addr, c.ID, "guess")
			}
			return postToken(t, s, addr, c.ID, secret, "bad-code")
		})
		checked += got[http.StatusUnauthorized]
	}
	if checked > smallTokenPolicy.ClientBlockAfter {
		t.Errorf("%d guesses at the secret were checked from addresses that had failed, want at most %d", checked, smallTokenPolicy.ClientBlockAfter)
	}
	if a := postRefresh(t, s, "192.0.2.1", c.ID, "guess"); a.status != http.StatusTooManyRequests {
		t.Errorf("a guesser after the bursts: %+v, want 429", a)
	}
	b := oidctest.NewBrowser(t)
	f := &flow{}
	code := f.code(t, b.SignInForm(b.Get(rp.authURL(f, oauth2.AccessTypeOffline)), adaEmail, adaPass).RedirectedTo(t))
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: addrTransport("192.0.2.200")})
	if _, err := rp.conf.Exchange(ctx, code, oauth2.VerifierOption(f.verifier)); err != nil {
		t.Errorf("the real client, from its own address, after the guessers: %v", err)
	}
}

// addrTransport sends every request as if from addr.
type addrTransport string

func (a addrTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(testAddrHeader, string(a))
	return http.DefaultTransport.RoundTrip(r)
}
