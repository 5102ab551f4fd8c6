package oidc

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/veil-id/veil"
)

// The token endpoint's throttle. Its secrets (client secrets, codes,
// refresh tokens) are 192 to 256 random bits, except a secret an operator
// typed into [[oidc.clients]]; what the throttle bounds is guessing those,
// and the work a flood of bad requests costs. It keeps two counters, on
// the throttle's store (shared by instances with Redis):
//
//   - per client address, every answer 400 to 499 counts: bad codes, bad
//     refresh tokens, bad secrets, junk;
//   - per client_id (a keyed hash of it, the same for an ID nobody
//     registered as for a real one), failed client authentications
//     (invalid_client) only, and only from addresses that have failed
//     before. A real client that never fails is never held back by
//     someone else's guesses at its secret, and nobody can block a client
//     by sending its ID with bad codes; a guesser gets one free try per
//     address before the client's counter holds it.
//
// Which counters a request is checked against and what it counts depend on
// the client_id, the address and the public answer alone, never on whether
// the client or the grant exists. A held-back request gets one 429 with
// Retry-After, the same for every client_id.

// TokenPolicy says when the token endpoint holds back a client address
// and a client_id.
type TokenPolicy struct {
	// AddressBlockAfter failures from one address block it for BlockFor,
	// doubling with each further failure up to BlockMax.
	AddressBlockAfter int
	// ClientBlockAfter failed client authentications of one client_id
	// (from addresses that had failed before) block it the same way.
	ClientBlockAfter int
	BlockFor         time.Duration
	BlockMax         time.Duration
	// ForgetAfter is how long a counter keeps its failures after the last.
	ForgetAfter time.Duration
}

// DefaultTokenPolicy: an address is held after 50 failures (a relying
// party's bugs should not lock it out at once), a client_id after 20
// failed authentications from addresses that failed before; one minute,
// doubling to an hour; forgotten after a day without failures.
var DefaultTokenPolicy = TokenPolicy{
	AddressBlockAfter: 50, ClientBlockAfter: 20,
	BlockFor: time.Minute, BlockMax: time.Hour, ForgetAfter: 24 * time.Hour,
}

// tokenHold is how long a reservation that is never settled counts.
const tokenHold = time.Minute

type tokenThrottle struct {
	store      veil.ThrottleStore
	policy     TokenPolicy
	key        []byte // keys the client_id's counter
	clientAddr func(*http.Request) string
	logger     interface {
		ErrorContext(ctx context.Context, msg string, args ...any)
	}
}

func (t *tokenThrottle) bucket(key string, blockAfter int) veil.ThrottleBucket {
	return veil.ThrottleBucket{Key: key, TTL: t.policy.ForgetAfter, BlockAfter: int64(blockAfter), BlockFor: t.policy.BlockFor, BlockMax: t.policy.BlockMax}
}

func (t *tokenThrottle) clientBucket(clientID string) veil.ThrottleBucket {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(clientID))
	return t.bucket("oidc_token:c:"+base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16]), t.policy.ClientBlockAfter)
}

// reserve reserves one bucket; it returns the decision, or nil and the
// answer already written.
func (t *tokenThrottle) reserve(w http.ResponseWriter, r *http.Request, b veil.ThrottleBucket) *veil.ThrottleDecision {
	d, err := t.store.Reserve(r.Context(), &veil.ThrottleReservation{Buckets: []veil.ThrottleBucket{b}, Hold: tokenHold})
	if err != nil {
		t.logger.ErrorContext(r.Context(), "oidc: the token throttle's store failed", "err", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily_unavailable", Description: "The service is temporarily unavailable."})
		return nil
	}
	if !d.Admitted {
		wait := max(d.RetryAfter, time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		writeError(w, http.StatusTooManyRequests, errorBody{Error: "temporarily_unavailable", Description: "Too many failed requests. Please wait, then try again."})
		return nil
	}
	return d
}

func (t *tokenThrottle) settle(ctx context.Context, b veil.ThrottleBucket, ticket string, failure bool) {
	if _, err := t.store.Settle(ctx, &veil.ThrottleSettlement{Ticket: ticket, Buckets: []veil.ThrottleBucket{b}, Failure: failure}); err != nil {
		t.logger.ErrorContext(ctx, "oidc: settling a token request", "err", err)
	}
}

// wrap throttles h, the token endpoint; clientID is the client the
// request names.
func (t *tokenThrottle) wrap(h http.Handler, clientID func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := t.bucket("oidc_token:a:"+t.clientAddr(r), t.policy.AddressBlockAfter)
		d := t.reserve(w, r, addr)
		if d == nil {
			return
		}
		var client *veil.ThrottleBucket
		var clientTicket string
		if d.Records[0].Failures > 0 {
			b := t.clientBucket(clientID(r))
			cd := t.reserve(w, r, b)
			if cd == nil {
				t.settle(r.Context(), addr, d.Ticket, false)
				return
			}
			client, clientTicket = &b, cd.Ticket
		}
		aw := &answerWriter{w: w}
		h.ServeHTTP(aw, r)
		// Past the deadline, or with the client gone, the reservations
		// lapse uncounted; the answer (the 503 of a stalled store) is
		// still written, for the deadline's handler to keep or drop.
		if r.Context().Err() == nil {
			failed, badClient := aw.outcome()
			t.settle(r.Context(), addr, d.Ticket, failed)
			if client != nil {
				t.settle(r.Context(), *client, clientTicket, badClient)
			}
		}
		aw.flush()
	})
}

// answerWriter holds an answer back until the request is counted, so
// that a client that retries the moment it has its answer finds it
// counted, and reads its status and error.
type answerWriter struct {
	w      http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (a *answerWriter) Header() http.Header { return a.w.Header() }

func (a *answerWriter) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *answerWriter) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(b)
}

func (a *answerWriter) flush() {
	a.w.WriteHeader(cmp.Or(a.status, http.StatusOK))
	a.w.Write(a.body.Bytes())
}

// outcome reads the public answer: a 4xx is a failure, and an
// invalid_client one a failed client authentication.
func (a *answerWriter) outcome() (failed, badClient bool) {
	if a.status < 400 || a.status >= 500 {
		return false, false
	}
	var e errorBody
	_ = json.Unmarshal(a.body.Bytes(), &e)
	return true, e.Error == "invalid_client"
}

// peerAddr is the client address without a proxy in front: the peer's IP.
func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
