package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/sqlite"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/web"
)

// TestHelp: every command and subcommand explains itself on stdout with exit
// 0, listing only the flags it takes.
func TestHelp(t *testing.T) {
	tests := []struct {
		args    []string
		want    []string
		notWant []string
	}{
		{[]string{"--help"}, []string{"usage: veil <command>", "serve", "outbox"}, nil},
		{[]string{"help"}, []string{"usage: veil <command>"}, nil},
		{[]string{"help", "audit"}, []string{"usage: veil audit", "-json"}, nil},
		{[]string{"help", "user", "add"}, []string{"usage: veil user add", "-name"}, nil},
		{[]string{"user", "--help"}, []string{"usage: veil user <add|list"}, nil},
		{[]string{"user", "list", "--help"}, []string{"usage: veil user list", "-data-dir"}, []string{"-name"}},
		{[]string{"user", "disable", "-h"}, []string{"usage: veil user disable [flags] EMAIL|ID"}, []string{"-name"}},
		{[]string{"user", "add", "--help"}, []string{"usage: veil user add [flags] EMAIL", "-name"}, nil},
		{[]string{"session", "list", "--help"}, []string{"usage: veil session list"}, []string{"-account"}},
		{[]string{"session", "revoke", "--help"}, []string{"-account"}, nil},
		{[]string{"outbox", "list", "--help"}, []string{"-state", "dead, pending, leased, done"}, []string{"-all"}},
		{[]string{"outbox", "retry", "--help"}, []string{"-all"}, []string{"-state"}},
		{[]string{"config", "--help"}, []string{"usage: veil config print"}, []string{"usage: usage:"}},
		{[]string{"config", "print", "--help"}, []string{"usage: veil config print", "-listen"}, nil},
		{[]string{"throttle", "--help"}, []string{"usage: veil throttle reset"}, nil},
		{[]string{"throttle", "reset", "--help"}, []string{"-address"}, nil},
		{[]string{"migrate", "--help"}, []string{"usage: veil migrate"}, []string{"-listen"}},
		{[]string{"serve", "--help"}, []string{"usage: veil serve", "-admin-listen"}, nil},
		{[]string{"audit", "-help"}, []string{"usage: veil audit", "-n", "-json"}, []string{"-listen"}},
		{[]string{"version", "--help"}, []string{"usage: veil version"}, []string{"-data-dir"}},
	}
	for _, tt := range tests {
		code, out, errOut := runMain(t, testEnv(nil), "", tt.args...)
		if code != 0 || errOut != "" {
			t.Errorf("veil %s: exit %d, stderr %q; want 0 and nothing on stderr", strings.Join(tt.args, " "), code, errOut)
		}
		wantIn(t, "veil "+strings.Join(tt.args, " "), out, tt.want...)
		for _, w := range tt.notWant {
			if strings.Contains(out, w) {
				t.Errorf("veil %s: help shows %q, which is not this command's:\n%s", strings.Join(tt.args, " "), w, out)
			}
		}
	}
	// Every command answers --help, so a new one cannot forget to.
	for _, c := range commands() {
		if code, out, errOut := runMain(t, testEnv(nil), "", c.name, "--help"); code != 0 || !strings.Contains(out, "usage: veil "+c.name) {
			t.Errorf("veil %s --help: exit %d\n%s%s", c.name, code, out, errOut)
		}
	}
}

// wantIn reports each of want that what printed lacks.
func wantIn(t *testing.T, what, printed string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(printed, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, printed)
		}
	}
}

// migratedDB is a data directory after veil migrate, and its database.
func migratedDB(t *testing.T) (string, *sqlstore.DB) {
	t.Helper()
	dir := t.TempDir()
	if code, _, errOut := runMain(t, testEnv(nil), "", "migrate", "--data-dir", dir); code != 0 {
		t.Fatal(errOut)
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "veil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return dir, db
}

// TestUsageErrors: what is wrong is said, on stderr with exit 2, before
// anything is opened.
func TestUsageErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "never")
	// Where the cases that name no directory would open the store.
	env := testEnv(map[string]string{"VEIL_DATA_DIR": dir})
	tests := []struct {
		args []string
		want []string
	}{
		{nil, []string{"usage: veil <command>"}},
		{[]string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{[]string{"user"}, []string{"usage: veil user"}},
		{[]string{"user", "frobnicate", "x"}, []string{`unknown user command "frobnicate"`, "add, list, check, disable, enable, delete, set-password"}},
		{[]string{"user", "frobnicate"}, []string{`unknown user command "frobnicate"`}},
		{[]string{"session", "frobnicate"}, []string{`unknown session command "frobnicate"`, "list, revoke"}},
		{[]string{"outbox", "frobnicate"}, []string{`unknown outbox command "frobnicate"`, "list, retry"}},
		{[]string{"config", "frobnicate"}, []string{`unknown config command "frobnicate"`, "print"}},
		{[]string{"config"}, []string{"usage: veil config print"}},
		{[]string{"throttle", "frobnicate"}, []string{`unknown throttle command "frobnicate"`, "reset"}},
		{[]string{"outbox", "list", "--data-dir", dir, "--state", "bogus"}, []string{`"bogus"`, "dead, pending, leased, done"}},
		{[]string{"outbox", "list", "--state=Dead", "--data-dir", dir}, []string{`"Dead"`, "dead, pending, leased, done"}},
		{[]string{"user", "disable", "--data-dir", dir}, []string{"missing argument", "usage: veil user disable [flags] EMAIL|ID"}},
		{[]string{"user", "disable", "a@example.com", "b@example.com", "--data-dir", dir}, []string{"too many arguments"}},
		{[]string{"user", "list", "bob@example.com", "--data-dir", dir}, []string{`unexpected argument "bob@example.com"`}},
		{[]string{"user", "list", "--name", "x", "--data-dir", dir}, []string{"-name"}},
		{[]string{"session", "list", "--account", "x", "--data-dir", dir}, []string{"-account"}},
		{[]string{"outbox", "list", "--all", "--data-dir", dir}, []string{"-all"}},
		{[]string{"outbox", "retry", "--state", "dead", "--data-dir", dir}, []string{"-state"}},
		{[]string{"session", "revoke", "abcdef12", "--account", "x", "--data-dir", dir}, []string{"not both"}},
		{[]string{"migrate", "--data-dir", dir, "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"audit", "-n", "0", "--data-dir", dir}, []string{"-n must be"}},
		{[]string{"version", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"serve", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"throttle", "reset", "a@example.com", "b@example.com"}, []string{"too many arguments"}},
		{[]string{"throttle", "reset"}, []string{"give an identifier, --address, or both"}},
	}
	for _, tt := range tests {
		code, out, errOut := runMain(t, env, "", tt.args...)
		if code != 2 || out != "" {
			t.Errorf("veil %s: exit %d, stdout %q; want 2 and nothing on stdout", strings.Join(tt.args, " "), code, out)
		}
		wantIn(t, "veil "+strings.Join(tt.args, " "), errOut, tt.want...)
		if strings.Contains(errOut, "usage: usage:") || strings.Contains(errOut, "veil: veil") {
			t.Errorf("veil %s: stammers:\n%s", strings.Join(tt.args, " "), errOut)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a usage error created the data directory (%v)", err)
	}
}

// TestFlagsAfterArguments: flags may follow the account, the session or the
// job they act on, and "--" ends the flags.
func TestFlagsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(nil)
	steps := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"s3cret-passphrase\n", []string{"user", "add", "bob@example.com", "--data-dir", dir, "--name", "Bob"}, "added: bob@example.com"},
		{"", []string{"user", "disable", "bob@example.com", "--data-dir", dir}, "disabled: bob@example.com"},
		{"", []string{"user", "list", "--data-dir=" + dir}, "Bob"},
		{"", []string{"session", "list", "bob@example.com", "--data-dir", dir}, "SESSION"},
		{"", []string{"user", "enable", "--data-dir", dir, "--", "bob@example.com"}, "enabled: bob@example.com"},
	}
	for _, s := range steps {
		code, out, errOut := runMain(t, env, s.stdin, s.args...)
		if code != 0 || !strings.Contains(out, s.want) {
			t.Errorf("veil %s: exit %d, want 0 with %q:\n%s%s", strings.Join(s.args, " "), code, s.want, out, errOut)
		}
	}
	// After "--" a word that looks like a flag is an argument.
	code, _, errOut := runMain(t, env, "", "user", "delete", "--data-dir", dir, "--", "--name")
	if code != 1 || !strings.Contains(errOut, "no such account") {
		t.Errorf("veil user delete -- --name: exit %d, %q; want the account --name looked up and not found", code, errOut)
	}
}

// TestMissingDataDir: the commands that read or change what is there do not
// create a data directory that does not exist; they say so.
func TestMissingDataDir(t *testing.T) {
	tests := [][]string{
		{"user", "list"},
		{"user", "check"},
		{"user", "disable", "bob@example.com"},
		{"user", "set-password", "bob@example.com"},
		{"session", "list"},
		{"session", "revoke", "--account", "bob@example.com"},
		{"outbox", "list"},
		{"outbox", "retry", "--all"},
		{"audit"},
	}
	for _, args := range tests {
		dir := filepath.Join(t.TempDir(), "typo")
		code, out, errOut := runMain(t, testEnv(nil), "new-passphrase\n", append(args, "--data-dir", dir)...)
		if code != 1 || out != "" || !strings.Contains(errOut, "data directory "+dir+" does not exist") {
			t.Errorf("veil %s on a missing data directory: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errOut)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("veil %s created the data directory (%v)", strings.Join(args, " "), err)
		}
	}

	// An empty directory is not a veil either, and is left empty.
	empty := t.TempDir()
	if code, _, errOut := runMain(t, testEnv(nil), "", "user", "list", "--data-dir", empty); code != 1 || !strings.Contains(errOut, "no veil database") {
		t.Errorf("user list in an empty directory: exit %d, %q", code, errOut)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("user list left %d file(s) in an empty directory", len(entries))
	}
	// Nor is a store.dsn that names no file.
	dsn := filepath.Join(t.TempDir(), "veil.db")
	if code, _, errOut := runMain(t, testEnv(map[string]string{"VEIL_STORE_DSN": dsn}), "", "audit"); code != 1 || !strings.Contains(errOut, dsn+" does not exist") {
		t.Errorf("audit with a missing store.dsn: exit %d, %q", code, errOut)
	}

	// config print needs no database: it prints, and notes the absence.
	dir := filepath.Join(t.TempDir(), "typo")
	code, out, errOut := runMain(t, testEnv(nil), "", "config", "print", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "data_dir") || !strings.Contains(errOut, "does not exist") {
		t.Errorf("config print on a missing data directory: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("config print created the data directory (%v)", err)
	}

	// The first account may come before the first serve.
	dir = filepath.Join(t.TempDir(), "fresh")
	if code, out, errOut := runMain(t, testEnv(nil), "s3cret-passphrase\n", "user", "add", "--data-dir", dir, "first@example.com"); code != 0 {
		t.Errorf("user add on a fresh machine: exit %d\n%s%s", code, out, errOut)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		code, out, errOut := runMain(t, testEnv(nil), "", args...)
		bi, _ := debug.ReadBuildInfo()
		if code != 0 || !strings.HasPrefix(out, "veil ") || !strings.Contains(out, bi.GoVersion) {
			t.Errorf("veil %s: exit %d, %q%q; want the version and %s", args[0], code, out, errOut, bi.GoVersion)
		}
	}
	stamped := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/veil-id/veil", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-11-30T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		linked string
		bi     *debug.BuildInfo
		ok     bool
		want   string
	}{
		{"dev", stamped, true, "veil v1.4.0, revision 0123abcd 2026-11-30T10:00:00Z (modified), go1.26.0"},
		{"v1.4.1-rc1", stamped, true, "veil v1.4.1-rc1, revision 0123abcd 2026-11-30T10:00:00Z (modified), go1.26.0"},
		{"dev", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}, true, "veil (devel), revision unknown, go1.26.0"},
		{"dev", nil, false, "veil dev"},
	}
	for _, tt := range tests {
		if got := versionLine(tt.linked, tt.bi, tt.ok); got != tt.want {
			t.Errorf("versionLine(%q, …) = %q, want %q", tt.linked, got, tt.want)
		}
	}
}

// TestConfigEnums: a word the configuration does not know is refused with
// the ones it does, instead of quietly meaning the default.
func TestConfigEnums(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"VEIL_LOG_LEVEL": "verbose"}, `log.level must be debug, info, warn or error, not "verbose"`},
		{map[string]string{"VEIL_LOG_FORMAT": "logfmt"}, `log.format must be text or json, not "logfmt"`},
		{map[string]string{"VEIL_STORE_DRIVER": "mysql"}, `store.driver must be sqlite, postgres or ldap, not "mysql"`},
		{map[string]string{"VEIL_MAIL_DRIVER": "sendmail"}, `mail.driver must be dev or smtp, not "sendmail"`},
	}
	for _, tt := range tests {
		code, _, errOut := runMain(t, testEnv(tt.env), "", "config", "print")
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("config print with %v: exit %d, %q; want %q", tt.env, code, errOut, tt.want)
		}
	}
	for _, ok := range []map[string]string{{"VEIL_LOG_LEVEL": "DEBUG", "VEIL_LOG_FORMAT": "JSON"}, {"VEIL_LOG_LEVEL": "warn"}} {
		if code, _, errOut := runMain(t, testEnv(ok), "", "config", "print"); code != 0 {
			t.Errorf("config print with %v: exit %d, %q", ok, code, errOut)
		}
	}
}

// TestAuditJSONMatchesAdmin: `veil audit --json` prints each event as the
// admin listener's /audit does, snake_case keys and all, so one tool reads
// both.
func TestAuditJSONMatchesAdmin(t *testing.T) {
	dir, db := migratedDB(t)
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	for _, e := range []*veil.Event{
		{Time: at, Kind: "login", Outcome: "failure", Reason: "wrong_password", IdentifierHash: "abc123", AccountID: "acct1", ClientAddr: "192.0.2.1"},
		{Time: at.Add(time.Second), Kind: "signup", Outcome: "success"},
	} {
		if err := db.AppendEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}

	code, out, errOut := runMain(t, testEnv(nil), "", "audit", "--json", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("audit --json: exit %d\n%s", code, errOut)
	}
	var cli []map[string]any
	for line := range strings.Lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit --json line %q: %v", line, err)
		}
		cli = append(cli, m)
	}

	h := web.NewAdminHandler(web.AdminConfig{Audit: db, Metrics: http.NotFoundHandler(), Listen: "127.0.0.1:9091"})
	req := httptest.NewRequest("GET", "/audit?limit=50", nil)
	req.Host = "127.0.0.1:9091"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var admin []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &admin); err != nil {
		t.Fatalf("admin /audit: %d %v\n%s", w.Code, err, w.Body)
	}
	if !reflect.DeepEqual(cli, admin) {
		t.Errorf("audit --json and the admin /audit differ:\ncli   %v\nadmin %v", cli, admin)
	}
	if len(cli) != 2 || cli[1]["identifier_hash"] != "abc123" || cli[1]["account_id"] != "acct1" || cli[1]["client"] != "192.0.2.1" {
		t.Errorf("audit --json = %v; want two events, the older with identifier_hash, account_id and client", cli)
	}
}
