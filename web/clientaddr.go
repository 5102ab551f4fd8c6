package web

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddrs finds the address a request came from, once per request,
// for the throttle, sessions and the audit log. Only one forwarding
// header is read — the one the operator names, which the trusted proxy
// sets — and only from the proxies the operator listed. Every other
// forwarding header, and the named one from anyone else, is what a client
// chose to send: a client that could pick its address would get a fresh
// throttle budget per guess.
type clientAddrs struct {
	trusted []netip.Prefix
	header  string // canonical name, one of clientAddrHeaders
	kind    hopFormat
}

// hopFormat is how a forwarding header writes its addresses.
type hopFormat int

const (
	// hopList: comma-separated addresses, farthest first, each proxy
	// appending the peer it saw (X-Forwarded-For).
	hopList hopFormat = iota
	// hopForwarded: RFC 7239 elements, for= of each, farthest first.
	hopForwarded
	// hopSingle: one address the proxy sets, replacing what came in
	// (X-Real-IP, CF-Connecting-IP). Only the last value counts: a proxy
	// that appends instead of replacing puts its own value last.
	hopSingle
)

// DefaultClientAddrHeader is the forwarding header read by default.
const DefaultClientAddrHeader = "X-Forwarded-For"

// clientAddrHeaders are the headers an operator may name, and how each
// writes its hops.
var clientAddrHeaders = map[string]hopFormat{
	"X-Forwarded-For":  hopList,
	"Forwarded":        hopForwarded,
	"X-Real-Ip":        hopSingle,
	"Cf-Connecting-Ip": hopSingle,
	"True-Client-Ip":   hopSingle,
	"Fly-Client-Ip":    hopSingle,
}

// newClientAddrs checks the header's name ("" is the default) and builds
// the resolver.
func newClientAddrs(trusted []netip.Prefix, header string) (clientAddrs, error) {
	if header == "" {
		header = DefaultClientAddrHeader
	}
	name := http.CanonicalHeaderKey(strings.TrimSpace(header))
	kind, ok := clientAddrHeaders[name]
	if !ok {
		return clientAddrs{}, fmt.Errorf("client address header %q is not one of X-Forwarded-For, Forwarded, X-Real-IP, CF-Connecting-IP, True-Client-IP, Fly-Client-IP", header)
	}
	return clientAddrs{trusted: trusted, header: name, kind: kind}, nil
}

// CheckClientAddrHeader reports whether name is a header Config's
// ClientAddrHeader accepts.
func CheckClientAddrHeader(name string) error {
	_, err := newClientAddrs(nil, name)
	return err
}

// maxForwardedHops bounds the hops read from forwarding headers.
const maxForwardedHops = 32

type clientAddrKey struct{}

// wrap computes the client address and keeps it in the request's context,
// where clientOf finds it.
func (c clientAddrs) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := c.resolve(r)
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, addr)))
	})
}

// ClientAddr is the address the throttle counts a request of the public
// listener under (IPv6 per /64), for handlers mounted on it.
func ClientAddr(r *http.Request) string { return clientAddr(r) }

// clientAddr returns the address wrap computed, or the peer's.
func clientAddr(r *http.Request) string {
	if a, ok := r.Context().Value(clientAddrKey{}).(string); ok {
		return a
	}
	return clientAddrs{}.resolve(r)
}

func (c clientAddrs) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// resolve walks the forwarding hops from the nearest back, past every
// trusted proxy, and returns the first address that is not one: the
// client. A hop that cannot be parsed stops the walk at the proxy that
// wrote it. IPv6 clients are counted per /64, the block one subscriber
// usually holds, so that rotating through it gains an attacker nothing.
func (c clientAddrs) resolve(r *http.Request) string {
	addr, ok := parseNode(r.RemoteAddr)
	if !ok {
		return "unknown"
	}
	if !c.isTrusted(addr) {
		return reduceAddr(addr)
	}
	hops := c.hops(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseNode(hops[i])
		if !ok {
			break
		}
		addr = hop
		if !c.isTrusted(addr) {
			break
		}
	}
	return reduceAddr(addr)
}

// reduceAddr is the address the throttle counts: an IPv4 address as it
// is, an IPv6 address as its /64.
func reduceAddr(a netip.Addr) string {
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

// parseNode parses one address as peers and proxies write it: "ip",
// "ip:port", "[ipv6]" or "[ipv6]:port", possibly quoted.
func parseNode(s string) (netip.Addr, bool) {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// hops returns the addresses the named header holds, farthest first,
// joining several lines of it in order (RFC 9110 §5.3: the same as one
// comma-separated line). At most maxForwardedHops, the nearest ones.
func (c clientAddrs) hops(h http.Header) []string {
	lines := h.Values(c.header)
	var hops []string
	switch c.kind {
	case hopForwarded:
		for _, elem := range splitQuoted(strings.Join(lines, ","), ',') {
			hop := ""
			for _, pair := range splitQuoted(elem, ';') {
				k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
				if strings.EqualFold(k, "for") {
					hop = v
				}
			}
			hops = append(hops, hop)
		}
	case hopList:
		for _, line := range lines {
			hops = append(hops, strings.Split(line, ",")...)
		}
	case hopSingle:
		if len(lines) > 0 {
			last := strings.Split(lines[len(lines)-1], ",")
			hops = last[len(last)-1:]
		}
	}
	if len(hops) > maxForwardedHops {
		hops = hops[len(hops)-maxForwardedHops:]
	}
	return hops
}

// splitQuoted splits s at sep outside double-quoted strings.
func splitQuoted(s string, sep byte) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// ParseTrustedProxies parses addresses and CIDR prefixes ("10.0.0.0/8",
// "::1", "192.0.2.7") for Config.TrustedProxies.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, &proxyError{s}
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

type proxyError struct{ s string }

func (e *proxyError) Error() string {
	return "trusted proxy " + `"` + e.s + `"` + " is neither an IP address nor a CIDR prefix"
}
