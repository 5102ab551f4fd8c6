package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// cookie is one of veil's cookies: Path=/ and HttpOnly always, Secure
// when the server is reached over TLS. It is the one way this package
// writes and reads a cookie.
type cookie struct {
	name     string
	secure   bool
	domain   string // "" for a host-only cookie
	sameSite http.SameSite
}

// newCookie names a cookie with the __Host- prefix whenever it is Secure
// and host-only: the browser then refuses it unless it is Secure, Path=/
// and host-only, so a sibling subdomain cannot plant or shadow it. A
// cookie for a whole domain (one sign-in for every app under it) cannot
// be __Host-; it keeps __Secure-, so at least no plain-HTTP page can set
// it.
func newCookie(name string, secure bool, domain string, sameSite http.SameSite) cookie {
	switch {
	case secure && domain == "":
		name = "__Host-" + name
	case secure:
		name = "__Secure-" + name
	}
	return cookie{name: name, secure: secure, domain: domain, sameSite: sameSite}
}

// The cookies of a Server.
func newSessionCookie(secure bool, domain string) cookie {
	return newCookie("veil_session", secure, domain, http.SameSiteLaxMode)
}

// newDeviceCookie is the cookie a successful sign-in leaves so that this
// browser gets past a lockout of its account that someone else caused.
func newDeviceCookie(secure bool) cookie {
	return newCookie("veil_device", secure, "", http.SameSiteLaxMode)
}

// newPendingCookie carries a sign-in waiting for its second factor:
// SameSite=Strict, for the few minutes the second step may take.
func newPendingCookie(secure bool) cookie {
	return newCookie("veil_pending", secure, "", http.SameSiteStrictMode)
}

// CheckCookieDomain reports whether domain can be Config.CookieDomain: a
// lower-case DNS name of at least two labels, without a leading dot.
func CheckCookieDomain(domain string) error {
	if domain == "" {
		return nil
	}
	if !validHostName(domain) || !strings.Contains(domain, ".") {
		return fmt.Errorf("cookie domain %q is not a lower-case domain name such as example.com (no leading dot, no scheme, no port)", domain)
	}
	return nil
}

// write sets the cookie to value for maxAge seconds; a negative maxAge
// deletes it.
func (c cookie) write(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     c.name,
		Value:    value,
		Path:     "/",
		Domain:   c.domain,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   c.secure,
		SameSite: c.sameSite,
	})
}

// writeUntil sets the cookie to value until expires (for a second at
// least).
func (c cookie) writeUntil(w http.ResponseWriter, value string, expires, now time.Time) {
	c.write(w, value, max(1, int(expires.Sub(now).Seconds())))
}

// clear deletes the cookie.
func (c cookie) clear(w http.ResponseWriter) { c.write(w, "", -1) }

// value returns the cookie the request carries, or "".
func (c cookie) value(r *http.Request) string {
	ck, err := r.Cookie(c.name)
	if err != nil {
		return ""
	}
	return ck.Value
}
