package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/veil-id/veil/ldap"
	"github.com/veil-id/veil/smtp"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "veil.toml")
	os.WriteFile(file, []byte("data_dir = \"/from/file\"\n[server]\nlisten = \"127.0.0.1:7000\"\n[login]\nfloor = \"300ms\"\n"), 0o600)
	env := func(k string) string {
		return map[string]string{"VEIL_SERVER_LISTEN": "127.0.0.1:7001", "VEIL_SESSION_IDLE_TIMEOUT": "45m", "VEIL_SERVER_TRUSTED_ORIGINS": "https://a.example, https://b.example"}[k]
	}
	code, out, errOut := runMain(t, env, "", "config", "print", "--config", file, "--admin-listen", "127.0.0.1:7002")
	if code != 0 {
		t.Fatalf("config print: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		`data_dir = "/from/file"`,         // file over default
		`listen = "127.0.0.1:7001"`,       // env over file
		`admin_listen = "127.0.0.1:7002"`, // flag over all
		`floor = "300ms"`,
		`idle_timeout = "45m0s"`,
		`trusted_origins = ["https://a.example", "https://b.example"]`,
		`memory_kib = 19456`, // default
		`recent_sign_in = "5m0s"`,
		`login_code_signup = false`,
		`driver = "sqlite"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config print lacks %s:\n%s", want, out)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[server]\nlisten_typo = \"x\"\n"), 0o600)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown key", nil, []string{"--config", bad}, "unknown key"},
		{"bad driver", map[string]string{"VEIL_STORE_DRIVER": "mysql"}, nil, "store.driver"},
		{"postgres without dsn", map[string]string{"VEIL_STORE_DRIVER": "postgres"}, nil, "store.dsn"},
		{"bad duration", map[string]string{"VEIL_SESSION_IDLE_TIMEOUT": "soon"}, nil, "VEIL_SESSION_IDLE_TIMEOUT"},
		{"bad number", map[string]string{"VEIL_PASSWORD_MEMORY_KIB": "lots"}, nil, "VEIL_PASSWORD_MEMORY_KIB"},
		{"bad floor", map[string]string{"VEIL_LOGIN_FLOOR": "fast"}, nil, "login.floor"},
		{"negative recent sign-in", map[string]string{"VEIL_ACCOUNT_RECENT_SIGN_IN": "-1s"}, nil, "account.recent_sign_in"},
		{"missing file", nil, []string{"--config", filepath.Join(dir, "none.toml")}, "reading configuration"},
	}
	for _, tt := range tests {
		env := func(k string) string { return tt.env[k] }
		code, _, errOut := runMain(t, env, "", append([]string{"config", "print"}, tt.args...)...)
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want an error mentioning %q", tt.name, code, errOut, tt.want)
		}
	}
}

// TestConfigPrintHidesSecrets: config print shows where veil connects but
// never a password, whether it sits in a URL, a key=value DSN or a key of
// its own.
func TestConfigPrintHidesSecrets(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		want      string // in the output
		forbidden string
	}{
		{"postgres URL", map[string]string{"VEIL_STORE_DRIVER": "postgres", "VEIL_STORE_DSN": "postgres://veil:s3cretpw@db.example.com/veil"},
			`dsn = "postgres://veil:xxxxx@db.example.com/veil"`, "s3cretpw"},
		{"postgres key=value DSN", map[string]string{"VEIL_STORE_DRIVER": "postgres", "VEIL_STORE_DSN": "host=db.example.com user=veil password='s3cret pw' dbname=veil"},
			`password=xxxxx dbname=veil`, "s3cret"},
		{"throttle Redis", map[string]string{"VEIL_THROTTLE_STORE": "redis", "VEIL_THROTTLE_REDIS_URL": "redis://:s3cretpw@cache.example.com:6379/0"},
			`redis_url = "redis://:xxxxx@cache.example.com:6379/0"`, "s3cretpw"},
		{"session Redis", map[string]string{"VEIL_SESSION_STORE": "redis", "VEIL_SESSION_REDIS_URL": "rediss://veil:s3cretpw@cache.example.com/1"},
			`redis_url = "rediss://veil:xxxxx@cache.example.com/1"`, "s3cretpw"},
		{"SMTP password", map[string]string{"VEIL_SMTP_PASSWORD": "s3cretpw"}, `password = "(set)"`, "s3cretpw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runMain(t, testEnv(tt.env), "", "config", "print")
			if code != 0 || !strings.Contains(out, tt.want) || strings.Contains(out+errOut, tt.forbidden) {
				t.Errorf("config print: exit %d, want %q and no %q in:\n%s%s", code, tt.want, tt.forbidden, out, errOut)
			}
		})
	}
}

// TestConfigPrintDerived: config print ends with what veil derives from the
// configuration — the database file, the public URL, the hashing pool as the
// memory budget shapes it — as comments, so the file stays usable as it is.
func TestConfigPrintDerived(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(map[string]string{"VEIL_PASSWORD_MEMORY_BUDGET_MIB": "40", "VEIL_PASSWORD_MEMORY_KIB": "19456", "VEIL_PASSWORD_CONCURRENCY": "4"})
	code, out, errOut := runMain(t, env, "", "config", "print", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("config print: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		"# Derived when veil starts with this configuration:",
		"#   store         sqlite " + filepath.Join(dir, "veil.db"),
		"#   public URL    http://",
		"#   hashing       concurrency 1, queue 8, 19464 KiB a hash (4 asked; the memory budget fits 1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config print lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(dir + "/veil.db"); err == nil {
		t.Error("config print created the database")
	}
}

// TestConfigDefaultsFromPackages: a default a package states for itself is
// the one `config print` shows and the README's table lists, so that the
// three cannot drift apart (smtp.timeout once said 10s while the smtp
// package meant 30s).
func TestConfigDefaultsFromPackages(t *testing.T) {
	code, out, errOut := runMain(t, testEnv(nil), "", "config", "print")
	if code != 0 {
		t.Fatalf("config print: exit %d\n%s", code, errOut)
	}
	var printed map[string]any
	if _, err := toml.Decode(out, &printed); err != nil {
		t.Fatalf("decoding config print: %v\n%s", err, out)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string // section.name
		want time.Duration
	}{
		{"smtp.timeout", smtp.DefaultTimeout},
		{"ldap.timeout", ldap.DefaultTimeout},
	}
	for _, tt := range tests {
		section, name, _ := strings.Cut(tt.key, ".")
		value, _ := printed[section].(map[string]any)[name].(string)
		if got, err := time.ParseDuration(value); err != nil || got != tt.want {
			t.Errorf("config print: %s = %q, want %v (the package's default)", tt.key, value, tt.want)
		}
		if got, err := readmeDefault(string(readme), tt.key); err != nil || got != tt.want {
			t.Errorf("README: %s defaults to %v (%v), want %v (the package's default)", tt.key, got, err, tt.want)
		}
	}
}

// readmeDefault finds key in the README's configuration tables and returns
// its default: the row's keys (`a`, `b`) pair with the defaults in the
// cell before the last, the meaning.
func readmeDefault(readme, key string) (time.Duration, error) {
	for _, line := range strings.Split(readme, "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) < 3 || !strings.Contains(cells[0], "`"+key+"`") {
			continue
		}
		keys, defaults := strings.Split(cells[0], ", "), strings.Split(cells[len(cells)-2], ", ")
		for i, k := range keys {
			if k == "`"+key+"`" && i < len(defaults) {
				return time.ParseDuration(strings.Trim(defaults[i], "`"))
			}
		}
	}
	return 0, fmt.Errorf("no row for %s", key)
}
