package sqlite_test

import (
	"testing"

	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
)

func TestOIDCStore(t *testing.T) {
	oidctest.RunStoreTests(t, func(tb testing.TB) oidc.Store { return MustOpenMigratedDB(tb) })
}
