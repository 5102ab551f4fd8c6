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

// setDeviceCookie leaves the device cookie of a successful sign-in, if the
// throttle gave one. It outlives the session on purpose: signing out must
// not make the person a stranger.
func (s *Server) setDeviceCookie(w http.ResponseWriter, res *veil.LoginResult, now time.Time) {
	if res.DeviceCookie != "" {
		s.device.writeUntil(w, res.DeviceCookie, res.DeviceExpires, now)
	}
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
