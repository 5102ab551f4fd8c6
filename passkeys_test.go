package veil_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/passkey"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/veiltest"
)

type passkeyFixture struct {
	s     *veil.Service
	db    *sqlstore.DB
	audit *recordingAuditor
}

func mustOpenPasskeys(tb testing.TB) *passkeyFixture {
	tb.Helper()
	db := sqlitetest.MustOpen(tb)
	h := mustCheapHasher(tb)
	cer, err := passkey.New(passkey.Config{RPID: "localhost", Origins: []string{"http://localhost:8080"}, DisplayName: "veil test"})
	if err != nil {
		tb.Fatal(err)
	}
	f := &passkeyFixture{db: db, audit: &recordingAuditor{}}
	f.s, err = veil.NewService(context.Background(), veil.ServiceConfig{
		Accounts: db, Sessions: db, Hasher: h, Auditor: f.audit, Clock: veiltest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		Key:     veil.IdentifierKey("0123456789abcdef0123456789abcdef"),
		Factors: db, FactorKey: veil.FactorKey(bytes.Repeat([]byte{7}, veil.FactorKeySize)),
		Passkeys: db, Ceremonies: cer, Outbox: db, SignUps: db, Tokens: db,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// addPasskeys stores passkeys with credential IDs of the given lengths for
// a new account, as registrations would.
func (f *passkeyFixture) addPasskeys(tb testing.TB, email string, lengths ...int) *veil.Account {
	tb.Helper()
	acct, err := f.s.AddAccount(tb.Context(), email, "", "correct horse battery")
	if err != nil {
		tb.Fatal(err)
	}
	for i, n := range lengths {
		id := append([]byte(fmt.Sprintf("%s/%d/", email, i)), bytes.Repeat([]byte{1}, n)...)[:n]
		p := &veil.Passkey{ID: veil.NewAccountID(), AccountID: acct.ID, CredentialID: id, Name: "k", Credential: []byte("{}"), CreatedAt: time.Unix(int64(i), 0)}
		if err := f.db.CreatePasskey(tb.Context(), p); err != nil {
			tb.Fatal(err)
		}
	}
	return acct
}

// requestOptions is the shape of PasskeyLoginOptions' answer.
type requestOptions struct {
	PublicKey struct {
		Challenge        string `json:"challenge"`
		Timeout          int    `json:"timeout"`
		RPID             string `json:"rpId"`
		AllowCredentials []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"allowCredentials"`
		UserVerification string `json:"userVerification"`
	} `json:"publicKey"`
}

func (f *passkeyFixture) options(tb testing.TB, identifier string) (requestOptions, string) {
	tb.Helper()
	raw, err := f.s.PasskeyLoginOptions(tb.Context(), veil.PasskeyOptionsRequest{Identifier: &identifier, Client: veil.Client{Addr: "192.0.2.1"}})
	if err != nil {
		tb.Fatalf("PasskeyLoginOptions(%q): %v", identifier, err)
	}
	var o requestOptions
	if err := json.Unmarshal(raw, &o); err != nil {
		tb.Fatal(err)
	}
	return o, string(raw)
}

// skeleton is the options with the challenge and the IDs blanked out,
// lengths kept: what must not differ between accounts and decoys.
func skeleton(o requestOptions, raw string) string {
	s := strings.Replace(raw, o.PublicKey.Challenge, "CHALLENGE", 1)
	for _, c := range o.PublicKey.AllowCredentials {
		s = strings.Replace(s, `"`+c.ID+`"`, fmt.Sprintf(`"ID%d"`, len(c.ID)), 1)
	}
	return s
}

func allowIDs(o requestOptions) []string {
	var ids []string
	for _, c := range o.PublicKey.AllowCredentials {
		ids = append(ids, c.ID)
	}
	return ids
}

// TestPasskeyOptionsRevealNothing is the pair test of identifier-first
// passkey options: an unknown identifier and an account without passkeys
// get options of the same structure as a real account's (whose
// authenticator may simply not be at hand), with a count and ID lengths
// copied from real accounts, stable per identifier.
func TestPasskeyOptionsRevealNothing(t *testing.T) {
	f := mustOpenPasskeys(t)
	f.addPasskeys(t, "real@example.com", 16)
	if _, err := f.s.AddAccount(t.Context(), "none@example.com", "", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	real, realRaw := f.options(t, "real@example.com")
	none, noneRaw := f.options(t, "none@example.com")
	unknown, unknownRaw := f.options(t, "unknown@example.com")
	if len(real.PublicKey.AllowCredentials) != 1 {
		t.Fatalf("real account: %d credentials, want 1", len(real.PublicKey.AllowCredentials))
	}
	for name, got := range map[string]string{"no passkeys": skeleton(none, noneRaw), "unknown": skeleton(unknown, unknownRaw)} {
		if want := skeleton(real, realRaw); got != want {
			t.Errorf("%s: options\n%s\nwant the shape of a real account's\n%s", name, got, want)
		}
	}
	// Stable per identifier, fresh challenge every time.
	again, _ := f.options(t, "UNKNOWN@example.com")
	if fmt.Sprint(allowIDs(again)) != fmt.Sprint(allowIDs(unknown)) || again.PublicKey.Challenge == unknown.PublicKey.Challenge {
		t.Errorf("unknown identifier: IDs %v then %v, challenges %q %q; want the same IDs, new challenges", allowIDs(unknown), allowIDs(again), unknown.PublicKey.Challenge, again.PublicKey.Challenge)
	}
	if fmt.Sprint(allowIDs(none)) == fmt.Sprint(allowIDs(unknown)) {
		t.Errorf("two identifiers got one decoy %v", allowIDs(none))
	}
	// A real account's list is its own; a decoy is never a real ID.
	if realAgain, _ := f.options(t, "real@example.com"); fmt.Sprint(allowIDs(realAgain)) != fmt.Sprint(allowIDs(real)) {
		t.Errorf("real account's list changed")
	}
}

// TestPasskeyDecoyLengths: over many identifiers, decoys copy the counts
// and lengths of the real accounts' lists, so their distribution is that
// of the real accounts (here half one 16-byte key, half a 32- and a
// 64-byte key).
func TestPasskeyDecoyLengths(t *testing.T) {
	f := mustOpenPasskeys(t)
	for i := range 20 {
		if i%2 == 0 {
			f.addPasskeys(t, fmt.Sprintf("%d@a.example", i), 16)
		} else {
			f.addPasskeys(t, fmt.Sprintf("%d@b.example", i), 32, 64)
		}
	}
	seen := map[string]int{}
	const n = 400
	for i := range n {
		o, _ := f.options(t, fmt.Sprintf("probe%d@example.org", i))
		var shape []int
		for _, c := range o.PublicKey.AllowCredentials {
			shape = append(shape, len(c.ID))
		}
		seen[fmt.Sprint(shape)]++
	}
	one, two := seen["[22]"], seen["[43 86]"] // base64url lengths of 16, 32 and 64 bytes
	if one+two != n || one < n/4 || two < n/4 {
		t.Errorf("decoy shapes over %d identifiers: %v; want only [22] and [43 86], each about half", n, seen)
	}
}

func TestPasskeyOptionsInput(t *testing.T) {
	f := mustOpenPasskeys(t)
	bad := "not an address"
	if _, err := f.s.PasskeyLoginOptions(t.Context(), veil.PasskeyOptionsRequest{Identifier: &bad}); veil.ErrorCode(err) != veil.EINVALID {
		t.Errorf("PasskeyLoginOptions(%q) = %v, want EINVALID", bad, err)
	}
	raw, err := f.s.PasskeyLoginOptions(t.Context(), veil.PasskeyOptionsRequest{})
	if err != nil || strings.Contains(string(raw), "allowCredentials") {
		t.Errorf("discoverable options = %s, %v; want no allow list", raw, err)
	}
	for _, body := range []string{"", "{}", `{"id":"x","rawId":"x","type":"public-key","response":{}}`, "not json"} {
		_, err := f.s.PasskeyLogin(t.Context(), veil.PasskeyLoginRequest{Assertion: []byte(body)})
		if veil.ErrorCode(err) != veil.EINVALID {
			t.Errorf("PasskeyLogin(%q) = %v, want EINVALID", body, err)
		}
	}
}

// TestPasskeysAreSecondFactors: with a passkey, the password asks for a
// second factor (a passkey or a recovery code); a passkey is removed only
// from its own account, audited.
func TestPasskeysAreSecondFactors(t *testing.T) {
	f := mustOpenPasskeys(t)
	ctx := t.Context()
	acct := f.addPasskeys(t, "kay@example.com", 16, 32)
	other := f.addPasskeys(t, "lou@example.com", 16)
	res, err := f.s.Login(ctx, veil.LoginRequest{Identifier: "kay@example.com", Password: "correct horse battery"})
	if err != nil || res.SecondFactor == nil || fmt.Sprint(res.SecondFactor.Methods) != "[passkey recovery_code]" {
		t.Fatalf("Login with passkeys = %+v, %v; want methods [passkey recovery_code]", res, err)
	}
	keys, err := f.s.ListPasskeys(ctx, acct)
	if err != nil || len(keys) != 2 {
		t.Fatalf("ListPasskeys = %v, %v", keys, err)
	}
	otherKeys, _ := f.s.ListPasskeys(ctx, other)
	if err := f.s.RemovePasskey(ctx, acct, otherKeys[0].ID, veil.Client{}); veil.ErrorCode(err) != veil.EINVALID {
		t.Errorf("RemovePasskey(another account's) = %v, want EINVALID", err)
	}
	for _, k := range keys {
		if err := f.s.RemovePasskey(ctx, acct, k.ID, veil.Client{}); err != nil {
			t.Fatalf("RemovePasskey: %v", err)
		}
	}
	if ev := f.audit.last(); ev.Kind != veil.EventFactorRemoved || ev.Reason != veil.MethodPasskey || ev.AccountID != acct.ID {
		t.Errorf("audit after RemovePasskey = %+v", ev)
	}
	res, err = f.s.Login(ctx, veil.LoginRequest{Identifier: "kay@example.com", Password: "correct horse battery"})
	if err != nil || res.SecondFactor != nil {
		t.Errorf("Login without passkeys = %+v, %v; want a session", res, err)
	}
}
