package veiltest

import (
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

// testCompleteSignUp checks the confirmation of a pending sign-up: a look
// by token that spends nothing, then one transaction that spends the
// token and creates the account, or writes nothing at all.
func testCompleteSignUp(t *testing.T, open func(tb testing.TB) veil.Store) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	later := t0.Add(time.Hour)
	// pending stores a sign-up for email with a link token called name.
	pending := func(email, name string, expires time.Time) (*veil.PendingSignUp, []byte) {
		t.Helper()
		p := &veil.PendingSignUp{ID: veil.NewAccountID(), Email: mustIdentifier(t, email), CreatedAt: t0}
		if err := st.CreatePendingSignUp(ctx, p, &veil.Job{Kind: veil.JobSignUp, Subject: p.ID, CreatedAt: t0, NextAttemptAt: t0}); err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256([]byte(name))
		if err := st.CreateToken(ctx, &veil.Token{Hash: h[:], Purpose: veil.TokenSignUp, SignUpID: p.ID, CreatedAt: t0, ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
		return p, h[:]
	}
	account := func() *veil.Account {
		a := newAccount(t, "placeholder@example.com")
		a.Email = "" // the store sets it from the pending sign-up
		return a
	}

	first, firstToken := pending("carol@example.com", "first", later)
	_, secondToken := pending("carol@example.com", "second", later)
	for range 2 { // looking twice: the look spends nothing
		got, err := st.FindPendingSignUpByToken(ctx, firstToken, t0)
		if err != nil || got.ID != first.ID || got.Email != first.Email {
			t.Fatalf("FindPendingSignUpByToken = %+v, %v; want %+v", got, err, first)
		}
	}
	_, err := st.FindPendingSignUpByToken(ctx, firstToken, later)
	wantCode(t, "FindPendingSignUpByToken(at expiry)", err, veil.ENOTFOUND)
	reset := sha256.Sum256([]byte("a reset token"))
	if err := st.CreateToken(ctx, &veil.Token{Hash: reset[:], Purpose: veil.TokenReset, AccountID: "x", SignUpID: first.ID, CreatedAt: t0, ExpiresAt: later}); err != nil {
		t.Fatal(err)
	}
	_, err = st.FindPendingSignUpByToken(ctx, reset[:], t0)
	wantCode(t, "FindPendingSignUpByToken(a reset token)", err, veil.ENOTFOUND)
	wantCode(t, "CompleteSignUp(a reset token)", st.CompleteSignUp(ctx, reset[:], t0, account()), veil.ENOTFOUND)

	a := account()
	if err := st.CompleteSignUp(ctx, firstToken, t0, a); err != nil {
		t.Fatalf("CompleteSignUp: %v", err)
	}
	if a.Email != first.Email {
		t.Errorf("CompleteSignUp set Email %q, want %q", a.Email, first.Email)
	}
	if got, err := st.FindAccountByIdentifier(ctx, first.Email); err != nil || got.ID != a.ID || got.PasswordHash != a.PasswordHash || got.DisplayName != a.DisplayName {
		t.Errorf("the confirmed account: %+v, %v; want %+v", got, err, a)
	}
	_, err = st.FindPendingSignUp(ctx, first.ID)
	wantCode(t, "FindPendingSignUp(confirmed)", err, veil.ENOTFOUND)
	wantCode(t, "CompleteSignUp(again)", st.CompleteSignUp(ctx, firstToken, t0, account()), veil.ENOTFOUND)

	// The second link of the address meets the account: a conflict that
	// writes nothing, so the token is not spent and no account appears.
	wantCode(t, "CompleteSignUp(the address's second link)", st.CompleteSignUp(ctx, secondToken, t0, account()), veil.ECONFLICT)
	if _, err := st.FindPendingSignUpByToken(ctx, secondToken, t0); err != nil {
		t.Errorf("a conflicting CompleteSignUp spent its token: %v", err)
	}
	if all, err := st.ListAccounts(ctx); err != nil || len(all) != 1 {
		t.Errorf("ListAccounts = %d accounts, %v; want 1", len(all), err)
	}

	// Many requests racing with one link: one account, one winner.
	_, raced := pending("race@example.com", "race", later)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for range 8 {
		wg.Go(func() {
			code := veil.ErrorCode(st.CompleteSignUp(ctx, raced, t0, account()))
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[""] != 1 || codes[veil.ENOTFOUND] != 7 {
		t.Errorf("8 racing CompleteSignUp with one token: %v; want one success and 7 ENOTFOUND", codes)
	}
}

// Migration0005 is the version of the migration that took the password
// hash out of pending sign-ups.
const Migration0005 = "0005_signup_without_password"

// TestPendingSignUpFromBeforeMigration0005 checks that a sign-up left
// pending by a veil whose sign-up stored the submitter's password hash is
// confirmed by the new flow, with the password of whoever follows the
// link, and that the old hash is gone. st is a migrated store; exec runs
// SQL on its database (no placeholders); migrate runs st's migrations.
// The state before 0005 is rebuilt by putting the column back and
// forgetting that 0005 ran.
func TestPendingSignUpFromBeforeMigration0005(t *testing.T, st veil.Store, exec func(query string) error, migrate func() error) {
	t.Helper()
	ctx := t.Context()
	for _, q := range []string{
		`ALTER TABLE pending_signups ADD COLUMN password_hash TEXT NOT NULL DEFAULT ''`,
		`DELETE FROM schema_migrations WHERE version = '` + Migration0005 + `'`,
		`INSERT INTO pending_signups (id, email, password_hash, created_at) VALUES ('old', 'victim@example.com', '$argon2id$the-attacker-s-hash', 1)`,
	} {
		if err := exec(q); err != nil {
			t.Fatalf("rebuilding the state before %s: %s: %v", Migration0005, q, err)
		}
	}
	h := sha256.Sum256([]byte("a link mailed before the upgrade"))
	if err := st.CreateToken(ctx, &veil.Token{Hash: h[:], Purpose: veil.TokenSignUp, SignUpID: "old", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := migrate(); err != nil {
		t.Fatalf("Migrate over a pending sign-up with a password hash: %v", err)
	}
	if err := exec(`SELECT password_hash FROM pending_signups`); err == nil {
		t.Errorf("pending_signups.password_hash is still there after %s", Migration0005)
	}
	if p, err := st.FindPendingSignUpByToken(ctx, h[:], t0); err != nil || p.ID != "old" || p.Email != "victim@example.com" {
		t.Fatalf("FindPendingSignUpByToken(the old link) = %+v, %v", p, err)
	}
	a := newAccount(t, "placeholder@example.com")
	a.PasswordHash = "$argon2id$the-owner-s-hash"
	if err := st.CompleteSignUp(ctx, h[:], t0, a); err != nil {
		t.Fatalf("CompleteSignUp(the old link): %v", err)
	}
	got, err := st.FindAccountByIdentifier(ctx, "victim@example.com")
	if err != nil || got.PasswordHash != "$argon2id$the-owner-s-hash" {
		t.Errorf("the account of the old link: %+v, %v; want the hash chosen at confirmation", got, err)
	}
}
