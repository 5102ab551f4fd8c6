package fakeidp

import (
	"net"
	"net/http"
	"time"
)

// GoTrueConfig configures the GoTrue fake.
type GoTrueConfig struct {
	Exists []string
	// Hash is bcrypt's time, spent for existing accounts only (GoTrue
	// answers an unknown address without hashing).
	Hash time.Duration
	// Mail is how long sending a recovery mail inline takes, for existing
	// addresses only.
	Mail time.Duration
	// RateLimit, when positive, answers each client address 429 after
	// that many requests, as GoTrue's per-address limits do.
	RateLimit int
}

// GoTrue imitates Supabase's GoTrue: POST /token?grant_type=password
// answers a failed sign-in 400 {"code":400,"error_code":"invalid_credentials",
// "msg":"Invalid login credentials"}, POST /recover answers 200 {} to
// every address, and a client over its rate limit gets 429
// over_request_rate_limit.
func GoTrue(cfg GoTrueConfig) http.Handler {
	g := &gotrue{cfg: cfg, accounts: NewAccounts(cfg.Exists)}
	return routes(map[string]http.HandlerFunc{"POST /token": g.limited(g.token), "POST /recover": g.limited(g.recover)})
}

type gotrue struct {
	cfg      GoTrueConfig
	accounts Accounts
	served   counter // by client address
}

func gotrueError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"code": status, "error_code": code, "msg": msg})
}

func (g *gotrue) limited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if g.cfg.RateLimit > 0 && g.served.add(host) >= g.cfg.RateLimit {
			gotrueError(w, http.StatusTooManyRequests, "over_request_rate_limit", "Request rate limit reached")
			return
		}
		h(w, r)
	}
}

func (g *gotrue) token(w http.ResponseWriter, r *http.Request) {
	var body struct{ Email, Password string }
	if r.URL.Query().Get("grant_type") != "password" {
		gotrueError(w, http.StatusBadRequest, "validation_failed", "unsupported_grant_type")
		return
	}
	if err := decodeJSON(r, &body); err != nil {
		gotrueError(w, http.StatusBadRequest, "bad_json", "Could not parse request body as JSON")
		return
	}
	if g.accounts.has(body.Email) {
		time.Sleep(g.cfg.Hash)
	}
	gotrueError(w, http.StatusBadRequest, "invalid_credentials", "Invalid login credentials")
}

func (g *gotrue) recover(w http.ResponseWriter, r *http.Request) {
	var body struct{ Email string }
	if err := decodeJSON(r, &body); err != nil {
		gotrueError(w, http.StatusBadRequest, "bad_json", "Could not parse request body as JSON")
		return
	}
	if g.accounts.has(body.Email) {
		time.Sleep(g.cfg.Mail)
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
