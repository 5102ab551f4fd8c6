package sqlite

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/veiltest"
)

// TestMigration0006ErasesEndedRecoveries: recovery jobs that ended before
// migration 0006 lose their typed addresses; pending ones and other
// subjects stay.
func TestMigration0006ErasesEndedRecoveries(t *testing.T) {
	dsn, err := fileDSN(filepath.Join(t.TempDir(), "veil.db"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	veiltest.CheckMigration0006(t, raw, dialect.Migrations, func(m fs.FS) (veil.OutboxStore, error) {
		d := dialect
		d.Migrations = m
		db := sqlstore.New(raw, d)
		return db, db.Migrate(t.Context())
	})
}
