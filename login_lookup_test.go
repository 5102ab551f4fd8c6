package veil_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlite/sqlitetest"
)

// slowHits is an account store whose lookups of existing accounts take
// longer than misses, like an index hit that reads a row.
type slowHits struct {
	veil.Store
	hit time.Duration
}

func (s slowHits) FindAccountByIdentifier(ctx context.Context, id veil.Identifier) (*veil.Account, error) {
	acct, err := s.Store.FindAccountByIdentifier(ctx, id)
	if err == nil && acct != nil {
		time.Sleep(s.hit)
	}
	return acct, err
}

// verifyClock records when, after the account work began, each
// verification started.
type verifyClock struct {
	veil.PasswordHasher
	mark    *veil.WorkMark
	started time.Duration
}

func (h *verifyClock) VerifyPassword(ctx context.Context, encoded, pw string) (bool, bool, error) {
	began, _, _ := h.mark.Began()
	h.started = time.Since(began)
	return h.PasswordHasher.VerifyPassword(ctx, encoded, pw)
}

// TestLookupFloorHidesTheLookup signs in with a wrong password for an
// account whose lookup takes 12ms longer than an unknown identifier's: with
// a lookup floor, the hash starts at the same moment for both; without
// one, the hit is 12ms late (so the test can tell).
func TestLookupFloorHidesTheLookup(t *testing.T) {
	const hit, floor = 12 * time.Millisecond, 30 * time.Millisecond
	ctx := context.Background()
	db := sqlitetest.MustOpen(t)
	h, err := password.New(password.Config{Params: password.Params{Memory: 1024, Iterations: 1, Parallelism: 1}})
	if err != nil {
		t.Fatal(err)
	}
	clock := &verifyClock{PasswordHasher: h}
	s, err := veil.NewService(ctx, veil.ServiceConfig{
		Accounts: slowHits{db, hit}, Sessions: db, Hasher: clock,
		Key: veil.IdentifierKey("0123456789abcdef0123456789abcdef"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAccount(ctx, "alice@example.com", "", "correct horse"); err != nil {
		t.Fatal(err)
	}
	start := func(lookupFloor time.Duration, identifier string) time.Duration {
		clock.mark = veil.NewWorkMark(lookupFloor)
		_, err := s.Login(veil.WithWorkMark(ctx, clock.mark), veil.LoginRequest{Identifier: identifier, Password: "wrong horse"})
		if veil.ErrorCode(err) != veil.EUNAUTHORIZED {
			t.Fatalf("Login(%q) = %v, want the one failure", identifier, err)
		}
		return clock.started
	}
	// Medians of interleaved runs: on a loaded machine one timer can
	// fire tens of milliseconds late.
	medians := func(lookupFloor time.Duration) (known, unknown time.Duration) {
		var k, u []time.Duration
		for range 9 {
			k = append(k, start(lookupFloor, "alice@example.com"))
			u = append(u, start(lookupFloor, "nobody@example.com"))
		}
		slices.Sort(k)
		slices.Sort(u)
		return k[len(k)/2], u[len(u)/2]
	}
	if known, unknown := medians(0); known-unknown < hit/2 {
		t.Fatalf("without a lookup floor the hash began %v after the account's lookup and %v after the unknown one's (medians); want the hit %v later", known, unknown, hit)
	}
	known, unknown := medians(floor)
	t.Logf("with a %v lookup floor the hash began %v (account) and %v (unknown) after the work began (medians)", floor, known, unknown)
	// Timers fire late, never early.
	if known < floor || unknown < floor || (known-unknown).Abs() > 8*time.Millisecond {
		t.Errorf("with a %v lookup floor the hash began %v for the account and %v for an unknown identifier (medians); want both just past the floor", floor, known, unknown)
	}
}

// TestTimeDecoySignIn checks that the calibration runs a real sign-in's
// check — a lookup the store is asked for, then a verification — and that it
// records nothing in the audit log.
func TestTimeDecoySignIn(t *testing.T) {
	s, _, audit := MustOpenService(t)
	cost, err := s.TimeDecoySignIn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cost.Lookup <= 0 || cost.Work <= cost.Lookup {
		t.Errorf("TimeDecoySignIn() = %+v, want a lookup and more work after it", cost)
	}
	if n := len(audit.events); n != 0 {
		t.Errorf("the calibration audited %d events", n)
	}
}
