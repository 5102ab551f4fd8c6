// Package leaky is a test server that leaks on purpose, one channel at a
// time, so that probe can be shown to find each leak — and to find none when
// there is none. It imitates veil's sign-in, sign-up and recovery endpoints
// and serves HTTP/1.1 and unencrypted HTTP/2 (h2c) on one port.
//
// It must never be used for anything but testing the probe: its whole point
// is to tell attackers which accounts exist.
package leaky

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Leak names the one channel the server leaks on.
type Leak string

// The leaks. Every answer, leaking or not, carries a random request id in
// its body and in a header, and a cookie with a random value, so the probe
// is also shown not to mistake per-request noise for a leak.
const (
	None    Leak = "none"
	Message Leak = "message" // a different message of the same length
	Status  Leak = "status"  // 403 instead of 401
	Length  Leak = "length"  // one extra trailing space
	Header  Leak = "header"  // X-RateLimit-Remaining for existing accounts only
	Cookie  Leak = "cookie"  // the attempt cookie on a different path
	Timing  Leak = "timing"  // Config.Work of busy work for existing accounts
	// Field adds "remainingAttempts" to the body for existing accounts
	// only: with Config.Volatile, the leak only a comparison field by
	// field finds. (It also changes the length, so it is not in Leaks.)
	Field Leak = "field"
)

// Leaks lists every leak mode, None first.
var Leaks = []Leak{None, Message, Status, Length, Header, Cookie, Timing}

// Config configures the server.
type Config struct {
	Leak   Leak
	Work   time.Duration // extra busy work for existing accounts (Timing)
	Exists []string      // identifiers that have accounts

	// FirstContact makes sign-up register every new address and answer one
	// it already knows 400 "exists already", as Ory Kratos does: a leak
	// that only a probe measuring on first contact can see.
	FirstContact bool
	// ThrottleAfter, when positive, answers every request after that many
	// 429, as a throttle counting attempts from one address does.
	ThrottleAfter int
	// Volatile adds a short random reference of random length to every
	// body, which no default scrub pattern blanks: no two bodies are
	// alike, as with applications that echo a per-request nonce.
	Volatile bool
}

// Handler answers POST /api/login, /api/signup and /api/recover the way veil
// does, except for the configured leak.
func Handler(cfg Config) http.Handler {
	exists := map[string]bool{}
	for _, id := range cfg.Exists {
		exists[strings.ToLower(id)] = true
	}
	s := &server{cfg: cfg, exists: exists}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", s.handle(http.StatusUnauthorized, "invalid_credentials", false))
	mux.HandleFunc("POST /api/signup", s.handle(http.StatusAccepted, "check_email", cfg.FirstContact))
	mux.HandleFunc("POST /api/recover", s.handle(http.StatusAccepted, "check_email", false))
	return mux
}

type server struct {
	cfg    Config
	served atomic.Int64

	mu     sync.Mutex // guards exists: a first-contact sign-up adds to it
	exists map[string]bool
}

type request struct {
	Identifier string `json:"identifier"`
	Email      string `json:"email"`
	Password   string `json:"password"`
}

func (s *server) handle(status int, code string, register bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if n := s.cfg.ThrottleAfter; n > 0 && s.served.Add(1) > int64(n) {
			w.Header().Set("Retry-After", "60")
			http.Error(w, `{"error":"too_many_requests","message":"Slow down."}`, http.StatusTooManyRequests)
			return
		}
		var req request
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
			http.Error(w, `{"error":"invalid_request","message":"Malformed JSON."}`, http.StatusBadRequest)
			return
		}
		id := strings.ToLower(req.Identifier + req.Email)
		s.mu.Lock()
		known := s.exists[id]
		if register {
			s.exists[id] = true
		}
		s.mu.Unlock()
		if register && known {
			http.Error(w, `{"error":"exists","message":"An account with the same identifier exists already."}`, http.StatusBadRequest)
			return
		}
		leak := known && s.cfg.Leak != None
		if leak && s.cfg.Leak == Timing {
			spin(s.cfg.Work)
		}
		s.answer(w, status, code, leak)
	}
}

// answer writes the one public answer, or its leaking variant.
func (s *server) answer(w http.ResponseWriter, status int, code string, leak bool) {
	reqID := randomHex(16)
	message := "Invalid email or password."
	if status == http.StatusAccepted {
		message = "Check your email to continue."
	}
	cookiePath := "/"
	switch {
	case leak && s.cfg.Leak == Message:
		message = "Incorrect password; retry." // same length as the usual message
		if status == http.StatusAccepted {
			message = "Check your inbox to continue."
		}
	case leak && s.cfg.Leak == Status:
		status = http.StatusForbidden
	case leak && s.cfg.Leak == Header:
		w.Header().Set("X-RateLimit-Remaining", "4")
	case leak && s.cfg.Leak == Cookie:
		cookiePath = "/api"
	}
	body := fmt.Sprintf(`{"error":%q,"message":%q,"request_id":"%s-%s-%s-%s-%s"}`,
		code, message, reqID[:8], reqID[8:12], reqID[12:16], reqID[16:20], reqID[20:])
	if leak && s.cfg.Leak == Field {
		body = strings.TrimSuffix(body, "}") + `,"remainingAttempts":4}`
	}
	if s.cfg.Volatile {
		body = strings.TrimSuffix(body, "}") + fmt.Sprintf(`,"ref":%q}`, randomHex(8)[:4+int(randomHex(1)[0]%6)])
	}
	if leak && s.cfg.Leak == Length {
		body += " "
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Request-Id", reqID)
	http.SetCookie(w, &http.Cookie{Name: "attempt", Value: randomHex(8), Path: cookiePath,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// spin busy-waits for d: a stand-in for work such as a password hash, which
// occupies a CPU (a sleep would not, and is far coarser).
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// NewServer returns a server for h, speaking HTTP/1.1 and h2c (HTTP/2 with
// prior knowledge, no TLS) on the same port.
func NewServer(h http.Handler) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	return srv
}

// Start serves cfg on a loopback port and returns its base URL and a stop
// function.
func Start(cfg Config) (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := NewServer(Handler(cfg))
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}
