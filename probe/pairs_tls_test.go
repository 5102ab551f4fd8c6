package probe

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veil-id/veil/probe/leaky"
)

// tlsLeaky is a leaky server behind TLS that counts the requests it served
// and those that did not arrive as HTTP/2 over TLS.
type tlsLeaky struct {
	url          string
	served       atomic.Int64
	notH2OverTLS atomic.Int64
}

// mustStartLeakyTLS serves leak over TLS on loopback, with HTTP/2 offered by
// ALPN when h2 is set.
func mustStartLeakyTLS(tb testing.TB, leak leaky.Leak, work time.Duration, h2 bool) *tlsLeaky {
	tb.Helper()
	s := &tlsLeaky{}
	h := leaky.Handler(leaky.Config{Leak: leak, Work: work, Exists: testExists})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.served.Add(1)
		if r.TLS == nil || r.ProtoMajor != 2 {
			s.notH2OverTLS.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	srv.EnableHTTP2 = h2
	// Handshakes the probe refuses on purpose are the tests' business.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// runLoginProbe runs the login preset against base, bounded by a minute.
func runLoginProbe(tb testing.TB, base string, o Options) (*Report, error) {
	tb.Helper()
	t, err := PresetTarget("login", base)
	if err != nil {
		tb.Fatal(err)
	}
	t.Exists, t.Missing, t.Password = testExists, MissingFor(testExists), RandomPassword()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return Run(ctx, Plan{Probes: []Probe{{Target: t, Options: o}}})
}

// TestPairsTLS shows paired mode working over TLS, with HTTP/2 negotiated by
// ALPN rather than h2c: 1ms of extra work for existing accounts is found
// at 200 pairs and nothing is found without it, every request arrives as
// HTTP/2 over TLS, and the report says the run was paired.
func TestPairsTLS(t *testing.T) {
	tests := []struct {
		leak leaky.Leak
		n    int
		want bool
	}{
		{leaky.Timing, 200, true},
		{leaky.None, 200, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.leak), func(t *testing.T) {
			srv := mustStartLeakyTLS(t, tt.leak, time.Millisecond, true)
			o := Options{N: tt.n, Warmup: 20, Pairs: true, Insecure: true, Timeout: 5 * time.Second}
			rep, err := runLoginProbe(t, srv.url, o)
			if err != nil {
				t.Fatalf("Run over TLS with pairs: %v", err)
			}
			r := rep.Targets[0]
			order := r.Channels[len(r.Channels)-1]
			t.Logf("leak %s over TLS: %s (p=%.2g, alpha %.2g)", tt.leak, order.Summary, order.P, order.Alpha)
			if r.Mode != "pairs" || order.Kind != "order" || order.Order == nil || order.Order.Pairs != tt.n {
				t.Fatalf("mode = %q, last channel %q (%s), want pairs with an order channel of %d pairs", r.Mode, order.Name, order.Kind, tt.n)
			}
			if order.Leak != tt.want || r.Leak != tt.want {
				t.Errorf("pairs over TLS, leak %s: order leak = %v, result leak = %v, want %v", tt.leak, order.Leak, r.Leak, tt.want)
				logResult(t, r)
			}
			if got, want := srv.served.Load(), int64(2*(o.Warmup+o.N)); got != want {
				t.Errorf("server served %d requests, want %d (two per pair, warm-up included)", got, want)
			}
			if n := srv.notH2OverTLS.Load(); n != 0 {
				t.Errorf("%d requests did not arrive as HTTP/2 over TLS", n)
			}
		})
	}
}

// TestPairsTLSErrors shows paired mode over TLS refusing, as a target
// error and before a single request is sent, a certificate it was not told
// to accept and a server that offers no HTTP/2 in ALPN.
func TestPairsTLSErrors(t *testing.T) {
	tests := []struct {
		name     string
		h2       bool
		insecure bool
		want     string // in the error
	}{
		{"untrusted certificate", true, false, "certificate"},
		// The probe offers http/1.1 beside h2, so a server without h2
		// completes the handshake and the user reads why it cannot pair.
		{"no h2 in ALPN", false, true, "does not speak HTTP/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mustStartLeakyTLS(t, leaky.None, 0, tt.h2)
			o := Options{N: MinN, Warmup: 2, Pairs: true, Insecure: tt.insecure, Timeout: 5 * time.Second}
			_, err := runLoginProbe(t, srv.url, o)
			var te *TargetError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want a *TargetError mentioning %q", err, tt.want)
			}
			if n := srv.served.Load(); n != 0 {
				t.Errorf("server served %d requests, want none", n)
			}
		})
	}
}
