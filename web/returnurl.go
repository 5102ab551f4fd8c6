package web

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/veil-id/veil"
)

// maxReturnURL bounds a return URL: longer ones fall back to "/".
const maxReturnURL = 2048

// returnDomains are the hosts a sign-in may send a browser back to
// (forward_auth.return_domains): exact hosts and "*.example.com" for every
// name under example.com (not example.com itself). An entry may name a
// port ("app.localhost:8081"); one without a port allows only the scheme's
// default port.
type returnDomains struct {
	entries []returnDomain
}

type returnDomain struct {
	host     string // lower case; for a wildcard, ".example.com"
	wildcard bool
	port     string // "" for the scheme's default
}

// newReturnDomains parses forward_auth.return_domains.
func newReturnDomains(list []string) (returnDomains, error) {
	var d returnDomains
	for _, raw := range list {
		s := strings.ToLower(strings.TrimSpace(raw))
		var e returnDomain
		if rest, ok := strings.CutPrefix(s, "*."); ok {
			e.wildcard, s = true, rest
		}
		host, port := s, ""
		if h, p, err := net.SplitHostPort(s); err == nil {
			host, port = h, p
		}
		isIP := net.ParseIP(host) != nil
		if !(validHostName(host) && !isIP || isIP && !e.wildcard) || !validPort(port) {
			return returnDomains{}, fmt.Errorf("return domain %q is neither a host name, *.domain nor an IP address (with an optional :port)", raw)
		}
		e.host, e.port = host, port
		if e.wildcard {
			e.host = "." + host
		}
		d.entries = append(d.entries, e)
	}
	return d, nil
}

// CheckReturnDomains reports whether list is a valid
// Config.ReturnDomains.
func CheckReturnDomains(list []string) error {
	_, err := newReturnDomains(list)
	return err
}

// checkReturnURL returns raw, re-encoded, if it is an absolute http(s) URL
// on one of the return domains, and ok = false otherwise. Whatever a
// browser could read as another host is refused: a scheme-relative or
// backslashed URL, userinfo, percent-escapes or anything but letters,
// digits, dots, hyphens, brackets and a port in the host, non-ASCII (IDN
// look-alikes: a configured IDN is written in punycode), whitespace and
// control characters anywhere. It looks at the URL alone, never at who
// asks, so every caller gets the same fallback.
func (d returnDomains) checkReturnURL(raw string) (string, bool) {
	if raw == "" || len(raw) > maxReturnURL {
		return "", false
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return "", false
		}
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	scheme = strings.ToLower(scheme)
	if !ok || scheme != "http" && scheme != "https" {
		return "", false
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if !validAuthority(authority) {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || u.Scheme != scheme {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if !d.allows(host, port, scheme) || scheme == "http" && !isLoopbackHost(host) {
		return "", false
	}
	return u.String(), true
}

// allows reports whether host:port is one of the return domains.
func (d returnDomains) allows(host, port, scheme string) bool {
	if port == defaultPort(scheme) {
		port = ""
	}
	if host == "" || strings.HasSuffix(host, ".") {
		return false
	}
	for _, e := range d.entries {
		if e.port != port && !(e.port == defaultPort(scheme) && port == "") {
			continue
		}
		if e.wildcard && strings.HasSuffix(host, e.host) && len(host) > len(e.host) || !e.wildcard && host == e.host {
			return true
		}
	}
	return false
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// validAuthority admits host[:port] with a DNS name, an IPv4 address or a
// bracketed IPv6 address, and nothing else: no "@", no "%".
func validAuthority(a string) bool {
	if a == "" {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	host, port := a, ""
	if h, p, err := net.SplitHostPort(a); err == nil {
		host, port = h, p
	} else if strings.Contains(a, ":") && !strings.HasPrefix(a, "[") {
		return false
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return validPort(port) && (validHostName(strings.ToLower(host)) || net.ParseIP(host) != nil)
}

// validHostName admits lower-case DNS names of letters, digits and inner
// hyphens, at least one label, none empty.
func validHostName(h string) bool { return veil.IsHostName(h) }

// validPort admits "" or a decimal port 1–65535 without leading zeros.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	if len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// isLoopbackHost reports whether plain http is acceptable for host: it
// never leaves the machine.
func isLoopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}
