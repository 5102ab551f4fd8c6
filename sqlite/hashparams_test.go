package sqlite_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

// TestHashParamsOfOlderRows checks that accounts written before migration
// 0004 (hash_params NULL) are reported too: the floor must cover them.
func TestHashParamsOfOlderRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "veil.db")
	db := MustOpenDB(t, path)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i, hash := range []string{
		"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"",
	} {
		id, _ := veil.NormalizeIdentifier("old" + string(rune('a'+i)) + "@example.com")
		acct := &veil.Account{ID: veil.NewAccountID(), Email: id, PasswordHash: hash, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := db.CreateAccount(t.Context(), acct); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rawDB(t, path).ExecContext(t.Context(), `UPDATE accounts SET hash_params = NULL`); err != nil {
		t.Fatal(err)
	}
	got, err := db.PasswordHashParams(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "$2b$12", "$argon2id$v=19$m=19456,t=2,p=1"}
	if !slices.Equal(got, want) {
		t.Errorf("PasswordHashParams over rows without hash_params = %q, want %q", got, want)
	}
	if n := countNull(t, path); n != 0 {
		t.Errorf("%d rows still without hash_params", n)
	}
}

func countNull(tb testing.TB, path string) int {
	tb.Helper()
	var n int
	if err := rawDB(tb, path).QueryRowContext(tb.Context(), `SELECT COUNT(*) FROM accounts WHERE hash_params IS NULL`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}
