package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/veil-id/veil"
)

var _ veil.AccountSettingsStore = (*DB)(nil)

const accountTokenColumns = `hash, purpose, account_id, email, code_hash, created_at, expires_at`

// SetDisplayName sets one account's display name.
func (db *DB) SetDisplayName(ctx context.Context, id, name string) error {
	res, err := db.exec(ctx, db.sql, `UPDATE accounts SET display_name = ?, updated_at = ? WHERE id = ?`, name, toMicros(db.now()), id)
	if err != nil {
		return fmt.Errorf("sqlstore: setting a display name: %w", err)
	}
	return oneRow(res, "No account has this ID.")
}

// ChangeEmail moves an account from one address to another, if it still
// has the first.
func (db *DB) ChangeEmail(ctx context.Context, id string, from, to veil.Identifier) error {
	if to == "" {
		return veil.Errorf(veil.EINVALID, "An account needs an email address.")
	}
	res, err := db.exec(ctx, db.sql, `UPDATE accounts SET email = ?, updated_at = ? WHERE id = ? AND email = ?`,
		string(to), toMicros(db.now()), id, string(from))
	if db.isUniqueViolation(err) {
		return errEmailTaken
	} else if err != nil {
		return fmt.Errorf("sqlstore: changing an address: %w", err)
	}
	return oneRow(res, "No account has this ID and address.")
}

// oneRow is ENOTFOUND with msg unless the statement changed a row.
func oneRow(res sql.Result, msg string) error {
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return veil.Errorf(veil.ENOTFOUND, "%s", msg)
	}
	return nil
}

// CreateAccountToken stores the hashes of a mailed link or code.
func (db *DB) CreateAccountToken(ctx context.Context, t *veil.AccountToken) error {
	if len(t.Hash) == 0 || t.AccountID == "" || t.Purpose == "" {
		return veil.Errorf(veil.EINVALID, "An account token needs a hash, a purpose and an account.")
	}
	code := t.CodeHash
	if code == nil {
		code = []byte{}
	}
	_, err := db.exec(ctx, db.sql, `INSERT INTO account_tokens (`+accountTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.Purpose, t.AccountID, string(t.Email), code, toMicros(t.CreatedAt), toMicros(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlstore: storing an account token: %w", err)
	}
	return nil
}

// ConsumeAccountToken spends a live link in one statement, so two requests
// with one link cannot both succeed.
func (db *DB) ConsumeAccountToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*veil.AccountToken, error) {
	return db.consumeAccountToken(ctx, `hash = ? AND purpose = ?`, now, hash, purpose)
}

// ConsumeLoginCode spends an account's live sign-in code in one statement.
// An empty code hash matches nothing: links of other purposes have one.
func (db *DB) ConsumeLoginCode(ctx context.Context, id string, codeHash []byte, now time.Time) (*veil.AccountToken, error) {
	if len(codeHash) == 0 {
		return nil, veil.Errorf(veil.ENOTFOUND, "No live code has this hash.")
	}
	return db.consumeAccountToken(ctx, `account_id = ? AND purpose = ? AND code_hash = ?`, now, id, veil.TokenLoginCode, codeHash)
}

func (db *DB) consumeAccountToken(ctx context.Context, where string, now time.Time, args ...any) (*veil.AccountToken, error) {
	var (
		t                veil.AccountToken
		email            string
		created, expires int64
	)
	n := toMicros(now)
	err := db.queryRow(ctx, db.sql, `
		UPDATE account_tokens SET used_at = ?
		WHERE hash = (SELECT hash FROM account_tokens WHERE `+where+` AND used_at IS NULL AND expires_at > ? LIMIT 1)
		AND used_at IS NULL AND expires_at > ?
		RETURNING `+accountTokenColumns,
		append(append([]any{n}, args...), n, n)...).
		Scan(&t.Hash, &t.Purpose, &t.AccountID, &email, &t.CodeHash, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No live account token matches.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: consuming an account token: %w", err)
	}
	t.Email, t.CreatedAt, t.ExpiresAt = veil.Identifier(email), fromMicros(created), fromMicros(expires)
	return &t, nil
}

// DeleteAccountTokensOf removes an account's unused tokens of one purpose,
// or of every purpose.
func (db *DB) DeleteAccountTokensOf(ctx context.Context, id, purpose string) error {
	var err error
	if purpose == "" {
		_, err = db.exec(ctx, db.sql, `DELETE FROM account_tokens WHERE account_id = ? AND used_at IS NULL`, id)
	} else {
		_, err = db.exec(ctx, db.sql, `DELETE FROM account_tokens WHERE account_id = ? AND purpose = ? AND used_at IS NULL`, id, purpose)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: deleting account tokens: %w", err)
	}
	return nil
}

// DeleteExpiredAccountTokens removes tokens that expired before t.
func (db *DB) DeleteExpiredAccountTokens(ctx context.Context, t time.Time) (int, error) {
	res, err := db.exec(ctx, db.sql, `DELETE FROM account_tokens WHERE expires_at < ?`, toMicros(t))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: deleting expired account tokens: %w", err)
	}
	return rowsAffected(res)
}

// EraseAccount removes an account and everything that names it, in one
// transaction, and queues j.
func (db *DB) EraseAccount(ctx context.Context, id string, j *veil.Job) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var email string
		err := db.queryRow(ctx, tx, `SELECT email FROM accounts WHERE id = ?`, id).Scan(&email)
		if errors.Is(err, sql.ErrNoRows) {
			return veil.Errorf(veil.ENOTFOUND, "No account has this ID.")
		} else if err != nil {
			return fmt.Errorf("sqlstore: erasing an account: %w", err)
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`DELETE FROM sessions WHERE account_id = ?`, []any{id}},
			{`DELETE FROM tokens WHERE account_id = ?`, []any{id}},
			{`DELETE FROM account_tokens WHERE account_id = ?`, []any{id}},
			// Account IDs are base32: no LIKE wildcard can be in one.
			{`DELETE FROM outbox WHERE subject = ? OR subject = ? OR subject LIKE ?`, []any{id, email, id + " %"}},
			{`UPDATE audit_events SET account_id = '', client_addr = '' WHERE account_id = ?`, []any{id}},
			{`DELETE FROM accounts WHERE id = ?`, []any{id}},
		} {
			if _, err := db.exec(ctx, tx, q.sql, q.args...); err != nil {
				return fmt.Errorf("sqlstore: erasing an account: %w", err)
			}
		}
		return db.enqueue(ctx, tx, j)
	})
}
