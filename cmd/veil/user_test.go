package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(nil)
	run := func(stdin string, args ...string) (int, string) {
		t.Helper()
		full := append([]string{args[0], args[1], "--data-dir", dir}, args[2:]...)
		code, out, errOut := runMain(t, env, stdin, full...)
		return code, out + errOut
	}
	steps := []struct {
		stdin    string
		args     []string
		wantCode int
		want     string
	}{
		{"s3cret-passphrase\n", []string{"user", "add", "bob@example.com"}, 0, "added: bob@example.com"},
		{"s3cret-passphrase\n", []string{"user", "add", "BOB@example.com"}, 1, "already exists"},
		{"short\n", []string{"user", "add", "carol@example.com"}, 1, "at least 8"},
		{"", []string{"user", "add", "carol@example.com"}, 1, "no password on stdin"},
		{"x\n", []string{"user", "add", "not-an-email"}, 1, "email address"},
		{"", []string{"user", "list"}, 0, "bob@example.com"},
		{"", []string{"user", "disable", "bob@example.com"}, 0, "disabled: bob@example.com"},
		{"", []string{"user", "list"}, 0, "disabled"},
		{"", []string{"user", "enable", "bob@example.com"}, 0, "enabled: bob@example.com"},
		{"another-passphrase\n", []string{"user", "set-password", "bob@example.com"}, 0, "password set: bob@example.com"},
		{"", []string{"user", "disable", "nobody@example.com"}, 1, "no such account"},
		{"", []string{"user", "delete", "bob@example.com"}, 0, "deleted: bob@example.com"},
		{"", []string{"user", "list"}, 0, "ID"},
		{"", []string{"user", "frobnicate", "x"}, 2, "unknown user command"},
	}
	for _, s := range steps {
		code, out := run(s.stdin, s.args...)
		if code != s.wantCode || !strings.Contains(out, s.want) {
			t.Errorf("veil %s: exit %d, want %d with %q:\n%s", strings.Join(s.args, " "), code, s.wantCode, s.want, out)
		}
	}
	if _, out := run("", "user", "list"); strings.Contains(out, "bob@") {
		t.Errorf("deleted account still listed:\n%s", out)
	}
	// Each change an operator made is in the audit log, newest first,
	// with a keyed hash of the address and never the address.
	code, out := run("", "audit", "--json")
	if code != 0 {
		t.Fatalf("veil audit --json: exit %d\n%s", code, out)
	}
	var kinds []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct{ Kind, Client string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit --json line %q: %v", line, err)
		}
		if ev.Client == "cli" {
			kinds = append(kinds, ev.Kind)
		}
	}
	want := "account_deleted password_set account_enabled account_disabled account_added"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("operator events %q, want %q", got, want)
	}
	if strings.Contains(out, "bob@") {
		t.Errorf("the audit log holds the address:\n%s", out)
	}
}

func TestPasswordNeverFromArgv(t *testing.T) {
	code, out, errOut := runMain(t, testEnv(nil), "", "user", "add", "--password", "hunter22", "x@example.com")
	if code != 2 {
		t.Errorf("user add --password: exit %d, want 2 (no such flag)\n%s%s", code, out, errOut)
	}
}
