package veiltest

import (
	"database/sql"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/veil-id/veil"
)

// MigrationsBefore returns the migration files of fsys whose names sort
// before version, to build a database as an older veil left it.
func MigrationsBefore(tb testing.TB, fsys fs.FS, version string) fs.FS {
	tb.Helper()
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		tb.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, name := range names {
		if strings.Compare(name, version) >= 0 {
			continue
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			tb.Fatal(err)
		}
		out[name] = &fstest.MapFile{Data: b}
	}
	return out
}

// CheckMigration0006 builds a database as veil left it before migration
// 0006, with recovery jobs keeping their typed addresses in every state,
// migrates it on and checks that the jobs that had ended lost their
// addresses while the others kept their subjects. raw is the empty
// database; migrate applies the given migration files to it and returns
// the store on it.
func CheckMigration0006(t *testing.T, raw *sql.DB, migrations fs.FS, migrate func(fs.FS) (veil.OutboxStore, error)) {
	t.Helper()
	if _, err := migrate(MigrationsBefore(t, migrations, "0006")); err != nil {
		t.Fatal(err)
	}
	_, err := raw.ExecContext(t.Context(), `INSERT INTO outbox (kind, subject, state, created_at, next_attempt_at) VALUES
		('recover', 'done@example.com', 'done', 1, 1),
		('recover', 'dead@example.com', 'dead', 1, 1),
		('recover', 'pending@example.com', 'pending', 1, 1),
		('password_changed', 'acct-1', 'done', 1, 1)`)
	if err != nil {
		t.Fatalf("writing pre-0006 jobs: %v", err)
	}
	st, err := migrate(migrations)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		veil.JobDone:    {"", "acct-1"},
		veil.JobDead:    {""},
		veil.JobPending: {"pending@example.com"},
	}
	for state, subjects := range want {
		jobs, err := st.ListJobs(t.Context(), state, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, j := range jobs {
			got = append(got, j.Subject)
		}
		slices.Sort(got)
		if !slices.Equal(got, subjects) {
			t.Errorf("after migration 0006, %s jobs have subjects %q; want %q", state, got, subjects)
		}
	}
}
