package veil_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/passkey"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/throttle"
	"github.com/veil-id/veil/veiltest"
)

// passkeyBurstService is a Service with passkeys on real SQLite whose
// throttle counts on store, with the default policy but for an easier
// proof of work.
func passkeyBurstService(tb testing.TB, store veil.ThrottleStore) (*veil.Service, *sqlstore.DB) {
	tb.Helper()
	cer, err := passkey.New(passkey.Config{RPID: "localhost", Origins: []string{"http://localhost:8080"}, DisplayName: "veil test"})
	if err != nil {
		tb.Fatal(err)
	}
	policy := throttle.DefaultPolicy
	policy.PowDifficulty = 8 // the policy's counts, solved quickly
	th, err := throttle.New(throttle.Config{Store: store, Policy: policy, Secret: []byte("burst test throttle secret, 32 bytes+"), Logger: discardLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	db := sqlitetest.MustOpen(tb)
	s, err := veil.NewService(context.Background(), veil.ServiceConfig{
		Accounts: db, Sessions: db, Hasher: mustCheapHasher(tb), Throttle: th, Auditor: &recordingAuditor{},
		Key:     veil.IdentifierKey("0123456789abcdef0123456789abcdef"),
		Factors: db, FactorKey: veil.FactorKey(bytes.Repeat([]byte{7}, veil.FactorKeySize)),
		Passkeys: db, Ceremonies: cer, Outbox: db, SignUps: db, Tokens: db,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s, db
}

// released runs n calls of f at once, behind a barrier, and counts their
// results by error code ("" for none).
func released(n int, f func() error) map[string]int {
	codes := make(chan string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			code := ""
			if err := f(); err != nil {
				code = veil.ErrorCode(err)
			}
			codes <- code
		})
	}
	close(start)
	wg.Wait()
	close(codes)
	got := map[string]int{}
	for c := range codes {
		got[c]++
	}
	return got
}

// TestPasskeyProofBurstsOnEachStore releases bursts carrying proofs on
// the memory store and on Redis, whose script claims a proof in the same
// atomic step as the reservation: identifier-first options with one
// solution sent 30 times at once are given once, the rest throttled,
// for an account with a passkey as for an unknown identifier; finish
// steps for one credential ID, each with a solution of its own, get the
// checks the default policy leaves before the block (block_after less
// the failures so far), for a registered credential as for a decoy.
func TestPasskeyProofBurstsOnEachStore(t *testing.T) {
	const n = 30
	policy := throttle.DefaultPolicy.Actions[veil.ActionLogin].Subject
	for _, st := range burstStores {
		t.Run(st.name, func(t *testing.T) {
			s, db := passkeyBurstService(t, st.open(t))
			ctx := t.Context()
			kay, err := s.AddAccount(ctx, "kay@example.com", "", "correct horse battery")
			if err != nil {
				t.Fatal(err)
			}
			if err := db.CreatePasskey(ctx, &veil.Passkey{ID: veil.NewAccountID(), AccountID: kay.ID,
				CredentialID: []byte("sixteen-byte-id!"), Name: "k", Credential: []byte("{}")}); err != nil {
				t.Fatal(err)
			}
			options := func(identifier *string, addr, proof string) ([]byte, error) {
				return s.PasskeyLoginOptions(ctx, veil.PasskeyOptionsRequest{Identifier: identifier, Client: veil.Client{Addr: addr}, Proof: proof})
			}
			challenge := func() string {
				raw, err := options(nil, "192.0.2.1", "")
				var o struct{ PublicKey struct{ Challenge string } }
				if err != nil || json.Unmarshal(raw, &o) != nil {
					t.Fatalf("discoverable options: %s, %v", raw, err)
				}
				return o.PublicKey.Challenge
			}
			// forged is a forged assertion for credID on a fresh challenge,
			// asked for before any burst: options in flight at once count
			// in their own bucket like failures.
			forged := func(credID string) []byte {
				var body struct{ Credential json.RawMessage } // the finish route's body
				json.Unmarshal([]byte(veiltest.ForgedPasskeyAssertion("http://localhost:8080", challenge(), []byte(credID))), &body)
				return body.Credential
			}
			finish := func(assertion []byte, addr, proof string) error {
				_, err := s.PasskeyLogin(ctx, veil.PasskeyLoginRequest{Assertion: assertion, Client: veil.Client{Addr: addr}, Proof: proof})
				return err
			}

			var opts, fin [2]string
			for i, w := range []struct{ identifier, credID, addr string }{
				{"kay@example.com", "sixteen-byte-id!", "198.51.100.1"},
				{"nobody@example.com", "not-a-passkey-id", "198.51.100.2"},
			} {
				for range policy.ChallengeAfter {
					s.Login(ctx, veil.LoginRequest{Identifier: w.identifier, Password: "wrong password", Client: veil.Client{Addr: w.addr}})
				}
				options(&w.identifier, w.addr, "") // the slow lane's turn
				_, err := options(&w.identifier, w.addr, "")
				c := veil.ChallengeOf(err)
				if c == nil {
					t.Fatalf("options for %s, slow lane taken: %v, want a challenge", w.identifier, err)
				}
				proof := throttle.Solve(c)
				opts[i] = fmt.Sprint(released(n, func() error { _, err := options(&w.identifier, w.addr, proof); return err }))

				for range policy.ChallengeAfter + 1 { // the checks, then the slow lane's turn
					finish(forged(w.credID), w.addr, "")
				}
				type attempt struct {
					assertion []byte
					proof     string
				}
				attempts := make(chan attempt, n)
				for range n {
					err := finish(forged(w.credID), w.addr, "")
					c := veil.ChallengeOf(err)
					if c == nil {
						t.Fatalf("finish for %q, slow lane taken: %v, want a challenge", w.credID, err)
					}
					attempts <- attempt{forged(w.credID), throttle.Solve(c)}
				}
				fin[i] = fmt.Sprint(released(n, func() error { a := <-attempts; return finish(a.assertion, w.addr, a.proof) }))
			}
			wantOpts := fmt.Sprint(map[string]int{"": 1, veil.ETHROTTLED: n - 1})
			if opts[0] != wantOpts || opts[1] != opts[0] {
				t.Errorf("%d options with one proof at once: %s (account), %s (unknown); want %s for both", n, opts[0], opts[1], wantOpts)
			}
			checks := policy.BlockAfter - policy.ChallengeAfter - 1
			wantFin := fmt.Sprint(map[string]int{veil.EUNAUTHORIZED: checks, veil.ETHROTTLED: n - checks})
			if fin[0] != wantFin || fin[1] != fin[0] {
				t.Errorf("%d finish steps with a proof each at once: %s (registered), %s (decoy); want %s for both", n, fin[0], fin[1], wantFin)
			}
		})
	}
}
