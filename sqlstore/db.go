// Package sqlstore implements veil.Store once over database/sql, for every
// SQL database veil runs on. The sqlite and postgres packages open a
// connection and describe in a Dialect the few things that differ; the
// queries, the error mapping and the migration runner live here, once.
//
// It stores what the core gives it and answers what it is asked. It must
// never decide anything about accounts (that is package veil's job), never
// put a secret, password hash or token into an error or a log, and never
// change the schema on its own: opening a store does not migrate it, Migrate
// does, when a command asks.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/veil-id/veil"
)

// Dialect is what differs between the databases sqlstore runs on.
type Dialect struct {
	// Name names the database in error messages: "sqlite", "postgres".
	Name string
	// NumberedPlaceholders says the driver wants $1, $2, ... where the
	// queries here write ?.
	NumberedPlaceholders bool
	// MigrationLock is a statement run first in every migration
	// transaction so that two processes migrating at once take turns. It
	// is "" where beginning a transaction already excludes other writers
	// (SQLite with _txlock=immediate).
	MigrationLock string
	// Migrations holds the schema as *.sql files at its root, applied in
	// the order of their names (0001_init.sql, 0002_outbox.sql, ...).
	Migrations fs.FS
	// IsUniqueViolation reports whether err is a unique or primary key
	// constraint failure.
	IsUniqueViolation func(error) bool
	// IsForeignKeyViolation reports whether err is a foreign key failure.
	IsForeignKeyViolation func(error) bool
}

// DB is veil's store on one SQL database.
type DB struct {
	sql     *sql.DB
	dialect Dialect

	// prepared holds the statements of the queries every sign-in runs
	// (query text → *sql.Stmt), prepared once instead of parsed again on
	// each call: see preparedStmt.
	prepared sync.Map

	// Now is the clock for the times the store records by itself:
	// UpdateAccount's UpdatedAt, when a migration or secret was made.
	// Tests may replace it before first use.
	Now func() time.Time
}

var _ veil.Store = (*DB)(nil)

// New returns a store on db, which it owns from then on: Close closes it.
// The schema is not touched until Migrate is called.
func New(db *sql.DB, d Dialect) *DB {
	return &DB{sql: db, dialect: d, Now: time.Now}
}

// Close closes the database.
func (db *DB) Close() error {
	db.prepared.Range(func(_, stmt any) bool {
		stmt.(*sql.Stmt).Close()
		return true
	})
	return db.sql.Close()
}

// Ping checks that the database answers, for health checks.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: %s does not answer: %w", db.dialect.Name, err)
	}
	return nil
}

// now returns the store's clock reading as it will read back: UTC, to the
// microsecond.
func (db *DB) now() time.Time { return fromMicros(toMicros(db.Now())) }

// Times are stored as BIGINT microseconds since the Unix epoch in every
// database. Native timestamp types scan differently in each driver (pgx
// gives a time.Time, modernc.org/sqlite text or an integer depending on how
// the value was written, each with its own idea of the zone); one integer
// gives one scanning path, exact round trips at PostgreSQL's own precision,
// and UTC by construction.
func toMicros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// queryer is what a query runs on: the pool or a transaction.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func (db *DB) exec(ctx context.Context, q queryer, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, db.rebind(query), args...)
}

func (db *DB) query(ctx context.Context, q queryer, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, db.rebind(query), args...)
}

func (db *DB) queryRow(ctx context.Context, q queryer, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, db.rebind(query), args...)
}

// preparedStmt returns query prepared on the pool, preparing it on first
// use. It is for the few constant queries on every sign-in's path (the
// account lookup, the audit write): parsing one costs SQLite about as much
// CPU as running it, and a sign-in's CPU outside its hash is hash
// throughput lost. database/sql prepares the statement again on each
// connection that runs it, and re-prepares it after a schema change.
func (db *DB) preparedStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	query = db.rebind(query)
	if stmt, ok := db.prepared.Load(query); ok {
		return stmt.(*sql.Stmt), nil
	}
	stmt, err := db.sql.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if first, loaded := db.prepared.LoadOrStore(query, stmt); loaded {
		stmt.Close()
		return first.(*sql.Stmt), nil
	}
	return stmt, nil
}

// execPrepared is exec of a constant query on the pool, prepared once.
func (db *DB) execPrepared(ctx context.Context, query string, args ...any) (sql.Result, error) {
	stmt, err := db.preparedStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.ExecContext(ctx, args...)
}

// queryRowPrepared is queryRow of a constant query on the pool, prepared
// once. A statement that cannot be prepared is run unprepared, so that its
// error comes back through the row like any other.
func (db *DB) queryRowPrepared(ctx context.Context, query string, args ...any) *sql.Row {
	stmt, err := db.preparedStmt(ctx, query)
	if err != nil {
		return db.queryRow(ctx, db.sql, query, args...)
	}
	return stmt.QueryRowContext(ctx, args...)
}

// rebind turns the ? placeholders of a query into $1, $2, ... where the
// dialect needs it. The queries in this package never hold a ? inside a
// string literal, so every ? is a placeholder.
func (db *DB) rebind(query string) string {
	if !db.dialect.NumberedPlaceholders || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// inTx runs fn in a transaction, committing if it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: beginning a transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: committing: %w", err)
	}
	return nil
}

func (db *DB) isUniqueViolation(err error) bool {
	return err != nil && db.dialect.IsUniqueViolation != nil && db.dialect.IsUniqueViolation(err)
}

func (db *DB) isForeignKeyViolation(err error) bool {
	return err != nil && db.dialect.IsForeignKeyViolation != nil && db.dialect.IsForeignKeyViolation(err)
}

// rowsAffected returns how many rows a statement changed.
func rowsAffected(res sql.Result) (int, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: counting changed rows: %w", err)
	}
	return int(n), nil
}
