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
	spoofed := http.Header{
		"Forwarded":        {"for=6.6.6.1"},
		"X-Real-Ip":        {"6.6.6.2"},
		"Cf-Connecting-Ip": {"6.6.6.3"},
		"True-Client-Ip":   {"6.6.6.4"},
		"Fly-Client-Ip":    {"6.6.6.5"},
	}
	with := func(h http.Header, k string, v ...string) http.Header {
		out := h.Clone()
		out[k] = v
		return out
	}
	tests := []struct {
		name, config, remote string
		header               http.Header
		want                 string
	}{
		{"direct IPv4", "", "198.51.100.4:5555", nil, "198.51.100.4"},
		{"direct IPv6 counted per /64", "", "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{"IPv4-mapped IPv6", "", "[::ffff:198.51.100.4]:1", nil, "198.51.100.4"},
		{"untrusted peer's header ignored", "", "198.51.100.4:1", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, "198.51.100.4"},
		{"trusted proxy, X-Forwarded-For", "", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9"},
		{"spoofed entries left of the client", "", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"1.1.1.1, 203.0.113.9"}}, "203.0.113.9"},
		{"chain of trusted proxies", "", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"203.0.113.9, 192.0.2.7", "10.9.9.9"}}, "203.0.113.9"},
		{"several lines: the client's own line, then the proxy's", "", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"6.6.6.6, 7.7.7.7", "203.0.113.9"}}, "203.0.113.9"},
		{"IPv6 client behind proxy", "", "[::1]:9", http.Header{"X-Forwarded-For": {"2001:db8:aa:bb::1"}}, "2001:db8:aa:bb::/64"},
		{"every other forwarding header ignored", "", "10.1.2.3:1", with(spoofed, "X-Forwarded-For", "203.0.113.9"), "203.0.113.9"},
		{"other headers do not stand in for a missing one", "", "10.1.2.3:1", spoofed, "10.1.2.3"},
		{"configured name in any case", "x-forwarded-for", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9"},
		{"Forwarded", "Forwarded", "10.1.2.3:1", http.Header{"Forwarded": {`for=192.0.2.60;proto=http;by=203.0.113.43`}, "X-Forwarded-For": {"6.6.6.6"}}, "192.0.2.60"},
		{"Forwarded IPv6 quoted with port", "Forwarded", "10.1.2.3:1", http.Header{"Forwarded": {`for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::/64"},
		{"Forwarded several elements", "Forwarded", "10.1.2.3:1", http.Header{"Forwarded": {`for=1.2.3.4, for=198.51.100.17;by="x,y"`}}, "198.51.100.17"},
		{"Forwarded several lines", "Forwarded", "10.1.2.3:1", http.Header{"Forwarded": {`for=6.6.6.6`, `for=198.51.100.17`}}, "198.51.100.17"},
		{"Forwarded unknown stops at the proxy", "Forwarded", "10.1.2.3:1", http.Header{"Forwarded": {`for=unknown`}}, "10.1.2.3"},
		{"Forwarded named: X-Forwarded-For ignored", "Forwarded", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"6.6.6.6"}}, "10.1.2.3"},
		{"X-Real-IP", "X-Real-IP", "10.1.2.3:1", with(spoofed, "X-Forwarded-For", "6.6.6.6"), "6.6.6.2"},
		{"X-Real-IP appended by the proxy: its value is last", "X-Real-IP", "10.1.2.3:1", http.Header{"X-Real-Ip": {"6.6.6.6", "203.0.113.9"}}, "203.0.113.9"},
		{"X-Real-IP with a list: the last", "X-Real-IP", "10.1.2.3:1", http.Header{"X-Real-Ip": {"6.6.6.6, 203.0.113.9"}}, "203.0.113.9"},
		{"X-Real-IP naming a proxy is not walked past", "X-Real-IP", "10.1.2.3:1", http.Header{"X-Real-Ip": {"6.6.6.6, 10.7.7.7"}}, "10.7.7.7"},
		{"CF-Connecting-IP", "CF-Connecting-IP", "10.1.2.3:1", spoofed, "6.6.6.3"},
		{"True-Client-IP", "True-Client-IP", "10.1.2.3:1", spoofed, "6.6.6.4"},
		{"Fly-Client-IP", "Fly-Client-IP", "10.1.2.3:1", spoofed, "6.6.6.5"},
		{"single-value header from an untrusted peer", "X-Real-IP", "198.51.100.4:1", spoofed, "198.51.100.4"},
		{"garbage stops at the proxy", "", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"not an address"}}, "10.1.2.3"},
		{"empty hop stops at the proxy", "", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"6.6.6.6,"}}, "10.1.2.3"},
		{"all trusted: the farthest", "", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"10.4.4.4"}}, "10.4.4.4"},
		{"no header from a proxy", "", "10.1.2.3:1", nil, "10.1.2.3"},
		{"zone refused", "", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"fe80::1%eth0"}}, "10.1.2.3"},
		{"unparsable peer", "", "@", nil, "unknown"},
	}
	for _, tt := range tests {
		c, err := newClientAddrs(proxies, tt.config)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		r := &http.Request{RemoteAddr: tt.remote, Header: tt.header}
		if got := c.resolve(r); got != tt.want {
			t.Errorf("%s: resolve with %q = %q, want %q", tt.name, tt.config, got, tt.want)
		}
	}
	for _, bad := range []string{"X-Client-IP", "Via", "Remote-Addr", "X-Forwarded-For, Forwarded"} {
		if err := CheckClientAddrHeader(bad); err == nil {
			t.Errorf("CheckClientAddrHeader(%q) = nil, want an error", bad)
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
// resolver, for every header an operator may name: it must never panic,
// must ignore headers from an untrusted peer, must read no header but the
// named one, and must return an address (or its /64), never header text.
func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.1:1", uint8(0), "203.0.113.9, 10.0.0.2", "for=1.2.3.4")
	f.Add("10.0.0.1:1", uint8(1), "", `for="[2001:db8::1]:80";by=x, for=unknown`)
	f.Add("198.51.100.1:1", uint8(2), "1.2.3.4", `for=5.6.7.8`)
	f.Add("[::1]:1", uint8(3), `"quoted"`, `for="\"esc\"`)
	f.Add("10.0.0.1:1", uint8(4), "6.6.6.6,10.0.0.9", "")
	names := []string{"X-Forwarded-For", "Forwarded", "X-Real-IP", "CF-Connecting-IP", "True-Client-IP", "Fly-Client-IP"}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	f.Fuzz(func(t *testing.T, remote string, which uint8, named, other string) {
		c, err := newClientAddrs(trusted, names[int(which)%len(names)])
		if err != nil {
			t.Fatal(err)
		}
		// The named header carries named; every other one carries other,
		// which must not change the answer.
		h, bare := http.Header{}, http.Header{}
		for _, n := range names {
			if http.CanonicalHeaderKey(n) == c.header {
				if named != "" {
					h.Add(n, named)
					bare.Add(n, named)
				}
			} else if other != "" {
				h.Add(n, other)
			}
		}
		got := c.resolve(&http.Request{RemoteAddr: remote, Header: h})
		if want := c.resolve(&http.Request{RemoteAddr: remote, Header: bare}); got != want {
			t.Errorf("other forwarding headers moved the answer from %q to %q", want, got)
		}
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
		if ok && !c.isTrusted(peer) && got != reduceAddr(peer) {
			t.Errorf("untrusted peer %q with headers resolved to %q", remote, got)
		}
	})
}
