// Package sqlitetest opens real, migrated SQLite databases for tests of
// other packages: the embedded store is cheap enough that tests use it
// instead of a fake. It is for tests only.
package sqlitetest

import (
	"path/filepath"
	"testing"

	"github.com/veil-id/veil/sqlite"
	"github.com/veil-id/veil/sqlstore"
)

// MustOpen opens a fresh, migrated database file in tb's temporary
// directory, closed when tb ends.
func MustOpen(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "veil.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	if err := db.Migrate(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	return db
}
