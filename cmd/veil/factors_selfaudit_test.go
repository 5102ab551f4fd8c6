package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/probe"
)

// TestSelfAuditPasskeyOptions runs veil probe's passkey preset against
// identifier-first passkey options: accounts with a passkey (whose
// authenticator the probe does not have) and accounts without any
// against identifiers no account has. Decoys copy the real accounts'
// shape, so no channel may tell them apart.
func TestSelfAuditPasskeyOptions(t *testing.T) {
	v, withKey, without := mustRunPasskeyVeil(t, "40ms")
	target, err := probe.PresetTarget("passkey", v.url)
	if err != nil {
		t.Fatal(err)
	}
	target.Exists = append(withKey, without...)
	target.Missing = probe.MissingFor(target.Exists)
	checkPresetAnswer(t, target, 200)
	const n = 150
	runAuditPlan(t, "SQLite (passkey options)", n, probe.Plan{Probes: []probe.Probe{auditProbe(target, n)}}, 2*time.Minute)
}

// mustRunPasskeyVeil starts veil on SQLite with the floor given and a
// lenient throttle, and six accounts: three with a passkey each
// (storePasskeys), three without. It skips with -short.
func mustRunPasskeyVeil(t *testing.T, floor string) (v *runningVeil, withKey, without []string) {
	t.Helper()
	if testing.Short() {
		t.Skip("the self-audit takes seconds; skipped with -short")
	}
	dir := t.TempDir()
	vars := map[string]string{"VEIL_LOGIN_FLOOR": floor}
	for k, v := range lenientThrottle {
		vars[k] = v
	}
	env := testEnv(vars)
	withKey = []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	without = []string{"dave@example.com", "erin@example.com", "frank@example.com"}
	for _, email := range append(append([]string(nil), withKey...), without...) {
		if code, out, errOut := runMain(t, env, "correct horse battery staple\n", "user", "add", "--data-dir", dir, email); code != 0 {
			t.Fatalf("user add %s: %s%s", email, out, errOut)
		}
	}
	storePasskeys(t, filepath.Join(dir, "veil.db"), withKey)
	return MustRunMain(t, env, dir), withKey, without
}

// storePasskeys gives each account one passkey with a 16-byte credential
// ID, as a platform authenticator makes, straight in the database.
func storePasskeys(tb testing.TB, path string, emails []string) {
	tb.Helper()
	ctx := context.Background()
	db := mustOpenDB(tb, path)
	for i, email := range emails {
		id, _ := veil.NormalizeIdentifier(email)
		acct, err := db.FindAccountByIdentifier(ctx, id)
		if err != nil {
			tb.Fatal(err)
		}
		cred := storedCredentialID(i)
		p := &veil.Passkey{ID: veil.NewAccountID(), AccountID: acct.ID, CredentialID: cred, Name: "key", Credential: []byte("{}"), CreatedAt: time.Now()}
		if err := db.CreatePasskey(ctx, p); err != nil {
			tb.Fatal(err)
		}
	}
}

// storedCredentialID is the credential ID storePasskeys gives the i-th
// account: 16 bytes, as a platform authenticator makes.
func storedCredentialID(i int) []byte { return []byte(fmt.Sprintf("credential-id-%02d", i)) }
