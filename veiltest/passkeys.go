package veiltest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

func newPasskey(accountID string, credID []byte, created time.Time) *veil.Passkey {
	return &veil.Passkey{ID: veil.NewAccountID(), AccountID: accountID, CredentialID: credID, Name: "Key " + string(credID), Credential: []byte(`{"record":1}`), CreatedAt: created}
}

func testPasskeys(t *testing.T, open func(testing.TB) veil.Store) {
	t.Run("CRUD", func(t *testing.T) {
		t.Parallel()
		st, ctx := open(t), t.Context()
		a1 := newPasskey("acct-a", []byte("cred-1"), t0)
		a2 := newPasskey("acct-a", []byte("cred-22"), t0.Add(time.Second))
		b1 := newPasskey("acct-b", []byte("cred-333"), t0)
		for _, p := range []*veil.Passkey{a2, a1, b1} {
			if err := st.CreatePasskey(ctx, p); err != nil {
				t.Fatalf("CreatePasskey(%s): %v", p.CredentialID, err)
			}
		}
		wantCode(t, "CreatePasskey(taken credential ID)", st.CreatePasskey(ctx, newPasskey("acct-c", []byte("cred-1"), t0)), veil.ECONFLICT)
		keys, err := st.ListPasskeys(ctx, "acct-a")
		if err != nil || len(keys) != 2 || keys[0].ID != a1.ID || keys[1].ID != a2.ID {
			t.Fatalf("ListPasskeys(acct-a) = %v, %v; want a1, a2 oldest first", keys, err)
		}
		if g := keys[0]; !bytes.Equal(g.CredentialID, a1.CredentialID) || g.Name != a1.Name || string(g.Credential) != string(a1.Credential) || !sameTime(g.CreatedAt, t0) || !g.LastUsedAt.IsZero() {
			t.Errorf("ListPasskeys[0] = %+v, want %+v", g, a1)
		}
		if keys, _ := st.ListPasskeys(ctx, "nobody"); len(keys) != 0 {
			t.Errorf("ListPasskeys(nobody) = %v", keys)
		}
		got, err := st.FindPasskeyByCredentialID(ctx, []byte("cred-333"))
		if err != nil || got.ID != b1.ID || got.AccountID != "acct-b" {
			t.Errorf("FindPasskeyByCredentialID = %+v, %v", got, err)
		}
		_, err = st.FindPasskeyByCredentialID(ctx, []byte("cred-4"))
		wantCode(t, "FindPasskeyByCredentialID(unknown)", err, veil.ENOTFOUND)
		if err := st.UpdatePasskeyUse(ctx, b1.ID, []byte(`{"record":2}`), t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.FindPasskeyByCredentialID(ctx, []byte("cred-333")); got == nil || string(got.Credential) != `{"record":2}` || !sameTime(got.LastUsedAt, t0.Add(time.Hour)) {
			t.Errorf("after UpdatePasskeyUse: %+v", got)
		}
		wantCode(t, "DeletePasskey(another account's)", st.DeletePasskey(ctx, "acct-a", b1.ID), veil.ENOTFOUND)
		if err := st.DeletePasskey(ctx, "acct-a", a1.ID); err != nil {
			t.Errorf("DeletePasskey: %v", err)
		}
		wantCode(t, "DeletePasskey(again)", st.DeletePasskey(ctx, "acct-a", a1.ID), veil.ENOTFOUND)
		if n, err := st.DeleteAccountFactors(ctx, "acct-b"); err != nil || n != 1 {
			t.Errorf("DeleteAccountFactors(acct-b) = %d, %v; want its passkey", n, err)
		}
	})
	t.Run("Shapes", func(t *testing.T) {
		t.Parallel()
		st, ctx := open(t), t.Context()
		for i, p := range []*veil.Passkey{
			newPasskey("b", bytes.Repeat([]byte("x"), 16), t0), newPasskey("a", bytes.Repeat([]byte("y"), 32), t0),
			newPasskey("a", bytes.Repeat([]byte("z"), 20), t0.Add(time.Second)), newPasskey("c", bytes.Repeat([]byte("w"), 64), t0),
		} {
			if err := st.CreatePasskey(ctx, p); err != nil {
				t.Fatalf("CreatePasskey %d: %v", i, err)
			}
		}
		shapes, err := st.PasskeyShapes(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := []veil.PasskeyShape{{AccountID: "a", Lengths: []int{32, 20}}, {AccountID: "b", Lengths: []int{16}}}
		if len(shapes) != 2 || shapes[0].AccountID != "a" || !slices.Equal(shapes[0].Lengths, want[0].Lengths) || shapes[1].AccountID != "b" || !slices.Equal(shapes[1].Lengths, want[1].Lengths) {
			t.Errorf("PasskeyShapes(2) = %+v, want %+v", shapes, want)
		}
	})
}
