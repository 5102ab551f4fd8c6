package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/veil-id/veil"
)

// The throttle's part of the web layer: the device cookie, and the
// Retry-After and proof-of-work challenge of an answer. Everything here is
// read from the error or result the core returned; nothing here knows, or
// could tell, whether an account exists.

// deviceCookie is the cookie a successful sign-in leaves so that this
// browser gets past a lockout of its account that someone else caused.
type deviceCookie struct {
	name   string
	secure bool
}

func newDeviceCookie(secure bool) deviceCookie {
	if secure {
		return deviceCookie{name: "__Host-veil_device", secure: true}
	}
	return deviceCookie{name: "veil_device"}
}

// value returns the device cookie the request carries, or "".
func (c deviceCookie) value(r *http.Request) string {
	ck, err := r.Cookie(c.name)
	if err != nil {
		return ""
	}
	return ck.Value
}

// set leaves the device cookie of a successful sign-in. It outlives the
// session on purpose: signing out must not make the person a stranger.
func (c deviceCookie) set(w http.ResponseWriter, res *veil.LoginResult, now time.Time) {
	if res.DeviceCookie == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     c.name,
		Value:    res.DeviceCookie,
		Path:     "/",
		MaxAge:   max(1, int(res.DeviceExpires.Sub(now).Seconds())),
		HttpOnly: true,
		Secure:   c.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// challengeBody is a proof-of-work challenge in a JSON answer: find a
// solution such that SHA-256(token + ":" + solution) starts with
// difficulty zero bits, and send "token:solution" as the proof field.
type challengeBody struct {
	Token      string    `json:"token"`
	Difficulty int       `json:"difficulty"`
	ExpiresAt  time.Time `json:"expires_at"`
}

func challengeBodyOf(err error) *challengeBody {
	c := veil.ChallengeOf(err)
	if c == nil {
		return nil
	}
	return &challengeBody{Token: c.Token, Difficulty: c.Difficulty, ExpiresAt: c.Expires.UTC()}
}

// retryAfterSeconds is the Retry-After of an answer with this status and
// error, or 0 for none. Overload asks for a constant; a throttled answer
// for what the throttle decided from its counters, rounded up to a second.
func retryAfterSeconds(status int, err error) int {
	switch status {
	case http.StatusServiceUnavailable:
		return retryAfterOverloaded
	case http.StatusTooManyRequests:
		return max(1, int((veil.RetryAfterOf(err)+time.Second-1)/time.Second))
	}
	return 0
}

func setRetryAfter(h http.Header, status int, err error) {
	if s := retryAfterSeconds(status, err); s > 0 {
		h.Set("Retry-After", strconv.Itoa(s))
	}
}
