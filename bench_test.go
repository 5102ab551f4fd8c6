package veil_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlite"
)

// BenchmarkLogin measures a failed sign-in for an unknown identifier and
// for an existing account with a wrong password, at the default argon2id
// policy on real SQLite, beside the raw hash at the same parameters: the
// first two must match (equal work), and what is not the hash is the
// overhead of everything else. Compare with benchstat over -count runs.
func BenchmarkLogin(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "veil.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	h, err := password.New(password.Config{Params: password.DefaultParams, Concurrency: 1})
	if err != nil {
		b.Fatal(err)
	}
	s, err := veil.NewService(ctx, veil.ServiceConfig{
		Accounts: db, Sessions: db, Hasher: h,
		Auditor: &veil.LogAuditor{Logger: discardLogger(), Log: db},
		Key:     veil.IdentifierKey("0123456789abcdef0123456789abcdef"),
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddAccount(ctx, "alice@example.com", "", "correct horse battery"); err != nil {
		b.Fatal(err)
	}
	login := func(b *testing.B, id string) {
		for b.Loop() {
			_, err := s.Login(ctx, veil.LoginRequest{Identifier: id, Password: "wrong horse battery"})
			if veil.ErrorCode(err) != veil.EUNAUTHORIZED {
				b.Fatalf("Login = %v, want EUNAUTHORIZED", err)
			}
		}
	}
	b.Run("unknown", func(b *testing.B) { login(b, "nobody@example.com") })
	b.Run("existing-wrong-password", func(b *testing.B) { login(b, "alice@example.com") })
	b.Run("raw-argon2id", func(b *testing.B) {
		p := password.DefaultParams
		salt := make([]byte, 16)
		rand.Read(salt)
		for b.Loop() {
			argon2.IDKey([]byte("wrong horse battery"), salt, p.Iterations, p.Memory, p.Parallelism, 32)
		}
	})
}
