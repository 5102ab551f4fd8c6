package veil

import (
	"context"
	"log/slog"
	"time"
)

// Event kinds and outcomes recorded by the flows.
const (
	EventLogin          = "login"
	EventLogout         = "logout"
	EventSessionRevoked = "session_revoked"
	EventThrottleReset  = "throttle_reset" // an operator cleared throttle counters

	// What an operator did to an account from the CLI (admin.go).
	EventAccountAdded    = "account_added"
	EventPasswordSet     = "password_set"
	EventAccountDisabled = "account_disabled"
	EventAccountEnabled  = "account_enabled"
	EventAccountDeleted  = "account_deleted"

	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Reasons: the truth about a failure, for the audit log and the admin metrics
// only. None of them ever reaches a public answer.
const (
	ReasonNone              = ""
	ReasonUnknownIdentifier = "unknown_identifier"
	ReasonWrongPassword     = "wrong_password"
	ReasonDisabled          = "disabled"
	ReasonLocked            = "locked"      // the directory has locked the account
	ReasonExpired           = "expired"     // the password or account has expired
	ReasonMustChange        = "must_change" // the directory requires a new password first
	ReasonAmbiguous         = "ambiguous"   // several directory entries match the identifier
	ReasonThrottled         = "throttled"
	ReasonOverloaded        = "overloaded"
	ReasonError             = "error"
)

// OperatorAddr is the ClientAddr of events an operator caused on the
// machine that runs veil (the CLI), where there is no client address.
const OperatorAddr = "cli"

// Event is one audited thing that happened to an identifier or account.
type Event struct {
	Time           time.Time
	Kind           string
	Outcome        string
	Reason         string
	IdentifierHash string // IdentifierKey.Hash; never the identifier itself
	AccountID      string
	ClientAddr     string
}

// Auditor receives every event. Recording must not fail the flow: an auditor
// that cannot record logs the problem itself.
type Auditor interface {
	RecordEvent(ctx context.Context, e *Event)
}

// AuditLog keeps events for operators.
type AuditLog interface {
	// AppendEvent stores e.
	AppendEvent(ctx context.Context, e *Event) error
	// ListEvents returns the most recent events, newest first, at most limit.
	ListEvents(ctx context.Context, limit int) ([]*Event, error)
}

// Auditors sends each event to every auditor in turn.
type Auditors []Auditor

// RecordEvent implements Auditor.
func (as Auditors) RecordEvent(ctx context.Context, e *Event) {
	for _, a := range as {
		a.RecordEvent(ctx, e)
	}
}

// LogAuditor writes events as structured log lines and keeps them in an
// AuditLog when one is given.
type LogAuditor struct {
	Logger *slog.Logger
	Log    AuditLog // may be nil
}

// RecordEvent implements Auditor.
func (a *LogAuditor) RecordEvent(ctx context.Context, e *Event) {
	// Debug: the audit table keeps every event; a log line per sign-in
	// would drown what an operator needs to see.
	a.Logger.LogAttrs(ctx, slog.LevelDebug, "audit",
		slog.String("kind", e.Kind),
		slog.String("outcome", e.Outcome),
		slog.String("reason", e.Reason),
		slog.String("identifier_hash", e.IdentifierHash),
		slog.String("account_id", e.AccountID),
		slog.String("client", e.ClientAddr),
	)
	if a.Log == nil {
		return
	}
	// Not cancelled with the request, so that a client hanging up does not
	// lose the event; bounded, so that a stalled store cannot hold the
	// answer, already decided, past the request's deadline and turn it
	// into another.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), AuditWriteTimeout)
	defer cancel()
	if err := a.Log.AppendEvent(actx, e); err != nil {
		a.Logger.Error("audit: cannot store event", "err", err)
	}
}

// AuditWriteTimeout bounds the storing of one audit event. It is well
// under any request's deadline: the answer waits for the write.
const AuditWriteTimeout = time.Second

// Clock tells the time; tests substitute their own.
type Clock interface {
	Now() time.Time
}

// SystemClock is the Clock of the machine.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }
