package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/veil-id/veil"
)

const sessionColumns = `id_hash, account_id, created_at, last_seen_at, expires_at, client_addr, user_agent`

// CreateSession stores s; ECONFLICT if its ID hash is taken. Its account
// is not checked: since migration 0003 it may be a directory entry with no
// row here (the foreign-key case below only answers a database that kept
// the old constraint).
func (db *DB) CreateSession(ctx context.Context, s *veil.Session) error {
	if len(s.IDHash) == 0 || s.AccountID == "" {
		return veil.Errorf(veil.EINVALID, "A session needs an ID hash and an account.")
	}
	_, err := db.exec(ctx, db.sql, `
		INSERT INTO sessions (`+sessionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.IDHash, s.AccountID, toMicros(s.CreatedAt), toMicros(s.LastSeenAt), toMicros(s.ExpiresAt),
		clientText(s.ClientAddr), clientText(s.UserAgent))
	switch {
	case db.isForeignKeyViolation(err):
		return veil.Errorf(veil.ENOTFOUND, "No account has this ID.")
	case db.isUniqueViolation(err):
		return veil.Errorf(veil.ECONFLICT, "A session with this ID already exists.")
	case err != nil:
		return fmt.Errorf("sqlstore: creating a session: %w", err)
	}
	return nil
}

// clientText makes text a client chose (its User-Agent) storable in any
// database. HTTP allows bytes that are not UTF-8 in headers, and PostgreSQL
// refuses such text and NUL outright; a sign-in must not fail on one
// database and pass on the other because of a header.
func clientText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// FindSession returns the session whose token hashes to idHash, or
// ENOTFOUND. It does not judge expiry.
func (db *DB) FindSession(ctx context.Context, idHash []byte) (*veil.Session, error) {
	row := db.queryRow(ctx, db.sql, `SELECT `+sessionColumns+` FROM sessions WHERE id_hash = ?`, idHash)
	s, err := scanSession(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No such session.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: finding a session: %w", err)
	}
	return s, nil
}

// TouchSession records that the session was used at t; no error if the
// session is gone. The last use only moves forward, so two requests
// finishing out of order cannot make a session look idler than it is.
func (db *DB) TouchSession(ctx context.Context, idHash []byte, t time.Time) error {
	us := toMicros(t)
	_, err := db.exec(ctx, db.sql,
		`UPDATE sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?`, us, idHash, us)
	if err != nil {
		return fmt.Errorf("sqlstore: touching a session: %w", err)
	}
	return nil
}

// DeleteSession removes one session; no error if it is gone.
func (db *DB) DeleteSession(ctx context.Context, idHash []byte) error {
	if _, err := db.exec(ctx, db.sql, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("sqlstore: deleting a session: %w", err)
	}
	return nil
}

// DeleteAccountSessions removes every session of an account and returns how
// many there were.
func (db *DB) DeleteAccountSessions(ctx context.Context, accountID string) (int, error) {
	res, err := db.exec(ctx, db.sql, `DELETE FROM sessions WHERE account_id = ?`, accountID)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: deleting an account's sessions: %w", err)
	}
	return rowsAffected(res)
}

// ListSessions returns the sessions of one account, or of every account
// when accountID is "", newest first.
func (db *DB) ListSessions(ctx context.Context, accountID string) ([]*veil.Session, error) {
	// id_hash breaks ties so that the order is stable between calls.
	q, args := `SELECT `+sessionColumns+` FROM sessions ORDER BY created_at DESC, id_hash`, []any(nil)
	if accountID != "" {
		q = `SELECT ` + sessionColumns + ` FROM sessions WHERE account_id = ? ORDER BY created_at DESC, id_hash`
		args = []any{accountID}
	}
	rows, err := db.query(ctx, db.sql, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing sessions: %w", err)
	}
	defer rows.Close()
	sessions := []*veil.Session{}
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: listing sessions: %w", err)
		}
		sessions = append(sessions, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: listing sessions: %w", err)
	}
	return sessions, nil
}

// DeleteExpiredSessions removes sessions whose absolute expiry is before
// now or that were last seen before idleBefore, and returns how many.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	res, err := db.exec(ctx, db.sql, `DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?`,
		toMicros(now), toMicros(idleBefore))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: deleting expired sessions: %w", err)
	}
	return rowsAffected(res)
}

func scanSession(sc scanner) (*veil.Session, error) {
	var (
		s                      veil.Session
		created, seen, expires int64
	)
	err := sc.Scan(&s.IDHash, &s.AccountID, &created, &seen, &expires, &s.ClientAddr, &s.UserAgent)
	if err != nil {
		return nil, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	return &s, nil
}
