package sqlstore

import (
	"context"
	"fmt"

	"github.com/veil-id/veil"
)

const eventColumns = `occurred_at, kind, outcome, reason, identifier_hash, account_id, client_addr`

// AppendEvent stores e.
func (db *DB) AppendEvent(ctx context.Context, e *veil.Event) error {
	// Prepared: every sign-in appends one.
	_, err := db.execPrepared(ctx, `
		INSERT INTO audit_events (`+eventColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		toMicros(e.Time), e.Kind, e.Outcome, e.Reason, e.IdentifierHash, e.AccountID, clientText(e.ClientAddr))
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
