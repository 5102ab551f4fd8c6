package postgres_test

import (
	"database/sql"
	"testing"

	"github.com/veil-id/veil/veiltest"
)

func TestPendingSignUpFromBeforeMigration0005(t *testing.T) {
	s := MustCreateSchema(t)
	db := s.MustOpen(t)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("pgx", s.DSN) // the schema's search_path
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	veiltest.TestPendingSignUpFromBeforeMigration0005(t, db,
		func(q string) error { _, err := raw.ExecContext(t.Context(), q); return err },
		func() error { return db.Migrate(t.Context()) })
}
