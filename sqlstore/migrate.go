package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// migrationsTable is the same on every database: it must exist before any
// migration can be recorded, so it cannot come from the dialect's files.
const migrationsTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    TEXT   NOT NULL PRIMARY KEY,
	applied_at BIGINT NOT NULL
)`

// Migrate applies the dialect's migrations that the database has not seen,
// in the order of their file names. Each runs in its own transaction with
// the record of its version, so a failed migration leaves nothing behind
// and is tried again next time; running Migrate again is harmless. Two
// processes migrating at once take turns (see Dialect.MigrationLock).
func (db *DB) Migrate(ctx context.Context) error {
	if db.dialect.Migrations == nil {
		return errors.New("sqlstore: the dialect has no migrations")
	}
	names, err := fs.Glob(db.dialect.Migrations, "*.sql")
	if err != nil {
		return fmt.Errorf("sqlstore: listing migrations: %w", err)
	}
	if len(names) == 0 {
		return errors.New("sqlstore: no migrations found")
	}
	sort.Strings(names)
	err = db.inMigrationTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, migrationsTable)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: creating schema_migrations: %w", err)
	}
	for _, name := range names {
		if err := db.applyMigration(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// applyMigration runs one migration file unless its version is recorded.
func (db *DB) applyMigration(ctx context.Context, name string) error {
	body, err := fs.ReadFile(db.dialect.Migrations, name)
	if err != nil {
		return fmt.Errorf("sqlstore: reading migration %s: %w", name, err)
	}
	version := strings.TrimSuffix(name, ".sql")
	err = db.inMigrationTx(ctx, func(tx *sql.Tx) error {
		var applied int
		err := db.queryRow(ctx, tx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&applied)
		if err != nil || applied > 0 {
			return err
		}
		// The file goes to the driver as it is, not through rebind: it
		// has no parameters, and a ? in a comment is no placeholder.
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return err
		}
		_, err = db.exec(ctx, tx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			version, toMicros(db.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: applying migration %s to %s: %w", version, db.dialect.Name, err)
	}
	return nil
}

// inMigrationTx runs fn in a transaction that holds the migration lock.
func (db *DB) inMigrationTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if db.dialect.MigrationLock != "" {
			if _, err := tx.ExecContext(ctx, db.dialect.MigrationLock); err != nil {
				return fmt.Errorf("taking the migration lock: %w", err)
			}
		}
		return fn(tx)
	})
}
