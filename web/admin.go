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

// AdminConfig holds what the admin listener serves.
type AdminConfig struct {
	Audit   AuditEvents
	Metrics http.Handler // Prometheus exposition
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

// NewAdminHandler serves /metrics, /audit and /healthz for operators. It
// must never be exposed on the public listener: its counters and events say
// which failures were unknown identifiers.
func NewAdminHandler(cfg AdminConfig) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", cfg.Metrics)
	mux.HandleFunc("GET /healthz", healthz)
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
	return mux
}
