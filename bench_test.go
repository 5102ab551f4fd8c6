package veil_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

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
	b.Run("interleaved", func(b *testing.B) { interleaved(b, s, h) })
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

// interleaved runs an unknown identifier, an existing account with a wrong
// password and the raw hash in turn within one loop, so machine noise falls
// on all three alike, and reports each one's mean and the ratios.
func interleaved(b *testing.B, s *veil.Service, h *password.Hasher) {
	p := h.Params()
	salt := make([]byte, 16)
	rand.Read(salt)
	var unknown, existing, raw time.Duration
	i := 0
	for b.Loop() {
		// Alternate which goes first, so that whatever the previous hash
		// left behind (garbage to collect, a cold cache) falls on both.
		if i++; i%2 == 0 {
			unknown += timeLogin(b, s, "nobody@example.com")
			existing += timeLogin(b, s, "alice@example.com")
		} else {
			existing += timeLogin(b, s, "alice@example.com")
			unknown += timeLogin(b, s, "nobody@example.com")
		}
		start := time.Now()
		argon2.IDKey([]byte("wrong horse battery"), salt, p.Iterations, p.Memory, p.Parallelism, 32)
		raw += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(unknown.Nanoseconds())/n, "unknown-ns/op")
	b.ReportMetric(float64(existing.Nanoseconds())/n, "existing-ns/op")
	b.ReportMetric(float64(raw.Nanoseconds())/n, "raw-argon2id-ns/op")
	b.ReportMetric(float64(unknown)/float64(existing), "unknown/existing")
	b.ReportMetric(float64(existing-raw)/float64(existing), "non-hash-share")
}

func timeLogin(b *testing.B, s *veil.Service, id string) time.Duration {
	start := time.Now()
	_, err := s.Login(context.Background(), veil.LoginRequest{Identifier: id, Password: "wrong horse battery"})
	d := time.Since(start)
	if veil.ErrorCode(err) != veil.EUNAUTHORIZED {
		b.Fatalf("Login(%q) = %v, want EUNAUTHORIZED", id, err)
	}
	return d
}
