package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
