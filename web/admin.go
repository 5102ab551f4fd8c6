package web

import (
	"context"
	"net/http"
	"strconv"
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
	// Ready, when not nil, serves GET /readyz with each dependency's state.
	Ready *Readiness
}

// throttleResetRequest names what to reset: an identifier (any spelling),
// a client address (IPv6 counts per /64, so any address in it), or both.
type throttleResetRequest struct {
	Identifier string `json:"identifier"`
	Address    string `json:"address"`
}

// auditEventBody is an audit event as the admin listener shows it: with its
// true reason, which is why this listener is loopback by default.
type auditEventBody struct {
	Time           time.Time `json:"time"`
	Kind           string    `json:"kind"`
	Outcome        string    `json:"outcome"`
	Reason         string    `json:"reason,omitempty"`
	IdentifierHash string    `json:"identifier_hash,omitempty"`
	AccountID      string    `json:"account_id,omitempty"`
	ClientAddr     string    `json:"client,omitempty"`
}

// NewAdminHandler serves /metrics, /audit, /healthz and /readyz for operators. It
// must never be exposed on the public listener: its counters and events say
// which failures were unknown identifiers.
func NewAdminHandler(cfg AdminConfig) http.Handler {
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
		out := make([]auditEventBody, len(events))
		for i, e := range events {
			out[i] = auditEventBody{e.Time.UTC(), e.Kind, e.Outcome, e.Reason, e.IdentifierHash, e.AccountID, e.ClientAddr}
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
