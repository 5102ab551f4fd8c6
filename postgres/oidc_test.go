package postgres_test

import (
	"testing"

	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/veiltest"
)

func TestOIDCStore(t *testing.T) {
	veiltest.PostgresDSN(t) // skip, or fail in CI, once rather than in every subtest
	oidctest.RunStoreTests(t, func(tb testing.TB) oidc.Store { return mustOpenMigrated(tb) })
}

// mustOpenMigrated opens a migrated store in a fresh schema.
func mustOpenMigrated(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	db := MustCreateSchema(tb).MustOpen(tb)
	if err := db.Migrate(tb.Context()); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return db
}
