package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/veil-id/veil"
)

// FindTOTP returns the account's TOTP factor, or ENOTFOUND.
func (db *DB) FindTOTP(ctx context.Context, accountID string) (*veil.TOTPFactor, error) {
	f := &veil.TOTPFactor{AccountID: accountID}
	var created int64
	err := db.queryRow(ctx, db.sql, `
		SELECT sealed_secret, confirmed, last_step, created_at FROM totp_factors WHERE account_id = ?`,
		accountID).Scan(&f.SealedSecret, &f.Confirmed, &f.LastStep, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "The account has no authenticator app.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: finding a TOTP factor: %w", err)
	}
	f.CreatedAt = fromMicros(created)
	return f, nil
}

// PutTOTP stores f, replacing the account's factor if it has one.
func (db *DB) PutTOTP(ctx context.Context, f *veil.TOTPFactor) error {
	if f.AccountID == "" || len(f.SealedSecret) == 0 {
		return veil.Errorf(veil.EINVALID, "A TOTP factor needs an account and a sealed secret.")
	}
	_, err := db.exec(ctx, db.sql, `
		INSERT INTO totp_factors (account_id, sealed_secret, confirmed, last_step, created_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET sealed_secret = excluded.sealed_secret,
			confirmed = excluded.confirmed, last_step = excluded.last_step, created_at = excluded.created_at`,
		f.AccountID, f.SealedSecret, f.Confirmed, f.LastStep, toMicros(f.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: storing a TOTP factor: %w", err)
	}
	return nil
}

// UseTOTPStep records step as used if it is later than every step used
// before: one conditional UPDATE, so two requests with one code cannot
// both pass. ECONFLICT for a replayed step, ENOTFOUND without a confirmed
// factor.
func (db *DB) UseTOTPStep(ctx context.Context, accountID string, step int64) error {
	res, err := db.exec(ctx, db.sql, `
		UPDATE totp_factors SET last_step = ? WHERE account_id = ? AND confirmed = ? AND last_step < ?`,
		step, accountID, true, step)
	if err != nil {
		return fmt.Errorf("sqlstore: spending a TOTP step: %w", err)
	}
	if n, err := rowsAffected(res); err != nil || n == 1 {
		return err
	}
	f, err := db.FindTOTP(ctx, accountID)
	switch {
	case err != nil:
		return err
	case !f.Confirmed:
		return veil.Errorf(veil.ENOTFOUND, "The account has no confirmed authenticator app.")
	}
	return veil.Errorf(veil.ECONFLICT, "This code was used already.")
}

// DeleteTOTP removes the account's TOTP factor; no error if none.
func (db *DB) DeleteTOTP(ctx context.Context, accountID string) error {
	if _, err := db.exec(ctx, db.sql, `DELETE FROM totp_factors WHERE account_id = ?`, accountID); err != nil {
		return fmt.Errorf("sqlstore: deleting a TOTP factor: %w", err)
	}
	return nil
}

// ReplaceRecoveryCodes makes hashes the account's only recovery codes.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, accountID string, hashes [][]byte, now time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, `DELETE FROM recovery_codes WHERE account_id = ?`, accountID); err != nil {
			return fmt.Errorf("sqlstore: deleting recovery codes: %w", err)
		}
		for _, h := range hashes {
			_, err := db.exec(ctx, tx, `INSERT INTO recovery_codes (account_id, code_hash, created_at) VALUES (?, ?, ?)`,
				accountID, h, toMicros(now))
			if err != nil {
				return fmt.Errorf("sqlstore: storing a recovery code: %w", err)
			}
		}
		return nil
	})
}

// UseRecoveryCode deletes the code with this hash: whoever deletes it used
// it, so it works once. ENOTFOUND if there is none.
func (db *DB) UseRecoveryCode(ctx context.Context, accountID string, hash []byte) error {
	return db.deleteOne(ctx, "spending a recovery code", "No such recovery code.",
		`DELETE FROM recovery_codes WHERE account_id = ? AND code_hash = ?`, accountID, hash)
}

// deleteOne runs a DELETE that must remove a row; ENOTFOUND with
// notFound when it removed none.
func (db *DB) deleteOne(ctx context.Context, what, notFound, query string, args ...any) error {
	res, err := db.exec(ctx, db.sql, query, args...)
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	n, err := rowsAffected(res)
	if err == nil && n == 0 {
		return veil.Errorf(veil.ENOTFOUND, "%s", notFound)
	}
	return err
}

// CountRecoveryCodes returns how many unused recovery codes the account has.
func (db *DB) CountRecoveryCodes(ctx context.Context, accountID string) (int, error) {
	var n int
	if err := db.queryRow(ctx, db.sql, `SELECT COUNT(*) FROM recovery_codes WHERE account_id = ?`, accountID).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: counting recovery codes: %w", err)
	}
	return n, nil
}

// DeleteAccountFactors removes every factor and recovery code of an
// account in one transaction and returns how many rows went.
func (db *DB) DeleteAccountFactors(ctx context.Context, accountID string) (int, error) {
	total := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		total = 0
		for _, table := range []string{"totp_factors", "recovery_codes", "passkeys"} {
			res, err := db.exec(ctx, tx, `DELETE FROM `+table+` WHERE account_id = ?`, accountID)
			if err != nil {
				return fmt.Errorf("sqlstore: deleting factors: %w", err)
			}
			n, err := rowsAffected(res)
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return total, err
}
