package veil_test

import (
	"context"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/veiltest"
)

// TestSessionsEndWhereTheyAreKept keeps sessions in a store of their own,
// as with session.store = "redis", and checks that every flow that ends an
// account's sessions ends them there, and in the store itself: not only
// refused by Authenticate, which would delete them as it went.
func TestSessionsEndWhereTheyAreKept(t *testing.T) {
	ctx := context.Background()
	accounts, sessions := sqlitetest.MustOpen(t), sqlitetest.MustOpen(t)
	h, err := password.New(password.Config{Params: password.Params{Memory: 1024, Iterations: 1, Parallelism: 1}})
	if err != nil {
		t.Fatal(err)
	}
	clock := veiltest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s, err := veil.NewService(ctx, veil.ServiceConfig{
		Accounts: accounts, Sessions: sessions, Hasher: h, Clock: clock,
		Outbox: accounts, SignUps: accounts, Tokens: accounts,
		Key: veil.IdentifierKey("0123456789abcdef0123456789abcdef"),
	})
	if err != nil {
		t.Fatal(err)
	}
	const pw, newPW = "correct horse battery", "a brand new passphrase"
	tests := []struct {
		name string
		end  func(acct *veil.Account, token string) error
	}{
		{"Disable", func(a *veil.Account, _ string) error { _, err := s.SetDisabled(ctx, a.ID, true); return err }},
		{"SetPassword", func(a *veil.Account, _ string) error { _, err := s.SetPassword(ctx, a.ID, newPW); return err }},
		{"Delete", func(a *veil.Account, _ string) error { _, err := s.DeleteAccount(ctx, a.ID); return err }},
		{"RevokeSessions", func(a *veil.Account, _ string) error { _, err := s.RevokeSessions(ctx, a.ID); return err }},
		{"Logout", func(_ *veil.Account, token string) error { return s.Logout(ctx, token, veil.Client{}) }},
		{"ResetPassword", func(a *veil.Account, _ string) error {
			link, hash := veil.NewSessionToken() // a token of the same shape
			now := clock.Now()
			err := accounts.CreateToken(ctx, &veil.Token{Hash: hash, Purpose: veil.TokenReset, AccountID: a.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
			if err != nil {
				return err
			}
			return s.ResetPassword(ctx, link, newPW, veil.Client{})
		}},
	}
	bystander, err := s.AddAccount(ctx, "bystander@example.com", "", pw)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := s.Login(ctx, veil.LoginRequest{Identifier: bystander.Email.String(), Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		acct, err := s.AddAccount(ctx, tt.name+"@example.com", "", pw)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Login(ctx, veil.LoginRequest{Identifier: tt.name + "@example.com", Password: pw})
		if err != nil {
			t.Fatalf("%s: Login: %v", tt.name, err)
		}
		if list, err := sessions.ListSessions(ctx, acct.ID); err != nil || len(list) != 1 {
			t.Fatalf("%s: the session store holds %d sessions of the account (%v), want 1", tt.name, len(list), err)
		}
		if err := tt.end(acct, res.Token); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if list, err := sessions.ListSessions(ctx, acct.ID); err != nil || len(list) != 0 {
			t.Errorf("%s: the session store still holds %d sessions of the account (%v)", tt.name, len(list), err)
		}
		if _, _, err := s.Authenticate(ctx, res.Token); veil.ErrorCode(err) != veil.ENOSESSION {
			t.Errorf("%s: Authenticate = %v, want ENOSESSION", tt.name, err)
		}
	}
	if _, _, err := s.Authenticate(ctx, kept.Token); err != nil {
		t.Errorf("ending other accounts' sessions ended the bystander's: %v", err)
	}
	if list, err := accounts.ListSessions(ctx, ""); err != nil || len(list) != 0 {
		t.Errorf("the account store holds %d sessions (%v), want none: they belong in the session store", len(list), err)
	}
}
