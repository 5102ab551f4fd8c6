package main

import (
	"bytes"
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
	if testing.Short() {
		t.Skip("the self-audit takes seconds; skipped with -short")
	}
	dir := t.TempDir()
	vars := map[string]string{"VEIL_LOGIN_FLOOR": "40ms"}
	for k, v := range lenientThrottle {
		vars[k] = v
	}
	env := testEnv(vars)
	withKey := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	without := []string{"dave@example.com", "erin@example.com", "frank@example.com"}
	for _, email := range append(append([]string(nil), withKey...), without...) {
		if code, out, errOut := runMain(t, env, "correct horse battery staple\n", "user", "add", "--data-dir", dir, email); code != 0 {
			t.Fatalf("user add %s: %s%s", email, out, errOut)
		}
	}
	storePasskeys(t, filepath.Join(dir, "veil.db"), withKey)
	v := MustRunMain(t, env, dir)

	target, err := probe.PresetTarget("passkey", v.url)
	if err != nil {
		t.Fatal(err)
	}
	target.Exists = append(withKey, without...)
	target.Missing = probe.MissingFor(target.Exists)
	checkPresetAnswer(t, target, 200)
	const n = 150
	plan := probe.Plan{Alpha: probe.DefaultAlpha, Probes: []probe.Probe{{Target: target, Options: probe.Options{
		N: n, Warmup: 20, Concurrency: 4, Timeout: 10 * time.Second, Seed: uint64(time.Now().UnixNano()),
	}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := probe.Run(ctx, plan)
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	t.Logf("self-audit of the passkey options, n=%d per class:\n%s", n, text.String())
	if rep.Leak || rep.Inconclusive {
		t.Errorf("veil probe found a leak in the passkey options, or could not tell (%s):\n%s", rep.Verdict(), text.String())
	}
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
		cred := []byte(fmt.Sprintf("credential-id-%02d", i))
		p := &veil.Passkey{ID: veil.NewAccountID(), AccountID: acct.ID, CredentialID: cred, Name: "key", Credential: []byte("{}"), CreatedAt: time.Now()}
		if err := db.CreatePasskey(ctx, p); err != nil {
			tb.Fatal(err)
		}
	}
}
