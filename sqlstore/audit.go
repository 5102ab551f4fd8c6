package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/veil-id/veil"
)

const eventColumns = `occurred_at, kind, outcome, reason, identifier_hash, account_id, client_addr`

// insertEvent is prepared once: every sign-in appends an event.
const insertEvent = `
		INSERT INTO audit_events (` + eventColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?)`

func eventArgs(e *veil.Event) []any {
	return []any{toMicros(e.Time), e.Kind, e.Outcome, e.Reason, e.IdentifierHash, e.AccountID, clientText(e.ClientAddr)}
}

// AppendEvent stores e.
func (db *DB) AppendEvent(ctx context.Context, e *veil.Event) error {
	_, err := db.execPrepared(ctx, insertEvent, eventArgs(e)...)
	if err != nil {
		return fmt.Errorf("sqlstore: appending an audit event: %w", err)
	}
	return nil
}

// ListEvents returns the most recent events, newest first, at most limit;
// EINVALID if limit is not positive.
func (db *DB) ListEvents(ctx context.Context, limit int) ([]*veil.Event, error) {
	if limit <= 0 {
		return nil, veil.Errorf(veil.EINVALID, "The number of events must be positive.")
	}
	// Events of one microsecond come out in the reverse order of their
	// appending, which the id records.
	rows, err := db.query(ctx, db.sql, `
		SELECT `+eventColumns+` FROM audit_events
		ORDER BY occurred_at DESC, id DESC
		LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing audit events: %w", err)
	}
	defer rows.Close()
	events := []*veil.Event{}
	for rows.Next() {
		var e veil.Event
		var us int64
		if err := rows.Scan(&us, &e.Kind, &e.Outcome, &e.Reason, &e.IdentifierHash, &e.AccountID, &e.ClientAddr); err != nil {
			return nil, fmt.Errorf("sqlstore: listing audit events: %w", err)
		}
		e.Time = fromMicros(us)
		events = append(events, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: listing audit events: %w", err)
	}
	return events, nil
}

// AppendEvents stores events in one transaction, in their order: the audit
// writer (veil.AuditWriter) hands over what queued while its last batch was
// being stored, so that under load one commit carries many sign-ins.
func (db *DB) AppendEvents(ctx context.Context, events []*veil.Event) error {
	switch len(events) {
	case 0:
		return nil
	case 1:
		return db.AppendEvent(ctx, events[0])
	}
	stmt, err := db.preparedStmt(ctx, insertEvent)
	if err != nil {
		return fmt.Errorf("sqlstore: appending audit events: %w", err)
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		st := tx.StmtContext(ctx, stmt)
		defer st.Close()
		for _, e := range events {
			if _, err := st.ExecContext(ctx, eventArgs(e)...); err != nil {
				return fmt.Errorf("sqlstore: appending audit events: %w", err)
			}
		}
		return nil
	})
}
