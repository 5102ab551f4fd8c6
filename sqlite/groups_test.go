package sqlite_test

import (
	"testing"

	"github.com/veil-id/veil/veiltest"
)

func TestGroupStore(t *testing.T) {
	veiltest.RunGroupStoreTests(t, func(tb testing.TB) veiltest.GroupTestStore { return MustOpenMigratedDB(tb) })
}
