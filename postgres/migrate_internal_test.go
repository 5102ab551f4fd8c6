package postgres

import (
	"database/sql"
	"testing"

	"github.com/veil-id/veil/postgres/postgrestest"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/veiltest"
)

// TestMigration0006ErasesEndedRecoveries: recovery jobs that ended before
// migration 0006 lose their typed addresses; pending ones and other
// subjects stay.
func TestMigration0006ErasesEndedRecoveries(t *testing.T) {
	ctx := t.Context()
	schema := postgrestest.MustCreate(t)
	raw, err := sql.Open("pgx", schema.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	before := dialect
	before.Migrations = veiltest.MigrationsBefore(t, dialect.Migrations, "0006")
	if err := sqlstore.New(raw, before).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	veiltest.InsertPre0006Jobs(t, raw)
	db := sqlstore.New(raw, dialect)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	veiltest.CheckPost0006Jobs(t, db)
}
