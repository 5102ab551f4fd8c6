package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testRulesTOML is the rule list of the CLI and proxy tests.
const testRulesTOML = `
[[forward_auth.rules]]
host = "app.example.com"
path = "/static/"
access = "bypass"

[[forward_auth.rules]]
host = "admin.example.com"
group = ["admins"]
email_header = true

[[forward_auth.rules]]
host = "*.example.com"
access = "signed_in"
`

// writeRules writes testRulesTOML to a configuration file and returns its
// path.
func writeRules(tb testing.TB) string {
	tb.Helper()
	conf := filepath.Join(tb.TempDir(), "veil.toml")
	if err := os.WriteFile(conf, []byte(testRulesTOML), 0o600); err != nil {
		tb.Fatal(err)
	}
	return conf
}

func TestGroupAndRulesCommands(t *testing.T) {
	dir := t.TempDir()
	conf := writeRules(t)
	env := testEnv(nil)
	steps := []struct {
		stdin    string
		args     []string
		wantCode int
		want     []string
	}{
		{"s3cret-passphrase\n", []string{"user", "add", "ada@example.com"}, 0, []string{"added"}},
		{"s3cret-passphrase\n", []string{"user", "add", "otto@example.com"}, 0, []string{"added"}},
		{"", []string{"group", "list"}, 0, []string{"GROUP"}},
		{"", []string{"user", "group", "add", "ada@example.com", "Admins"}, 0, []string{"ada@example.com", "added to admins"}},
		{"", []string{"user", "group", "add", "ada@example.com", "ops"}, 0, []string{"added to ops"}},
		{"", []string{"user", "group", "add", "otto@example.com", "ops"}, 0, []string{"added to ops"}},
		{"", []string{"user", "group", "add", "nobody@example.com", "ops"}, 1, []string{"no such account"}},
		{"", []string{"user", "group", "add", "ada@example.com", "a,b"}, 1, []string{"group name"}},
		{"", []string{"user", "group", "add", "ada@example.com"}, 2, []string{"missing argument"}},
		{"", []string{"user", "group", "frob"}, 2, []string{"unknown user group command"}},
		{"", []string{"group", "list"}, 0, []string{"admins  1", "ops     2"}},
		{"", []string{"user", "group", "remove", "otto@example.com", "ops"}, 0, []string{"removed from ops"}},
		{"", []string{"user", "group", "remove", "otto@example.com", "ops"}, 1, []string{"not in the group ops"}},
		{"", []string{"rules", "test", "https://admin.example.com/x"}, 0, []string{
			"URL: host admin.example.com, path /x",
			"rule 1 (host app.example.com, path /static/, bypass): not this host",
			"rule 2 (host admin.example.com, path /, group admins, email_header): matches",
			"signed out: sent to sign in", "by rule 2"}},
		{"", []string{"rules", "test", "https://admin.example.com/x", "ada@example.com"}, 0, []string{
			"ada@example.com", "groups: admins, ops: 200, let in by rule 2: group: in admins", "Remote-Email"}},
		{"", []string{"rules", "test", "https://admin.example.com/x", "otto@example.com"}, 0, []string{
			"otto@example.com", "in no group: 403, not let in by rule 2"}},
		{"", []string{"rules", "test", "https://app.example.com/static/../admin"}, 0, []string{
			"path /admin", "rule 1 (host app.example.com, path /static/, bypass): not this path", "by rule 3"}},
		{"", []string{"rules", "test", "https://app.example.com/static/a.css"}, 0, []string{"signed out: 200, let in by rule 1: bypass"}},
		{"", []string{"rules", "test", "https://elsewhere.org/"}, 0, []string{"no rule matches", "by the default (signed_in)"}},
		{"", []string{"rules", "test", "/relative"}, 2, []string{"not an absolute URL"}},
		{"", []string{"rules", "test", "https://admin.example.com/", "nobody@example.com"}, 1, []string{"no such account"}},
	}
	for _, s := range steps {
		args := append(append([]string{}, s.args...), "--data-dir", dir, "--config", conf)
		code, out, errOut := runMain(t, env, s.stdin, args...)
		for _, w := range s.want {
			if code != s.wantCode || !strings.Contains(out+errOut, w) {
				t.Errorf("veil %s: exit %d, want %d with %q:\n%s%s", strings.Join(s.args, " "), code, s.wantCode, w, out, errOut)
				break
			}
		}
	}
}

func TestRulesConfigRefused(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ toml, want string }{
		{"[[forward_auth.rules]]\nhost = \"a.example.com\"\n", "say access"},
		{"[[forward_auth.rules]]\naccess = \"group\"\n", "write group = [...]"},
		{"[[forward_auth.rules]]\ngroup = [\"x y\"]\n", "rule 1: group \"x y\""},
		{"[[forward_auth.rules]]\naccess = \"bypass\"\npath = \"/a/../b\"\n", "clean absolute path"},
	} {
		conf := filepath.Join(dir, "veil.toml")
		if err := os.WriteFile(conf, []byte(c.toml), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runMain(t, testEnv(nil), "", "config", "print", "--config", conf)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("config %q: exit %d, %s; want a refusal with %q", c.toml, code, errOut, c.want)
		}
	}
	code, _, errOut := runMain(t, testEnv(map[string]string{"VEIL_FORWARD_AUTH_RULES": "x"}), "", "config", "print")
	if code == 0 || !strings.Contains(errOut, "list of tables") {
		t.Errorf("VEIL_FORWARD_AUTH_RULES: exit %d, %s; want a refusal", code, errOut)
	}
}
