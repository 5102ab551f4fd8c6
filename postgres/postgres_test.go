package postgres_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for looking behind the store
	"github.com/veil-id/veil"
	"github.com/veil-id/veil/postgres"
	"github.com/veil-id/veil/postgres/postgrestest"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/veiltest"
)

// testSchema is a schema made for one test, dropped when it ends.
type testSchema struct{ *postgrestest.Schema }

// MustCreateSchema makes a fresh schema for tb.
func MustCreateSchema(tb testing.TB) *testSchema {
	tb.Helper()
	return &testSchema{postgrestest.MustCreate(tb)}
}

// MustOpen opens a store on the schema, closed when tb ends.
func (s *testSchema) MustOpen(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	db, err := postgres.Open(tb.Context(), s.DSN)
	if err != nil {
		tb.Fatal(err)
	}
	// Registered after the schema's cleanup, so it runs before it.
	tb.Cleanup(func() { db.Close() })
	return db
}

// count returns the number of rows of a table in the schema.
func (s *testSchema) count(tb testing.TB, table string) int {
	tb.Helper()
	var n int
	if err := s.Admin.QueryRowContext(tb.Context(), "SELECT COUNT(*) FROM "+s.Name+"."+table).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestStore(t *testing.T) {
	veiltest.PostgresDSN(t) // skip, or fail in CI, once rather than in every subtest
	veiltest.RunStoreTests(t, func(tb testing.TB) veil.Store { return mustOpenMigrated(tb) })
}

func TestOpenDoesNotMigrate(t *testing.T) {
	s := MustCreateSchema(t)
	db := s.MustOpen(t)
	var tables int
	err := s.Admin.QueryRowContext(t.Context(),
		`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1`, s.Name).Scan(&tables)
	if err != nil || tables != 0 {
		t.Fatalf("after Open, schema has %d tables (%v), want none", tables, err)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if _, err := db.ListAccounts(t.Context()); err != nil {
		t.Fatalf("ListAccounts after Migrate: %v", err)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	s := MustCreateSchema(t)
	db := s.MustOpen(t)
	for i := range 3 {
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	if _, err := db.LoadOrCreateSecret(t.Context(), "k", 32); err != nil {
		t.Fatal(err)
	}
	if err := s.MustOpen(t).Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate from a second instance: %v", err)
	}
	if got, want := s.count(t, "schema_migrations"), migrationCount(t); got != want {
		t.Errorf("schema_migrations has %d rows, want %d (one per file)", got, want)
	}
	if got := s.count(t, "secrets"); got != 1 {
		t.Errorf("secrets has %d rows after migrating again, want 1", got)
	}
}

// TestMigrateConcurrently starts instances on one empty schema at once, as a
// deployment of several replicas does: all must succeed, once each.
func TestMigrateConcurrently(t *testing.T) {
	s := MustCreateSchema(t)
	const instances = 4
	dbs := make([]*sqlstore.DB, instances)
	for i := range dbs {
		dbs[i] = s.MustOpen(t)
	}
	errs := make([]error, instances)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() {
			<-start
			errs[i] = db.Migrate(t.Context())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: Migrate: %v", i, err)
		}
	}
	if got, want := s.count(t, "schema_migrations"), migrationCount(t); got != want {
		t.Errorf("schema_migrations has %d rows, want %d (one per file)", got, want)
	}
}

// TestEmailsCompareByteForByte checks the schema, since the test server's
// own locale may already sort by bytes: under a locale's collation, the
// order of ListAccounts would differ from SQLite's ("ärger" before "bob").
func TestEmailsCompareByteForByte(t *testing.T) {
	s := MustCreateSchema(t)
	if err := s.MustOpen(t).Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	var collation sql.NullString
	err := s.Admin.QueryRowContext(t.Context(), `
		SELECT collation_name FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = 'accounts' AND column_name = 'email'`, s.Name).Scan(&collation)
	if err != nil || collation.String != "C" {
		t.Errorf("accounts.email collation = %v, %v; want C", collation, err)
	}
}

// TestOpenErrorHidesPassword checks that a failed connection does not put
// the DSN's password into an error, which ends up in logs.
func TestOpenErrorHidesPassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://veil:hunter2@127.0.0.1:1/veil?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=veil password=hunter2 dbname=veil sslmode=disable connect_timeout=2",
		"postgres://veil:hunter2@127.0.0.1:5432/veil?sslmode=nonsense",
	} {
		db, err := postgres.Open(t.Context(), dsn)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", dsn)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}

// migrationCount is how many migration files the package embeds.
func migrationCount(tb testing.TB) int {
	tb.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no migration files found: %v", err)
	}
	return len(files)
}
