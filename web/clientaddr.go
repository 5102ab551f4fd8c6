package web

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddrs finds the address a request came from, once per request,
// for the throttle, sessions and the audit log. Forwarding headers
// (Forwarded, else X-Forwarded-For) are believed only from the proxies
// the operator listed; from anyone else they are what a client chose to
// send, and ignored.
type clientAddrs struct {
	trusted []netip.Prefix
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
	hops := forwardedHops(r.Header)
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

// forwardedHops returns the client addresses of the forwarding headers,
// farthest first: the for= of each Forwarded element (RFC 7239) if the
// request has that header, else the entries of X-Forwarded-For. At most
// maxForwardedHops, the nearest ones.
func forwardedHops(h http.Header) []string {
	var hops []string
	if fwd := h.Values("Forwarded"); len(fwd) > 0 {
		for _, elem := range splitQuoted(strings.Join(fwd, ","), ',') {
			hop := ""
			for _, pair := range splitQuoted(elem, ';') {
				k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
				if strings.EqualFold(k, "for") {
					hop = v
				}
			}
			hops = append(hops, hop)
		}
	} else {
		for _, line := range h.Values("X-Forwarded-For") {
			hops = append(hops, strings.Split(line, ",")...)
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
