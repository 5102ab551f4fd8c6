package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/veil-id/veil/veiltest"
)

func TestPendingSignUpFromBeforeMigration0005(t *testing.T) {
	path := filepath.Join(t.TempDir(), "veil.db")
	db := MustOpenDB(t, path)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, path)
	veiltest.TestPendingSignUpFromBeforeMigration0005(t, db,
		func(q string) error { _, err := raw.ExecContext(t.Context(), q); return err },
		func() error { return db.Migrate(t.Context()) })
}
