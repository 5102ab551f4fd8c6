package sqlstore

import (
	"context"
	"fmt"

	"github.com/veil-id/veil"
)

// distinctHashParams walks the hash_params index from one distinct value to
// the next (a "loose index scan", which neither SQLite nor PostgreSQL does
// for SELECT DISTINCT): a few index probes per parameter set, however many
// accounts there are, so the time floor may ask every few seconds.
const distinctHashParams = `
WITH RECURSIVE sets(p) AS (
	SELECT MIN(hash_params) FROM accounts
	UNION ALL
	SELECT (SELECT MIN(hash_params) FROM accounts WHERE hash_params > sets.p) FROM sets WHERE sets.p IS NOT NULL
)
SELECT p FROM sets WHERE p IS NOT NULL`

// PasswordHashParams returns the distinct parameter sets (veil.HashParams)
// of the stored password hashes, in byte order. Rows written before the
// column existed (or by an older veil) are filled in first.
func (db *DB) PasswordHashParams(ctx context.Context) ([]string, error) {
	if err := db.fillHashParams(ctx); err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, db.sql, distinctHashParams)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing password hash parameters: %w", err)
	}
	defer rows.Close()
	sets := []string{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("sqlstore: listing password hash parameters: %w", err)
		}
		sets = append(sets, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: listing password hash parameters: %w", err)
	}
	return sets, nil
}

// fillHashParams computes hash_params where it is NULL, a batch at a time.
// Each update is guarded by the hash it was computed from, so a concurrent
// rehash is never overwritten with a stale value.
func (db *DB) fillHashParams(ctx context.Context) error {
	for {
		missing, err := db.accountsWithoutHashParams(ctx)
		if err != nil || len(missing) == 0 {
			return err
		}
		for id, hash := range missing {
			if _, err := db.exec(ctx, db.sql, `UPDATE accounts SET hash_params = ? WHERE id = ? AND password_hash = ?`,
				veil.HashParams(hash), id, hash); err != nil {
				return fmt.Errorf("sqlstore: filling in password hash parameters: %w", err)
			}
		}
	}
}

func (db *DB) accountsWithoutHashParams(ctx context.Context) (map[string]string, error) {
	rows, err := db.query(ctx, db.sql, `SELECT id, password_hash FROM accounts WHERE hash_params IS NULL LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: finding password hashes without parameters: %w", err)
	}
	defer rows.Close()
	missing := map[string]string{}
	for rows.Next() {
		var id, hash string
		if err := rows.Scan(&id, &hash); err != nil {
			return nil, fmt.Errorf("sqlstore: finding password hashes without parameters: %w", err)
		}
		missing[id] = hash
	}
	return missing, rows.Err()
}
