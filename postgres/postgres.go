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
	"strconv"
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

// Options bounds how long the database may keep veil waiting.
type Options struct {
	// ConnectTimeout bounds opening one connection, TLS and
	// authentication included (default 5s).
	ConnectTimeout time.Duration
	// StatementTimeout, when not 0, is the server's statement_timeout for
	// veil's sessions: a statement stuck on a lock or a slow disk is
	// ended by the server too, not only abandoned by veil at its
	// request's deadline. Migrations run without it.
	StatementTimeout time.Duration
}

// DefaultConnectTimeout is Options.ConnectTimeout when it is not set.
const DefaultConnectTimeout = 5 * time.Second

// Open connects to the PostgreSQL database named by dsn, a URL
// (postgres://user@host/db?sslmode=...) or key=value string as libpq takes
// it, with the default Options.
func Open(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	return OpenOptions(ctx, dsn, Options{})
}

// OpenOptions is Open with opts. Tables live in the connection's current
// schema, so a search_path in the DSN chooses where. The schema is left as
// it is: call Migrate.
//
// Every call honours its context: pgx abandons a connection whose context
// ends (the connection is closed, never reused half-read), database/sql
// stops waiting for a free connection, and the pool dials new ones once
// the server answers again, so veil recovers without a restart.
func OpenOptions(ctx context.Context, dsn string, opts Options) (*sqlstore.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgconn's parse errors leave the password out.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.ConnectTimeout <= 0 || cfg.ConnectTimeout > opts.ConnectTimeout {
		cfg.ConnectTimeout = opts.ConnectTimeout
	}
	if opts.StatementTimeout > 0 {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)
	db.SetConnMaxIdleTime(maxConnIdleTime)
	pctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
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
	// The lock also lifts statement_timeout for the rest of the
	// migration's transaction: a migration may rightly take longer than
	// any request.
	MigrationLock: fmt.Sprintf(
		`SELECT set_config('statement_timeout', '0', true), pg_advisory_xact_lock(%d, hashtext(coalesce(current_schema(), '')))`, migrationLockKey),
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
