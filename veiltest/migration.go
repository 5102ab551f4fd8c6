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

// InsertPre0006Jobs writes outbox rows as a veil before migration 0006 did:
// recovery jobs keeping the typed address whatever their state.
func InsertPre0006Jobs(tb testing.TB, raw *sql.DB) {
	tb.Helper()
	_, err := raw.ExecContext(tb.Context(), `INSERT INTO outbox (kind, subject, state, created_at, next_attempt_at) VALUES
		('recover', 'done@example.com', 'done', 1, 1),
		('recover', 'dead@example.com', 'dead', 1, 1),
		('recover', 'pending@example.com', 'pending', 1, 1),
		('password_changed', 'acct-1', 'done', 1, 1)`)
	if err != nil {
		tb.Fatalf("writing pre-0006 jobs: %v", err)
	}
}

// CheckPost0006Jobs checks what migration 0006 left of InsertPre0006Jobs.
func CheckPost0006Jobs(tb testing.TB, st veil.OutboxStore) {
	tb.Helper()
	want := map[string][]string{
		veil.JobDone:    {"", "acct-1"},
		veil.JobDead:    {""},
		veil.JobPending: {"pending@example.com"},
	}
	for state, subjects := range want {
		jobs, err := st.ListJobs(tb.Context(), state, 10)
		if err != nil {
			tb.Fatal(err)
		}
		var got []string
		for _, j := range jobs {
			got = append(got, j.Subject)
		}
		slices.Sort(got)
		if strings.Join(got, ",") != strings.Join(subjects, ",") {
			tb.Errorf("after migration 0006, %s jobs have subjects %q; want %q", state, got, subjects)
		}
	}
}
