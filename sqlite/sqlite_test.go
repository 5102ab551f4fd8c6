package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/sqlite"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/veiltest"
)

// MustOpenDB opens the SQLite database at path, closed when tb ends.
func MustOpenDB(tb testing.TB, path string) *sqlstore.DB {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

// MustOpenMigratedDB opens a fresh, migrated database file in tb's
// temporary directory.
func MustOpenMigratedDB(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	db := MustOpenDB(tb, filepath.Join(tb.TempDir(), "veil.db"))
	if err := db.Migrate(tb.Context()); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return db
}

func TestStore(t *testing.T) {
	veiltest.RunStoreTests(t, func(tb testing.TB) veil.Store { return MustOpenMigratedDB(tb) })
}

func TestStoreInMemory(t *testing.T) {
	veiltest.RunStoreTests(t, func(tb testing.TB) veil.Store {
		db := MustOpenDB(tb, sqlite.Memory)
		if err := db.Migrate(tb.Context()); err != nil {
			tb.Fatalf("Migrate: %v", err)
		}
		return db
	})
}

func TestOpenDoesNotMigrate(t *testing.T) {
	db := MustOpenDB(t, filepath.Join(t.TempDir(), "veil.db"))
	_, err := db.ListAccounts(t.Context())
	if err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Fatalf("ListAccounts before Migrate = %v, want a missing table", err)
	}
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if _, err := db.ListAccounts(t.Context()); err != nil {
		t.Fatalf("ListAccounts after Migrate: %v", err)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "veil.db")
	db := MustOpenDB(t, path)
	for i := range 3 {
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	id, _ := veil.NormalizeIdentifier("kept@example.com")
	acct := &veil.Account{ID: veil.NewAccountID(), Email: id, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := db.CreateAccount(t.Context(), acct); err != nil {
		t.Fatal(err)
	}
	// Another process opening the same file later migrates again, and
	// the data stays.
	again := MustOpenDB(t, path)
	if err := again.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate on reopen: %v", err)
	}
	if _, err := again.FindAccountByID(t.Context(), acct.ID); err != nil {
		t.Fatalf("FindAccountByID after reopen: %v", err)
	}
	if got, want := countRows(t, path, "schema_migrations"), migrationCount(t); got != want {
		t.Errorf("schema_migrations has %d rows, want %d (one per file)", got, want)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "veil.db")
	const instances = 4
	dbs := make([]*sqlstore.DB, instances)
	for i := range dbs {
		dbs[i] = MustOpenDB(t, path)
	}
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() { errs[i] = db.Migrate(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: Migrate: %v", i, err)
		}
	}
	if got, want := countRows(t, path, "schema_migrations"), migrationCount(t); got != want {
		t.Errorf("schema_migrations has %d rows, want %d (one per file)", got, want)
	}
}

// TestConcurrentWriters has two handles on one file, as two processes
// would, write at once: writers must wait for each other, never fail with
// "database is locked".
func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "veil.db")
	first := MustOpenDB(t, path)
	if err := first.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	dbs := []*sqlstore.DB{first, MustOpenDB(t, path)}
	const writers, accounts = 8, 20
	errs := make(chan error, writers*accounts)
	var wg sync.WaitGroup
	for w := range writers {
		db := dbs[w%len(dbs)]
		wg.Go(func() {
			for range accounts {
				errs <- createAccountWithSession(t.Context(), db)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	list, err := first.ListAccounts(t.Context())
	if err != nil || len(list) != writers*accounts {
		t.Fatalf("ListAccounts = %d accounts, %v; want %d", len(list), err, writers*accounts)
	}
}

func createAccountWithSession(ctx context.Context, db *sqlstore.DB) error {
	id := veil.NewAccountID()
	email, err := veil.NormalizeIdentifier(id + "@example.com")
	if err != nil {
		return err
	}
	now := time.Now()
	if err := db.CreateAccount(ctx, &veil.Account{ID: id, Email: email, CreatedAt: now, UpdatedAt: now}); err != nil {
		return err
	}
	_, idHash := veil.NewSessionToken()
	s := &veil.Session{IDHash: idHash, AccountID: id, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateSession(ctx, s); err != nil {
		return err
	}
	// A write transaction that finds nothing to delete.
	if err := db.DeleteAccount(ctx, id+"-missing"); veil.ErrorCode(err) != veil.ENOTFOUND {
		return err
	}
	return nil
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "veil")
	path := filepath.Join(dir, "veil.db")
	db := MustOpenDB(t, path)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700 | os.ModeDir}, {path, 0o600}, {path + "-wal", 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Errorf("Stat: %v", err)
			continue
		}
		if got := fi.Mode() & (os.ModeDir | os.ModePerm); got != c.want {
			t.Errorf("%s has mode %v, want %v", c.path, got, c.want)
		}
	}
}

// TestConnectionSettings checks what the DSN asks of every connection: WAL.
// Sessions have no foreign key to accounts since migration 0003: with
// store.driver = "ldap" their accounts live in the directory.
func TestConnectionSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "veil.db")
	db := MustOpenDB(t, path)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := rawDB(t, path).QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	_, idHash := veil.NewSessionToken()
	now := time.Now()
	err := db.CreateSession(t.Context(), &veil.Session{IDHash: idHash, AccountID: veil.NewAccountID(), CreatedAt: now, LastSeenAt: now, ExpiresAt: now})
	if err != nil {
		t.Errorf("CreateSession(account kept elsewhere) = %v, want it stored", err)
	}
}

func TestOpenErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	notADB := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(notADB, []byte(strings.Repeat("garbage ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"", filepath.Join(file, "veil.db"), notADB} {
		if db, err := sqlite.Open(t.Context(), path); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

// rawDB opens the file without the store, to look at it.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func countRows(tb testing.TB, path, table string) int {
	tb.Helper()
	var n int
	if err := rawDB(tb, path).QueryRowContext(tb.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// migrationCount is how many migration files the package embeds.
func migrationCount(tb testing.TB) int {
	tb.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no migration files found: %v", err)
	}
	return len(files)
}
