// Package postgrestest gives each test a PostgreSQL schema of its own on
// the server of VEIL_TEST_POSTGRES, so tests can run in parallel and
// against a shared server without touching what they did not create.
// It is for tests only.
package postgrestest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for looking behind the store

	"github.com/veil-id/veil/veiltest"
)

// Schema is a schema made for one test, dropped with everything in it when
// the test ends.
type Schema struct {
	Name string
	// DSN connects with the schema as search_path.
	DSN string
	// Admin connects to the database as VEIL_TEST_POSTGRES gives it.
	Admin *sql.DB
}

// MustCreate makes a fresh schema for tb, under the rule of
// veiltest.RequireServer (skipped without VEIL_TEST_POSTGRES, failed in CI).
func MustCreate(tb testing.TB) *Schema {
	tb.Helper()
	dsn := veiltest.PostgresDSN(tb)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Close() })
	var b [8]byte
	rand.Read(b[:])
	name := "veil_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(tb.Context(), "CREATE SCHEMA "+name); err != nil {
		tb.Fatalf("creating schema %s: %v", name, err)
	}
	tb.Cleanup(func() {
		// tb.Context is done by now.
		if _, err := admin.Exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
			tb.Errorf("dropping schema %s: %v", name, err)
		}
	})
	return &Schema{Name: name, DSN: withSearchPath(tb, dsn, name), Admin: admin}
}

// withSearchPath returns dsn with search_path set to schema, in whichever
// form dsn is written.
func withSearchPath(tb testing.TB, dsn, schema string) string {
	tb.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("VEIL_TEST_POSTGRES is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
