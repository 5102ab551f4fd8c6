package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/veil-id/veil"
)

const passkeyColumns = `id, account_id, credential_id, name, credential, created_at, last_used_at`

// CreatePasskey stores p; ECONFLICT if its credential ID is taken.
func (db *DB) CreatePasskey(ctx context.Context, p *veil.Passkey) error {
	if p.ID == "" || p.AccountID == "" || len(p.CredentialID) == 0 {
		return veil.Errorf(veil.EINVALID, "A passkey needs an ID, an account and a credential ID.")
	}
	var used int64
	if !p.LastUsedAt.IsZero() {
		used = toMicros(p.LastUsedAt)
	}
	_, err := db.exec(ctx, db.sql, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.AccountID, p.CredentialID, p.Name, p.Credential, toMicros(p.CreatedAt), used)
	if db.isUniqueViolation(err) {
		return veil.Errorf(veil.ECONFLICT, "This credential is registered already.")
	} else if err != nil {
		return fmt.Errorf("sqlstore: storing a passkey: %w", err)
	}
	return nil
}

func scanPasskey(row scanner) (*veil.Passkey, error) {
	var p veil.Passkey
	var created, used int64
	if err := row.Scan(&p.ID, &p.AccountID, &p.CredentialID, &p.Name, &p.Credential, &created, &used); err != nil {
		return nil, err
	}
	p.CreatedAt = fromMicros(created)
	if used != 0 {
		p.LastUsedAt = fromMicros(used)
	}
	return &p, nil
}

// ListPasskeys returns an account's passkeys, oldest first.
func (db *DB) ListPasskeys(ctx context.Context, accountID string) ([]*veil.Passkey, error) {
	rows, err := db.query(ctx, db.sql, `SELECT `+passkeyColumns+` FROM passkeys WHERE account_id = ? ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing passkeys: %w", err)
	}
	defer rows.Close()
	var keys []*veil.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading a passkey: %w", err)
		}
		keys = append(keys, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: listing passkeys: %w", err)
	}
	return keys, nil
}

// FindPasskeyByCredentialID returns the passkey with this credential ID,
// or ENOTFOUND.
func (db *DB) FindPasskeyByCredentialID(ctx context.Context, credentialID []byte) (*veil.Passkey, error) {
	p, err := scanPasskey(db.queryRow(ctx, db.sql, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = ?`, credentialID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No passkey has this credential ID.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: finding a passkey: %w", err)
	}
	return p, nil
}

// UpdatePasskeyUse stores the credential record after a use and when.
func (db *DB) UpdatePasskeyUse(ctx context.Context, id string, credential []byte, at time.Time) error {
	if _, err := db.exec(ctx, db.sql, `UPDATE passkeys SET credential = ?, last_used_at = ? WHERE id = ?`, credential, toMicros(at), id); err != nil {
		return fmt.Errorf("sqlstore: recording a passkey's use: %w", err)
	}
	return nil
}

// DeletePasskey removes the account's passkey id; ENOTFOUND if none.
func (db *DB) DeletePasskey(ctx context.Context, accountID, id string) error {
	return db.deleteOne(ctx, "deleting a passkey", "The account has no such passkey.",
		`DELETE FROM passkeys WHERE account_id = ? AND id = ?`, accountID, id)
}

// PasskeyShapes returns the credential-ID lengths of the passkeys of at
// most limit accounts, ordered by account ID.
func (db *DB) PasskeyShapes(ctx context.Context, limit int) ([]veil.PasskeyShape, error) {
	rows, err := db.query(ctx, db.sql, `
		SELECT account_id, LENGTH(credential_id) FROM passkeys
		WHERE account_id IN (SELECT DISTINCT account_id FROM passkeys ORDER BY account_id LIMIT ?)
		ORDER BY account_id, created_at, id`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading passkey shapes: %w", err)
	}
	defer rows.Close()
	var shapes []veil.PasskeyShape
	for rows.Next() {
		var acct string
		var n int
		if err := rows.Scan(&acct, &n); err != nil {
			return nil, fmt.Errorf("sqlstore: reading passkey shapes: %w", err)
		}
		if len(shapes) == 0 || shapes[len(shapes)-1].AccountID != acct {
			shapes = append(shapes, veil.PasskeyShape{AccountID: acct})
		}
		last := &shapes[len(shapes)-1]
		last.Lengths = append(last.Lengths, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading passkey shapes: %w", err)
	}
	return shapes, nil
}
