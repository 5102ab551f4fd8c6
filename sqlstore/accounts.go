package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/veil-id/veil"
)

const accountColumns = `id, email, display_name, password_hash, disabled, created_at, updated_at`

// errEmailTaken is the answer to a unique violation on accounts. Account IDs
// are 128 random bits, so in practice only the email can collide.
var errEmailTaken = veil.Errorf(veil.ECONFLICT, "An account with this email address already exists.")

// FindAccountByIdentifier returns the account whose email is id, or
// ENOTFOUND.
func (db *DB) FindAccountByIdentifier(ctx context.Context, id veil.Identifier) (*veil.Account, error) {
	// Prepared: every sign-in runs it, for an account or not alike.
	row := db.queryRowPrepared(ctx, `SELECT `+accountColumns+` FROM accounts WHERE email = ?`, string(id))
	a, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No account has this email address.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: finding an account by email: %w", err)
	}
	return a, nil
}

// FindAccountByID returns the account with the given ID, or ENOTFOUND.
func (db *DB) FindAccountByID(ctx context.Context, id string) (*veil.Account, error) {
	row := db.queryRow(ctx, db.sql, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id)
	a, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No account has this ID.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: finding an account by ID: %w", err)
	}
	return a, nil
}

// CreateAccount stores a new account; ECONFLICT if the email is taken.
func (db *DB) CreateAccount(ctx context.Context, a *veil.Account) error {
	return db.insertAccount(ctx, db.sql, a)
}

// insertAccount is CreateAccount on q, a transaction or the database.
func (db *DB) insertAccount(ctx context.Context, q queryer, a *veil.Account) error {
	if a.ID == "" || a.Email == "" {
		return veil.Errorf(veil.EINVALID, "An account needs an ID and an email address.")
	}
	_, err := db.exec(ctx, q, `
		INSERT INTO accounts (`+accountColumns+`, hash_params)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, string(a.Email), a.DisplayName, a.PasswordHash, a.Disabled,
		toMicros(a.CreatedAt), toMicros(a.UpdatedAt), veil.HashParams(a.PasswordHash))
	if db.isUniqueViolation(err) {
		return errEmailTaken
	} else if err != nil {
		return fmt.Errorf("sqlstore: creating an account: %w", err)
	}
	return nil
}

// UpdateAccount replaces the email, display name, password hash and
// disabled flag of the account with a.ID and sets a.UpdatedAt; ENOTFOUND if
// there is none, ECONFLICT if the new email is taken.
func (db *DB) UpdateAccount(ctx context.Context, a *veil.Account) error {
	if a.Email == "" {
		return veil.Errorf(veil.EINVALID, "An account needs an email address.")
	}
	now := db.now()
	res, err := db.exec(ctx, db.sql, `
		UPDATE accounts
		SET email = ?, display_name = ?, password_hash = ?, hash_params = ?, disabled = ?, updated_at = ?
		WHERE id = ?`,
		string(a.Email), a.DisplayName, a.PasswordHash, veil.HashParams(a.PasswordHash), a.Disabled, toMicros(now), a.ID)
	if db.isUniqueViolation(err) {
		return errEmailTaken
	} else if err != nil {
		return fmt.Errorf("sqlstore: updating an account: %w", err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return veil.Errorf(veil.ENOTFOUND, "No account has this ID.")
	}
	a.UpdatedAt = now
	return nil
}

// ReplacePasswordHash sets the hash of account id to newHash if it is still
// oldHash; ENOTFOUND if there is no such account or its hash has changed.
func (db *DB) ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string) error {
	res, err := db.exec(ctx, db.sql, `
		UPDATE accounts SET password_hash = ?, hash_params = ?, updated_at = ?
		WHERE id = ? AND password_hash = ?`,
		newHash, veil.HashParams(newHash), toMicros(db.now()), id, oldHash)
	if err != nil {
		return fmt.Errorf("sqlstore: replacing a password hash: %w", err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return veil.Errorf(veil.ENOTFOUND, "No account has this ID and password hash.")
	}
	return nil
}

// DeleteAccount removes the account and its sessions; ENOTFOUND if there is
// none.
func (db *DB) DeleteAccount(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		// The foreign key cascades too; deleting here as well keeps the
		// promise even on a connection where SQLite's foreign_keys is off.
		if _, err := db.exec(ctx, tx, `DELETE FROM sessions WHERE account_id = ?`, id); err != nil {
			return fmt.Errorf("sqlstore: deleting an account's sessions: %w", err)
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM account_groups WHERE account_id = ?`, id); err != nil {
			return fmt.Errorf("sqlstore: deleting an account's groups: %w", err)
		}
		res, err := db.exec(ctx, tx, `DELETE FROM accounts WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("sqlstore: deleting an account: %w", err)
		}
		n, err := rowsAffected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return veil.Errorf(veil.ENOTFOUND, "No account has this ID.")
		}
		return nil
	})
}

// ListAccounts returns every account ordered by email. Both schemas compare
// emails byte by byte (SQLite's BINARY, PostgreSQL's "C"), so the order is
// the same on either and does not depend on the server's locale.
func (db *DB) ListAccounts(ctx context.Context) ([]*veil.Account, error) {
	rows, err := db.query(ctx, db.sql, `SELECT `+accountColumns+` FROM accounts ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing accounts: %w", err)
	}
	defer rows.Close()
	accounts := []*veil.Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: listing accounts: %w", err)
		}
		accounts = append(accounts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: listing accounts: %w", err)
	}
	return accounts, nil
}

func scanAccount(s scanner) (*veil.Account, error) {
	var (
		a                veil.Account
		email            string
		created, updated int64
	)
	err := s.Scan(&a.ID, &email, &a.DisplayName, &a.PasswordHash, &a.Disabled, &created, &updated)
	if err != nil {
		return nil, err
	}
	a.Email = veil.Identifier(email)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &a, nil
}
