package veil

import (
	"context"
	"log/slog"
	"time"
)

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

// flusher is an Auditor or AuditLog that stores events after RecordEvent
// has returned (AuditWriter), and can wait until every event recorded
// before the call is stored.
type flusher interface {
	Flush(ctx context.Context) error
}

// Flush waits for every auditor that stores in the background.
func (as Auditors) Flush(ctx context.Context) error {
	for _, a := range as {
		if err := flushAudit(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// flushAudit waits until every event a recorded so far is stored, if a
// stores them in the background; at once otherwise. An erasure must not
// be followed by the account's own events, queued before it and stored
// after, with the ID and address it blanked.
func flushAudit(ctx context.Context, a any) error {
	if f, ok := a.(flusher); ok {
		return f.Flush(ctx)
	}
	return nil
}

// LogAuditor writes events as structured log lines and keeps them in an
// AuditLog when one is given: veil serve gives it an AuditWriter, so that
// no answer waits for the store.
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

// Flush waits until the events recorded so far are in the Log, when the
// Log stores them in the background.
func (a *LogAuditor) Flush(ctx context.Context) error { return flushAudit(ctx, a.Log) }

// AuditWriteTimeout bounds the storing of one audit event, or of one
// AuditWriter batch. It is well under any request's deadline, for a Log
// that writes while the answer waits.
const AuditWriteTimeout = time.Second
