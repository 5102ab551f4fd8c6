package veil_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/sqlstore"
)

// countingHasher counts the hashes it makes.
type countingHasher struct {
	veil.PasswordHasher
	hashes atomic.Int64
}

func (c *countingHasher) HashPassword(ctx context.Context, pw string) (string, error) {
	c.hashes.Add(1)
	return c.PasswordHasher.HashPassword(ctx, pw)
}

// mustOpenMailService returns a service with the mail flows on a fresh
// SQLite store and the cheapest real hasher, counting its hashes; edit
// may change the configuration first.
func mustOpenMailService(tb testing.TB, edit func(*veil.ServiceConfig)) (*veil.Service, *sqlstore.DB, *countingHasher) {
	tb.Helper()
	db := sqlitetest.MustOpen(tb)
	inner, err := password.New(password.Config{Params: password.Params{Memory: 1024, Iterations: 1, Parallelism: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	h := &countingHasher{PasswordHasher: inner}
	cfg := veil.ServiceConfig{
		Accounts: db, Sessions: db, Hasher: h, Outbox: db, SignUps: db, Tokens: db,
		Key: veil.IdentifierKey("0123456789abcdef0123456789abcdef"),
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := veil.NewService(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s, db, h
}

// TestManagedElsewhere: with accounts in a read-only directory, every
// sign-up and recovery request with valid input gets the one refusal that
// says where accounts are managed — before any hashing, any write, any
// mail — while bad input still gets its own answer.
func TestManagedElsewhere(t *testing.T) {
	ctx := context.Background()
	const where = "Accounts are managed in the directory: go to https://id.example.com/."
	s, db, h := mustOpenMailService(t, func(c *veil.ServiceConfig) { c.ManagedElsewhere = where })
	if _, err := s.AddAccount(ctx, "taken@example.com", "", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	hashesBefore := h.hashes.Load()
	for _, email := range []string{"taken@example.com", "new@example.com"} {
		if err := s.SignUp(ctx, veil.SignUpRequest{Email: email}); veil.ErrorMessage(err) != where {
			t.Errorf("SignUp(%s) = %v, want the refusal", email, err)
		}
		if err := s.Recover(ctx, veil.RecoverRequest{Email: email}); veil.ErrorMessage(err) != where {
			t.Errorf("Recover(%s) = %v, want the refusal", email, err)
		}
	}
	if err := s.SignUp(ctx, veil.SignUpRequest{Email: "new@example..com"}); veil.ErrorCode(err) != veil.EINVALID || veil.ErrorMessage(err) == where {
		t.Errorf("SignUp with a malformed address = %v, want the address's own error", err)
	}
	confirm := veil.ConfirmSignUpRequest{Token: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Password: "a long enough passphrase"}
	if _, err := s.ConfirmSignUp(ctx, confirm); veil.ErrorMessage(err) != where {
		t.Errorf("ConfirmSignUp = %v, want the refusal", err)
	}
	confirm.Password = "short"
	if _, err := s.ConfirmSignUp(ctx, confirm); veil.ErrorCode(err) != veil.EINVALID || veil.ErrorMessage(err) == where {
		t.Errorf("ConfirmSignUp with a short password = %v, want the password's own error", err)
	}
	if n := h.hashes.Load() - hashesBefore; n != 0 {
		t.Errorf("refused sign-ups hashed %d passwords, want none", n)
	}
	if jobs, err := db.ListJobs(ctx, veil.JobPending, 10); err != nil || len(jobs) != 0 {
		t.Errorf("refused requests left %d outbox jobs (%v), want none", len(jobs), err)
	}
}
