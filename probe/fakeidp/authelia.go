package fakeidp

import (
	"net/http"
	"time"
)

// AutheliaConfig configures the Authelia fake.
type AutheliaConfig struct {
	Exists []string
	// Hash is the backend's password check, for existing users only.
	Hash time.Duration
	// Delay is the least time a failed first factor takes: Authelia delays
	// every failure to about the average time of successful ones, plus a
	// random part (here up to Delay/4), so unknown users, wrong passwords
	// and banned users all take about as long.
	Delay time.Duration
	// MaxRetries bans a username after that many failures (regulation),
	// unknown ones alike; 0 never bans.
	MaxRetries int
}

// Authelia imitates Authelia's first factor: POST /api/firstfactor with
// {"username","password","keepMeLoggedIn"} answers every failure 401
// {"status":"KO","message":"Authentication failed. Check your credentials."},
// banned users included.
func Authelia(cfg AutheliaConfig) http.Handler {
	a := &authelia{cfg: cfg, accounts: NewAccounts(cfg.Exists)}
	return routes(map[string]http.HandlerFunc{"POST /api/firstfactor": a.firstFactor})
}

type authelia struct {
	cfg      AutheliaConfig
	accounts Accounts
	failures counter // by username
}

func (a *authelia) firstFactor(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var body struct {
		Username, Password string
		KeepMeLoggedIn     bool
	}
	if err := decodeJSON(r, &body); err != nil || body.Username == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "KO", "message": "Authentication failed. Check your credentials."})
		return
	}
	banned := a.cfg.MaxRetries > 0 && a.failures.add(body.Username) >= a.cfg.MaxRetries
	if !banned && a.accounts.has(body.Username) {
		time.Sleep(a.cfg.Hash)
	}
	time.Sleep(a.cfg.Delay - time.Since(start) + randomDuration(0, a.cfg.Delay/4))
	writeJSON(w, http.StatusUnauthorized, map[string]any{"status": "KO", "message": "Authentication failed. Check your credentials."})
}
