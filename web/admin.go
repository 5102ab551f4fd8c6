package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/veil-id/veil"
)

// AuditEvents is the part of the audit log the admin listener reads.
type AuditEvents interface {
	ListEvents(ctx context.Context, limit int) ([]*veil.Event, error)
}

// ThrottleReset is the part of the core that lets an operator clear the
// throttle's counters for an identifier or a client address.
type ThrottleReset interface {
	ResetThrottle(ctx context.Context, identifier, addr string) error
}

// AdminConfig holds what the admin listener serves.
type AdminConfig struct {
	Audit   AuditEvents
	Metrics http.Handler // Prometheus exposition
	// Throttle, when not nil, serves POST /throttle/reset.
	Throttle ThrottleReset
	// Listen is the address the listener is bound to (host:port). Only
	// requests naming that host in Host are answered — for a loopback
	// address also localhost, 127.0.0.1 and ::1; for every address (""
	// or 0.0.0.0) any IP address — so that a web page whose name the
	// attacker rebinds to this address cannot read the audit log from a
	// browser on the operator's machine.
	Listen string
	// Hosts are further names the listener answers for, such as the DNS
	// name operators reach it by.
	Hosts []string
	// Token, when not "", must be sent on every request as
	// "Authorization: Bearer <Token>". Anything that can reach a remote
	// admin listener can read it without one.
	Token string
	// Ready, when not nil, serves GET /readyz with each dependency's state.
	Ready *Readiness
}

// throttleResetRequest names what to reset: an identifier (any spelling),
// a client address (IPv6 counts per /64, so any address in it), or both.
type throttleResetRequest struct {
	Identifier string `json:"identifier"`
	Address    string `json:"address"`
}

// AuditEventBody is an audit event as the admin listener shows it: with its
// true reason, which is why this listener is loopback by default. `veil
// audit --json` prints the same, so one tool reads both.
type AuditEventBody struct {
	Time           time.Time `json:"time"`
	Kind           string    `json:"kind"`
	Outcome        string    `json:"outcome"`
	Reason         string    `json:"reason,omitempty"`
	IdentifierHash string    `json:"identifier_hash,omitempty"`
	AccountID      string    `json:"account_id,omitempty"`
	ClientAddr     string    `json:"client,omitempty"`
}

// NewAuditEventBody is e as the admin listener shows it.
func NewAuditEventBody(e *veil.Event) AuditEventBody {
	return AuditEventBody{e.Time.UTC(), e.Kind, e.Outcome, e.Reason, e.IdentifierHash, e.AccountID, e.ClientAddr}
}

// NewAdminHandler serves /metrics, /audit, /healthz and /readyz for
// operators, to requests that name the listener's own host and, if
// cfg.Token is set, carry it. It must never be exposed on the public
// listener: its counters and events say which failures were unknown
// identifiers.
func NewAdminHandler(cfg AdminConfig) http.Handler {
	return newAdminGuard(cfg, adminRoutes(cfg))
}

func adminRoutes(cfg AdminConfig) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", cfg.Metrics)
	mux.HandleFunc("GET /healthz", healthz)
	if cfg.Ready != nil {
		mux.HandleFunc("GET /readyz", cfg.Ready.serveAdmin)
	}
	mux.HandleFunc("GET /audit", func(w http.ResponseWriter, r *http.Request) {
		limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
		if err != nil || limit <= 0 || limit > 10000 {
			limit = 100
		}
		events, err := cfg.Audit.ListEvents(r.Context(), limit)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal_error", Message: err.Error()})
			return
		}
		out := make([]AuditEventBody, len(events))
		for i, e := range events {
			out[i] = NewAuditEventBody(e)
		}
		writeJSON(w, http.StatusOK, out)
	})
	if cfg.Throttle != nil {
		// A browser on the operator's machine could be made to post here;
		// JSON only and same-origin only keep this an operator's tool.
		cop := http.NewCrossOriginProtection()
		mux.Handle("POST /throttle/reset", cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body throttleResetRequest
			err := decodeJSON(r, &body)
			addr := ""
			if err == nil && body.Address != "" {
				if a, ok := parseNode(body.Address); ok {
					addr = reduceAddr(a)
				} else {
					err = veil.Errorf(veil.EINVALID, "address %q is not an IP address", body.Address)
				}
			}
			if err == nil {
				err = cfg.Throttle.ResetThrottle(r.Context(), body.Identifier, addr)
			}
			if err != nil {
				// The operator sees the cause of a failure (Redis down, ...):
				// this listener is theirs alone.
				status, name, msg := http.StatusInternalServerError, "internal_error", err.Error()
				if veil.ErrorCode(err) == veil.EINVALID {
					status, name, msg = http.StatusBadRequest, "invalid_request", veil.ErrorMessage(err)
				}
				writeJSON(w, status, errorBody{Error: name, Message: msg})
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{"status": "reset", "address": addr})
		})))
	}
	return mux
}

// adminGuard lets through only requests that name one of the listener's
// own hosts and carry its token, if it has one. Both are checked before
// any route, on every route.
type adminGuard struct {
	names map[string]bool // lower-case names and canonical IP addresses
	anyIP bool            // bound to every address: any IP literal
	token *[sha256.Size]byte
	next  http.Handler
}

func newAdminGuard(cfg AdminConfig, next http.Handler) *adminGuard {
	g := &adminGuard{names: map[string]bool{}, next: next}
	bound := hostOf(cfg.Listen)
	switch a, err := netip.ParseAddr(bound); {
	case bound == "" || err == nil && a.IsUnspecified():
		g.anyIP = true
		g.addLoopback()
	case bound == "localhost" || err == nil && a.IsLoopback():
		g.addLoopback()
	}
	g.names[bound] = true
	for _, h := range cfg.Hosts {
		g.names[hostOf(h)] = true
	}
	delete(g.names, "")
	if cfg.Token != "" {
		sum := sha256.Sum256([]byte(cfg.Token))
		g.token = &sum
	}
	return g
}

func (g *adminGuard) addLoopback() {
	for _, n := range []string{"localhost", "127.0.0.1", "::1"} {
		g.names[n] = true
	}
}

// hostOf reduces a Host header or listen address to what is compared:
// the host without port, brackets or a final dot, lower-case; an IP
// address in its canonical form.
func hostOf(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")), ".")
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().String()
	}
	return h
}

func (g *adminGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := hostOf(r.Host)
	_, ipErr := netip.ParseAddr(host)
	if !g.names[host] && !(g.anyIP && ipErr == nil) {
		writeJSON(w, http.StatusMisdirectedRequest, errorBody{Error: "misdirected_request",
			Message: "This admin listener does not answer for the host " + strconv.Quote(r.Host) + ": only for the address it is bound to and the names in server.admin_hosts."})
		return
	}
	if g.token != nil && !g.hasToken(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="veil admin"`)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "unauthorized",
			Message: "This admin listener needs its token: send Authorization: Bearer followed by server.admin_token."})
		return
	}
	g.next.ServeHTTP(w, r)
}

// hasToken compares the request's bearer token with the listener's in
// constant time (over hashes, so not even the length shows).
func (g *adminGuard) hasToken(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(sum[:], g.token[:]) == 1
}
