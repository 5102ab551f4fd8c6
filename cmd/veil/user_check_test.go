package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/sqlite"
)

// TestUserCheck: after an upgrade that changed the rules of identifiers,
// `veil user check` names the accounts no spelling of their address
// reaches any more, and the account that has the address now; exit 1 then,
// 0 when there is nothing to report.
func TestUserCheck(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(nil)
	code, added, errOut := runMain(t, env, "a fine long passphrase\n", "user", "add", "--data-dir", dir, "alice@example.com")
	if code != 0 {
		t.Fatalf("user add: %s%s", added, errOut)
	}
	aliceID := strings.TrimSuffix(strings.TrimSpace(added[strings.LastIndex(added, "(")+1:]), ")")
	if code, out, errOut := runMain(t, env, "", "user", "check", "--data-dir", dir); code != 0 || !strings.Contains(out, "normal form") {
		t.Fatalf("user check with nothing to report: exit %d\n%s%s", code, out, errOut)
	}
	// What sign-up made of "alice@example.com." before issue 10.7.
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "veil.db"))
	if err != nil {
		t.Fatal(err)
	}
	old := &veil.Account{ID: veil.NewAccountID(), Email: "alice@example.com.", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	err = db.CreateAccount(t.Context(), old)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMain(t, env, "", "user", "check", "--data-dir", dir)
	t.Logf("veil user check:\n%s", out)
	if code != 1 || !strings.Contains(out, old.ID+`  "alice@example.com."  alice@example.com  `+aliceID) || !strings.Contains(out, `"alice@example.com."`) || !strings.Contains(out, "1 account(s)") {
		t.Errorf("user check: exit %d, want 1 naming %s:\n%s%s", code, old.ID, out, errOut)
	}
	if code, out, errOut := runMain(t, env, "", "user", "list", "--data-dir", dir); code != 0 || strings.Count(out, "alice@example.com") != 2 {
		t.Errorf("user list: exit %d\n%s%s", code, out, errOut)
	}
}
