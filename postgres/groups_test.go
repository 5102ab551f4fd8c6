package postgres_test

import (
	"testing"

	"github.com/veil-id/veil/veiltest"
)

func TestGroupStore(t *testing.T) {
	veiltest.PostgresDSN(t)
	veiltest.RunGroupStoreTests(t, func(tb testing.TB) veiltest.GroupTestStore {
		db := MustCreateSchema(tb).MustOpen(tb)
		if err := db.Migrate(tb.Context()); err != nil {
			tb.Fatalf("Migrate: %v", err)
		}
		return db
	})
}
