package sqlstore

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/veil-id/veil"
)

// LoadOrCreateSecret returns the secret called name, creating it with size
// random bytes if there is none. Concurrent callers, in this process or
// another on the same database, get one value: the insert does nothing when
// a secret of that name exists, and everyone then reads the one that won.
//
// A stored secret is returned as it is even if its length is not size:
// replacing it would silently invalidate everything it keyed.
func (db *DB) LoadOrCreateSecret(ctx context.Context, name string, size int) ([]byte, error) {
	if name == "" || size <= 0 {
		return nil, veil.Errorf(veil.EINVALID, "A secret needs a name and a positive size.")
	}
	fresh := make([]byte, size)
	rand.Read(fresh)
	_, err := db.exec(ctx, db.sql, `
		INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`,
		name, fresh, toMicros(db.now()))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: creating secret %q: %w", name, err)
	}
	var value []byte
	if err := db.queryRow(ctx, db.sql, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value); err != nil {
		return nil, fmt.Errorf("sqlstore: loading secret %q: %w", name, err)
	}
	return value, nil
}
