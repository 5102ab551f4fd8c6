// Package sqlite opens veil's store on an embedded SQLite database, the
// default: one file, no server, no cgo (modernc.org/sqlite). The store
// itself is package sqlstore; this package only opens the file with the
// right settings and supplies SQLite's schema and error codes.
//
// It must never migrate on its own (sqlstore.DB.Migrate does, when asked),
// and never open the file so that a second writer fails instead of waiting.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/veil-id/veil/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Memory is the path that opens a private in-memory database, for tests.
const Memory = ":memory:"

// maxOpenConns bounds the pool: SQLite writes one at a time anyway, and
// each connection keeps a page cache of its own.
const maxOpenConns = 8

// busyTimeoutMillis is how long a writer waits for another to finish before
// it gives up with "database is locked".
const busyTimeoutMillis = 10000

// Open opens (creating if need be) the SQLite database at path, or a private
// in-memory one for path ":memory:". The parent directory is created,
// readable by the owner only, like the database file, which holds password
// hashes and the server's secrets. The schema is left as it is: call
// Migrate.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: no database path")
	}
	memory := path == Memory
	dsn := memoryDSN()
	if !memory {
		var err error
		if dsn, err = fileDSN(path); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)
	if memory {
		// Every connection to ":memory:" is a database of its own, so the
		// pool must hold exactly one, forever.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	return sqlstore.New(db, dialect), nil
}

// connParams are applied by the driver to every connection it opens.
func connParams() url.Values {
	return url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis),
			"foreign_keys(1)",
			// WAL lets readers go on while one writer writes.
			"journal_mode(WAL)",
			// In WAL mode NORMAL syncs at checkpoints, not at every
			// commit: a commit survives the process being killed, and
			// only an operating-system crash or power loss can take the
			// last few back. A per-commit fsync would otherwise be the
			// largest cost of a sign-in after the hash (its audit write).
			"synchronous(NORMAL)",
		},
		// BEGIN IMMEDIATE takes the write lock at once, waiting for it
		// under the busy timeout. A deferred transaction that reads first
		// and writes later fails with SQLITE_BUSY, timeout or not, when
		// another writer got in between.
		"_txlock": {"immediate"},
	}
}

func memoryDSN() string { return Memory + "?" + connParams().Encode() }

// fileDSN prepares the directory and file at path and returns a file: URI
// for them, so that no character of the path can be read as a parameter.
func fileDSN(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return "", fmt.Errorf("sqlite: creating the directory for %s: %w", path, err)
	}
	// SQLite would create the file with the umask's permissions; create
	// it first so that it, and the -wal and -shm files SQLite gives the
	// same mode, are the owner's alone.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	f.Close()
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: connParams().Encode()}
	return u.String(), nil
}

var dialect = sqlstore.Dialect{
	Name:       "sqlite",
	Migrations: mustSub(migrations, "migrations"),
	IsUniqueViolation: func(err error) bool {
		return hasCode(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
	IsForeignKeyViolation: func(err error) bool { return hasCode(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) },
}

// hasCode reports whether err is a SQLite error with one of the extended
// result codes.
func hasCode(err error, codes ...int) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code() == c {
			return true
		}
	}
	return false
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
