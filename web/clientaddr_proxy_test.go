package web_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/throttle"
	"github.com/veil-id/veil/veiltest"
	"github.com/veil-id/veil/web"
)

// proxyClientAddr is where the guessing client connects from: another
// loopback address than the proxy's, so that the proxy (127.0.0.1, the
// only trusted one) and the client are told apart as on a real network.
const proxyClientAddr = "127.0.0.2"

// TestClientAddrBehindProxy puts veil behind a real reverse proxy on
// loopback (httputil.ReverseProxy, the only trusted proxy) that sets the
// configured header, and guesses 30 identifiers once each from one client
// that rotates every forwarding header it can send: Forwarded, X-Real-IP
// and its kin, and extra X-Forwarded-For hops. The address throttle must
// count all 30 guesses on the client's one address — admitted up to the
// policy's block_after, blocked after — and the audit log must name that
// address.
func TestClientAddrBehindProxy(t *testing.T) {
	const blockAfter = 5
	tests := []struct {
		header string
		// set writes what the proxy says about its peer, as a proxy
		// configured for that header does; ReverseProxy appends
		// X-Forwarded-For on its own.
		set func(h http.Header, peer string)
	}{
		{"X-Forwarded-For", func(http.Header, string) {}},
		{"Forwarded", func(h http.Header, peer string) { h.Add("Forwarded", "for="+peer+";proto=http") }},
		{"X-Real-IP", func(h http.Header, peer string) { h.Set("X-Real-IP", peer) }},
		{"CF-Connecting-IP", func(h http.Header, peer string) { h.Set("CF-Connecting-IP", peer) }},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			ts := mustOpenAddressThrottled(t, tt.header, blockAfter)
			client := clientFrom(t, proxyClientAddr)
			proxy := mustStartProxy(t, ts.URL, tt.set)
			var statuses []int
			for i := range 30 {
				req, err := http.NewRequest("POST", proxy+"/api/login", strings.NewReader(
					jsonBody("identifier", fmt.Sprintf("guess%d@example.com", i), "password", wrongPassword)))
				if err != nil {
					t.Fatal(err)
				}
				spoof := fmt.Sprintf("198.51.100.%d", i+1)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Forwarded", "for="+spoof)
				req.Header.Add("Forwarded", fmt.Sprintf(`for="[2001:db8:%x::1]:443"`, i+1))
				for _, h := range []string{"X-Real-IP", "CF-Connecting-IP", "True-Client-IP", "Fly-Client-IP"} {
					req.Header.Set(h, spoof)
				}
				req.Header.Set("X-Forwarded-For", "203.0.113.7, "+spoof)
				req.Header.Add("X-Forwarded-For", spoof)
				res, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				status, _, _ := veiltest.ReadAnswer(t, res)
				statuses = append(statuses, status)
			}
			for i, got := range statuses {
				want := http.StatusUnauthorized
				if i >= blockAfter {
					want = http.StatusTooManyRequests
				}
				if got != want {
					t.Errorf("guesses answered %v; want %d × 401, then 429 (counted on one address)", statuses, blockAfter)
					break
				}
			}
			events, err := ts.db.ListEvents(context.Background(), 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				if e.ClientAddr != proxyClientAddr {
					t.Errorf("audit event %s/%s from %q, want the client's address %s", e.Kind, e.Outcome, e.ClientAddr, proxyClientAddr)
					break
				}
			}
		})
	}
}

// mustOpenAddressThrottled is the public stack behind a trusted proxy on
// 127.0.0.1 that names clients in header, with a throttle that blocks a
// client address after blockAfter failures and never asks one identifier
// for anything (each is guessed once).
func mustOpenAddressThrottled(tb testing.TB, header string, blockAfter int) *testServer {
	tb.Helper()
	clock := veiltest.NewClock(time.Date(2026, 7, 8, 9, 10, 0, 0, time.UTC))
	p := throttle.DefaultPolicy
	lax := throttle.Escalation{ChallengeAfter: 50, BlockAfter: 100, BlockFor: time.Minute, BlockMax: time.Hour}
	byAddr := throttle.Escalation{BlockAfter: blockAfter, BlockFor: time.Minute, BlockMax: time.Hour}
	p.Actions = map[string]throttle.ActionPolicy{
		veil.ActionLogin:   {Subject: lax, Address: byAddr, Device: lax},
		veil.ActionSignUp:  {Subject: lax, Address: lax},
		veil.ActionRecover: {Subject: lax, Address: lax},
	}
	th, err := throttle.New(throttle.Config{
		Store:  throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20, Clock: clock}),
		Policy: p, Secret: []byte("web test throttle secret of 32+ bytes"), Clock: clock, Logger: discardLogger(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return MustOpenServer(tb, func(w *web.Config, _ *password.Config, s *veil.ServiceConfig) {
		w.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		w.ClientAddrHeader = header
		s.Throttle, s.Clock = th, clock
	})
}

// mustStartProxy starts a reverse proxy on 127.0.0.1 in front of target;
// set adds what the proxy says about the peer it saw.
func mustStartProxy(tb testing.TB, target string, set func(h http.Header, peer string)) string {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	direct := rp.Director
	rp.Director = func(r *http.Request) {
		direct(r)
		peer, _, _ := net.SplitHostPort(r.RemoteAddr)
		set(r.Header, peer)
	}
	srv := httptest.NewServer(rp)
	tb.Cleanup(srv.Close)
	return srv.URL
}

// clientFrom returns an HTTP client whose connections leave from the
// local address ip. Where the system has no such loopback address (macOS
// has only 127.0.0.1 unless aliased), the test is skipped: it is about
// telling two hosts apart, which needs two addresses.
func clientFrom(tb testing.TB, ip string) *http.Client {
	tb.Helper()
	local := &net.TCPAddr{IP: net.ParseIP(ip)}
	ln, err := net.ListenTCP("tcp", local)
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		tb.Skipf("no loopback address %s on this system: %v", ip, err)
	} else if err != nil {
		tb.Fatal(err)
	}
	ln.Close()
	d := &net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}
