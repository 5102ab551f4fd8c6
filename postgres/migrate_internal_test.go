package postgres

import (
	"database/sql"
	"io/fs"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/postgres/postgrestest"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/veiltest"
)

// TestMigration0006ErasesEndedRecoveries: recovery jobs that ended before
// migration 0006 lose their typed addresses; pending ones and other
// subjects stay.
func TestMigration0006ErasesEndedRecoveries(t *testing.T) {
	raw, err := sql.Open("pgx", postgrestest.MustCreate(t).DSN)
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
