package leaky

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// post sends a sign-in for id and returns the answer.
func post(t *testing.T, c *http.Client, base, path, body string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Post(base+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestLeaks checks that each mode leaks on its channel only, and that the
// body keeps its length where only the message should differ.
func TestLeaks(t *testing.T) {
	for _, leak := range Leaks {
		base, stop, err := Start(Config{Leak: leak, Work: 2 * time.Millisecond, Exists: []string{"a@x.com"}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		known, kb := post(t, http.DefaultClient, base, "/api/login", `{"identifier":"a@x.com","password":"p"}`)
		knownTime := time.Since(start)
		unknown, ub := post(t, http.DefaultClient, base, "/api/login", `{"identifier":"b@x.com","password":"p"}`)
		stop()
		differs := map[string]bool{
			"status": known.StatusCode != unknown.StatusCode,
			"header": known.Header.Get("X-RateLimit-Remaining") != unknown.Header.Get("X-RateLimit-Remaining"),
			"cookie": cookiePath(known) != cookiePath(unknown),
			"length": len(kb) != len(ub),
			"body":   kb[:len(kb)-40] != ub[:len(ub)-40] && len(kb) == len(ub), // request ids differ
		}
		// One request cannot show the absence of a timing difference; check
		// only that the work is done, and done for existing accounts only.
		if leak == Timing {
			differs["timing"] = knownTime >= 2*time.Millisecond
		}
		want := map[Leak]string{Status: "status", Header: "header", Cookie: "cookie", Length: "length", Message: "body", Timing: "timing"}[leak]
		for channel, d := range differs {
			if d != (channel == want) {
				t.Errorf("leak %s: %s differs = %v", leak, channel, d)
			}
		}
		if leak != Status && known.StatusCode != http.StatusUnauthorized {
			t.Errorf("leak %s: status %d, want 401", leak, known.StatusCode)
		}
		var v map[string]string
		if err := json.Unmarshal([]byte(ub), &v); err != nil || v["error"] != "invalid_credentials" {
			t.Errorf("leak %s: body %q is not the sign-in failure", leak, ub)
		}
	}
}

func cookiePath(r *http.Response) string {
	for _, c := range r.Cookies() {
		return c.Path
	}
	return ""
}

// TestH2C checks the server speaks HTTP/2 with prior knowledge on the same
// port as HTTP/1.1.
func TestH2C(t *testing.T) {
	base, stop, err := Start(Config{Leak: None})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	tr := &http2.Transport{AllowHTTP: true, DialTLS: func(network, addr string, _ *tls.Config) (net.Conn, error) {
		return net.Dial(network, addr)
	}}
	c := &http.Client{Transport: tr}
	resp, body := post(t, c, base, "/api/signup", `{"email":"a@x.com","password":"p"}`)
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusAccepted || !bytes.Contains([]byte(body), []byte("check_email")) {
		t.Errorf("h2c sign-up: %s %d %q", resp.Proto, resp.StatusCode, body)
	}
}
