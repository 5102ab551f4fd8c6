// Package postgres opens veil's store on PostgreSQL, for when one machine is
// not enough: several veil instances can share one database. The store
// itself is package sqlstore; this package only connects (pgx through
// database/sql) and supplies PostgreSQL's schema, placeholders, error codes
// and migration lock.
//
// It must never migrate on its own (sqlstore.DB.Migrate does, when asked),
// and never let two instances migrate at the same time.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/veil-id/veil/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Pool bounds. The pool must not grow without limit: each connection is a
// server process, and several instances share the server's max_connections.
const (
	maxOpenConns    = 16
	maxConnIdleTime = 5 * time.Minute
)

// Open connects to the PostgreSQL database named by dsn, a URL
// (postgres://user@host/db?sslmode=...) or key=value string as libpq takes
// it. Tables live in the connection's current schema, so a search_path in
// the DSN chooses where. The schema is left as it is: call Migrate.
func Open(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgconn's parse errors leave the password out.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)
	db.SetConnMaxIdleTime(maxConnIdleTime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connecting to %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	return sqlstore.New(db, dialect), nil
}

// migrationLockKey is the first half of the advisory lock key that
// serializes migrations (the bytes of "veil"); the second half is a hash of
// the schema being migrated, so instances on one schema take turns while
// separate schemas on one server, as in the tests, do not wait for each
// other. The lock is released when the migration's transaction ends.
const migrationLockKey = 0x7665696c

var dialect = sqlstore.Dialect{
	Name:                 "postgres",
	NumberedPlaceholders: true,
	MigrationLock: fmt.Sprintf(
		`SELECT pg_advisory_xact_lock(%d, hashtext(coalesce(current_schema(), '')))`, migrationLockKey),
	Migrations:            mustSub(migrations, "migrations"),
	IsUniqueViolation:     func(err error) bool { return hasCode(err, "23505") }, // unique_violation
	IsForeignKeyViolation: func(err error) bool { return hasCode(err, "23503") }, // foreign_key_violation
}

// hasCode reports whether err is a PostgreSQL error with the SQLSTATE code.
func hasCode(err error, code string) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == code
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
