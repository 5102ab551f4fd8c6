package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/veil-id/veil"
)

// cookieConfig says how the session cookie is written.
type cookieConfig struct {
	name   string
	secure bool
	domain string // "" for a host-only cookie
}

// newCookieConfig uses the __Host- prefix whenever the cookie is Secure and
// host-only: the browser then refuses it unless it is Secure, Path=/ and
// host-only, so a sibling subdomain cannot plant or shadow it. A cookie for
// a whole domain (one sign-in for every app under it) cannot be __Host-;
// it keeps __Secure-, so at least no plain-HTTP page can set it.
func newCookieConfig(secure bool, domain string) cookieConfig {
	switch {
	case secure && domain == "":
		return cookieConfig{name: "__Host-veil_session", secure: true}
	case secure:
		return cookieConfig{name: "__Secure-veil_session", secure: true, domain: domain}
	}
	return cookieConfig{name: "veil_session", domain: domain}
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

func (c cookieConfig) set(w http.ResponseWriter, token string, sess *veil.Session, now time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     c.name,
		Value:    token,
		Path:     "/",
		Domain:   c.domain,
		MaxAge:   max(1, int(sess.ExpiresAt.Sub(now).Seconds())),
		HttpOnly: true,
		Secure:   c.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

func (c cookieConfig) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     c.name,
		Value:    "",
		Path:     "/",
		Domain:   c.domain,
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   c.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// token returns the session token the request carries, or "".
func (c cookieConfig) token(r *http.Request) string {
	ck, err := r.Cookie(c.name)
	if err != nil {
		return ""
	}
	return ck.Value
}
