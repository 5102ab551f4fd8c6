package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/veil-id/veil"
)

var (
	_ veil.SignUpStore = (*DB)(nil)
	_ veil.TokenStore  = (*DB)(nil)
	_ veil.OutboxStore = (*DB)(nil)
)

// CreatePendingSignUp stores p and its job in one transaction: a sign-up
// that was answered always has its job.
func (db *DB) CreatePendingSignUp(ctx context.Context, p *veil.PendingSignUp, j *veil.Job) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, `
			INSERT INTO pending_signups (id, email, created_at) VALUES (?, ?, ?)`,
			p.ID, string(p.Email), toMicros(p.CreatedAt)); err != nil {
			return fmt.Errorf("sqlstore: storing a pending sign-up: %w", err)
		}
		return db.enqueue(ctx, tx, j)
	})
}

// FindPendingSignUp returns a pending sign-up, or ENOTFOUND.
func (db *DB) FindPendingSignUp(ctx context.Context, id string) (*veil.PendingSignUp, error) {
	return db.scanPendingSignUp(db.queryRow(ctx, db.sql, `SELECT id, email, created_at FROM pending_signups WHERE id = ?`, id))
}

// FindPendingSignUpByToken returns the pending sign-up of a live sign-up
// token, without spending it.
func (db *DB) FindPendingSignUpByToken(ctx context.Context, tokenHash []byte, now time.Time) (*veil.PendingSignUp, error) {
	return db.scanPendingSignUp(db.queryRow(ctx, db.sql, `
		SELECT p.id, p.email, p.created_at FROM tokens t JOIN pending_signups p ON p.id = t.signup_id
		WHERE t.hash = ? AND t.purpose = ? AND t.used_at IS NULL AND t.expires_at > ?`,
		tokenHash, veil.TokenSignUp, toMicros(now)))
}

func (db *DB) scanPendingSignUp(row *sql.Row) (*veil.PendingSignUp, error) {
	var p veil.PendingSignUp
	var email string
	var created int64
	err := row.Scan(&p.ID, &email, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No pending sign-up has this ID or token.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: finding a pending sign-up: %w", err)
	}
	p.Email, p.CreatedAt = veil.Identifier(email), fromMicros(created)
	return &p, nil
}

// CompleteSignUp spends a sign-up token and creates its account in one
// transaction. The token is spent by the same conditional UPDATE as
// ConsumeToken, so of two requests racing with one link exactly one gets
// past it; the other waits for the first to commit or roll back.
func (db *DB) CompleteSignUp(ctx context.Context, tokenHash []byte, now time.Time, a *veil.Account) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var signUpID, email string
		err := db.queryRow(ctx, tx, `
			UPDATE tokens SET used_at = ?
			WHERE hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
			RETURNING signup_id`,
			toMicros(now), tokenHash, veil.TokenSignUp, toMicros(now)).Scan(&signUpID)
		if err == nil {
			err = db.queryRow(ctx, tx, `SELECT email FROM pending_signups WHERE id = ?`, signUpID).Scan(&email)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return veil.Errorf(veil.ENOTFOUND, "No live sign-up token has this hash.")
		} else if err != nil {
			return fmt.Errorf("sqlstore: spending a sign-up token: %w", err)
		}
		a.Email = veil.Identifier(email)
		if err := db.insertAccount(ctx, tx, a); err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM pending_signups WHERE id = ?`, signUpID); err != nil {
			return fmt.Errorf("sqlstore: deleting a confirmed sign-up: %w", err)
		}
		return nil
	})
}

// DeletePendingSignUp removes a pending sign-up.
func (db *DB) DeletePendingSignUp(ctx context.Context, id string) error {
	if _, err := db.exec(ctx, db.sql, `DELETE FROM pending_signups WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlstore: deleting a pending sign-up: %w", err)
	}
	return nil
}

// DeleteExpiredSignUpsAndTokens removes old pending sign-ups and expired
// or used tokens.
func (db *DB) DeleteExpiredSignUpsAndTokens(ctx context.Context, signUpsBefore, tokensBefore time.Time) (int, error) {
	total := 0
	for _, q := range []struct {
		sql string
		arg time.Time
	}{
		{`DELETE FROM pending_signups WHERE created_at < ?`, signUpsBefore},
		{`DELETE FROM tokens WHERE expires_at < ?`, tokensBefore},
	} {
		res, err := db.exec(ctx, db.sql, q.sql, toMicros(q.arg))
		if err != nil {
			return total, fmt.Errorf("sqlstore: deleting expired mail records: %w", err)
		}
		n, err := rowsAffected(res)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// CreateToken stores a mailed token's hash.
func (db *DB) CreateToken(ctx context.Context, t *veil.Token) error {
	_, err := db.exec(ctx, db.sql, `
		INSERT INTO tokens (hash, purpose, account_id, signup_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.Hash, t.Purpose, t.AccountID, t.SignUpID, toMicros(t.CreatedAt), toMicros(t.ExpiresAt))
	if db.isUniqueViolation(err) {
		return veil.Errorf(veil.ECONFLICT, "A token with this hash exists already.")
	} else if err != nil {
		return fmt.Errorf("sqlstore: storing a token: %w", err)
	}
	return nil
}

// ConsumeToken marks a live token used and returns it, in one statement, so
// two requests with one token cannot both succeed.
func (db *DB) ConsumeToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*veil.Token, error) {
	var t veil.Token
	var created, expires int64
	err := db.queryRow(ctx, db.sql, `
		UPDATE tokens SET used_at = ?
		WHERE hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
		RETURNING hash, purpose, account_id, signup_id, created_at, expires_at`,
		toMicros(now), hash, purpose, toMicros(now)).
		Scan(&t.Hash, &t.Purpose, &t.AccountID, &t.SignUpID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No live token has this hash.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: consuming a token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &t, nil
}

// DeleteAccountTokens removes an account's unused tokens of one purpose.
func (db *DB) DeleteAccountTokens(ctx context.Context, accountID, purpose string) error {
	_, err := db.exec(ctx, db.sql, `DELETE FROM tokens WHERE account_id = ? AND purpose = ? AND used_at IS NULL`, accountID, purpose)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting an account's tokens: %w", err)
	}
	return nil
}
