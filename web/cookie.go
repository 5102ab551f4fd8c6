package web

import (
	"net/http"
	"time"

	"github.com/veil-id/veil"
)

// cookieConfig says how the session cookie is written.
type cookieConfig struct {
	name   string
	secure bool
}

// newCookieConfig uses the __Host- prefix whenever the cookie is Secure: the
// browser then refuses it unless it is Secure, Path=/ and host-only, so a
// sibling subdomain cannot plant or shadow it.
func newCookieConfig(secure bool) cookieConfig {
	if secure {
		return cookieConfig{name: "__Host-veil_session", secure: true}
	}
	return cookieConfig{name: "veil_session"}
}

func (c cookieConfig) set(w http.ResponseWriter, token string, sess *veil.Session, now time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     c.name,
		Value:    token,
		Path:     "/",
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
