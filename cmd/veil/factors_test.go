package main

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlite"
	"github.com/veil-id/veil/sqlstore"
)

// TestResetFactors enrols an authenticator app, resets it with the
// command, and checks the audit log and the factor key file.
func TestResetFactors(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(nil)
	if code, out, errOut := runMain(t, env, "s3cret-passphrase\n", "user", "add", "bob@example.com", "--data-dir", dir); code != 0 {
		t.Fatalf("user add: %d %s%s", code, out, errOut)
	}
	keyFile := filepath.Join(dir, factorKeyFile)
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("factor key file: %v, mode %v; want 0600", err, fi)
	}
	b, _ := os.ReadFile(keyFile)
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != veil.FactorKeySize {
		t.Fatalf("factor key file holds %q", b)
	}
	enrolDirectly(t, filepath.Join(dir, "veil.db"), key, "bob@example.com")

	code, out, errOut := runMain(t, env, "", "user", "reset-factors", "bob@example.com", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "second factors reset: bob@example.com") {
		t.Fatalf("user reset-factors: %d %s%s", code, out, errOut)
	}
	if code, _, errOut := runMain(t, env, "", "user", "reset-factors", "nobody@example.com", "--data-dir", dir); code != 1 || !strings.Contains(errOut, "no such account") {
		t.Errorf("reset-factors of nobody: %d %s", code, errOut)
	}
	if _, out, _ := runMain(t, env, "", "audit", "--data-dir", dir); !strings.Contains(out, veil.EventFactorsReset) {
		t.Errorf("audit does not show the reset:\n%s", out)
	}
	// The key stays what it was.
	if again, _ := os.ReadFile(keyFile); string(again) != string(b) {
		t.Errorf("factor key changed between commands")
	}
}

// enrolDirectly turns on an authenticator app for email on the database at
// path, as the security page would.
func enrolDirectly(tb testing.TB, path string, key []byte, email string) {
	tb.Helper()
	ctx := context.Background()
	db := mustOpenDB(tb, path)
	idKey, err := db.LoadOrCreateSecret(ctx, identifierKeyName, 32)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := veil.NewService(ctx, veil.ServiceConfig{Accounts: db, Sessions: db, Hasher: mustTestHasher(tb), Key: idKey, Factors: db, FactorKey: key})
	if err != nil {
		tb.Fatal(err)
	}
	acct, err := s.FindAccount(ctx, email)
	if err != nil {
		tb.Fatal(err)
	}
	e, err := s.BeginTOTP(ctx, acct)
	if err != nil {
		tb.Fatal(err)
	}
	code, _ := veil.TOTPCode(e.Secret, time.Now())
	if _, err := s.ConfirmTOTP(ctx, acct, code, veil.Client{}, ""); err != nil {
		tb.Fatal(err)
	}
	if on, _, _ := s.HasTOTP(ctx, acct); !on {
		tb.Fatal("enrolment did not turn TOTP on")
	}
}

func TestFactorKeyConfig(t *testing.T) {
	a := &app{cfg: &Config{DataDir: t.TempDir()}}
	a.cfg.Factors.Key = secretText(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if k, err := a.factorKey(); err != nil || len(k) != 32 {
		t.Errorf("factorKey(32 bytes configured) = %d bytes, %v", len(k), err)
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		a.cfg.Factors.Key = secretText(bad)
		if _, err := a.factorKey(); err == nil || !strings.Contains(err.Error(), "factors.key") {
			t.Errorf("factorKey(%q) = %v, want an error naming factors.key", bad, err)
		}
	}
	if _, err := os.Stat(filepath.Join(a.cfg.DataDir, factorKeyFile)); err == nil {
		t.Errorf("a configured key still wrote %s", factorKeyFile)
	}
}

func mustTestHasher(tb testing.TB) *password.Hasher {
	tb.Helper()
	h, err := password.New(password.Config{Params: password.Params{Memory: 1024, Iterations: 1, Parallelism: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// mustOpenDB opens the SQLite database of a data directory that veil made,
// closed when tb ends.
func mustOpenDB(tb testing.TB, path string) *sqlstore.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestPasskeyConfig(t *testing.T) {
	for _, c := range []struct {
		public, listen, rpID string
		origins              []string
		anyPort, fails       bool
	}{
		{public: "https://auth.example.com", rpID: "auth.example.com", origins: []string{"https://auth.example.com"}},
		{listen: "127.0.0.1:8080", rpID: "localhost", origins: []string{"http://127.0.0.1:8080", "http://localhost:8080"}, anyPort: true},
		{listen: "192.0.2.10:8080", fails: true},
		{public: "https://192.0.2.10", fails: true},
	} {
		cfg := DefaultConfig()
		cfg.Server.PublicURL = c.public
		if c.listen != "" {
			cfg.Server.Listen = c.listen
		}
		pc, err := cfg.passkeyConfig()
		switch {
		case c.fails && err == nil:
			t.Errorf("passkeyConfig(%q, %q) = %+v, want an error", c.public, c.listen, pc)
		case !c.fails && (err != nil || pc.RPID != c.rpID || strings.Join(pc.Origins, " ") != strings.Join(c.origins, " ") || pc.AnyLocalhostPort != c.anyPort):
			t.Errorf("passkeyConfig(%q, %q) = %+v, %v; want %s %v any port %v", c.public, c.listen, pc, err, c.rpID, c.origins, c.anyPort)
		}
	}
	cfg := DefaultConfig()
	cfg.Server.Listen = "192.0.2.10:8080"
	cfg.Factors.PasskeyRPID, cfg.Factors.PasskeyOrigins = "example.com", []string{"https://example.com"}
	if pc, err := cfg.passkeyConfig(); err != nil || pc.RPID != "example.com" || pc.AnyLocalhostPort {
		t.Errorf("configured relying party: %+v, %v", pc, err)
	}
}
