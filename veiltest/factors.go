package veiltest

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/veil-id/veil"
)

func testFactors(t *testing.T, open func(testing.TB) veil.Store) {
	t.Run("TOTP", func(t *testing.T) {
		t.Parallel()
		st, ctx := open(t), t.Context()
		_, err := st.FindTOTP(ctx, "nobody")
		wantCode(t, "FindTOTP(unknown)", err, veil.ENOTFOUND)
		f := &veil.TOTPFactor{AccountID: "acct1", SealedSecret: []byte("sealed-1"), CreatedAt: t0}
		if err := st.PutTOTP(ctx, f); err != nil {
			t.Fatalf("PutTOTP: %v", err)
		}
		got, err := st.FindTOTP(ctx, "acct1")
		if err != nil {
			t.Fatalf("FindTOTP: %v", err)
		}
		if !bytes.Equal(got.SealedSecret, f.SealedSecret) || got.Confirmed || got.LastStep != 0 || !sameTime(got.CreatedAt, t0) {
			t.Errorf("FindTOTP = %+v, want %+v", got, f)
		}
		wantCode(t, "UseTOTPStep(unconfirmed)", st.UseTOTPStep(ctx, "acct1", 5), veil.ENOTFOUND)
		wantCode(t, "UseTOTPStep(unknown)", st.UseTOTPStep(ctx, "nobody", 5), veil.ENOTFOUND)
		f.SealedSecret, f.Confirmed, f.LastStep = []byte("sealed-2"), true, 100
		if err := st.PutTOTP(ctx, f); err != nil {
			t.Fatalf("PutTOTP(replace): %v", err)
		}
		if got, _ := st.FindTOTP(ctx, "acct1"); got == nil || string(got.SealedSecret) != "sealed-2" || !got.Confirmed || got.LastStep != 100 {
			t.Errorf("FindTOTP after replace = %+v", got)
		}
		wantCode(t, "UseTOTPStep(same step)", st.UseTOTPStep(ctx, "acct1", 100), veil.ECONFLICT)
		wantCode(t, "UseTOTPStep(earlier step)", st.UseTOTPStep(ctx, "acct1", 99), veil.ECONFLICT)
		if err := st.UseTOTPStep(ctx, "acct1", 101); err != nil {
			t.Errorf("UseTOTPStep(later step): %v", err)
		}
		wantCode(t, "UseTOTPStep(101 again)", st.UseTOTPStep(ctx, "acct1", 101), veil.ECONFLICT)
		if err := st.DeleteTOTP(ctx, "acct1"); err != nil {
			t.Fatalf("DeleteTOTP: %v", err)
		}
		_, err = st.FindTOTP(ctx, "acct1")
		wantCode(t, "FindTOTP(deleted)", err, veil.ENOTFOUND)
		if err := st.DeleteTOTP(ctx, "acct1"); err != nil {
			t.Errorf("DeleteTOTP(again): %v", err)
		}
	})
	t.Run("TOTPStepOnce", func(t *testing.T) {
		t.Parallel()
		st, ctx := open(t), t.Context()
		if err := st.PutTOTP(ctx, &veil.TOTPFactor{AccountID: "a", SealedSecret: []byte("s"), Confirmed: true, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if st.UseTOTPStep(ctx, "a", 7) == nil {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Errorf("8 concurrent UseTOTPStep(7): %d succeeded, want 1", n)
		}
	})
	t.Run("RecoveryCodeOnce", func(t *testing.T) {
		t.Parallel()
		st, ctx := open(t), t.Context()
		if err := st.ReplaceRecoveryCodes(ctx, "a", [][]byte{[]byte("only")}, t0); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if st.UseRecoveryCode(ctx, "a", []byte("only")) == nil {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Errorf("8 concurrent UseRecoveryCode: %d succeeded, want 1", n)
		}
	})
	t.Run("RecoveryCodes", func(t *testing.T) {
		t.Parallel()
		st, ctx := open(t), t.Context()
		countIs := func(acct string, want int) {
			t.Helper()
			if n, err := st.CountRecoveryCodes(ctx, acct); err != nil || n != want {
				t.Errorf("CountRecoveryCodes(%s) = %d, %v; want %d", acct, n, err, want)
			}
		}
		countIs("a", 0)
		if err := st.ReplaceRecoveryCodes(ctx, "a", [][]byte{[]byte("h1"), []byte("h2"), []byte("h3")}, t0); err != nil {
			t.Fatalf("ReplaceRecoveryCodes: %v", err)
		}
		if err := st.ReplaceRecoveryCodes(ctx, "b", [][]byte{[]byte("h1")}, t0); err != nil {
			t.Fatalf("ReplaceRecoveryCodes(b): %v", err)
		}
		countIs("a", 3)
		if err := st.UseRecoveryCode(ctx, "a", []byte("h2")); err != nil {
			t.Errorf("UseRecoveryCode(h2): %v", err)
		}
		wantCode(t, "UseRecoveryCode(h2 again)", st.UseRecoveryCode(ctx, "a", []byte("h2")), veil.ENOTFOUND)
		wantCode(t, "UseRecoveryCode(other's)", st.UseRecoveryCode(ctx, "a", []byte("hX")), veil.ENOTFOUND)
		countIs("a", 2)
		if err := st.ReplaceRecoveryCodes(ctx, "a", [][]byte{[]byte("n1")}, t0); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "UseRecoveryCode(replaced h1)", st.UseRecoveryCode(ctx, "a", []byte("h1")), veil.ENOTFOUND)
		countIs("a", 1)
		countIs("b", 1) // another account's codes are its own
	})
	t.Run("DeleteAccountFactors", func(t *testing.T) {
		t.Parallel()
		st, ctx := open(t), t.Context()
		_ = st.PutTOTP(ctx, &veil.TOTPFactor{AccountID: "a", SealedSecret: []byte("s"), Confirmed: true, CreatedAt: t0})
		_ = st.ReplaceRecoveryCodes(ctx, "a", [][]byte{[]byte("1"), []byte("2")}, t0)
		_ = st.PutTOTP(ctx, &veil.TOTPFactor{AccountID: "b", SealedSecret: []byte("s"), CreatedAt: t0})
		n, err := st.DeleteAccountFactors(ctx, "a")
		if err != nil || n != 3 {
			t.Errorf("DeleteAccountFactors = %d, %v; want 3", n, err)
		}
		if _, err := st.FindTOTP(ctx, "b"); err != nil {
			t.Errorf("FindTOTP(b) after deleting a's factors: %v", err)
		}
		if n, _ := st.DeleteAccountFactors(ctx, "a"); n != 0 {
			t.Errorf("DeleteAccountFactors(again) = %d, want 0", n)
		}
	})
}
