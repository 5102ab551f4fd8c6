package web

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestClientAddr(t *testing.T) {
	proxies, err := ParseTrustedProxies([]string{"10.0.0.0/8", "::1", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	c := clientAddrs{trusted: proxies}
	tests := []struct {
		name, remote string
		header       http.Header
		want         string
	}{
		{"direct IPv4", "198.51.100.4:5555", nil, "198.51.100.4"},
		{"direct IPv6 counted per /64", "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{"IPv4-mapped IPv6", "[::ffff:198.51.100.4]:1", nil, "198.51.100.4"},
		{"untrusted peer's header ignored", "198.51.100.4:1", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, "198.51.100.4"},
		{"trusted proxy, X-Forwarded-For", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9"},
		{"spoofed entries left of the client", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"1.1.1.1, 203.0.113.9"}}, "203.0.113.9"},
		{"chain of trusted proxies", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"203.0.113.9, 192.0.2.7", "10.9.9.9"}}, "203.0.113.9"},
		{"IPv6 client behind proxy", "[::1]:9", http.Header{"X-Forwarded-For": {"2001:db8:aa:bb::1"}}, "2001:db8:aa:bb::/64"},
		{"Forwarded preferred", "10.1.2.3:1", http.Header{"Forwarded": {`for=192.0.2.60;proto=http;by=203.0.113.43`}, "X-Forwarded-For": {"6.6.6.6"}}, "192.0.2.60"},
		{"Forwarded IPv6 quoted with port", "10.1.2.3:1", http.Header{"Forwarded": {`for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::/64"},
		{"Forwarded several elements", "10.1.2.3:1", http.Header{"Forwarded": {`for=1.2.3.4, for=198.51.100.17;by="x,y"`}}, "198.51.100.17"},
		{"Forwarded unknown stops at the proxy", "10.1.2.3:1", http.Header{"Forwarded": {`for=unknown`}}, "10.1.2.3"},
		{"garbage stops at the proxy", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"not an address"}}, "10.1.2.3"},
		{"all trusted: the farthest", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"10.4.4.4"}}, "10.4.4.4"},
		{"no header from a proxy", "10.1.2.3:1", nil, "10.1.2.3"},
		{"zone refused", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"fe80::1%eth0"}}, "10.1.2.3"},
		{"unparsable peer", "@", nil, "unknown"},
	}
	for _, tt := range tests {
		r := &http.Request{RemoteAddr: tt.remote, Header: tt.header}
		if got := c.resolve(r); got != tt.want {
			t.Errorf("%s: resolve = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies([]string{" 10.0.0.0/8 ", "192.0.2.1", "2001:db8::/32", "10.1.2.3/8"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32", "10.0.0.0/8"}
	for i, p := range got {
		if p.String() != want[i] {
			t.Errorf("prefix %d = %s, want %s", i, p, want[i])
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "example.com", "1.2.3"} {
		if _, err := ParseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("ParseTrustedProxies(%q) = nil error", bad)
		}
	}
}

// FuzzClientAddr throws arbitrary peers and forwarding headers at the
// resolver: it must never panic, must ignore headers from an untrusted
// peer, and must return an address (or its /64), never header text.
func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.1:1", "203.0.113.9, 10.0.0.2", "")
	f.Add("10.0.0.1:1", "", `for="[2001:db8::1]:80";by=x, for=unknown`)
	f.Add("198.51.100.1:1", "1.2.3.4", `for=5.6.7.8`)
	f.Add("[::1]:1", `"quoted"`, `for="\"esc\"`)
	trusted := clientAddrs{trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	f.Fuzz(func(t *testing.T, remote, xff, fwd string) {
		h := http.Header{}
		if xff != "" {
			h.Set("X-Forwarded-For", xff)
		}
		if fwd != "" {
			h.Set("Forwarded", fwd)
		}
		got := trusted.resolve(&http.Request{RemoteAddr: remote, Header: h})
		if got == "unknown" {
			return
		}
		if p, err := netip.ParsePrefix(got); err == nil {
			if p.Bits() != 64 || !p.Addr().Is6() {
				t.Errorf("resolve = %q: a prefix that is not an IPv6 /64", got)
			}
		} else if a, err := netip.ParseAddr(got); err != nil || !a.Is4() || strings.Contains(got, ":") {
			t.Errorf("resolve = %q: neither an IPv4 address nor an IPv6 /64", got)
		}
		peer, ok := parseNode(remote)
		if ok && !trusted.isTrusted(peer) && got != reduceAddr(peer) {
			t.Errorf("untrusted peer %q with headers resolved to %q", remote, got)
		}
	})
}
