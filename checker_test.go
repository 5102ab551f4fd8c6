package veil_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/veiltest"
)

// verifyCounter counts verifications.
type verifyCounter struct {
	veil.PasswordHasher
	n *atomic.Int64
}

func (h verifyCounter) VerifyPassword(ctx context.Context, encoded, pw string) (bool, bool, error) {
	h.n.Add(1)
	return h.PasswordHasher.VerifyPassword(ctx, encoded, pw)
}

// countingLookups counts lookups.
type countingLookups struct {
	veil.Store
	n *atomic.Int64
}

func (s countingLookups) FindAccountByIdentifier(ctx context.Context, id veil.Identifier) (*veil.Account, error) {
	s.n.Add(1)
	return s.Store.FindAccountByIdentifier(ctx, id)
}

// TestLocalChecker runs the PasswordChecker suite over the local checker on
// SQLite.
func TestLocalChecker(t *testing.T) {
	veiltest.RunPasswordCheckerTests(t, func(tb testing.TB) veiltest.CheckerHarness {
		ctx := context.Background()
		db := sqlitetest.MustOpen(tb)
		h, err := password.New(password.Config{Params: password.Params{Memory: 1024, Iterations: 1, Parallelism: 1}})
		if err != nil {
			tb.Fatal(err)
		}
		s, err := veil.NewService(ctx, veil.ServiceConfig{Accounts: db, Sessions: db, Hasher: h, Key: veil.IdentifierKey("0123456789abcdef0123456789abcdef")})
		if err != nil {
			tb.Fatal(err)
		}
		const pw = "correct horse battery"
		for _, email := range []string{"known@example.com", "disabled@example.com"} {
			if _, err := s.AddAccount(ctx, email, "", pw); err != nil {
				tb.Fatal(err)
			}
		}
		if _, err := s.SetDisabled(ctx, "disabled@example.com", true); err != nil {
			tb.Fatal(err)
		}
		var n atomic.Int64
		c, err := veil.NewLocalChecker(ctx, countingLookups{db, &n}, verifyCounter{h, &n})
		if err != nil {
			tb.Fatal(err)
		}
		return veiltest.CheckerHarness{Checker: c, Known: "known@example.com", Disabled: "disabled@example.com", Password: pw, Work: n.Load}
	})
}
